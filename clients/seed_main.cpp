// aktsync-seed: sets up a demo on a running aktsyncd over HTTPS, the way an admin and two tablets would:
// publishes the programme's four forms, creates demo users (a supervisor, an M&E officer, two
// enumerators), enrols two tablets (their tokens are saved to a state file and an env file), pushes
// realistic Form A records, and makes one record edited concurrently by both tablets (a conflict).
// Safe to run again: existing forms, users and tablets are reused and batches replay unchanged.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
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
               "  Publishes the forms in DIR, creates demo users, enrols two tablets, pushes N (default 500)\n"
               "  demo survey records and one conflict, on https://127.0.0.1:PORT. Safe to run twice.\n");
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
  Headers auth() const { return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}; }
};

class Seeder {
 public:
  Seeder(std::uint16_t port, const std::string& ca) : c_("127.0.0.1", port, options(ca)) {}

  // Sends a request; prints and returns nullopt on a transport error or an unexpected status.
  std::optional<client::HttpResult> call(const std::string& method, const std::string& target, const std::string& body,
                                         const Headers& h, std::initializer_list<int> ok) {
    auto r = c_.request(method, target, body, h);
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
    o.tls = true;
    o.ca_file = ca;
    return o;
  }
  client::HttpClient c_;
};

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
  for (const char* k : {"--port", "--ca-file", "--admin-password-file", "--demo-password-file", "--forms-dir",
                        "--state", "--env-out"})
    if (!a.count(k)) return usage();
  const int records = a.count("--records") ? std::atoi(a["--records"].c_str()) : 500;
  const std::string admin_user = a.count("--admin-user") ? a["--admin-user"] : "admin";
  Seeder s(static_cast<std::uint16_t>(std::atoi(a["--port"].c_str())), a["--ca-file"]);
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

  // 3. Demo users: a supervisor, an M&E officer, two enumerators in the supervisor's team (SO1, anywhere).
  const std::string demo_pw = read_file(a["--demo-password-file"]);
  struct U { const char* name; const char* role; const char* supervisor; };
  for (U u : {U{"supervisor1", "supervisor", ""}, U{"me1", "me_officer", ""}, U{"enumerator1", "enumerator", "supervisor1"},
              U{"enumerator2", "enumerator", "supervisor1"}}) {
    json body{{"username", u.name}, {"password", demo_pw}, {"role", u.role}};
    if (*u.supervisor) body["supervisor"] = u.supervisor;
    if (!s.call("POST", "/v1/admin/users", body.dump(), admin, {201, 409})) return 1;
    if (std::string(u.role) != "me_officer" &&
        !s.call("PUT", std::string("/v1/admin/users/") + u.name + "/assignments",
                R"({"assignments":[{"component":"SO1"}]})", admin, {200}))
      return 1;
  }

  // 4. Two tablets, enrolled once with one-time codes; their tokens are kept in the state file.
  std::vector<Tablet> tablets;
  if (std::filesystem::exists(a["--state"])) {
    auto st = json::parse(read_file(a["--state"]), nullptr, false);
    if (!st.is_discarded())
      for (const auto& t : st["tablets"]) tablets.push_back({t["actor"], t["token"], t["user"]});
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
                          json{{"code", json::parse(code->body)["code"]}, {"actor", t.actor}, {"app_version", "seed"}}.dump(),
                          json_ct, {201});
      if (!enrol) return 1;
      t.token = json::parse(enrol->body)["token"];
      tablets.push_back(t);
    }
    json st{{"tablets", json::array()}};
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

  // 5. Demo records from tablet 1 (deterministic: the same batches every run, so replays change nothing).
  Tablet& t1 = tablets[0];
  Tablet& t2 = tablets[1];
  std::mt19937_64 rng(20141001);
  const std::uint64_t t0 = 1475280000000;  // 2016-10-01, mid-programme
  std::vector<sync::Edit> all;
  for (int i = 0; i < records; ++i) {
    client::GeneratedRecord g = client::generate_survey_record(rng);
    sync::Edit e;
    e.record_id = client::new_record_id(t0 + static_cast<std::uint64_t>(i) * 60000, rng);
    e.form_id = "so1_interethnic_survey";
    e.form_version = 1;
    e.scope = g.scope;
    e.dot = {t1.actor, ++t1.n};
    e.changed = g.changed;
    e.body = g.body;
    e.device_time = static_cast<std::int64_t>(t0) + i * 60000;
    all.push_back(std::move(e));
  }
  std::size_t rejected = 0;
  for (int b = 0; b * 100 < records; ++b) {
    sync::PushRequest req{"seed-" + std::to_string(b), {}};
    for (int i = b * 100; i < std::min(records, (b + 1) * 100); ++i) req.edits.push_back(all[static_cast<std::size_t>(i)]);
    auto r = s.call("POST", "/v1/push", sync::encode_push_request(req), t1.auth(), {200});
    if (!r) return 1;
    for (const auto& x : sync::decode_push_response(r->body)->results) rejected += x.outcome == sync::Outcome::kRejected;
  }
  // 6. Both tablets pulled record 0, then set the household size differently offline: a conflict.
  const sync::Edit& base = all.front();
  auto body = json::parse(base.body);
  sync::Edit e1 = base, e2 = base;
  e1.dot = {t1.actor, ++t1.n};
  e1.context = base.clock();
  body["hh_size"] = 5;
  e1.body = body.dump();
  e1.changed = {"hh_size"};
  e2.dot = {t2.actor, ++t2.n};
  e2.context = base.clock();
  body["hh_size"] = 6;
  e2.body = body.dump();
  e2.changed = {"hh_size"};
  if (!s.call("POST", "/v1/push", sync::encode_push_request({"seed-conflict-1", {e1}}), t1.auth(), {200})) return 1;
  auto r2 = s.call("POST", "/v1/push", sync::encode_push_request({"seed-conflict-2", {e2}}), t2.auth(), {200});
  if (!r2) return 1;
  std::printf("seeded %zu forms, 4 demo users, 2 tablets, %d survey records (%zu rejected); record %s was edited "
              "on both tablets (%zu live versions)\n",
              files.size(), records, rejected, base.record_id.c_str(),
              sync::decode_push_response(r2->body)->results[0].live);
  return rejected == 0 ? 0 : 1;
}
