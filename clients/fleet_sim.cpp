// The fleet simulator. Saves are chosen from each tablet's own local view (as a user would see it);
// the final check reads the server's whole feed and compares every tablet with it.
#include "clients/fleet_sim.hpp"

#include <map>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/sync_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "sync/wire_json.hpp"

namespace akt::client {
namespace {

using nlohmann::json;

struct SimTablet {
  std::unique_ptr<store::TabletStore> store;
  std::unique_ptr<HttpClient> http;
  std::mt19937_64 rng;
  std::int64_t now = 0;
};

const char* const kStatus[] = {"planned", "in_progress", "completed", "suspended"};

json random_value(std::mt19937_64& rng, const std::string& field) {
  if (field == "pct_complete") return static_cast<int>(rng() % 101);
  if (field == "status") return kStatus[rng() % 4];
  if (field == "visits") return static_cast<int>(rng() % 12);
  return "note " + std::to_string(rng() % 1000) + " — Gračanica/Graçanicë";
}

Status random_save(SimTablet& t, SimReport& rep) {
  static const char* const kFields[] = {"pct_complete", "status", "notes", "visits"};
  t.now += 60000;
  auto ids = t.store->record_ids();
  if (!ids.ok()) return ids.status();
  const int roll = static_cast<int>(t.rng() % 100);
  if (ids->empty() || roll < 30) {
    json body{{"pct_complete", random_value(t.rng, "pct_complete")}, {"status", random_value(t.rng, "status")}};
    std::array<std::uint8_t, 10> random{};
    for (auto& b : random) b = static_cast<std::uint8_t>(t.rng());
    auto id = t.store->create({"so1_infra_monitoring", 1, {"gracanice", "serb", "SO1"}, body.dump(),
                               {"pct_complete", "status"}}, t.now, random);
    if (!id.ok()) return id.status();
    ++rep.saves;
    return {};
  }
  const std::string& id = (*ids)[t.rng() % ids->size()];
  auto rec = t.store->record(id);
  if (!rec.ok()) return rec.status();
  if (!*rec || (*rec)->is_deleted()) return {};  // a user does not edit what is gone
  Result<sync::Dot> saved = Status::invalid_argument("none");
  if (roll < 93) {
    json body = json::parse((*rec)->live[(*rec)->current].body, nullptr, false);
    if (!body.is_object()) body = json::object();
    const std::string field = kFields[t.rng() % 4];
    body[field] = random_value(t.rng, field);
    saved = t.store->edit(id, body.dump(), {field}, t.now);
  } else {
    saved = t.store->remove(id, t.now);
  }
  if (!saved.ok()) return saved.status();
  ++rep.saves;
  return {};
}

Result<SyncSummary> sync_one(SimTablet& t, SimReport& rep, int max_attempts) {
  SyncOptions o;
  o.max_attempts = max_attempts;
  o.batch_edits = 50;
  o.pull_limit = 100;
  o.jitter_seed = t.rng();
  SyncClient c(*t.store, http_transport(*t.http), o);
  auto s = c.sync(t.now);
  if (s.ok()) {
    ++rep.syncs;
    rep.rejected += s->rejected;
  }
  return s;
}

// The server's whole feed, as device `dev` sees it.
Result<std::map<std::string, sync::RecordState>> server_feed(HttpClient& http, const SimDevice& dev) {
  std::map<std::string, sync::RecordState> out;
  std::string cursor;
  for (int page = 0; page < 100000; ++page) {
    auto r = http.request("GET", "/v1/changes?since=" + cursor + "&limit=1000", {},
                          {{"Authorization", "Bearer " + dev.token}});
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::io_error("feed: HTTP " + std::to_string(r->status));
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("changes") || !j.contains("next") || !j["next"].is_string())
      return Status::corruption("feed: malformed page");
    try {
      for (const json& x : j["changes"]) {
        auto s = sync::decode_record_state(x);
        if (!s.ok()) return s.status();
        out[s->record_id] = std::move(*s);
      }
    } catch (const std::exception& e) {
      return Status::corruption(std::string("feed: ") + e.what());
    }
    cursor = j["next"].get<std::string>();
    auto more = j.find("more");
    if (more == j.end() || !more->is_boolean() || !more->get<bool>()) return out;
  }
  return Status::corruption("feed: never ended");
}

void compare(std::size_t k, store::TabletStore& st, const std::map<std::string, sync::RecordState>& feed,
             SimReport& rep) {
  auto problem = [&rep, k](const std::string& what) {
    if (rep.problems.size() < 20) rep.problems.push_back("tablet " + std::to_string(k) + ": " + what);
  };
  auto ids = st.record_ids();
  if (!ids.ok()) return problem(ids.status().message());
  if (ids->size() != feed.size())
    problem(std::to_string(ids->size()) + " records, the server has " + std::to_string(feed.size()));
  for (const auto& [id, state] : feed) {
    auto r = st.record(id);
    if (!r.ok() || !*r) {
      problem("record " + id + " missing");
      continue;
    }
    const store::LocalRecord& lr = **r;
    bool same = lr.unsynced == 0 && lr.live.size() == state.live.size();
    for (std::size_t i = 0; same && i < state.live.size(); ++i)
      same = lr.live[i].dot == state.live[i].dot && lr.live[i].body == state.live[i].body &&
             lr.live[i].deleted == state.live[i].deleted && !lr.live[i].is_local;
    if (!same) problem("record " + id + " differs from the server");
  }
}

}  // namespace

Result<SimReport> run_fleet(const SimOptions& o) {
  if (o.devices.empty()) return Status::invalid_argument("the simulation needs at least one device");
  SimReport rep;
  std::vector<SimTablet> tablets;
  for (std::size_t k = 0; k < o.devices.size(); ++k) {
    auto st = store::TabletStore::open(o.work_dir + "/tablet-" + std::to_string(k) + ".db");
    if (!st.ok()) return st.status();
    if (!(*st)->device().ok()) {
      const std::string server = o.host + ":" + std::to_string(o.port);
      if (Status s = (*st)->init({o.devices[k].actor, server, o.devices[k].token}, o.seed * 1000 + k, o.start_ms);
          !s.ok())
        return s;
    }
    tablets.push_back({std::move(*st), std::make_unique<HttpClient>(o.host, o.port), std::mt19937_64(o.seed * 7919 + k),
                       o.start_ms});
  }
  rep.tablets = tablets.size();
  for (int round = 0; round < o.rounds; ++round) {
    for (SimTablet& t : tablets) {
      for (int i = 0; i < o.ops_per_round; ++i) {
        if (Status s = random_save(t, rep); !s.ok()) return s;
      }
      if (static_cast<int>(t.rng() % 100) < o.sync_percent) {
        if (auto s = sync_one(t, rep, o.max_attempts); !s.ok()) return s.status();
      }
    }
  }
  // Settle: everyone syncs until a whole pass moves nothing.
  for (rep.settle_passes = 1; rep.settle_passes <= 10; ++rep.settle_passes) {
    bool moved = false;
    for (SimTablet& t : tablets) {
      auto s = sync_one(t, rep, o.max_attempts);
      if (!s.ok()) return s.status();
      moved = moved || s->pushed > 0 || s->pulled > 0;
    }
    if (!moved) break;
  }
  HttpClient http(o.host, o.port);
  auto feed = server_feed(http, o.devices.front());
  if (!feed.ok()) return feed.status();
  rep.records = feed->size();
  for (const auto& [id, s] : *feed) rep.conflicts += s.conflict ? 1 : 0;
  for (std::size_t k = 0; k < tablets.size(); ++k) compare(k, *tablets[k].store, *feed, rep);
  rep.converged = rep.problems.empty();
  return rep;
}

}  // namespace akt::client
