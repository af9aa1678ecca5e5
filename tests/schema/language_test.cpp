// Multilingual labels: the Serbian transliteration (sr -> sr-Latn), the form language check
// (languages / fallback_en, docs/FORMS.md §2.1) and the completeness of the programme's texts.
#include <string>

#include "schema/forms/choice_list.hpp"
#include "schema/forms/serbian_script.hpp"
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

TEST_CASE("serbian script: Latin, digits and punctuation pass through; invalid UTF-8 is kept") {
  CHECK(to_serbian_latin("GPS тачка (AKT-LS), 5.000 EUR „да“") == "GPS tačka (AKT-LS), 5.000 EUR „da“");
  CHECK(to_serbian_latin("") == "");
  const std::string bad = "\xD0";
  CHECK(to_serbian_latin(bad) == bad);
  CHECK(to_serbian_cyrillic("Ljiljana NJEGOŠ Džemper đak") == "Љиљана ЊЕГОШ Џемпер ђак");
}

TEST_CASE("serbian script: every reference name round-trips Latin -> Cyrillic -> Latin") {
  std::size_t n = 0;
  for (const auto& [name, list] : builtin_choice_lists()) {
    for (const Choice& c : list.choices) {
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
  for (const auto& [name, list] : builtin_choice_lists()) {
    for (const Choice& c : list.choices) {
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

TEST_CASE("form languages: only declared languages are required; English only by default") {
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
    for (const auto& [name, list] : f.choice_lists)
      for (const Choice& c : list.choices) check_label(c.label, name + "." + c.code);
  }
}
