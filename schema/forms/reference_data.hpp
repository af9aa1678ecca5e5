// Embedded copies of docs/domain/{municipalities,communities,languages}.csv. Internal to akt_forms.
#pragma once

#include <string_view>

namespace akt::forms {

extern const std::string_view kMunicipalitiesCsv;
extern const std::string_view kCommunitiesCsv;
extern const std::string_view kLanguagesCsv;

}  // namespace akt::forms
