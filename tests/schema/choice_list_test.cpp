// Shared choice lists: embedded reference data, and rebuilding them from caller-supplied CSV text.
#include "schema/forms/choice_list.hpp"

#include <doctest/doctest.h>

#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using akt::forms::test::read_repo_file;

TEST_CASE("choice lists: builtin lists match forms.md §0.3") {
  const ChoiceLists& l = builtin_choice_lists();
  REQUIRE(l.count("L:municipality") == 1);
  CHECK(l.at("L:municipality").choices.size() == 38);
  CHECK(l.at("L:municipality").contains("mitrovica_north"));
  CHECK(l.at("L:community").choices.size() == 11);
  CHECK(l.at("L:community_resp").choices.size() == 12);
  CHECK(l.at("L:community_resp").contains("no_answer"));
  CHECK_FALSE(l.at("L:community").contains("no_answer"));
  CHECK(l.at("L:language").choices.size() == 5);
  CHECK(l.at("L:language_ext").contains("en"));
  CHECK(l.at("L:language_ext").contains("other"));
  CHECK(l.at("L:age_band").choices.size() == 7);
  CHECK(l.at("L:review_status").contains("excluded_duplicate"));
  for (const char* name : {"L:yes_no", "L:yes_no_na", "L:yes_no_dk", "L:gender", "L:settlement_type", "L:education",
                           "L:employment", "L:frequency", "L:quality5", "L:satisfaction5", "L:comfort4", "L:trust4",
                           "L:agree5", "L:safety4", "L:change5", "L:currency", "L:partner"}) {
    INFO(name);
    CHECK(l.count(name) == 1);
  }
}

TEST_CASE("choice lists: labels carry the three languages from the CSVs") {
  const ChoiceList& com = builtin_choice_lists().at("L:community");
  CHECK(com.choices[1].code == "serb");
  CHECK(com.choices[1].label.en == "Serb");
  CHECK(com.choices[1].label.sq == "Komuniteti serb");
  // sr is Cyrillic; the CSV's Latin name is exactly its transliteration (sr_latn).
  CHECK(com.choices[1].label.sr == "Српска заједница");
  CHECK(com.choices[1].label.sr_latn == "Srpska zajednica");
  const ChoiceList& mun = builtin_choice_lists().at("L:municipality");
  CHECK(mun.choices[0].label.sr == "Дечани");
  CHECK(mun.choices[0].label.sr_latn == "Dečani");
}

TEST_CASE("choice lists: the embedded data equals the docs/domain CSVs") {
  // A difference means reference_data.cpp is stale: regenerate it from docs/domain/.
  auto built = shared_choice_lists_from_csv(read_repo_file("docs/domain/municipalities.csv"),
                                            read_repo_file("docs/domain/communities.csv"),
                                            read_repo_file("docs/domain/languages.csv"));
  REQUIRE(built.ok());
  CHECK(*built == builtin_choice_lists());
}

TEST_CASE("choice lists: malformed CSV is rejected with file and line") {
  const std::string com = "code,name_en,name_sq,name_sr\nserb,Serb,a,b\n";
  const std::string lang =
      "code,name_en,name_sq,name_sr,name_native,status\nsq,Albanian,Shqip,Albanski,Shqip,official\n";
  const std::string mun = "code,name_sq,name_sr,region,serb_majority\ndecan,Deçan,Dečani,Gjakova,false\n";
  CHECK(shared_choice_lists_from_csv(mun, com, lang).ok());
  auto short_row = shared_choice_lists_from_csv(mun + "x,y\n", com, lang);
  REQUIRE_FALSE(short_row.ok());
  CHECK(short_row.status().message() == "municipalities.csv:3: expected 5 cells");
  auto dup = shared_choice_lists_from_csv(mun, com + "serb,Serb,a,b\n", lang);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("communities.csv:3") != std::string::npos);
  CHECK_FALSE(shared_choice_lists_from_csv(mun, "id,name\nx,y\n", lang).ok());
  CHECK(shared_choice_lists_from_csv(mun, com, "").status().message().find("header") != std::string::npos);
}
