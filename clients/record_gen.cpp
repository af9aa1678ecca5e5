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

// A valid Form A record (tests/schema/fixtures/so1_interethnic_survey.valid.json); each generated
// record varies the answers that differ between households, keeping every rule of the form.
constexpr const char* kFormATemplate = R"json({"adult_confirmed":true,"app_version":"1.4.2","backcheck_consent":"yes","backcheck_phone":"+38344123456","cluster_id":"gracanice-03","comfort_coworker":"very_comfortable","comfort_neighbour":"comfortable","comfort_shop":"comfortable","comments":"Kind and open respondent.","consent":"yes","contact_communities":["albanian","roma"],"contact_freq":"weekly","contact_language":"mixed","contact_quality":"positive","contact_settings":["workplace","market_shop","other"],"contact_settings_other":"Bus station","contacted_municipality_12m":"yes","coop_necessary":"strongly_agree","device_id":"tab-0193","displacement_status":"never_displaced","ended_at":"2017-06-14T09:31:00+02:00","enumerator_id":"enum_07","equal_services":"disagree","gps":{"acc":8.5,"lat":42.5912,"lon":21.1934},"hh_number":17,"hh_size":4,"interview_language":"sr","interview_outcome":"completed","joint_activity_12m":"yes","joint_activity_count":3,"joint_activity_programme":"yes","langs_spoken":["sr","sq","en"],"local_initiative_12m":"no","mun_listens":"neither","mun_request_12m":"no","municipality":"gracanice","photo_context":"sha256:d948252eb555dda9b915f1eaf3f691b8a7f2643fbc3c9d8b29a45a99a4d5e78d;size=2554;type=image/jpeg","public_meeting_12m":"yes","public_meeting_count":2,"public_meeting_interpretation":"yes","public_meeting_mixed":"yes","public_meeting_spoke":"no","relations_change":"better","relations_outlook":"better","resp_age_band":"30_35","resp_community":"serb","resp_education":"upper_secondary","resp_employment":"employed_private","resp_gender":"female","respondent_available":"yes","review_status":"submitted","safety_other_areas":"safe","service_language_ok":"mostly","service_satisfaction":"satisfied","settlement_name":"Laplje Selo","settlement_type":"rural","started_at":"2017-06-14T09:05:00+02:00","survey_wave":"midline","team_id":"team_east","third_party_present":"no","top_problem":"unemployment","trust_central_gov":"dont_know","trust_mun_assembly":"not_much","trust_municipality":"somewhat","trust_police":"somewhat","unfair_treatment_12m":"yes","unfair_treatment_where":["municipal_services","public_space"],"visit_attempt":1})json";

GeneratedRecord generate_survey_record(std::mt19937_64& rng) {
  static const nlohmann::json base = nlohmann::json::parse(kFormATemplate);
  const Place& p = kPlaces[rng() % std::size(kPlaces)];
  static const std::array<const char*, 3> kWaves{"baseline", "midline", "endline"};
  static const std::array<const char*, 3> kGender{"female", "male", "prefer_not_say"};
  static const std::array<const char*, 7> kAge{"18_24", "25_29", "30_35", "36_44", "45_54", "55_64", "65_plus"};
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
  static const std::array<const char*, 4> kOthers{"albanian", "serb", "roma", "turkish"};
  nlohmann::json b = base;
  b["survey_wave"] = pick(rng, kWaves);
  b["municipality"] = p.municipality;
  b["cluster_id"] = std::string(p.municipality) + "-" + std::to_string(10 + rng() % 90);
  b["hh_number"] = 1 + rng() % 999;
  b["settlement_name"] = p.settlement;
  b["hh_size"] = 1 + rng() % 9;
  b["resp_gender"] = pick(rng, kGender);
  b["resp_age_band"] = pick(rng, kAge);
  b["resp_community"] = p.community;
  nlohmann::json contacts = nlohmann::json::array();
  for (const char* c : kOthers)
    if (std::string(c) != p.community && rng() % 2) contacts.push_back(c);
  if (contacts.empty()) contacts.push_back(std::string(p.community) == "albanian" ? "serb" : "albanian");
  b["contact_communities"] = contacts;
  b["comfort_neighbour"] = pick(rng, kComfort);
  b["comfort_coworker"] = pick(rng, kComfort);
  b["comfort_shop"] = pick(rng, kComfort);
  b["trust_municipality"] = pick(rng, kTrust);
  b["trust_mun_assembly"] = pick(rng, kTrust);
  b["trust_central_gov"] = pick(rng, kTrust);
  b["relations_change"] = pick(rng, kChange);
  b["comments"] = kNotes[rng() % kNotes.size()];
  GeneratedRecord g;
  g.scope = {p.municipality, p.community, "SO1"};
  g.body = b.dump();
  for (const auto& [k, v] : b.items()) g.changed.push_back(k);
  return g;
}

constexpr const char* kInfraTemplate = R"json({"app_version":"1.4.2","ben_albanian":420,"ben_ashkali":12,"ben_bosniak":0,"ben_croat":0,"ben_egyptian":0,"ben_female":380,"ben_gorani":0,"ben_method":"name_list_count","ben_montenegrin":0,"ben_other":3,"ben_roma":45,"ben_serb":310,"ben_total":790,"ben_turkish":0,"ben_youth":210,"cofin_community":2500,"cofin_municipality":9000,"device_id":"tab-0193","ended_at":"2017-06-14T09:31:00+02:00","enumerator_id":"enum_07","grant_amount":38500.0,"grant_currency":"eur","implementing_partner":"kcdf","jc_albanian":3,"jc_ashkali":0,"jc_bosniak":0,"jc_croat":0,"jc_egyptian":0,"jc_exists":"yes","jc_female":3,"jc_gorani":0,"jc_interpretation":"yes","jc_languages":["sq","sr"],"jc_meetings":5,"jc_minutes_seen":"yes","jc_montenegrin":0,"jc_mun_rep":"yes","jc_other":0,"jc_roma":1,"jc_serb":3,"jc_total":7,"jc_turkish":0,"mun_involvement":["cofinancing","permits","technical_supervision"],"municipality":"novoberde","pct_complete":60,"planned_end":"2016-10-31","planned_start":"2016-04-01","project_id":"SO1-0142","project_title":"Water supply extension to the lower neighbourhood","project_type":"water_supply","review_status":"submitted","settlement_name":"Bostane","site_gps":{"acc":6,"lat":42.6152,"lon":21.4321},"started_at":"2017-06-14T09:05:00+02:00","status":"in_progress","target_communities":["albanian","serb","roma"],"team_id":"team_east","visit":[{"v_followup_needed":"no","v_gps":{"acc":5,"lat":42.616,"lon":21.433},"v_issues":["none"],"v_pct_observed":35,"v_photo_1":"sha256:4ac0a78932868bae0ca02bccc6b203c4af7a7e25dd8dd0e2ec1e46b1952bbfa0;size=2332;type=image/jpeg","v_photo_1_caption":"Trench along the main road","visit_by":"enum_07","visit_date":"2016-06-20","visit_id":"0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b","visit_type":"progress"},{"v_followup_action":"Contractor to submit revised schedule (KCDF engineer)","v_followup_due":"2016-09-30","v_followup_needed":"yes","v_gps":{"acc":9,"lat":42.6149,"lon":21.4318},"v_issue_detail":"Two weeks of rain stopped the pipe laying.","v_issues":["delay","weather"],"v_pct_observed":60,"v_photo_1":"sha256:a33747b1ab51d3e65d98ad56aecb3d605e55df044843f1e4855a3cc8f396762b;size=2332;type=image/jpeg","v_photo_1_caption":"Pipes stored on site","v_photo_2":"sha256:64942e2f45b0b6b88c075ef2b7a053a4cc6338a7f8f5f2869bc0be84d5207185;size=2332;type=image/jpeg","v_photo_2_caption":"Flooded trench","visit_by":"enum_12","visit_date":"2016-09-02","visit_id":"5c0a9d11-77aa-4b3c-9d2e-112233445566","visit_type":"progress"}],"works_quality":"good"}
)json";

GeneratedRecord generate_infra_card(std::mt19937_64& rng) {
  nlohmann::json b = nlohmann::json::parse(kInfraTemplate);
  b["project_id"] = "SO1-" + std::to_string(100 + rng() % 900);
  b["status"] = "in_progress";
  b["pct_complete"] = 100;
  b["works_quality"] = "good";
  GeneratedRecord g;
  g.scope = {b["municipality"].get<std::string>(), "serb", "SO1"};
  g.body = b.dump();
  for (const auto& [k, v] : b.items()) g.changed.push_back(k);
  return g;
}

}  // namespace akt::client
