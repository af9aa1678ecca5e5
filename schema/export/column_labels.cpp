// Column labels for the export's second header row (see column_labels.hpp).
#include "schema/export/column_labels.hpp"

#include <map>
#include <string_view>

#include "schema/forms/serbian_script.hpp"

namespace akt::exports {
namespace {

using forms::Label;
using forms::Lang;

// The fixed labels below are written in en, sq and sr; sr-Latn is transliterated from sr when used.
Label fixed(std::string en, std::string sq, std::string sr) { return Label{std::move(en), std::move(sq), std::move(sr), {}}; }

const Label* meta_label(std::string_view name) {
  static const std::map<std::string_view, Label> kMeta = {
      {"record_id", fixed("Record id", "ID e regjistrimit", "ИД записа")},
      {"form_version", fixed("Form version", "Versioni i formularit", "Верзија обрасца")},
      {"scope_municipality", fixed("Municipality of the record", "Komuna e regjistrimit", "Општина записа")},
      {"scope_community", fixed("Community of the record", "Komuniteti i regjistrimit", "Заједница записа")},
      {"scope_component", fixed("Programme component of the record", "Komponenti i programit i regjistrimit",
                                "Компонента програма записа")},
      {"seq", fixed("Change number on the server", "Numri i ndryshimit në server", "Број измене на серверу")},
      {"server_time", fixed("Received by the server (UTC)", "Pranuar nga serveri (UTC)", "Примљено на серверу (UTC)")},
      {"deleted", fixed("Deleted", "I fshirë", "Обрисан")},
      {"conflict", fixed("Open conflict", "Konflikt i hapur", "Отворен конфликт")},
  };
  auto it = kMeta.find(name);
  return it == kMeta.end() ? nullptr : &it->second;
}

std::string in(const Label& l, Lang lang) {
  if (lang == Lang::kSrLatn && l.sr_latn.empty() && !l.sr.empty()) return forms::to_serbian_latin(l.sr);
  return forms::text_in(l, lang);
}

std::string part(ColumnKind kind, Lang lang) {
  static const Label lat = fixed("latitude", "gjerësia gjeografike", "географска ширина");
  static const Label lon = fixed("longitude", "gjatësia gjeografike", "географска дужина");
  static const Label acc = fixed("accuracy, m", "saktësia, m", "тачност, m");
  return in(kind == ColumnKind::kGeoLat ? lat : kind == ColumnKind::kGeoLon ? lon : acc, lang);
}

}  // namespace

std::vector<std::string> column_labels(const TableLayout& table, Lang lang) {
  std::map<std::string, const forms::ChoiceList*> lists;  // select_multiple field -> its list
  for (const Column& c : table.columns)
    if (c.kind == ColumnKind::kValue && c.list != nullptr) lists[c.field] = c.list;
  std::vector<std::string> out;
  out.reserve(table.columns.size());
  for (const Column& c : table.columns) {
    std::string text;
    if (c.kind == ColumnKind::kMeta) {
      if (const Label* l = meta_label(c.field)) text = in(*l, lang);
    } else if (c.def != nullptr) {
      text = in(c.def->label, lang);
      if (c.kind == ColumnKind::kParentId) {
        text += " (id)";
      } else if (c.kind == ColumnKind::kGeoLat || c.kind == ColumnKind::kGeoLon || c.kind == ColumnKind::kGeoAcc) {
        text += " (" + part(c.kind, lang) + ")";
      } else if (c.kind == ColumnKind::kOption) {
        std::string choice = c.option;
        if (auto it = lists.find(c.field); it != lists.end()) {
          for (const forms::Choice& ch : it->second->choices)
            if (ch.code == c.option && !ch.label.en.empty()) choice = in(ch.label, lang);
        }
        text += ": " + choice;
      }
    }
    out.push_back(text.empty() ? c.name : std::move(text));
  }
  return out;
}

}  // namespace akt::exports
