// Runtime values of the form expression language. Pure; std only.
// A field that is absent or not relevant evaluates to null (std::monostate), never to "" or 0.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace akt::forms {

struct GeoPoint {
  double lat = 0;
  double lon = 0;
  std::optional<double> accuracy_m;  // horizontal accuracy in metres, if the device gave one
  friend bool operator==(const GeoPoint&, const GeoPoint&) = default;
};

// null | boolean | number (integers are exact up to 2^53) | string (text, codes, ISO dates)
// | list of codes (select_multiple) | geopoint.
using Value = std::variant<std::monostate, bool, double, std::string, std::vector<std::string>, GeoPoint>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

}  // namespace akt::forms
