// The store contract suite, push engine part (issue #20): each scenario runs, from one test body, on every
// engine's push port (SQLite, the in-memory fake and PostgreSQL on the contract binary's throwaway
// cluster). The engines must give the same answers, byte for byte, and the same stored outcome. Without
// PostgreSQL here its engine is left out (and AKT_REQUIRE_POSTGRES=1 makes that a failure).
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "schema/store/db.hpp"
#include "schema/store/form_rules.hpp"
#include "schema/store/migrations.hpp"
#include "schema/store/push_apply.hpp"
#include "schema/store/push_engine.hpp"
#include "schema/store/sqlite_push_port.hpp"
#include "tests/store/contract/engines.hpp"
#include "tests/store/memory_push_port.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_push.hpp"
#include "schema/store/postgres/pg_push_port.hpp"
#endif

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using akt::test::uuid_n;
using nlohmann::json;

namespace {

const std::string kDevA = uuid_n(0xA);
const std::string kDevB = uuid_n(0xB);
const std::string kServer = uuid_n(0x5E);
const std::string kEpoch = "contract";

// One engine under test: pushes a batch in a transaction of its own, and reads through its port.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // The port, for reads between batches.
  virtual store::PushPort& port() = 0;
  // The `changed` column of the version `dot` as stored (nullopt: the engine has no stored text).
  virtual std::optional<std::string> raw_changed(const sync::Dot&) { return std::nullopt; }

  // Pushes `edits` from `device` as batch `batch_id`; `keys`: one uniqueness key per edit, or none.
  Result<json> push(const std::string& device, const std::string& batch_id, std::vector<sync::Edit> edits,
                    const std::vector<std::string>* keys = nullptr) {
    sync::PushRequest req{batch_id, std::move(edits)};
    store::PushInput in{device, &req, 1700000000000 + static_cast<std::int64_t>(++pushes_)};
    in.unique_keys = keys;
    const store::PreparedBatch prepared = store::prepare_batch(in, rules_);
    auto out = run(in, prepared);
    if (!out.ok()) return out.status();
    return json::parse(out->response);
  }

 protected:
  Result<store::PushOutput> apply(store::PushPort& p, const store::PushInput& in, const store::PreparedBatch& prepared) {
    std::int64_t next = next_seq_;
    auto out = store::apply_batch(p, in, prepared, store::PushContext{kEpoch, kServer, rules_}, next);
    if (out.ok()) pending_seq_ = next;
    return out;
  }
  // Commits what apply() did: the feed moves on only then.
  void committed() { next_seq_ = pending_seq_; }
  const store::FormRules& rules() const { return rules_; }
  virtual Result<store::PushOutput> run(const store::PushInput& in, const store::PreparedBatch& prepared) = 0;

 private:
  store::NoFormRules rules_;
  std::int64_t next_seq_ = 1, pending_seq_ = 1;
  int pushes_ = 0;
};

class SqliteEngine final : public Engine {
 public:
  SqliteEngine() {
    auto db = store::Db::open(dir_.file("contract.db"), {});
    REQUIRE(db.ok());
    db_ = std::move(*db);
    REQUIRE(store::migrate(*db_).ok());
    port_ = std::make_unique<store::SqlitePushPort>(*db_);
  }
  std::string name() const override { return "sqlite"; }
  store::PushPort& port() override { return *port_; }
  std::optional<std::string> raw_changed(const sync::Dot& dot) override {
    auto stmt = db_->stmt("SELECT changed FROM versions WHERE actor = ?1 AND n = ?2");
    REQUIRE(stmt.ok());
    store::StmtGuard s(**stmt);
    const std::string actor = store::uuid_blob(dot.actor);
    s->bind_blob(1, actor.data(), actor.size());
    s->bind(2, dot.n);
    auto row = s->step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    return std::string(s->text(0));
  }

 protected:
  Result<store::PushOutput> run(const store::PushInput& in, const store::PreparedBatch& prepared) override {
    store::Tx tx(*db_);
    AKT_TRY(tx.status());
    auto out = apply(*port_, in, prepared);
    if (!out.ok()) return out;  // rolled back by tx
    AKT_TRY(tx.commit());
    committed();
    return out;
  }

 private:
  test::TempDir dir_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::SqlitePushPort> port_;
};

class MemoryEngine final : public Engine {
 public:
  std::string name() const override { return "memory"; }
  store::PushPort& port() override { return port_; }

 protected:
  Result<store::PushOutput> run(const store::PushInput& in, const store::PreparedBatch& prepared) override {
    auto out = apply(port_, in, prepared);
    if (out.ok()) committed();
    return out;
  }

 private:
  test::MemoryPushPort port_;
};

#ifdef AKT_HAVE_POSTGRES
// A fresh schema of the cluster: each batch one READ COMMITTED transaction through pg::push_batch (the
// feed numbers its own, from feed_head), reads between batches on a connection of their own.
class PostgresEngine final : public Engine {
 public:
  explicit PostgresEngine(test::Engine db) : db_(std::move(db)) {
    auto reads = store::pg::PgConn::connect(db_.url);
    REQUIRE_MESSAGE(reads.ok(), reads.status().message());
    auto writes = store::pg::PgConn::connect(db_.url);
    REQUIRE_MESSAGE(writes.ok(), writes.status().message());
    reads_ = std::move(*reads);
    writes_ = std::move(*writes);
    port_ = std::make_unique<store::pg::PgPushPort>(*reads_);
  }
  std::string name() const override { return "postgres"; }
  store::PushPort& port() override { return *port_; }
  std::optional<std::string> raw_changed(const sync::Dot& dot) override {
    auto r = reads_->exec("SELECT changed FROM versions WHERE actor = $1::uuid AND n = $2::bigint",
                          {store::pg::text(dot.actor), store::pg::int64(dot.n)});
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    REQUIRE(r->rows() == 1);
    return r->str(0, 0);
  }

 protected:
  Result<store::PushOutput> run(const store::PushInput& in, const store::PreparedBatch& prepared) override {
    AKT_TRY(writes_->exec_script("BEGIN ISOLATION LEVEL READ COMMITTED"));
    auto out = store::pg::push_batch(*writes_, in, prepared, store::PushContext{kEpoch, kServer, rules()});
    if (!out.ok()) {
      (void)writes_->exec_script("ROLLBACK");
      return out;
    }
    AKT_TRY(writes_->exec_script("COMMIT"));
    return out;
  }

 private:
  test::Engine db_;
  std::unique_ptr<store::pg::PgConn> reads_, writes_;
  std::unique_ptr<store::pg::PgPushPort> port_;
};
#endif

// Every engine the contract runs on; a maker answers null when its engine cannot run here.
std::vector<std::function<std::unique_ptr<Engine>()>> engines() {
  return {[]() -> std::unique_ptr<Engine> { return std::make_unique<SqliteEngine>(); },
          []() -> std::unique_ptr<Engine> { return std::make_unique<MemoryEngine>(); },
          []() -> std::unique_ptr<Engine> {
            auto db = test::make_engine(test::EngineKind::kPostgres);
            if (!db) return nullptr;
#ifdef AKT_HAVE_POSTGRES
            return std::make_unique<PostgresEngine>(std::move(*db));
#else
            return nullptr;
#endif
          }};
}

// Runs `scenario` on every engine and checks that they all answered the same. The scenario returns the
// answers it got, in order.
void on_every_engine(const std::function<std::vector<json>(Engine&)>& scenario) {
  std::vector<std::vector<json>> answers;
  std::vector<std::string> names;
  for (const auto& make : engines()) {
    auto engine = make();
    if (!engine) continue;
    CAPTURE(engine->name());
    answers.push_back(scenario(*engine));
    names.push_back(engine->name());
  }
  for (std::size_t i = 1; i < answers.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(answers[i] == answers[0]);
  }
}

json result_of(const Result<json>& r) {
  REQUIRE(r.ok());
  return (*r)["results"][0];
}

std::vector<sync::Version> live_of(Engine& e, const std::string& id) {
  std::vector<sync::Version> live;
  REQUIRE(e.port().live_versions(id, live).ok());
  return live;
}

std::vector<store::OpenEntry> open_of(Engine& e, const std::string& id) {
  std::vector<store::OpenEntry> open;
  REQUIRE(e.port().open_entries(id, open).ok());
  return open;
}

}  // namespace

TEST_CASE("push contract: a create is applied, stored and moves the feed") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 1);
    auto a = e.push(kDevA, "b1", {make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"})});
    const json r = result_of(a);
    CHECK(r["outcome"] == "applied");
    CHECK(r["seq"] == 1);
    auto head = e.port().read_record(id);
    REQUIRE(head.ok());
    REQUIRE(head->has_value());
    CHECK((*head)->seq == 1);
    CHECK((*head)->live_count == 1);
    CHECK((*head)->scope == sync::Scope{"gracanice", "serb", "SO1"});
    const auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(live[0].body == R"({"pct":60})");
    return std::vector<json>{*a};
  });
}

TEST_CASE("push contract: a replayed batch and a duplicated edit change nothing") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 2);
    const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"});
    auto first = e.push(kDevA, "b1", {create});
    REQUIRE(first.ok());
    // The same batch again: the stored answer, byte for byte.
    auto replay = e.push(kDevA, "b1", {create});
    REQUIRE(replay.ok());
    CHECK(*replay == *first);
    // The same batch id with other content is refused, never answered from the store.
    auto reused = e.push(kDevA, "b1", {make_edit(id, kDevA, 2, create.clock(), R"({"pct":61})", {"pct"})});
    REQUIRE(!reused.ok());
    CHECK(reused.status().code() == Status::Code::kConflict);
    // The same edit in another batch: a duplicate.
    auto dup = e.push(kDevA, "b2", {create});
    CHECK(result_of(dup)["outcome"] == "duplicate");
    // The same dot with other content: a restored device, rejected, never merged.
    auto reuse = e.push(kDevA, "b3", {make_edit(id, kDevA, 1, {}, R"({"pct":99})", {"pct"})});
    CHECK(result_of(reuse)["outcome"] == "rejected");
    CHECK(result_of(reuse)["error"]["code"] == "dot_reuse");
    const auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(live[0].body == R"({"pct":60})");
    auto head = e.port().read_record(id);
    REQUIRE(head.ok());
    CHECK((*head)->seq == 1);
    return std::vector<json>{*first, *dup, *reuse};
  });
}

TEST_CASE("push contract: concurrent edits of different fields merge with both changes") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 3);
    const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"note":"a","pct":60})", {"note", "pct"});
    auto c = e.push(kDevA, "c", {create});
    auto b = e.push(kDevB, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"note":"b","pct":60})", {"note"})});
    auto a = e.push(kDevA, "a", {make_edit(id, kDevA, 2, create.clock(), R"({"note":"a","pct":70})", {"pct"})});
    CHECK(result_of(b)["outcome"] == "applied");
    const json r = result_of(a);
    CHECK(r["outcome"] == "merged");
    CHECK(r["conflicts"] == json::array());
    const auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(live[0].dot.actor == kServer);
    CHECK(json::parse(live[0].body) == json{{"note", "b"}, {"pct", 70}});
    CHECK(open_of(e, id).empty());
    return std::vector<json>{*c, *b, *a};
  });
}

TEST_CASE("push contract: a true conflict keeps the server's value and opens a field entry") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 4);
    const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"});
    auto c = e.push(kDevA, "c", {create});
    auto b = e.push(kDevB, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"pct":20})", {"pct"})});
    auto a = e.push(kDevA, "a", {make_edit(id, kDevA, 2, create.clock(), R"({"pct":30})", {"pct"})});
    const json r = result_of(a);
    CHECK(r["outcome"] == "merged");
    CHECK(r["conflicts"] == json::array({"pct"}));
    CHECK(r["entries"].size() == 1);
    const auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(json::parse(live[0].body)["pct"] == 20);  // provisional: the value the server had
    const auto open = open_of(e, id);
    REQUIRE(open.size() == 1);
    CHECK(open[0].kind == sync::InboxKind::kField);
    CHECK(open[0].path == "pct");
    const json cands = json::parse(open[0].candidates_json);
    REQUIRE(cands.size() == 2);
    std::set<json> values;
    for (const auto& k : cands) values.insert(k["value"]);
    CHECK(values == std::set<json>{20, 30});
    return std::vector<json>{*c, *b, *a};
  });
}

TEST_CASE("push contract: a delete against an edit keeps the record and opens a delete_edit entry") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 5);
    const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"});
    auto c = e.push(kDevA, "c", {create});
    auto b = e.push(kDevB, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"pct":20})", {"pct"})});
    sync::Edit del = make_edit(id, kDevA, 2, create.clock(), "{}", {});
    del.deleted = true;
    auto a = e.push(kDevA, "a", {del});
    CHECK(result_of(a)["outcome"] == "merged");
    const auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(!live[0].deleted);
    CHECK(json::parse(live[0].body)["pct"] == 20);
    const auto open = open_of(e, id);
    REQUIRE(open.size() == 1);
    CHECK(open[0].kind == sync::InboxKind::kDeleteEdit);
    return std::vector<json>{*c, *b, *a};
  });
}

TEST_CASE("push contract: two records with one uniqueness key get a duplicate_candidate entry") {
  on_every_engine([](Engine& e) {
    const std::string first = uuid7(1700000000000, 6), second = uuid7(1700000000000, 7);
    const std::vector<std::string> keys{R"(["b-0042"])"};
    auto a = e.push(kDevA, "k1", {make_edit(first, kDevA, 1, {}, R"({"pct":1})", {"pct"})}, &keys);
    CHECK(!result_of(a).contains("entries"));
    CHECK(open_of(e, first).empty());
    auto b = e.push(kDevA, "k2", {make_edit(second, kDevA, 2, {}, R"({"pct":2})", {"pct"})}, &keys);
    CHECK(result_of(b)["outcome"] == "applied");
    CHECK(result_of(b)["entries"].size() == 1);
    const auto open = open_of(e, second);
    REQUIRE(open.size() == 1);
    CHECK(open[0].kind == sync::InboxKind::kDuplicateCandidate);
    const json cands = json::parse(open[0].candidates_json);
    REQUIRE(cands.size() == 2);
    CHECK(cands[0]["record"] == first);
    CHECK(cands[1]["record"] == second);
    // Both records stay, each with its own body: never merged.
    CHECK(live_of(e, first).size() == 1);
    CHECK(live_of(e, second).size() == 1);
    return std::vector<json>{*a, *b};
  });
}

namespace {

// A record of `community` "serb" (the scope make_edit gives), whose body holds `municipality` but no
// `community`: the member a move changes is not in the body (PROTOCOL §4.4).
const std::string kMovedBody = R"({"municipality":"gracanice","pct":60})";

sync::Edit in_community(sync::Edit e, const std::string& community) {
  e.scope.community = community;
  return e;
}

sync::Scope scope_of(Engine& e, const std::string& id) {
  auto head = e.port().read_record(id);
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  return (*head)->scope;
}

// The scope the record's live version carried, as stored.
sync::Scope live_scope_of(Engine& e, const std::string& id) {
  std::vector<store::StoredVersion> all;
  REQUIRE(e.port().versions(id, all).ok());
  std::vector<sync::Scope> live;
  for (const auto& v : all)
    if (v.live) live.push_back(v.scope);
  REQUIRE(live.size() == 1);
  return live[0];
}

// Device A moves the record (created in "serb") to `a_to`; device B, concurrently (made on the version
// before the move), edits it from `b_from` changing `pct`. `a_first`: the move arrives first.
std::vector<json> move_and_edit(Engine& e, std::int64_t n, bool a_first, const std::string& a_to,
                                const std::string& b_from) {
  const std::string id = uuid7(1700000000000, n);
  const sync::Edit create = make_edit(id, kDevA, 1, {}, kMovedBody, {"municipality", "pct"});
  const sync::Edit move = in_community(make_edit(id, kDevA, 2, create.clock(), kMovedBody, {}), a_to);
  const sync::Edit edit = in_community(
      make_edit(id, kDevB, 1, create.clock(), R"({"municipality":"gracanice","pct":70})", {"pct"}), b_from);
  auto c = e.push(kDevA, "c", {create});
  CHECK(result_of(c)["outcome"] == "applied");
  auto first = a_first ? e.push(kDevA, "m", {move}) : e.push(kDevB, "e", {edit});
  CHECK(result_of(first)["outcome"] == "applied");
  auto second = a_first ? e.push(kDevB, "e", {edit}) : e.push(kDevA, "m", {move});
  const json r = result_of(second);
  CHECK(r["outcome"] == "merged");
  CHECK(r["conflicts"] == json::array());
  const auto live = live_of(e, id);
  REQUIRE(live.size() == 1);
  CHECK(json::parse(live[0].body) == json{{"municipality", "gracanice"}, {"pct", 70}});
  CHECK(live_scope_of(e, id) == scope_of(e, id));  // the merged version keeps the scope it gave
  return {*c, *first, *second};
}

}  // namespace

TEST_CASE("push contract: a move to another community survives a concurrent edit from the old one") {
  for (const bool move_first : {true, false}) {
    CAPTURE(move_first);
    on_every_engine([&](Engine& e) {
      auto answers = move_and_edit(e, 20, move_first, "albanian", "serb");
      // The record is where the move put it, whichever arrived last; the body's field still decides its
      // municipality.
      CHECK(scope_of(e, uuid7(1700000000000, 20)) == sync::Scope{"gracanice", "albanian", "SO1"});
      return answers;
    });
  }
}

TEST_CASE("push contract: two concurrent moves to different communities leave the record where it was") {
  for (const bool a_first : {true, false}) {
    CAPTURE(a_first);
    on_every_engine([&](Engine& e) {
      auto answers = move_and_edit(e, 21, a_first, "albanian", "roma");
      // A true conflict of a scope member no body field holds: the ancestor's value, in either order.
      CHECK(scope_of(e, uuid7(1700000000000, 21)) == sync::Scope{"gracanice", "serb", "SO1"});
      return answers;
    });
  }
}

TEST_CASE("push contract: two concurrent moves to one community move the record there") {
  for (const bool a_first : {true, false}) {
    CAPTURE(a_first);
    on_every_engine([&](Engine& e) {
      auto answers = move_and_edit(e, 22, a_first, "roma", "roma");
      CHECK(scope_of(e, uuid7(1700000000000, 22)) == sync::Scope{"gracanice", "roma", "SO1"});
      return answers;
    });
  }
}

TEST_CASE("push contract: a later merge keeps a move its side made before") {
  // After the merge, device B (which never pulled it) edits again from the old community: its line's
  // ancestor is its own earlier edit, in "serb", so the merged side's "albanian" stays.
  on_every_engine([](Engine& e) {
    auto answers = move_and_edit(e, 23, true, "albanian", "serb");
    const std::string id = uuid7(1700000000000, 23);
    sync::VectorClock seen;  // B's own line: the create and its first edit
    seen.advance(kDevA, 1);
    seen.advance(kDevB, 1);
    auto again = e.push(kDevB, "e2",
                        {make_edit(id, kDevB, 2, seen, R"({"municipality":"gracanice","pct":75})", {"pct"})});
    CHECK(result_of(again)["outcome"] == "merged");
    CHECK(scope_of(e, id) == sync::Scope{"gracanice", "albanian", "SO1"});
    CHECK(json::parse(live_of(e, id)[0].body)["pct"] == 75);
    answers.push_back(*again);
    return answers;
  });
}

// A create's `changed` that is every top-level key of its body, in byte order, is stored as the empty
// text (docs/STORE.md "versions.changed"); every read gives the list back as it was pushed.
namespace {

std::vector<std::string> changed_of(Engine& e, const std::string& id, const sync::Dot& dot) {
  std::vector<store::StoredVersion> all;
  REQUIRE(e.port().versions(id, all).ok());
  for (const auto& v : all)
    if (v.v.dot == dot) {
      auto by_dot = e.port().version_by_dot(dot);
      REQUIRE(by_dot.ok());
      REQUIRE(by_dot->has_value());
      CHECK((*by_dot)->changed == v.v.changed);
      return v.v.changed;
    }
  FAIL("no version " << dot.actor << ":" << dot.n);
  return {};
}

}  // namespace

TEST_CASE("push contract: a create listing every key is stored compact and read back whole") {
  on_every_engine([](Engine& e) {
    const std::string id = uuid7(1700000000000, 40), other = uuid7(1700000000000, 41), gone = uuid7(1700000000000, 42);
    const std::vector<std::string> keys = {"a\"q", "b", "z\u00e9"};
    const std::string body = R"({"a\"q":1,"b":{"x":[1,"]"]},"zé":"}"})";
    auto a = e.push(kDevA, "b1",
                    {make_edit(id, kDevA, 1, {}, body, keys),
                     // not every key, and every key in another order: lists of their own
                     make_edit(other, kDevA, 2, {}, body, {"b"}),
                     make_edit(gone, kDevA, 3, {}, R"({"a":1,"b":2})", {"b", "a"})});
    REQUIRE(a.ok());
    const sync::VectorClock ctx = make_edit(id, kDevA, 1, {}, body).clock();
    // an edit listing every key, and a deletion: stored as they came
    auto b = e.push(kDevA, "b2",
                    {make_edit(id, kDevA, 4, ctx, R"({"a\"q":2,"b":3,"zé":4})", keys),
                     [&] {
                       sync::Edit d = make_edit(gone, kDevA, 5, make_edit(gone, kDevA, 3, {}, "{}").clock(), "{}", {});
                       d.deleted = true;
                       return d;
                     }()});
    REQUIRE(b.ok());
    CHECK(changed_of(e, id, {kDevA, 1}) == keys);
    CHECK(changed_of(e, other, {kDevA, 2}) == std::vector<std::string>{"b"});
    CHECK(changed_of(e, gone, {kDevA, 3}) == std::vector<std::string>{"b", "a"});
    CHECK(changed_of(e, id, {kDevA, 4}) == keys);
    CHECK(changed_of(e, gone, {kDevA, 5}).empty());
    if (auto raw = e.raw_changed({kDevA, 1})) {
      CHECK(*raw == "");
      CHECK(e.raw_changed({kDevA, 2}) == std::optional<std::string>(R"(["b"])"));
      CHECK(e.raw_changed({kDevA, 3}) == std::optional<std::string>(R"(["b","a"])"));
      CHECK(e.raw_changed({kDevA, 4}) == std::optional<std::string>(R"(["a\"q","b","zé"])"));
      CHECK(e.raw_changed({kDevA, 5}) == std::optional<std::string>("[]"));
    }
    return std::vector<json>{*a, *b};
  });
}

TEST_CASE("push contract: a merge over compact creates keeps both sides' changes") {
  on_every_engine([](Engine& e) {
    // A concurrent edit against a compact create (the ancestor), then two concurrent creates of one record
    // (no ancestor: each side's list is its create's, read back from the compact form).
    const std::string id = uuid7(1700000000000, 43), twin = uuid7(1700000000000, 44);
    const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"note":"a","pct":60,"x":1})", {"note", "pct", "x"});
    auto c = e.push(kDevA, "c", {create});
    auto b = e.push(kDevB, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"note":"b","pct":60,"x":1})", {"note"})});
    auto a = e.push(kDevA, "a", {make_edit(id, kDevA, 2, create.clock(), R"({"note":"a","pct":70,"x":1})", {"pct"})});
    CHECK(result_of(a)["outcome"] == "merged");
    CHECK(result_of(a)["conflicts"] == json::array());
    auto live = live_of(e, id);
    REQUIRE(live.size() == 1);
    CHECK(json::parse(live[0].body) == json{{"note", "b"}, {"pct", 70}, {"x", 1}});
    // No ancestor (M8): A's create then A's edit of b, against B's create of the same record. Every
    // differing path conflicts; a candidate is the version that set the path on its side (M3): A's
    // create for `a`, which only its list, read back from the compact form, names.
    auto t1 = e.push(kDevA, "t1", {make_edit(twin, kDevA, 3, {}, R"({"a":1,"b":2})", {"a", "b"})});
    const sync::VectorClock a3 = make_edit(twin, kDevA, 3, {}, "{}").clock();
    auto t2 = e.push(kDevA, "t2", {make_edit(twin, kDevA, 4, a3, R"({"a":1,"b":5})", {"b"})});
    auto t3 = e.push(kDevB, "t3", {make_edit(twin, kDevB, 2, {}, R"({"a":9,"b":2})", {"a", "b"})});
    CHECK(result_of(t3)["conflicts"] == json::array({"a", "b"}));
    std::map<std::string, std::string> candidates;
    for (const auto& o : open_of(e, twin)) candidates[o.path] = o.candidates_json;
    const json ca = json::parse(candidates["a"]);
    REQUIRE(ca.size() == 2);
    CHECK(ca[0]["value"] == 1);
    CHECK(ca[0]["dot"] == json{{"actor", kDevA}, {"n", 3}});
    CHECK(ca[1]["dot"] == json{{"actor", kDevB}, {"n", 2}});
    if (auto raw = e.raw_changed({kDevA, 3})) CHECK(*raw == "");
    return std::vector<json>{*c, *b, *a, *t1, *t2, *t3};
  });
}
