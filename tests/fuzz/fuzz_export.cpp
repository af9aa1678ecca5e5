// Fuzzes the dataset endpoints' filters and options (docs/EXPORTS.md §1, §6): GET /v1/exports/{form}
// and GET /v1/indicators with a fuzzed query string, as different principals, over a store seeded at
// start-up with records of all four programme forms (tests/schema/fixtures/*.valid.json), a deletion,
// and users of each dataset role.
//
// Input: byte 0 picks the principal (bits 0-1: admin, M&E officer, M&E officer with the
// special_category grant, supervisor of one municipality), the endpoint (bits 2-4: the four forms'
// exports, the indicators, or a form id taken from the input), gzip (bit 5) and zstd (bit 6) in
// Accept-Encoding; the rest is the query
// string (after '?').
// Checks: every answer passes fuzz_support.hpp check_answer (no 5xx, a streamed body completes, ...);
// JSON Lines exports parse line by line; and no direct identifier (class D) of the seeded records ever
// appears in an M&E officer's CSV or JSON Lines export, whatever the filters (EXPORTS.md §5).
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/store/accounts_store.hpp"
#include "schema/store/store_tx.hpp"
#include "server/router.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using akt::fuzz::g_app;
using akt::server::HttpRequest;
using akt::server::HttpResponse;

constexpr const char* kForms[] = {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                                  "so3_municipal_service"};
constexpr const char* kUsers[] = {"fz-admin", "fz-me", "fz-me-granted", "fz-supervisor"};

// Class D values put into the seeded records; none may reach an M&E officer's export.
constexpr const char* kSecretPhone = "+38344999111";
constexpr const char* kSecretText = "SECRET-D-9f3b1c";

std::string token_of(int user) { return std::string("fuzz-export-token-") + kUsers[user]; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz_export: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

HttpResponse call(const std::string& method, const std::string& target, const std::string& token,
                  const std::string& body = {}) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.remote = "fuzz";
  req.headers = {{"authorization", "Bearer " + token}, {"content-type", "application/json"}};
  req.body = body;
  return akt::server::route(req, *g_app);
}

void must(bool ok, const char* what, const HttpResponse& r) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_export: seeding failed: %s: %d %s\n", what, r.status, r.body.substr(0, 2000).c_str());
  std::abort();
}

constexpr double kSecretLat = 42.123457;

void collect_direct_identifiers(const nlohmann::json& def, std::vector<std::pair<std::string, std::string>>& out) {
  if (def.is_object()) {
    if (def.value("sensitivity", "") == "D" && def.contains("key") && def["key"].is_string())
      out.emplace_back(def["key"].get<std::string>(), def.value("type", ""));
    for (const auto& [k, v] : def.items()) collect_direct_identifiers(v, out);
  } else if (def.is_array()) {
    for (const auto& v : def) collect_direct_identifiers(v, out);
  }
}

// The class D (direct identifier) answers of a seeded body get recognisable values, so that a leak into
// an M&E officer's export is a plain substring.
void plant_secrets(const nlohmann::json& form_def, nlohmann::json& body) {
  std::vector<std::pair<std::string, std::string>> direct;
  collect_direct_identifiers(form_def, direct);
  for (const auto& [key, type] : direct) {
    auto it = body.find(key);
    if (it == body.end()) continue;
    if (type == "text") *it = key.find("phone") != std::string::npos ? kSecretPhone : kSecretText;
    if (type == "geopoint" && it->is_object()) (*it)["lat"] = kSecretLat;
  }
}

void seed() {
  const std::int64_t now = g_app->now_ms();
  akt::Status st = g_app->store->update([&](akt::store::StoreWriter& tx) -> akt::Status {
    const akt::sync::Role roles[] = {akt::sync::Role::kAdmin, akt::sync::Role::kMeOfficer, akt::sync::Role::kMeOfficer,
                                     akt::sync::Role::kSupervisor};
    for (int i = 0; i < 4; ++i) {
      akt::store::User u;
      u.username = kUsers[i];
      u.role = roles[i];
      u.password_hash = "x";
      u.created_at = now;
      u.special_category = i == 2;
      auto id = tx.insert_user(u);
      if (!id.ok()) return id.status();
      if (i == 3) {
        akt::sync::Assignment a;
        a.municipality = "gracanice";
        AKT_TRY(tx.set_assignments(*id, {a}));
      }
      AKT_TRY(tx.insert_token(akt::server::sha256_raw(token_of(i)), "session", *id, "", now,
                              now + 1000LL * 3600 * 24 * 365));
    }
    return akt::Status();
  });
  if (!st.ok()) {
    std::fprintf(stderr, "fuzz_export: users: %s\n", st.message().c_str());
    std::abort();
  }
  // The four programme forms, uploaded and published by the admin (as an admin does in the console).
  for (const char* form : kForms) {
    auto up = call("POST", "/v1/admin/forms", token_of(0),
                   read_file(std::string(AKT_FUZZ_REPO_DIR) + "/schema/forms/programme/" + form + ".json"));
    must(up.status == 201, "form upload", up);
    auto pub = call("POST", std::string("/v1/admin/forms/") + form + "/1/publish", token_of(0), "{}");
    must(pub.status == 200, "form publish", pub);
  }
  // Three records per form from the device, one of them deleted again.
  nlohmann::json edits = nlohmann::json::array();
  int n = 0;
  for (const char* form : kForms) {
    nlohmann::json body = nlohmann::json::parse(read_file(std::string(AKT_FUZZ_REPO_DIR) + "/tests/schema/fixtures/" +
                                                          form + ".valid.json"));
    plant_secrets(nlohmann::json::parse(read_file(std::string(AKT_FUZZ_REPO_DIR) + "/schema/forms/programme/" + form + ".json")),
                  body);
    nlohmann::json scope = {{"municipality", body.value("municipality", "gracanice")},
                            {"community", body.value("community", "serb")},
                            {"component", body.value("component", std::string(form).substr(0, 3) == "so1" ? "SO1"
                                                                      : std::string(form).substr(0, 3) == "so2" ? "SO2"
                                                                                                                 : "SO3")}};
    std::vector<std::string> changed;
    for (auto& [k, v] : body.items()) changed.push_back(k);
    for (int r = 0; r < 3; ++r) {
      ++n;
      char rec[64];
      std::snprintf(rec, sizeof rec, "0190f5c2-7a1e-7cc0-9a4b-%012d", n);
      edits.push_back({{"record", rec}, {"form", form}, {"form_version", 1}, {"scope", scope},
                       {"dot", {{"actor", akt::fuzz::kActor}, {"n", n}}}, {"context", nlohmann::json::object()},
                       {"changed", changed}, {"body", body}, {"device_time", 1475280000000LL}});
    }
  }
  auto pushed = call("POST", "/v1/push", akt::fuzz::kToken,
                     nlohmann::json({{"v", 1}, {"batch_id", "fuzz-export-seed"}, {"edits", edits}}).dump());
  must(pushed.status == 200, "push", pushed);
  auto results = nlohmann::json::parse(pushed.body, nullptr, false);
  for (const auto& r : results.value("results", nlohmann::json::array()))
    must(r.value("outcome", "") == "applied", "a seeded record was not applied", pushed);
  // The first record is deleted again (a tombstone in every export).
  nlohmann::json del = edits[0];
  del.erase("body");
  del["deleted"] = true;
  del["changed"] = nlohmann::json::array();
  del["context"] = {{akt::fuzz::kActor, 1}};
  del["dot"]["n"] = ++n;
  auto deleted = call("POST", "/v1/push", akt::fuzz::kToken,
                      nlohmann::json({{"v", 1}, {"batch_id", "fuzz-export-del"}, {"edits", {del}}}).dump());
  must(deleted.status == 200, "delete", deleted);
}

bool is_text_export(const HttpResponse& r) {
  return r.content_type.rfind("text/csv", 0) == 0 || r.content_type.find("jsonl") != std::string::npos ||
         r.content_type.find("ndjson") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  akt::fuzz::init_app("fuzz_export");
  seed();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int user = data[0] & 3;
  const int endpoint = (data[0] >> 2) & 7;
  const bool gzip = (data[0] >> 5) & 1;
  const bool zstd = (data[0] >> 6) & 1;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string path;
  if (endpoint < 4) {
    path = std::string("/v1/exports/") + kForms[endpoint];
  } else if (endpoint == 4 || endpoint == 5) {
    path = "/v1/indicators";
  } else {  // a form id from the input, up to its first '?'
    const std::size_t q = rest.find('?');
    path = "/v1/exports/" + std::string(rest.substr(0, q));
    rest = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  }
  std::string query(rest);
  for (std::size_t at; (at = query.find("@E")) != std::string::npos;) query.replace(at, 2, g_app->store->epoch());
  HttpRequest req;
  req.method = "GET";
  req.target = path + "?" + query;
  req.remote = "fuzz";
  req.headers = {{"authorization", "Bearer " + token_of(user)}};
  if (gzip || zstd) req.headers.emplace_back("accept-encoding", gzip && zstd ? "zstd, gzip" : gzip ? "gzip" : "zstd");
  HttpResponse resp = akt::server::route(req, *g_app);
  const std::string body = akt::fuzz::check_answer(req, resp);
  if (resp.status != 200) return 0;
  if (resp.content_type.find("jsonl") != std::string::npos || resp.content_type.find("ndjson") != std::string::npos) {
    std::size_t at = 0;
    while (at < body.size()) {
      std::size_t nl = body.find('\n', at);
      if (nl == std::string::npos) nl = body.size();
      if (nl > at && nlohmann::json::parse(body.substr(at, nl - at), nullptr, false).is_discarded())
        akt::fuzz::fail("a JSON Lines row does not parse", req, resp, body.substr(at, nl - at));
      at = nl + 1;
    }
  }
  if ((user == 1 || user == 2) && is_text_export(resp) &&
      (body.find(std::string(kSecretPhone).substr(1)) != std::string::npos || body.find(kSecretText) != std::string::npos ||
       body.find("42.123457") != std::string::npos))
    akt::fuzz::fail("a class D value reached an M&E officer's export", req, resp, body);
  return 0;
}
