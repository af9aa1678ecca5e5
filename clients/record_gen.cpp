#include "clients/record_gen.hpp"

#include <array>

#include <nlohmann/json.hpp>

#include "sync/uuid.hpp"

namespace akt::client {

namespace {

struct Place {
  const char* municipality;
  const char* settlement;
  const char* community;  // a minority community present there
};

// Programme partner municipalities, with settlement names as written locally.
constexpr Place kPlaces[] = {
    {"gracanice", "Laplje Selo / Llapnasellë", "serb"},   {"kllokot", "Vërboc / Vrbovac", "serb"},
    {"partesh", "Pasjane / Pasjan", "serb"},              {"ranillug", "Ropotovo / Ropotovë", "serb"},
    {"novoberde", "Bostane / Bostan", "serb"},            {"shterpce", "Brezovica / Brezovicë", "serb"},
    {"obiliq", "Plemetin / Plemetina", "roma"},           {"gjilan", "Gjilan – lagjja e Romëve", "roma"},
    {"istog", "Osojane / Osojan", "serb"},                {"kline", "Dollc / Dolac", "ashkali"},
    {"peje", "Goraždevac / Gorazhdec", "serb"},           {"vushtrri", "Priluzhë / Prilužje", "serb"},
    {"mitrovica_north", "Bošnjačka mahala", "bosniak"},   {"leposaviq", "Sočanica / Soçanicë", "serb"},
    {"zubin_potok", "Čabra / Çabër", "albanian"},         {"zvecan", "Žerovnica / Zhervnicë", "serb"},
    {"prizren", "Mamushë / Mamuša", "turkish"},           {"dragash", "Restelicë / Restelica", "gorani"},
};

template <std::size_t N>
const char* pick(std::mt19937_64& rng, const std::array<const char*, N>& a) {
  return a[rng() % N];
}

}  // namespace

std::string new_record_id(std::uint64_t unix_ms, std::mt19937_64& rng) {
  std::array<std::uint8_t, 10> r{};
  for (auto& b : r) b = static_cast<std::uint8_t>(rng());
  return sync::format_uuid(sync::make_uuid_v7(unix_ms, r));
}

GeneratedRecord generate_survey_record(std::mt19937_64& rng) {
  const Place& p = kPlaces[rng() % std::size(kPlaces)];
  static const std::array<const char*, 3> kWaves{"baseline", "midline", "endline"};
  static const std::array<const char*, 3> kGender{"female", "male", "prefer_not_say"};
  static const std::array<const char*, 7> kAge{"18_24", "25_29", "30_35", "36_44", "45_54", "55_64", "65_plus"};
  static const std::array<const char*, 5> kFreq{"daily", "weekly", "monthly", "less_often", "never"};
  static const std::array<const char*, 5> kQuality{"very_negative", "negative", "neutral", "positive",
                                                   "very_positive"};
  static const std::array<const char*, 6> kComfort{"very_uncomfortable", "uncomfortable", "comfortable",
                                                   "very_comfortable", "dont_know", "no_answer"};
  static const std::array<const char*, 6> kTrust{"none_at_all", "not_much", "somewhat", "a_lot", "dont_know",
                                                 "no_answer"};
  static const std::array<const char*, 6> kChange{"much_worse", "worse", "same", "better", "much_better",
                                                  "dont_know"};
  static const std::array<const char*, 4> kNotes{
      "Intervista u zhvillua në oborr; të anketuarit iu shpjegua qëllimi i anketës.",
      "Razgovor je vođen na srpskom; ispitanik je želeo da naglasi problem sa vodovodom u naselju.",
      "Banorët përmendën rrugën e re të ndërtuar me grantin e komunitetit; çdo javë takohen në treg.",
      "Ispitanica kaže da se odnosi popravljaju; zajednički sastanci u opštini su česti i korisni."};
  const int hh = static_cast<int>(rng() % 999) + 1;
  nlohmann::json b{
      {"survey_wave", pick(rng, kWaves)},
      {"municipality", p.municipality},
      {"cluster_id", std::string(p.municipality) + "-" + std::to_string(10 + rng() % 90)},
      {"hh_number", hh},
      {"settlement_name", p.settlement},
      {"settlement_type", rng() % 2 ? "rural" : "peri_urban"},
      {"visit_attempt", 1 + rng() % 3},
      {"respondent_available", "yes"},
      {"interview_language", rng() % 2 ? "sr" : "sq"},
      {"adult_confirmed", true},
      {"consent", "yes"},
      {"resp_gender", pick(rng, kGender)},
      {"resp_age_band", pick(rng, kAge)},
      {"resp_community", p.community},
      {"langs_spoken", rng() % 2 ? nlohmann::json{"sq", "sr"} : nlohmann::json{"sr"}},
      {"resp_education", "upper_secondary"},
      {"resp_employment", "self_employed"},
      {"hh_size", 1 + rng() % 9},
      {"contact_freq", pick(rng, kFreq)},
      {"contact_quality", pick(rng, kQuality)},
      {"unfair_treatment_12m", rng() % 4 ? "no" : "yes"},
      {"comfort_neighbour", pick(rng, kComfort)},
      {"comfort_coworker", pick(rng, kComfort)},
      {"comfort_shop", pick(rng, kComfort)},
      {"joint_activity_12m", "yes"},
      {"joint_activity_count", 1 + rng() % 12},
      {"relations_change", pick(rng, kChange)},
      {"contacted_municipality_12m", "yes"},
      {"trust_municipality", pick(rng, kTrust)},
      {"trust_mun_assembly", pick(rng, kTrust)},
      {"trust_central_gov", pick(rng, kTrust)},
      {"enumerator_note", kNotes[rng() % kNotes.size()]},
      {"review_status", "submitted"},
  };
  GeneratedRecord g;
  g.scope = {p.municipality, p.community, "SO1"};
  g.body = b.dump();
  for (const auto& [k, v] : b.items()) g.changed.push_back(k);
  return g;
}

}  // namespace akt::client
