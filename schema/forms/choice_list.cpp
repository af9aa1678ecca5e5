// Shared choice lists (forms.md §0.3) and the CSV reader that builds the reference-file lists.
#include "schema/forms/choice_list.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "schema/forms/reference_data.hpp"

namespace akt::forms {
namespace {

// "prefer_not_say" -> "Prefer not say": fallback English label where forms.md gives none.
std::string humanize(std::string_view code) {
  std::string s(code);
  std::replace(s.begin(), s.end(), '_', ' ');
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// One list given as "code" or "code=English label" items.
ChoiceList make_list(std::string name, std::initializer_list<std::string_view> items) {
  ChoiceList list{std::move(name), {}};
  for (std::string_view item : items) {
    Choice c;
    auto eq = item.find('=');
    c.code = std::string(item.substr(0, eq));
    c.label.en = eq == std::string_view::npos ? humanize(c.code) : std::string(item.substr(eq + 1));
    list.choices.push_back(std::move(c));
  }
  return list;
}

void add(ChoiceLists& lists, ChoiceList list) {
  std::string name = list.name;
  lists[name] = std::move(list);
}

// The §0.3 lists that do not come from a reference file.
void add_static_lists(ChoiceLists& l) {
  add(l, make_list("L:yes_no", {"yes=Yes", "no=No"}));
  add(l, make_list("L:yes_no_na", {"yes=Yes", "no=No", "no_answer=Declined to answer"}));
  add(l, make_list("L:yes_no_dk", {"yes=Yes", "no=No", "dont_know=Don't know", "no_answer=Declined to answer"}));
  add(l, make_list("L:gender", {"female", "male", "prefer_not_say=Prefer not to say"}));
  add(l, make_list("L:age_band", {"18_24=18-24", "25_29=25-29", "30_35=30-35", "36_44=36-44", "45_54=45-54",
                                  "55_64=55-64", "65_plus=65 or older"}));
  add(l, make_list("L:settlement_type", {"urban", "peri_urban=Peri-urban", "rural"}));
  add(l, make_list("L:education", {"none_or_incomplete_primary=None or incomplete primary",
                                   "primary_lower_secondary=Completed 9-year compulsory", "upper_secondary", "tertiary",
                                   "no_answer=Declined to answer"}));
  add(l, make_list("L:employment",
                   {"employed_public=Employed (public sector)", "employed_private=Employed (private sector)",
                    "self_employed", "unemployed_seeking=Unemployed, seeking work", "student", "retired", "homemaker",
                    "other", "no_answer=Declined to answer"}));
  add(l, make_list("L:frequency", {"daily", "weekly", "monthly", "less_often", "never"}));
  add(l, make_list("L:quality5", {"very_negative", "negative", "neutral", "positive", "very_positive"}));
  add(l, make_list("L:satisfaction5", {"very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied"}));
  add(l, make_list("L:comfort4", {"very_uncomfortable", "uncomfortable", "comfortable", "very_comfortable",
                                  "dont_know=Don't know", "no_answer=Declined to answer"}));
  add(l, make_list("L:trust4", {"none_at_all", "not_much", "somewhat", "a_lot", "dont_know=Don't know",
                                "no_answer=Declined to answer"}));
  add(l, make_list("L:agree5", {"strongly_disagree", "disagree", "neither=Neither agree nor disagree", "agree",
                                "strongly_agree", "dont_know=Don't know"}));
  add(l, make_list("L:safety4", {"very_unsafe", "unsafe", "safe", "very_safe", "dont_know=Don't know"}));
  add(l, make_list("L:change5", {"much_worse", "worse", "same", "better", "much_better", "dont_know=Don't know"}));
  add(l, make_list("L:review_status", {"draft", "submitted", "returned=Returned to enumerator",
                                       "approved=Approved (locked)", "excluded_duplicate", "excluded_invalid"}));
  add(l, make_list("L:currency", {"eur=EUR", "usd=USD"}));
  add(l, make_list("L:partner", {"kcdf=Kosovo Community Development Fund (KCDF)", "aktiv=NGO AKTIV",
                                 "krd=Kosovo Relief and Development", "cpt=Center for Peace and Tolerance", "other"}));
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
                        mun.choices.push_back({c[0], {c[1], c[1], c[2]}});
                      });
  if (!s.ok()) return s;
  ChoiceList com{"L:community", {}};
  s = read_csv(communities_csv, "communities.csv", {"code", "name_en", "name_sq", "name_sr"}, [&](const auto& c) {
    com.choices.push_back({c[0], {c[1], c[2], c[3]}});
  });
  if (!s.ok()) return s;
  ChoiceList lang{"L:language", {}};
  s = read_csv(languages_csv, "languages.csv", {"code", "name_en", "name_sq", "name_sr", "name_native", "status"},
               [&](const auto& c) {
                 lang.choices.push_back({c[0], {c[1], c[2], c[3]}});
               });
  if (!s.ok()) return s;
  ChoiceList com_resp{"L:community_resp", com.choices};
  com_resp.choices.push_back({"no_answer", {"Prefer not to say", "", ""}});
  ChoiceList lang_ext{"L:language_ext", lang.choices};
  lang_ext.choices.push_back({"en", {"English", "Anglisht", "Engleski"}});
  lang_ext.choices.push_back({"other", {"Other", "", ""}});
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
