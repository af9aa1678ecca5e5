// Shared choice lists (forms.md §0.3) and the CSV reader that builds the reference-file lists.
#include "schema/forms/choice_list.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "schema/forms/reference_data.hpp"
#include "schema/forms/serbian_script.hpp"

namespace akt::forms {
namespace {

// "prefer_not_say" -> "Prefer not say": fallback English label where forms.md gives none.
std::string humanize(std::string_view code) {
  std::string s(code);
  std::replace(s.begin(), s.end(), '_', ' ');
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// A label whose Serbian Latin form is derived from its Cyrillic one.
Label label3(std::string en, std::string sq, std::string sr) {
  Label l{std::move(en), std::move(sq), std::move(sr), {}};
  l.sr_latn = to_serbian_latin(l.sr);
  return l;
}

// One list given as "code=English|Albanian|Serbian (Cyrillic)" items; "code" alone, or "code=English"
// without translations, humanizes the code into English and leaves the other languages empty.
ChoiceList make_list(std::string name, std::initializer_list<std::string_view> items) {
  ChoiceList list{std::move(name), {}};
  for (std::string_view item : items) {
    Choice c;
    auto eq = item.find('=');
    c.code = std::string(item.substr(0, eq));
    if (eq == std::string_view::npos) {
      c.label.en = humanize(c.code);
    } else {
      std::string_view rest = item.substr(eq + 1);
      std::string parts[3];
      for (std::string& part : parts) {
        auto bar = rest.find('|');
        part = std::string(rest.substr(0, bar));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      c.label = label3(std::move(parts[0]), std::move(parts[1]), std::move(parts[2]));
    }
    list.choices.push_back(std::move(c));
  }
  return list;
}

void add(ChoiceLists& lists, ChoiceList list) {
  std::string name = list.name;
  lists[name] = std::move(list);
}

// Answers shared by many lists.
constexpr std::string_view kDontKnow = "dont_know=Don't know|Nuk e di|Не знам";
constexpr std::string_view kNoAnswer = "no_answer=Declined to answer|Nuk dëshiron të përgjigjet|Не жели да одговори";

// The §0.3 lists that do not come from a reference file, in en, sq and sr (docs/GLOSSARY.md).
void add_static_lists(ChoiceLists& l) {
  add(l, make_list("L:yes_no", {"yes=Yes|Po|Да", "no=No|Jo|Не"}));
  add(l, make_list("L:yes_no_na", {"yes=Yes|Po|Да", "no=No|Jo|Не", kNoAnswer}));
  add(l, make_list("L:yes_no_dk", {"yes=Yes|Po|Да", "no=No|Jo|Не", kDontKnow, kNoAnswer}));
  add(l, make_list("L:gender", {"female=Female|Femër|Женски", "male=Male|Mashkull|Мушки",
                                "prefer_not_say=Prefer not to say|Preferon të mos e thotë|Не жели да се изјасни"}));
  add(l, make_list("L:age_band", {"18_24=18-24|18-24|18-24", "25_29=25-29|25-29|25-29", "30_35=30-35|30-35|30-35",
                                  "36_44=36-44|36-44|36-44", "45_54=45-54|45-54|45-54", "55_64=55-64|55-64|55-64",
                                  "65_plus=65 or older|65 e më shumë|65 и више"}));
  add(l, make_list("L:settlement_type",
                   {"urban=Urban|Urban|Градско", "peri_urban=Peri-urban|Periurban|Приградско", "rural=Rural|Rural|Сеоско"}));
  add(l, make_list("L:education",
                   {"none_or_incomplete_primary=None or incomplete primary|Pa shkollë ose me shkollë fillore të "
                    "papërfunduar|Без школе или са непотпуном основном школом",
                    "primary_lower_secondary=Completed 9-year compulsory|Shkollimi i detyrueshëm 9-vjeçar i "
                    "përfunduar|Завршено обавезно деветогодишње образовање",
                    "upper_secondary=Upper secondary|Shkollë e mesme|Средња школа",
                    "tertiary=Tertiary|Arsim i lartë|Више или високо образовање", kNoAnswer}));
  add(l, make_list("L:employment",
                   {"employed_public=Employed (public sector)|I punësuar (sektori publik)|Запослен/а (јавни сектор)",
                    "employed_private=Employed (private sector)|I punësuar (sektori privat)|Запослен/а (приватни "
                    "сектор)",
                    "self_employed=Self employed|I vetëpunësuar|Самозапослен/а",
                    "unemployed_seeking=Unemployed, seeking work|I papunë, në kërkim të punës|Незапослен/а, тражи "
                    "посао",
                    "student=Student|Nxënës / student|Ученик / студент", "retired=Retired|Pensionist|Пензионер/ка",
                    "homemaker=Homemaker|Kujdeset për shtëpinë|Домаћица / домаћин", "other=Other|Tjetër|Друго",
                    kNoAnswer}));
  add(l, make_list("L:frequency", {"daily=Daily|Çdo ditë|Свакодневно", "weekly=Weekly|Çdo javë|Недељно",
                                   "monthly=Monthly|Çdo muaj|Месечно", "less_often=Less often|Më rrallë|Ређе",
                                   "never=Never|Asnjëherë|Никада"}));
  add(l, make_list("L:quality5", {"very_negative=Very negative|Shumë negative|Веома негативни",
                                  "negative=Negative|Negative|Негативни", "neutral=Neutral|Neutrale|Неутрални",
                                  "positive=Positive|Pozitive|Позитивни",
                                  "very_positive=Very positive|Shumë pozitive|Веома позитивни"}));
  add(l, make_list("L:satisfaction5", {"very_dissatisfied=Very dissatisfied|Shumë i pakënaqur|Веома незадовољан/а",
                                       "dissatisfied=Dissatisfied|I pakënaqur|Незадовољан/а",
                                       "neutral=Neutral|As i kënaqur as i pakënaqur|Ни задовољан/а ни незадовољан/а",
                                       "satisfied=Satisfied|I kënaqur|Задовољан/а",
                                       "very_satisfied=Very satisfied|Shumë i kënaqur|Веома задовољан/а"}));
  add(l, make_list("L:comfort4", {"very_uncomfortable=Very uncomfortable|Shumë jo rehat|Веома непријатно",
                                  "uncomfortable=Uncomfortable|Jo rehat|Непријатно", "comfortable=Comfortable|Rehat|Пријатно",
                                  "very_comfortable=Very comfortable|Shumë rehat|Веома пријатно", kDontKnow, kNoAnswer}));
  add(l, make_list("L:trust4", {"none_at_all=None at all|Aspak|Нимало", "not_much=Not much|Jo shumë|Не много",
                                "somewhat=Somewhat|Disi|Донекле", "a_lot=A lot|Shumë|Много", kDontKnow, kNoAnswer}));
  add(l, make_list("L:agree5", {"strongly_disagree=Strongly disagree|Nuk pajtohem aspak|Уопште се не слажем",
                                "disagree=Disagree|Nuk pajtohem|Не слажем се",
                                "neither=Neither agree nor disagree|As pajtohem as nuk pajtohem|Нити се слажем нити се "
                                "не слажем",
                                "agree=Agree|Pajtohem|Слажем се", "strongly_agree=Strongly agree|Pajtohem plotësisht|Потпуно се слажем",
                                kDontKnow}));
  add(l, make_list("L:safety4", {"very_unsafe=Very unsafe|Shumë i pasigurt|Веома небезбедно",
                                 "unsafe=Unsafe|I pasigurt|Небезбедно", "safe=Safe|I sigurt|Безбедно",
                                 "very_safe=Very safe|Shumë i sigurt|Веома безбедно", kDontKnow}));
  add(l, make_list("L:change5", {"much_worse=Much worse|Shumë më të këqija|Много лошији",
                                 "worse=Worse|Më të këqija|Лошији", "same=Same|Të njëjta|Исти",
                                 "better=Better|Më të mira|Бољи", "much_better=Much better|Shumë më të mira|Много бољи",
                                 kDontKnow}));
  add(l, make_list("L:review_status",
                   {"draft=Draft|Në përpunim|Нацрт", "submitted=Submitted|Dorëzuar|Поднето",
                    "returned=Returned to enumerator|Kthyer te anketuesi|Враћено анкетару",
                    "approved=Approved (locked)|Miratuar (i kyçur)|Одобрено (закључано)",
                    "excluded_duplicate=Excluded duplicate|Përjashtuar si dublikatë|Искључено као дупликат",
                    "excluded_invalid=Excluded invalid|Përjashtuar si i pavlefshëm|Искључено као неважеће"}));
  add(l, make_list("L:currency", {"eur=EUR|EUR|EUR", "usd=USD|USD|USD"}));
  add(l, make_list("L:partner",
                   {"kcdf=Kosovo Community Development Fund (KCDF)|Fondi i Kosovës për Zhvillimin e Komuniteteve "
                    "(KCDF)|Фонд за развој заједница Косова (KCDF)",
                    "aktiv=NGO AKTIV|OJQ AKTIV|НВО „Актив“",
                    "krd=Kosovo Relief and Development|Kosovo Relief and Development|Kosovo Relief and Development",
                    "cpt=Center for Peace and Tolerance|Qendra për Paqe dhe Tolerancë|Центар за мир и толеранцију",
                    "other=Other|Tjetër|Друго"}));
}

// Reads `csv` with the expected header and calls `row(cells, line)` per data row.
template <class F>
Status read_csv(std::string_view csv, std::string_view what, const std::vector<std::string>& header, F row) {
  auto rows = parse_simple_csv(csv, what);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || (*rows)[0] != header) {
    return Status::invalid_argument(std::string(what) + ": unexpected header");
  }
  std::set<std::string> seen;
  for (std::size_t i = 1; i < rows->size(); ++i) {
    const auto& cells = (*rows)[i];
    if (cells[0].empty() || !seen.insert(cells[0]).second) {
      return Status::invalid_argument(std::string(what) + ":" + std::to_string(i + 1) + ": empty or duplicate code");
    }
    row(cells);
  }
  return {};
}

}  // namespace

bool ChoiceList::contains(std::string_view code) const {
  return std::any_of(choices.begin(), choices.end(), [&](const Choice& c) { return c.code == code; });
}

Result<std::vector<std::vector<std::string>>> parse_simple_csv(std::string_view text, std::string_view what) {
  std::vector<std::vector<std::string>> rows;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::size_t start = 0;
    for (;;) {
      auto comma = line.find(',', start);
      cells.emplace_back(line.substr(start, comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (!rows.empty() && cells.size() != rows[0].size()) {
      return Status::invalid_argument(std::string(what) + ":" + std::to_string(line_no) + ": expected " +
                                      std::to_string(rows[0].size()) + " cells");
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

Result<ChoiceLists> shared_choice_lists_from_csv(std::string_view municipalities_csv, std::string_view communities_csv,
                                                 std::string_view languages_csv) {
  ChoiceLists lists;
  add_static_lists(lists);
  ChoiceList mun{"L:municipality", {}};
  Status s = read_csv(municipalities_csv, "municipalities.csv",
                      {"code", "name_sq", "name_sr", "region", "serb_majority"}, [&](const auto& c) {
                        // Albanian name in en and sq; the file's Serbian names are Latin (README).
                        mun.choices.push_back({c[0], label3(c[1], c[1], to_serbian_cyrillic(c[2]))});
                      });
  if (!s.ok()) return s;
  ChoiceList com{"L:community", {}};
  s = read_csv(communities_csv, "communities.csv", {"code", "name_en", "name_sq", "name_sr"}, [&](const auto& c) {
    com.choices.push_back({c[0], label3(c[1], c[2], to_serbian_cyrillic(c[3]))});
  });
  if (!s.ok()) return s;
  ChoiceList lang{"L:language", {}};
  s = read_csv(languages_csv, "languages.csv", {"code", "name_en", "name_sq", "name_sr", "name_native", "status"},
               [&](const auto& c) {
                 lang.choices.push_back({c[0], label3(c[1], c[2], to_serbian_cyrillic(c[3]))});
               });
  if (!s.ok()) return s;
  ChoiceList com_resp{"L:community_resp", com.choices};
  com_resp.choices.push_back({"no_answer", label3("Prefer not to say", "Preferon të mos e thotë", "Не жели да се изјасни")});
  ChoiceList lang_ext{"L:language_ext", lang.choices};
  lang_ext.choices.push_back({"en", label3("English", "Anglisht", "Енглески")});
  lang_ext.choices.push_back({"other", label3("Other", "Tjetër", "Друго")});
  add(lists, std::move(mun));
  add(lists, std::move(com));
  add(lists, std::move(com_resp));
  add(lists, std::move(lang));
  add(lists, std::move(lang_ext));
  return lists;
}

const ChoiceLists& builtin_choice_lists() {
  // Built once from embedded data; the data is tested to parse, so the fallback never triggers.
  static const ChoiceLists kLists = [] {
    auto r = shared_choice_lists_from_csv(kMunicipalitiesCsv, kCommunitiesCsv, kLanguagesCsv);
    return r.ok() ? std::move(r).value() : ChoiceLists{};
  }();
  return kLists;
}

}  // namespace akt::forms
