// aktsync-seed: sets up a demo on a running aktsyncd over HTTPS, the way an admin, a supervisor and two
// tablets would: publishes the programme's four forms, creates demo users (a supervisor, an M&E officer,
// two enumerators), enrols two tablets (their tokens are saved to a state file and an env file), pushes
// varied records of all four instruments from both tablets, has the supervisor approve most and return
// some, leaves three refused edits in the quarantine and sets up one conflict of each inbox kind.
// Safe to run again: forms, users, assignments and tablets are reused (nothing the server already holds
// is set again, so no user's scope version moves), batches replay unchanged and reviewed records are
// not reviewed again.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/demo_data.hpp"
#include "clients/record_gen.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

using namespace akt;
using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

int usage(std::FILE* out = stderr) {
  std::fprintf(out,
               "usage: aktsync-seed --port PORT --ca-file CERT.pem --admin-password-file F --demo-password-file F\n"
               "                    --forms-dir DIR --state FILE --env-out FILE [--records N] [--admin-user NAME]\n"
               "                    [--verbose 1] [--plain 1]\n"
               "  Publishes the forms in DIR, creates demo users, enrols two tablets, pushes N (default 500)\n"
               "  demo survey interviews and records of the other three forms, reviews them, and sets up\n"
               "  one conflict of each kind and three quarantined edits, on https://127.0.0.1:PORT.\n"
               "  Safe to run twice.\n");
  return out == stderr ? 2 : 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct Tablet {
  std::string actor, token, user;
  std::int64_t n = 0;
  Headers auth() const {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"},
            {"X-Akt-Client", "app=aktsync-seed/1.0; unsynced=0"}};
  }
};

class Seeder {
 public:
  // `ca` empty: plain HTTP (a test server without TLS).
  Seeder(std::uint16_t port, const std::string& ca) : c_("127.0.0.1", port, options(ca)) {}

  // Sends a request; prints and returns nullopt on a transport error or an unexpected status.
  std::optional<client::HttpResult> call(const std::string& method, const std::string& target, const std::string& body,
                                         const Headers& h, std::initializer_list<int> ok) {
    auto r = c_.request(method, target, body, h);
    // Throttled (a token's request rate, SECURITY.md): wait as told and try again.
    for (int tries = 0; r.ok() && r->status == 429 && tries < 60; ++tries) {
      const int wait_s = std::clamp(std::atoi(r->header("retry-after").c_str()), 1, 10);
      std::this_thread::sleep_for(std::chrono::seconds(wait_s));
      r = c_.request(method, target, body, h);
    }
    if (!r.ok()) {
      std::fprintf(stderr, "%s %s: %s\n", method.c_str(), target.c_str(), r.status().message().c_str());
      return std::nullopt;
    }
    for (int s : ok)
      if (r->status == s) return *r;
    std::fprintf(stderr, "%s %s: HTTP %d %s\n", method.c_str(), target.c_str(), r->status, r->body.c_str());
    return std::nullopt;
  }

 private:
  static client::HttpOptions options(const std::string& ca) {
    client::HttpOptions o;
    o.tls = !ca.empty();
    o.ca_file = ca;
    return o;
  }
  client::HttpClient c_;
};

// Raised when the demo's batches change: tablets of an older demo would reuse dots for other edits.
constexpr int kDemoVersion = 2;

std::string random_actor() {
  std::random_device rd;
  std::array<std::uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(rd());
  return sync::format_uuid(sync::make_uuid_v4(b));
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return usage(stdout);
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  for (const char* k : {"--port", "--admin-password-file", "--demo-password-file", "--forms-dir",
                        "--state", "--env-out"})
    if (!a.count(k)) return usage();
  if (!a.count("--ca-file") && !(a.count("--plain") && a["--plain"] == "1")) return usage();
  const int records = a.count("--records") ? std::atoi(a["--records"].c_str()) : 500;
  if (records < 0 || records > 100000) return usage();
  const std::string admin_user = a.count("--admin-user") ? a["--admin-user"] : "admin";
  // --plain 1: a server without TLS on the loopback (the console's browser tests).
  const bool plain = a.count("--plain") && a["--plain"] == "1";
  Seeder s(static_cast<std::uint16_t>(std::atoi(a["--port"].c_str())), plain ? std::string() : a["--ca-file"]);
  const Headers json_ct{{"Content-Type", "application/json"}};

  // 1. The admin logs in.
  auto login = s.call("POST", "/v1/login",
                      json{{"username", admin_user}, {"password", read_file(a["--admin-password-file"])}}.dump(),
                      json_ct, {200});
  if (!login) return 1;
  const Headers admin{{"Authorization", "Bearer " + json::parse(login->body)["token"].get<std::string>()},
                      {"Content-Type", "application/json"}};

  // 2. The programme's forms, published (409: already there).
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(a["--forms-dir"]))
    if (f.path().extension() == ".json") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string def = read_file(f.string());
    auto j = json::parse(def, nullptr, false);
    if (j.is_discarded()) return 1;
    if (!s.call("POST", "/v1/admin/forms", def, admin, {201, 409})) return 1;
    const std::string target = "/v1/admin/forms/" + j["form_id"].get<std::string>() + "/" +
                               std::to_string(j["version"].get<int>()) + "/publish";
    if (!s.call("POST", target, "{}", admin, {200, 409})) return 1;
  }

  // 3. Demo users: a supervisor, an M&E officer, two enumerators in the supervisor's team (all three
  // components, anywhere). Assignments are set only when they differ from what the server holds.
  const std::string demo_pw = read_file(a["--demo-password-file"]);
  const json all_components = json::array({{{"component", "SO1"}}, {{"component", "SO2"}}, {{"component", "SO3"}}});
  auto users_now = s.call("GET", "/v1/admin/users", "", admin, {200});
  if (!users_now) return 1;
  std::map<std::string, json> existing;
  const json listed = json::parse(users_now->body);  // named: a range-for over a member of a temporary dangles
  for (const auto& u : listed.value("users", json::array())) existing[u["username"].get<std::string>()] = u;
  struct U { const char* name; const char* display; const char* role; const char* supervisor; };
  for (U u : {U{"supervisor1", "Drita Berisha", "supervisor", ""}, U{"me1", "Milan Petrović", "me_officer", ""},
              U{"enumerator1", "Arben Gashi", "enumerator", "supervisor1"},
              U{"enumerator2", "Jelena Stojanović", "enumerator", "supervisor1"}}) {
    if (!existing.count(u.name)) {
      json body{{"username", u.name}, {"password", demo_pw}, {"role", u.role}, {"display_name", u.display}};
      if (*u.supervisor) body["supervisor"] = u.supervisor;
      if (!s.call("POST", "/v1/admin/users", body.dump(), admin, {201, 409})) return 1;
    }
    if (std::string(u.role) == "me_officer") continue;
    json want = json::array();
    for (const auto& c : all_components)
      want.push_back({{"community", "*"}, {"component", c["component"]}, {"form", "*"}, {"municipality", "*"}});
    if (existing.count(u.name) && existing[u.name]["assignments"] == want) continue;
    if (!s.call("PUT", std::string("/v1/admin/users/") + u.name + "/assignments",
                json{{"assignments", all_components}}.dump(), admin, {200}))
      return 1;
  }

  // 4. Two tablets, enrolled once with one-time codes; their tokens are kept in the state file.
  std::vector<Tablet> tablets;
  if (std::filesystem::exists(a["--state"])) {
    auto st = json::parse(read_file(a["--state"]), nullptr, false);
    // Tablets of an older demo (another set of batches) are left alone: new ones are enrolled.
    if (!st.is_discarded() && st.value("demo", 0) == kDemoVersion) {
      // The batches depend on N: other records under the same batch ids and dots would be refused.
      if (st.value("records", -1) != records) {
        std::fprintf(stderr, "the demo on this server was made with --records %d; run again with that number, or "
                             "start from a fresh data folder\n", st.value("records", -1));
        return 2;
      }
      for (const auto& t : st["tablets"]) tablets.push_back({t["actor"], t["token"], t["user"]});
    }
  }
  if (tablets.size() != 2) {
    tablets.clear();
    for (const char* user : {"enumerator1", "enumerator2"}) {
      auto code = s.call("POST", "/v1/admin/enrolments",
                         json{{"username", user}, {"device_name", std::string("demo tablet of ") + user}}.dump(), admin,
                         {201});
      if (!code) return 1;
      Tablet t{random_actor(), "", user};
      auto enrol = s.call("POST", "/v1/enrol",
                          json{{"code", json::parse(code->body)["code"]}, {"actor", t.actor}, {"app_version", "1.4.2"}}.dump(),
                          json_ct, {201});
      if (!enrol) return 1;
      t.token = json::parse(enrol->body)["token"];
      tablets.push_back(t);
    }
    json st{{"demo", kDemoVersion}, {"records", records}, {"tablets", json::array()}};
    for (const auto& t : tablets) st["tablets"].push_back({{"actor", t.actor}, {"token", t.token}, {"user", t.user}});
    std::ofstream(a["--state"]) << st.dump(2) << "\n";
    std::filesystem::permissions(a["--state"], std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  {
    std::ofstream env(a["--env-out"]);
    env << "TABLET1_ACTOR=" << tablets[0].actor << "\nTABLET1_TOKEN=" << tablets[0].token << "\nTABLET2_ACTOR="
        << tablets[1].actor << "\nTABLET2_TOKEN=" << tablets[1].token << "\n";
    std::filesystem::permissions(a["--env-out"], std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

    // 5. The records (deterministic: the same batches every run, so replays change nothing).
  client::DemoData demo = client::make_demo_data(records, tablets[0].actor, tablets[0].user, tablets[1].actor,
                                                 tablets[1].user);
  std::size_t rejected = 0;
  const bool verbose = a.count("--verbose") && a["--verbose"] == "1";
  auto push_all = [&](const std::vector<client::DemoPush>& pushes) -> bool {
    for (const auto& p : pushes) {
      Tablet& t = p.tablet == 0 ? tablets[0] : tablets[1];
      auto r = s.call("POST", "/v1/push", sync::encode_push_request(p.request), t.auth(), {200});
      if (!r) return false;
      auto decoded = sync::decode_push_response(r->body);
      if (!decoded.ok()) return false;
      for (const auto& x : decoded->results) {
        if (x.outcome != sync::Outcome::kRejected) continue;
        ++rejected;
        if (verbose)
          std::fprintf(stderr, "refused %s (%s): %s %s\n", x.record_id.c_str(),
                       p.request.edits[x.index].form_id.c_str(), x.error_code.c_str(), x.error_detail.c_str());
      }
    }
    return true;
  };
  if (!push_all(demo.first)) return 1;

  // 6. The supervisor reviews: most records approved, some returned with a comment (skipped when done).
  // Four sessions take turns: each token's request rate is limited (SECURITY.md §5).
  std::vector<Headers> sessions;
  for (int i = 0; i < 4; ++i) {
    auto sup = s.call("POST", "/v1/login", json{{"username", "supervisor1"}, {"password", demo_pw}}.dump(), json_ct, {200});
    if (!sup) return 1;
    sessions.push_back({{"Authorization", "Bearer " + json::parse(sup->body)["token"].get<std::string>()},
                        {"Content-Type", "application/json"}});
  }
  std::map<std::string, int> reviewed;
  std::size_t turn = 0;
  for (const auto& rv : demo.reviews) {
    const Headers& supervisor = sessions[turn++ % sessions.size()];
    ++reviewed[rv.status];
    auto rec = s.call("GET", "/v1/records/" + rv.record, "", supervisor, {200});
    if (!rec) {
      std::fprintf(stderr, "(run with --verbose 1 to see the refused edits)\n");
      return 1;
    }
    const json live = json::parse(rec->body)["live"];
    if (live.empty() || live[0]["body"].value("review_status", "") != "submitted") continue;
    json body{{"seen", live[0]["clock"]}, {"status", rv.status}};
    if (!rv.comment.empty()) body["comment"] = rv.comment;
    if (!s.call("POST", "/v1/admin/records/" + rv.record + "/review", body.dump(), supervisor, {200})) return 1;
  }

  // 7. The tablets' concurrent edits: one conflict of each kind.
  if (!push_all(demo.then)) return 1;

  // 8. What the server holds now (the same on every run).
  auto open = s.call("GET", "/v1/admin/conflicts?status=open&limit=500", "", admin, {200});
  auto quarantine = s.call("GET", "/v1/admin/quarantine?limit=1000", "", admin, {200});
  if (!open || !quarantine) return 1;
  const json open_entries = json::parse(open->body)["entries"];
  const json quarantined = json::parse(quarantine->body)["entries"];
  std::map<std::string, int> kinds;
  for (const auto& e : open_entries) ++kinds[e["kind"].get<std::string>()];
  std::size_t waiting = 0;
  for (const auto& q : quarantined) waiting += q["released_at"] == 0;
  std::string kind_list;
  for (const auto& [k, n] : kinds) kind_list += (kind_list.empty() ? "" : ", ") + k + (n > 1 ? " x" + std::to_string(n) : "");
  std::printf("seeded %zu forms, 4 demo users, 2 tablets\n", files.size());
  std::printf("records: %zu survey interviews, %zu infrastructure project cards, %zu business follow-ups, "
              "%zu municipal service assessments\n",
              demo.count.at("so1_interethnic_survey"), demo.count.at("so1_infra_monitoring"),
              demo.count.at("so2_business_followup"), demo.count.at("so3_municipal_service"));
  std::printf("reviews: %d approved, %d returned; %zu refused edits in the quarantine\n", reviewed["approved"],
              reviewed["returned"], waiting);
  std::printf("open conflicts: %zu (%s)\n", open_entries.size(), kind_list.c_str());
  if (rejected != demo.expected_rejections) {
    std::fprintf(stderr, "%zu edits were refused (expected %zu)\n", rejected, demo.expected_rejections);
    return 1;
  }
  return 0;
}
