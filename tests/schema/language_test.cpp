// Multilingual labels: the Serbian transliteration (sr -> sr-Latn), the form language check
// (languages / fallback_en, docs/FORMS.md §2.1) and the completeness of the programme's texts.
#include <regex>
#include <set>
#include <string>

#include "schema/forms/choice_list.hpp"
#include "schema/forms/messages.hpp"
#include "schema/forms/serbian_script.hpp"
#include "schema/forms/validator.hpp"
#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

std::string form_in(const std::string& langs, const std::string& label, const std::string& extra = "") {
  return R"({"v":1,"form_id":"t","version":1,"languages":)" + langs +
         R"(,"title":{"en":"T","sq":"T sq","sr":"Т"},"choice_lists":{"yn":[{"code":"yes","label":{"en":"Yes","sq":"Po","sr":"Да"}},)"
         R"({"code":"no","label":{"en":"No","sq":"Jo"}}]},"fields":[{"key":"a","type":"select_one","choices":"yn",)"
         R"("sensitivity":"-","label":)" +
         label + "}]" + extra + "}";
}

}  // namespace

TEST_CASE("serbian script: every Cyrillic letter in both cases") {
  CHECK(to_serbian_latin("абвгдђежзијклљмнњопрстћуфхцчџш") == "abvgdđežzijklljmnnjoprstćufhcčdžš");
  CHECK(to_serbian_latin("АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ") == "ABVGDĐEŽZIJKLLJMNNJOPRSTĆUFHCČDŽŠ");
}

TEST_CASE("serbian script: digraphs take the case of their neighbours") {
  CHECK(to_serbian_latin("Љиљана") == "Ljiljana");
  CHECK(to_serbian_latin("ЉИЉАНА") == "LJILJANA");
  CHECK(to_serbian_latin("Његош") == "Njegoš");
  CHECK(to_serbian_latin("ЊЕГОШ") == "NJEGOŠ");
  CHECK(to_serbian_latin("Џемпер") == "Džemper");
  CHECK(to_serbian_latin("ЏЕМПЕР") == "DŽEMPER");
  CHECK(to_serbian_latin("Џ") == "Dž");             // alone: title case
  CHECK(to_serbian_latin("ПЉ") == "PLJ");           // all caps at a word's end
  CHECK(to_serbian_latin("Љ Ђ") == "Lj Đ");
  CHECK(to_serbian_latin("Ђаковица, Гњилане") == "Đakovica, Gnjilane");
}

TEST_CASE("serbian script: Latin, digits and punctuation pass through, invalid UTF-8 is kept") {
  CHECK(to_serbian_latin("GPS тачка (AKT-LS), 5.000 EUR „да“") == "GPS tačka (AKT-LS), 5.000 EUR „da“");
  CHECK(to_serbian_latin("") == "");
  const std::string bad = "\xD0";
  CHECK(to_serbian_latin(bad) == bad);
  CHECK(to_serbian_cyrillic("Ljiljana NJEGOŠ Džemper đak") == "Љиљана ЊЕГОШ Џемпер ђак");
}

TEST_CASE("serbian script: every reference name round-trips Latin -> Cyrillic -> Latin") {
  std::size_t n = 0;
  for (const auto& entry : builtin_choice_lists()) {
    const std::string& name = entry.first;  // INFO's lambda cannot capture a structured binding (clang 14)
    for (const Choice& c : entry.second.choices) {
      INFO(name << " " << c.code);
      CHECK(to_serbian_latin(c.label.sr) == c.label.sr_latn);
      ++n;
    }
  }
  CHECK(n > 100);
  const ChoiceList& mun = builtin_choice_lists().at("L:municipality");
  CHECK(mun.choices[0].label.sr == "Дечани");
  CHECK(mun.choices[0].label.sr_latn == "Dečani");  // exactly the reference file's name
  for (const Choice& c : mun.choices) CHECK(to_serbian_cyrillic(c.label.sr_latn) == c.label.sr);
}

TEST_CASE("shared choice lists: every choice has en, sq and sr") {
  for (const auto& entry : builtin_choice_lists()) {
    const std::string& name = entry.first;  // INFO's lambda cannot capture a structured binding (clang 14)
    for (const Choice& c : entry.second.choices) {
      INFO(name << " " << c.code);
      CHECK(!c.label.en.empty());
      CHECK(!c.label.sq.empty());
      CHECK(!c.label.sr.empty());
      CHECK(!c.label.sr_latn.empty());
    }
  }
}

TEST_CASE("form languages: sr-Latn is derived when the form is read") {
  FormDef f = must_parse(form_in(R"(["en","sq","sr"])", R"({"en":"Good day","sq":"Mirëdita","sr":"Добар дан, Љиљана"})",
                                 R"(,"fallback_en":["choice_lists.yn[1].label.sr"])"));
  CHECK(f.find("a")->label.sr_latn == "Dobar dan, Ljiljana");
  CHECK(f.title.sr_latn == "T");
  CHECK(f.list("yn")->choices[1].label.sr.empty());  // listed fallback: English is shown
}

TEST_CASE("form languages: a missing translation is an error with its path") {
  auto errs = def_errors(form_in(R"(["en","sq","sr"])", R"({"en":"Good day","sr":"Добар дан"})"));
  CHECK(has(errs, "fields[0].label.sq", "missing_translation"));
  CHECK(has(errs, "choice_lists.yn[1].label.sr", "missing_translation"));
  CHECK(errs.size() == 2);
  // An empty text is missing too.
  CHECK(has(def_errors(form_in(R"(["en","sq"])", R"({"en":"Good day","sq":""})")), "fields[0].label.sq",
                  "missing_translation"));
}

TEST_CASE("form languages: only declared languages are required, English only by default") {
  CHECK(def_errors(form_in(R"(["en","sq"])", R"({"en":"Good day","sq":"Mirëdita"})")).empty());
  CHECK(def_errors(form_json(R"([{"key":"a","type":"integer","label":{"en":"A"},"sensitivity":"-"}])")).empty());
}

TEST_CASE("form languages: bad declarations and stale fallbacks are errors") {
  CHECK(has(def_errors(form_in(R"(["sq","sr"])", R"({"en":"A","sq":"A","sr":"А"})")), "languages", "missing"));
  CHECK(has(def_errors(form_in(R"(["en","sr-Latn"])", R"({"en":"A"})")), "languages[1]", "unknown_language"));
  CHECK(has(def_errors(form_in(R"(["en","en"])", R"({"en":"A"})")), "languages[1]", "duplicate_key"));
  CHECK(has(def_errors(form_in(R"("en")", R"({"en":"A"})")), "languages", "type"));
  // sr-Latn is never written by hand.
  CHECK(has(def_errors(form_in(R"(["en"])", R"({"en":"A","sr-Latn":"A"})")), "fields[0].label.sr-Latn",
                  "derived_text"));
  // A fallback listed for a text that has its translation (or does not exist) is stale.
  auto errs = def_errors(form_in(R"(["en","sq","sr"])", R"({"en":"A","sq":"A","sr":"А"})",
                                 R"(,"fallback_en":["choice_lists.yn[1].label.sr","fields[0].label.sq"])"));
  CHECK(has(errs, "fallback_en[1]", "unused_fallback"));
  CHECK(errs.size() == 1);
}

TEST_CASE("programme instruments: every text in en, sq and sr, and sr-Latn derived") {
  for (const char* id : {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                         "so3_municipal_service"}) {
    INFO(id);
    const auto doc = nlohmann::json::parse(read_repo_file(std::string("schema/forms/programme/") + id + ".json"));
    CHECK(doc.at("languages") == nlohmann::json::array({"en", "sq", "sr"}));
    CHECK(!doc.contains("fallback_en"));
    FormParse r = parse_form_detailed(doc.dump());
    INFO(describe(r.errors));
    REQUIRE(r.form.has_value());
    const FormDef& f = *r.form;
    auto check_label = [&](const Label& l, const std::string& where) {
      INFO(where);
      CHECK(!l.en.empty());
      CHECK(!l.sq.empty());
      CHECK(!l.sr.empty());
      CHECK(l.sr_latn == to_serbian_latin(l.sr));
    };
    check_label(f.title, "title");
    for (const FieldDef* d : f.all_fields()) check_label(d->label, d->key);
    // Hints, constraint messages and check messages (the common header's included).
    for (const FieldDef* d : f.all_fields()) {
      if (!d->hint.en.empty()) check_label(d->hint, d->key + " hint");
      for (const Check& c : d->checks) {
        if (c.message.empty()) continue;
        check_label(c.text, d->key + " " + c.def_path);
        CHECK(c.text.en == c.message);
      }
    }
    for (const auto& [name, list] : f.choice_lists)
      for (const Choice& c : list.choices) check_label(c.label, name + "." + c.code);
  }
}

namespace {

// The identifiers a text names (field keys, codes, files: anything with '_', '$' or ".md"): a
// translation must name the same ones, unchanged.
std::multiset<std::string> references(const std::string& text) {
  static const std::regex word(R"([A-Za-z0-9_.${}]+)");
  std::multiset<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), word); it != std::sregex_iterator(); ++it) {
    std::string w = it->str();
    while (!w.empty() && w.back() == '.') w.pop_back();
    if (w.find('_') != std::string::npos || w.find('$') != std::string::npos || w.find(".md") != std::string::npos)
      out.insert(w);
  }
  return out;
}

// Every hint, constraint_message and check message of a definition, with its path.
void texts_of(const nlohmann::json& fields, const std::string& at, std::vector<std::pair<std::string, nlohmann::json>>& out) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& f = fields[i];
    const std::string p = at + "[" + std::to_string(i) + "]";
    if (f.contains("hint")) out.emplace_back(p + ".hint", f["hint"]);
    if (f.contains("constraint_message")) out.emplace_back(p + ".constraint_message", f["constraint_message"]);
    if (f.contains("checks"))
      for (std::size_t k = 0; k < f["checks"].size(); ++k)
        if (f["checks"][k].contains("message"))
          out.emplace_back(p + ".checks[" + std::to_string(k) + "].message", f["checks"][k]["message"]);
    if (f.contains("fields")) texts_of(f["fields"], p + ".fields", out);
  }
}

}  // namespace

TEST_CASE("programme instruments: hints and messages are {en, sq, sr} and keep their references") {
  std::size_t n = 0;
  for (const char* id : {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                         "so3_municipal_service"}) {
    const auto doc = nlohmann::json::parse(read_repo_file(std::string("schema/forms/programme/") + id + ".json"));
    std::vector<std::pair<std::string, nlohmann::json>> texts;
    texts_of(doc.at("fields"), "fields", texts);
    for (const auto& text : texts) {
      const std::string& path = text.first;
      const nlohmann::json& t = text.second;
      INFO(id << " " << path);
      REQUIRE(t.is_object());
      CHECK(t.size() == 3);
      const std::string en = t.value("en", ""), sq = t.value("sq", ""), sr = t.value("sr", "");
      CHECK(!en.empty());
      CHECK(!sq.empty());
      CHECK(!sr.empty());
      CHECK(sq != en);
      CHECK(references(sq) == references(en));
      CHECK(references(sr) == references(en));
      ++n;
    }
  }
  CHECK(n >= 62);  // 62 today, and the common header's two (checked above)
}

TEST_CASE("form languages: hints and messages need the declared languages too") {
  const std::string rule = R"(,"constraint":". != 'no'","constraint_message":)";
  // A plain string is the English text: the other declared languages are missing.
  auto errs = def_errors(form_in(R"(["en","sq","sr"])", R"({"en":"A","sq":"A","sr":"А"})" + rule + R"("not no","hint":"h")"));
  CHECK(has(errs, "fields[0].constraint_message.sq", "missing_translation"));
  CHECK(has(errs, "fields[0].constraint_message.sr", "missing_translation"));
  CHECK(has(errs, "fields[0].hint.sq", "missing_translation"));
  CHECK(has(errs, "fields[0].hint.sr", "missing_translation"));
  // English-only forms keep plain strings.
  CHECK(def_errors(form_in(R"(["en"])", R"({"en":"A"})" + rule + R"("not no","hint":"h")")).empty());
  // An object is read like a label; sr-Latn is derived; a listed fallback shows English.
  FormDef f = must_parse(form_in(R"(["en","sq","sr"])", R"({"en":"A","sq":"A","sr":"А"})" + rule +
                                     R"({"en":"not no","sq":"jo jo","sr":"не не, Љиљана"},"hint":{"en":"h","sq":"h sq"})",
                                 R"(,"fallback_en":["fields[0].hint.sr","choice_lists.yn[1].label.sr"])"));
  const FieldDef* a = f.find("a");
  REQUIRE(a->checks.size() == 1);
  CHECK(a->checks[0].message == "not no");
  CHECK(a->checks[0].text.sr_latn == "ne ne, Ljiljana");
  CHECK(a->hint.sq == "h sq");
  CHECK(text_in(a->hint, Lang::kSr) == "h");  // the listed fallback
  CHECK(has(def_errors(form_in(R"(["en"])", R"({"en":"A"})" + rule + "3")), "fields[0].constraint_message", "type"));
  CHECK(has(def_errors(form_in(R"(["en","sq"])", R"({"en":"A","sq":"A"},"checks":[{"expr":". != 'x'","message":"small"}])")),
            "fields[0].checks[0].message.sq", "missing_translation"));
}

TEST_CASE("validator messages: in the language asked for, English where a text has none") {
  FormDef f = must_parse(form_in(R"(["en","sq","sr"])", R"({"en":"A","sq":"A","sr":"А"})" +
                                                            std::string(R"(,"required":true,"constraint":". != 'no'","constraint_message":)") +
                                                            R"({"en":"not no","sq":"jo jo","sr":"не не, Љиљана"})",
                                 R"(,"fallback_en":["choice_lists.yn[1].label.sr"])"));
  const nlohmann::json no = {{"a", "no"}}, bad = {{"a", "maybe"}}, none = nlohmann::json::object();
  auto msg = [&](const nlohmann::json& body, Lang l) {
    auto errs = validate_record(f, body, ValidationContext{"2017-06-15", l});
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  CHECK(msg(no, Lang::kEn).message == "not no");
  CHECK(msg(no, Lang::kSq).message == "jo jo");
  CHECK(msg(no, Lang::kSr).message == "не не, Љиљана");
  CHECK(msg(no, Lang::kSrLatn).message == "ne ne, Ljiljana");
  CHECK(msg(none, Lang::kEn).message == "an answer is required");
  CHECK(msg(none, Lang::kSq).message == "kërkohet një përgjigje");
  CHECK(msg(none, Lang::kSr).message == "одговор је обавезан");
  CHECK(msg(none, Lang::kSrLatn).message == "odgovor je obavezan");
  CHECK(msg(bad, Lang::kSr).message == "'maybe' није на листи yn");
  // Codes and paths do not depend on the language.
  for (Lang l : {Lang::kSq, Lang::kSr, Lang::kSrLatn}) {
    CHECK(msg(no, l).code == "constraint");
    CHECK(msg(bad, l).code == "choice");
    CHECK(msg(bad, l).path == "a");
  }
  // The programme's own messages: a survey rule in Albanian.
  const auto doc = nlohmann::json::parse(read_repo_file("schema/forms/programme/so1_interethnic_survey.json"));
  FormDef survey = must_parse(doc.dump());
  bool seen = false;
  for (const FieldDef* d : survey.all_fields())
    for (const Check& c : d->checks)
      if (c.message == "GPS accuracy worse than 30 m") seen = c.text.sq == "saktësia e GPS-it është më e dobët se 30 m";
  CHECK(seen);
}

TEST_CASE("validator messages: the catalogue has every message in sq and sr with the same arguments") {
  auto holes = [](std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = s.find("{}"); i != std::string_view::npos; i = s.find("{}", i + 2)) ++n;
    return n;
  };
  std::set<std::string_view> seen;
  for (const MessageTemplate& m : message_catalogue()) {
    INFO(m.en);
    CHECK(seen.insert(m.en).second);
    CHECK(!m.sq.empty());
    CHECK(!m.sr.empty());
    CHECK(holes(m.sq) == holes(m.en));
    CHECK(holes(m.sr) == holes(m.en));
  }
  CHECK(say(Lang::kSq, "more than {} items", {"200"}) == "më shumë se 200 elemente");
  CHECK(say(Lang::kSrLatn, "'{}' selected twice", {"Џ"}) == "'Џ' je izabrano dva puta");  // arguments unchanged
  CHECK(say(Lang::kSr, "not in the catalogue {}", {"x"}) == "not in the catalogue x");   // English fallback
}

TEST_CASE("languages: tags and Accept-Language") {
  CHECK(lang_from_tag("sq") == Lang::kSq);
  CHECK(lang_from_tag("SQ-al") == Lang::kSq);
  CHECK(lang_from_tag("sr") == Lang::kSr);
  CHECK(lang_from_tag("sr-Cyrl-RS") == Lang::kSr);
  CHECK(lang_from_tag("sr-Latn") == Lang::kSrLatn);
  CHECK(lang_from_tag("sr-latn-rs") == Lang::kSrLatn);
  CHECK(lang_from_tag("en-GB") == Lang::kEn);
  CHECK(!lang_from_tag("de").has_value());
  CHECK(!lang_from_tag("srx").has_value());
  CHECK(negotiate_language("") == Lang::kEn);
  CHECK(negotiate_language("de-DE, fr;q=0.8") == Lang::kEn);
  CHECK(negotiate_language("sq-AL,sq;q=0.9,en-US;q=0.8") == Lang::kSq);
  CHECK(negotiate_language("de, sr-Latn;q=0.7, en;q=0.5") == Lang::kSrLatn);
  CHECK(negotiate_language("en;q=0.4, sr;q=0.9") == Lang::kSr);
  CHECK(negotiate_language("sq;q=0, en") == Lang::kEn);
  CHECK(negotiate_language("sq;q=abc") == Lang::kEn);
  CHECK(lang_tag(Lang::kSrLatn) == "sr-Latn");
}
