// The push path's work per edit in the serial group-commit leader: SQL statements counted on the writer
// connection, and the shortcuts taken for new records checked against the long way.
#include "schema/store/server_store.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "schema/store/db.hpp"
#include "schema/store/export_query.hpp"
#include "schema/store/feed_query.hpp"
#include "schema/store/migrations.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using akt::test::uuid_n;

namespace {

const std::string kDev = uuid_n(0xA);
const std::string kPhoto = "sha256:d948252eb555dda9b915f1eaf3f691b8a7f2643fbc3c9d8b29a45a99a4d5e78d;size=2554;type=image/jpeg";

std::unique_ptr<store::ServerStore> open_store(const std::string& path) {
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

// Statements started on the writer connection (trigger bodies not counted), as SQLite's trace sees them.
int g_statements = 0;
int count_statement(unsigned, void*, void*, void* sql) {
  if (std::string_view(static_cast<const char*>(sql)).substr(0, 2) != "--") ++g_statements;
  return 0;
}

void trace_writer(store::ServerStore& s) {
  REQUIRE(s.write([](store::Db& db, std::int64_t&) {
               sqlite3_trace_v2(db.handle(), SQLITE_TRACE_STMT, count_statement, nullptr);
               return Status();
             }).ok());
}

// Pushes `edits` the way the server's handler does (a uniqueness slot per edit, attachments tracked).
nlohmann::json push(store::ServerStore& s, const std::string& batch_id, std::vector<sync::Edit> edits,
                    bool files_present = false) {
  sync::PushRequest req{batch_id, std::move(edits)};
  const std::vector<std::string> keys(req.edits.size());
  store::PushInput in{kDev, &req, 1700000000000};
  in.unique_keys = &keys;
  in.blob_exists = [files_present](const std::string&) { return files_present; };
  auto out = s.push(in);
  REQUIRE(out.ok());
  return nlohmann::json::parse(out->response);
}

std::vector<sync::Edit> creates(std::int64_t first_n, int count, const std::string& body) {
  std::vector<sync::Edit> out;
  for (int i = 0; i < count; ++i) {
    const std::int64_t n = first_n + i;
    out.push_back(make_edit(uuid7(1700000000000 + static_cast<std::uint64_t>(n), 1), kDev, n, {}, body, {"pct"}));
  }
  return out;
}

// Statements per created record: the difference between a batch of 21 creates and a batch of 1.
double statements_per_create(store::ServerStore& s, const std::string& body, std::int64_t& n) {
  g_statements = 0;
  push(s, std::to_string(n) + "-one", creates(n, 1, body));
  n += 1;
  const int one = g_statements;
  g_statements = 0;
  push(s, std::to_string(n) + "-many", creates(n, 21, body));
  n += 21;
  return (g_statements - one) / 20.0;
}

}  // namespace

TEST_CASE("push cost: a new record takes few statements in the leader, none of them no-ops") {
  test::TempDir dir;
  auto s = open_store(dir.file("c.db"));
  trace_writer(*s);
  std::int64_t n = 1;
  // Reads: the record, the dot. Writes: the version, the record, its scope, then the entry trace.
  const double plain = statements_per_create(*s, R"({"municipality":"gracanice","pct":60})", n);
  MESSAGE("statements per create, no attachment: " << plain);
  CHECK(plain <= 6);
  // An attachment reference adds its index row; the missing file goes in with the record row.
  const double photo = statements_per_create(*s, R"({"pct":60,"photo":")" + kPhoto + R"("})", n);
  MESSAGE("statements per create, one attachment: " << photo);
  CHECK(photo <= 7);
}

TEST_CASE("push cost: a new record whose body names another scope still takes the body's scope") {
  test::TempDir dir;
  auto s = open_store(dir.file("s.db"));
  // The edit says gracanice/serb/SO1 (make_edit); the body, stored as sent, says otherwise. Escaped keys
  // and values count too.
  const std::string bodies[] = {R"({"municipality":"prishtine","pct":1})",
                                R"({"community":"roma","pct":1})",
                                R"({"municipalit\u0079":"prishtine","pct":1})",
                                R"({"municipality":"prisht\u0069ne","pct":1})",
                                R"({"municipality":"gracanice","pct":1,"municipality":"prishtine"})"};
  const std::string want[][2] = {{"prishtine", "serb"}, {"gracanice", "roma"}, {"prishtine", "serb"},
                                 {"prishtine", "serb"}, {"prishtine", "serb"}};
  std::int64_t n = 1;
  for (std::size_t i = 0; i < std::size(bodies); ++i) {
    CAPTURE(bodies[i]);
    auto edits = creates(n++, 1, bodies[i]);
    const std::string id = edits[0].record_id;
    auto r = push(*s, std::to_string(i) + "-b", edits);
    REQUIRE(r["results"][0]["outcome"] == "applied");
    auto state = s->record(id);
    REQUIRE(state.ok());
    REQUIRE(state->has_value());
    CHECK((*state)->scope.municipality == want[i][0]);
    CHECK((*state)->scope.community == want[i][1]);
  }
  // A body that agrees (or names no scope) keeps the edit's scope.
  auto edits = creates(n++, 1, R"({"municipality":"gracanice","community":"serb","component":"SO1","pct":1})");
  push(*s, "agree", edits);
  auto state = s->record(edits[0].record_id);
  REQUIRE(state.ok());
  CHECK((*state)->scope == sync::Scope{"gracanice", "serb", "SO1"});
}

TEST_CASE("push cost: a new record's missing attachments are listed as before, present ones are not") {
  test::TempDir dir;
  auto s = open_store(dir.file("a.db"));
  const std::string body = R"({"pct":60,"photo":")" + kPhoto + R"(","other":"sha256:nothex"})";
  auto missing = creates(1, 1, body);
  push(*s, "missing", missing, false);
  auto present = creates(2, 1, body);
  push(*s, "present", present, true);
  auto a = s->record(missing[0].record_id);
  auto b = s->record(present[0].record_id);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->pending_upload == std::vector<std::string>{"photo"});
  CHECK((*b)->pending_upload.empty());
  // An edit of the record (not a create) recomputes the list the long way: the photo answer removed.
  sync::Edit edit = make_edit(missing[0].record_id, kDev, 3, missing[0].clock(), R"({"pct":61})", {"pct", "photo"});
  push(*s, "edit", {edit}, false);
  auto c = s->record(missing[0].record_id);
  REQUIRE(c.ok());
  CHECK((*c)->pending_upload.empty());
}

TEST_CASE("feed cost: an unscoped page is read in feed order from indexes, without a sort") {
  test::TempDir dir;
  auto db = store::Db::open(dir.file("f.db"), {});
  REQUIRE(db.ok());
  REQUIRE(store::migrate(**db).ok());
  auto plan = store::feed_query_plan(**db);
  REQUIRE(plan.ok());
  INFO(*plan);
  CHECK(plan->find("TEMP B-TREE") == std::string::npos);
  CHECK(plan->find("records_by_seq") != std::string::npos);
  CHECK(plan->find("versions_live_by_record") != std::string::npos);
}

TEST_CASE("feed cost: a scoped page sorts only its candidates' seqs, never the rows with bodies") {
  test::TempDir dir;
  auto db = store::Db::open(dir.file("f.db"), {});
  REQUIRE(db.ok());
  REQUIRE(store::migrate(**db).ok());
  auto plan = store::feed_query_plan(**db, true);
  REQUIRE(plan.ok());
  INFO(*plan);
  // Top-level lines (no indent) read the rows that carry bodies: none of them may be a sort.
  std::size_t top_sorts = 0, line_start = 0;
  while (line_start < plan->size()) {
    const std::size_t end = plan->find('\n', line_start);
    const std::string line = plan->substr(line_start, end - line_start);
    if (!line.empty() && line[0] != ' ' && line.find("TEMP B-TREE") != std::string::npos) ++top_sorts;
    line_start = end + 1;
  }
  CHECK(top_sorts == 0);
  // Each candidate is one look-up by seq, not a scan of every record, and versions come by index.
  CHECK(plan->find("SEARCH r USING INDEX records_by_seq (seq=?)") != std::string::npos);
  CHECK(plan->find("versions_live_by_record") != std::string::npos);
  CHECK(plan->find("records_by_municipality") != std::string::npos);
}

TEST_CASE("export cost: a page of one form's rows is read in feed order from indexes, without a sort") {
  test::TempDir dir;
  auto db = store::Db::open(dir.file("f.db"), {});
  REQUIRE(db.ok());
  REQUIRE(store::migrate(**db).ok());
  auto plan = store::export_query_plan(**db);
  REQUIRE(plan.ok());
  INFO(*plan);
  CHECK(plan->find("TEMP B-TREE") == std::string::npos);
  CHECK(plan->find("records_by_seq (seq=?)") != std::string::npos);
  CHECK(plan->find("versions_live_by_record") != std::string::npos);
}

TEST_CASE("push cost: a create's full changed list costs no bytes in the versions table") {
  // 1,000 creates whose list is every key of a 60-answer body: the versions table holds the body and
  // the version's few fields, not the list again (docs/STORE.md "versions.changed").
  test::TempDir dir;
  auto s = open_store(dir.file("size.db"));
  nlohmann::json body = nlohmann::json::object();
  std::vector<std::string> keys;
  for (int k = 0; k < 60; ++k) {
    const std::string key = "q" + std::to_string(100 + k) + "_answer";
    body[key] = "value " + std::to_string(k);
    keys.push_back(key);
  }
  const std::string text = body.dump();
  std::int64_t n = 1;
  for (int b = 0; b < 10; ++b) {
    std::vector<sync::Edit> edits;
    for (int i = 0; i < 100; ++i, ++n)
      edits.push_back(make_edit(uuid7(1700000000000 + static_cast<std::uint64_t>(n), 1), kDev, n, {}, text, keys));
    push(*s, "size-" + std::to_string(b), std::move(edits));
  }
  double per_record = 0;
  REQUIRE(s->write([&](store::Db& db, std::int64_t&) {
               auto st = db.stmt("SELECT sum(pgsize) FROM dbstat WHERE name = 'versions'");
               if (!st.ok()) return st.status();
               store::StmtGuard g(**st);
               auto row = g->step();
               if (!row.ok()) return row.status();
               per_record = static_cast<double>(g->int64(0)) / 1000.0;
               return Status();
             }).ok());
  const double list = static_cast<double>(sync::encode_strings(keys).size());
  MESSAGE("versions: " << per_record << " bytes per record, body " << text.size() << ", list " << list);
  // The row's other fields (clock, parents, digest, scope, numbers) and page slack take about 360 bytes
  // (1,851 in all, measured); a stored list adds its 841 again and fails.
  CHECK(per_record < static_cast<double>(text.size()) + 0.6 * list);
}
