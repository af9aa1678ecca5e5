// aktsync-seed: loads demo data into a running aktsyncd over HTTP, as two demo tablets would:
// realistic Form A records, then one record edited concurrently by both tablets (a conflict to look
// at). Deterministic: running it again replays the same batches, which change nothing.
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"

using namespace akt;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: aktsync-seed --port PORT --token1 T --actor1 UUID --token2 T --actor2 UUID [--records N]\n"
               "  Pushes N (default 500) demo survey records as tablet 1, then a concurrent edit of the first\n"
               "  record from each tablet, to 127.0.0.1:PORT. Safe to run twice.\n");
  return 2;
}

struct Tablet {
  std::string actor, token;
  std::int64_t n = 0;
  std::vector<std::pair<std::string, std::string>> auth() const {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  }
};

bool push(client::HttpClient& c, const Tablet& t, const sync::PushRequest& req, sync::PushResponse* out = nullptr) {
  auto r = c.request("POST", "/v1/push", sync::encode_push_request(req), t.auth());
  if (!r.ok()) {
    std::fprintf(stderr, "push %s: %s\n", req.batch_id.c_str(), r.status().message().c_str());
    return false;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "push %s: HTTP %d %s\n", req.batch_id.c_str(), r->status, r->body.c_str());
    return false;
  }
  if (out) *out = *sync::decode_push_response(r->body);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, records = 500;
  Tablet t1, t2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--port") port = std::atoi(v.c_str());
    else if (f == "--records") records = std::atoi(v.c_str());
    else if (f == "--token1") t1.token = v;
    else if (f == "--token2") t2.token = v;
    else if (f == "--actor1") t1.actor = v;
    else if (f == "--actor2") t2.actor = v;
    else return usage();
  }
  if (port <= 0 || records <= 0 || t1.token.empty() || t2.token.empty() || t1.actor.empty() || t2.actor.empty())
    return usage();
  client::HttpClient c("127.0.0.1", static_cast<std::uint16_t>(port));
  std::mt19937_64 rng(20141001);  // fixed: the same demo data every time
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
  for (int b = 0; b * 100 < records; ++b) {
    sync::PushRequest req{"seed-" + std::to_string(b), {}};
    for (int i = b * 100; i < std::min(records, (b + 1) * 100); ++i) req.edits.push_back(all[static_cast<std::size_t>(i)]);
    if (!push(c, t1, req)) return 1;
  }
  // Both tablets pulled record 0, then edited the same field offline: two live siblings.
  const sync::Edit& base = all.front();
  auto body = nlohmann::json::parse(base.body);
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
  sync::PushResponse r2;
  if (!push(c, t1, {"seed-conflict-1", {e1}}) || !push(c, t2, {"seed-conflict-2", {e2}}, &r2)) return 1;
  std::printf("seeded %d survey records; record %s has %zu live versions (a conflict)\n", records,
              base.record_id.c_str(), r2.results.empty() ? 0 : r2.results[0].live);
  return 0;
}
