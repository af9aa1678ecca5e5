// The common record header of forms.md §0.4, prepended to every form by parse_form().
// record_id, form_id and form_version are NOT here: they travel in the edit envelope (sync::Edit),
// never in the body. The other header fields are body fields filled by the app or the server.
#include "schema/forms/form_parser.hpp"

namespace akt::forms {

std::string_view common_header_json() {
  return R"json([
  {"key": "enumerator_id", "type": "text", "required": true, "computed": true, "sensitivity": "Q",
   "label": {"en": "Enumerator (login id, not a name)", "sq": "Anketuesi (ID e hyrjes, jo emri)",
             "sr": "Анкетар (корисничко име за пријаву, не име и презиме)"}, "pattern": "[a-z0-9_.-]{3,32}"},
  {"key": "team_id", "type": "text", "required": true, "computed": true, "sensitivity": "-",
   "label": {"en": "Field team", "sq": "Ekipi në terren", "sr": "Теренски тим"}, "length": {"min": 1, "max": 64}},
  {"key": "device_id", "type": "text", "required": true, "computed": true, "sensitivity": "-",
   "label": {"en": "Tablet identifier", "sq": "Identifikuesi i tabletit", "sr": "Идентификатор таблета"}, "length": {"min": 1, "max": 64}},
  {"key": "started_at", "type": "datetime", "required": true, "computed": true, "sensitivity": "-",
   "label": {"en": "Form opened (device clock, with UTC offset)",
             "sq": "Formulari u hap (ora e pajisjes, me zhvendosjen nga UTC)",
             "sr": "Образац отворен (сат уређаја, са одступањем од UTC)"},
   "checks": [{"expr": "days-between(., today()) <= 400 and days-between(., today()) >= -1", "level": "warn",
               "message": {"en": "device time outside [server date - 400 days, server date + 1 day]",
                           "sq": "ora e pajisjes është jashtë intervalit [data e serverit - 400 ditë, data e serverit + 1 ditë]",
                           "sr": "време на уређају је ван опсега [датум на серверу - 400 дана, датум на серверу + 1 дан]"}}]},
  {"key": "ended_at", "type": "datetime", "required": true, "computed": true, "sensitivity": "-",
   "label": {"en": "Form finalised (device clock)", "sq": "Formulari u finalizua (ora e pajisjes)",
             "sr": "Образац завршен (сат уређаја)"},
   "constraint": ". >= ${started_at}", "constraint_message": {"en": "ended_at must not be before started_at",
                          "sq": "ended_at (finalizimi) nuk mund të jetë para started_at (hapjes së formularit)",
                          "sr": "ended_at (завршетак) не сме бити пре started_at (отварања обрасца)"}},
  {"key": "app_version", "type": "text", "required": true, "computed": true, "sensitivity": "-",
   "label": {"en": "Collection app version", "sq": "Versioni i aplikacionit të mbledhjes",
             "sr": "Верзија апликације за прикупљање"}, "length": {"min": 1, "max": 64}},
  {"key": "review_status", "type": "select_one", "required": true, "sensitivity": "-",
   "label": {"en": "Review status", "sq": "Statusi i shqyrtimit", "sr": "Статус прегледа"}, "choices": "L:review_status"},
  {"key": "review_comment", "type": "text", "sensitivity": "D", "sensitivity_note": "free text",
   "merge_policy": "admin_only", "label": {"en": "Reviewer comment", "sq": "Komenti i shqyrtuesit", "sr": "Коментар контролора"}, "length": {"max": 1000}}
])json";
}

}  // namespace akt::forms
