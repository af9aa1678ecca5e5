// The store contract suite, feed part (issue #20): the same pushes through ServerStore and PgStore
// (SyncStore::push), then the same feed pages, export pages and stored answers read from both must be the
// same bytes. Run in the "push contract: ..." CTest entry (it shares that entry's cluster). Without
// PostgreSQL here the case has nothing to compare (AKT_REQUIRE_POSTGRES=1 makes that a failure).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/store/store_tx.hpp"
#include "tests/store/contract/engines.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using akt::test::uuid_n;

namespace {

const std::string kDevA = uuid_n(0xA);
const std::string kDevB = uuid_n(0xB);

sync::Edit in_place(sync::Edit e, const std::string& municipality, const std::string& community = "serb") {
  e.scope = {municipality, community, "SO1"};
  return e;
}

// The same history on every engine: records in two municipalities, a merge with a field conflict, a
// record that moves out of "gracanice", a deletion, bodies with escapes and non-ASCII text.
struct History {
  std::vector<std::string> ids;
  std::vector<std::string> answers;  // each push's answer, in order
  std::vector<std::pair<std::string, std::string>> batches;  // (device, batch id)
};

History push_history(store::SyncStore& s) {
  History h;
  std::int64_t now = 1700000000000;
  auto push = [&](const std::string& device, const std::string& batch, std::vector<sync::Edit> edits) {
    sync::PushRequest req{batch, std::move(edits)};
    store::PushInput in{device, &req, ++now};
    auto out = s.push(in);
    REQUIRE_MESSAGE(out.ok(), out.status().message());
    h.answers.push_back(out->response);
    h.batches.emplace_back(device, batch);
  };
  for (int i = 0; i < 8; ++i) h.ids.push_back(uuid7(1700000000000, 100 + static_cast<std::uint64_t>(i)));
  // 0..3 in gracanice, 4..5 in pristina (4 in another community), 6 with awkward text, 7 deleted later.
  std::vector<sync::Edit> first;
  for (int i = 0; i < 8; ++i) {
    const std::string body = i == 6 ? R"({"note":"q\"uote \\ back\nline \u00e9\u4e2d \ud83d\ude00","pct":6})"
                                    : R"({"note":"r)" + std::to_string(i) + R"(","pct":)" + std::to_string(i) + "}";
    sync::Edit e = make_edit(h.ids[static_cast<std::size_t>(i)], kDevA, i + 1, {}, body, {"note", "pct"});
    if (i == 4) e = in_place(e, "pristina", "alb");
    if (i == 5) e = in_place(e, "pristina");
    first.push_back(e);
  }
  push(kDevA, "first", first);
  // A true conflict on record 1: B and A both change pct from the same version; the server merges.
  const sync::Edit base = first[1];
  push(kDevB, "b1", {make_edit(h.ids[1], kDevB, 1, base.clock(), R"({"note":"r1","pct":20})", {"pct"})});
  push(kDevA, "a2", {make_edit(h.ids[1], kDevA, 20, base.clock(), R"({"note":"r1","pct":30})", {"pct"})});
  // Record 2 moves out of gracanice (the gracanice reader gets an out-of-scope marker).
  push(kDevA, "move", {in_place(make_edit(h.ids[2], kDevA, 21, first[2].clock(), R"({"note":"moved","pct":2})",
                                          {"note"}), "pristina")});
  // Record 7 is deleted.
  sync::Edit del = make_edit(h.ids[7], kDevA, 22, first[7].clock(), R"({"note":"r7","pct":7})", {});
  del.deleted = true;
  push(kDevA, "del", {del});
  // Record 0 is edited by B (its version is not A's: echo differs by actor).
  push(kDevB, "b2", {make_edit(h.ids[0], kDevB, 2, first[0].clock(), R"({"note":"r0b","pct":0})", {"note"})});
  return h;
}

// The server's actor is random per database: the merged version's dot names it.
std::string normal(std::string text, const std::string& server_actor) {
  for (std::size_t at = text.find(server_actor); at != std::string::npos; at = text.find(server_actor, at))
    text.replace(at, server_actor.size(), "SERVER");
  return text;
}

// Reads the feed from `since` to its end in pages of `q` (each page's next is the following `since`),
// recording each page's bytes, next and more.
std::vector<std::string> read_pages(store::SyncStore& s, store::FeedQuery q) {
  std::vector<std::string> pages;
  for (int guard = 0; guard < 50; ++guard) {
    std::string out = "[";
    auto page = s.feed_page(q, out);
    REQUIRE_MESSAGE(page.ok(), page.status().message());
    out += "] next=" + std::to_string(page->next) + (page->more ? " more" : "");
    pages.push_back(normal(out, s.server_actor()));
    if (!page->more) return pages;
    q.since = page->next;
  }
  FAIL("the feed did not end");
  return pages;
}

std::vector<std::string> export_rows(store::SyncStore& s, std::size_t limit) {
  std::vector<std::string> out;
  std::vector<store::ExportRow> rows;
  std::int64_t since = 0;
  for (int guard = 0; guard < 50; ++guard) {
    auto page = s.export_page("so1_infra_monitoring", since, s.last_seq(), limit, rows);
    REQUIRE_MESSAGE(page.ok(), page.status().message());
    for (std::size_t i = 0; i < page->count; ++i) {
      const store::ExportRow& r = rows[i];
      out.push_back(r.record_id + "|" + r.municipality + "|" + r.community + "|" + r.component + "|" + r.body + "|" +
                    std::to_string(r.form_version) + "|" + std::to_string(r.seq) + "|" +
                    std::to_string(r.server_time) + "|" + (r.deleted ? "deleted" : "") + "|" +
                    (r.conflict ? "conflict" : ""));
    }
    out.push_back("next=" + std::to_string(page->next) + (page->more ? " more" : ""));
    if (!page->more) return out;
    since = page->next;
  }
  FAIL("the export did not end");
  return out;
}

// Every page variant the changes handler asks for, by name.
std::vector<std::pair<std::string, std::vector<std::string>>> feed_variants(store::SyncStore& s) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const std::vector<sync::Assignment> gracanice{{"gracanice", "*", "*", "*"}};
  const std::vector<sync::Assignment> serb{{"*", "serb", "*", "*"}};
  const std::vector<sync::Assignment> none_here{{"prizren", "*", "*", "*"}};
  const store::BodyTransform redact = [](const std::string& form, const std::string& record, std::string_view body) {
    return std::string(R"({"form":")") + form + R"(","len":)" + std::to_string(body.size()) + R"(,"record":")" +
           record + "\"}";
  };
  const store::CommunityTransform community = [](std::string_view c) {
    std::string up(c);
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return up;
  };
  const store::FeedQuery::PathsTransform paths = [](const std::string&, std::string_view p) {
    return std::string(p) == "[]" ? std::string("[]") : std::string(R"(["shown"])");
  };
  auto add = [&](const std::string& name, store::FeedQuery q) { out.emplace_back(name, read_pages(s, q)); };
  store::FeedQuery q;
  add("whole feed", q);
  q.limit = 2;
  add("pages of 2", q);
  q.limit = 500;
  q.max_bytes = 300;
  add("pages of 300 bytes", q);
  q.max_bytes = 0;
  q.since = 3;
  add("after 3", q);
  q.since = 0;
  q.scope = &gracanice;
  add("scope gracanice (marker)", q);
  q.limit = 1;
  add("scope gracanice, pages of 1", q);
  q.limit = 500;
  q.scope = &serb;
  add("scope community serb", q);
  q.scope = &none_here;
  add("scope with nothing", q);
  q.scope = nullptr;
  q.parents = false;
  q.changed = false;
  add("compact 1", q);
  q.lean = true;
  add("compact 2", q);
  q.lean = false;
  q.parents = q.changed = true;
  q.echo_actor = kDevA;
  add("echo of device A", q);
  q.echo_actor.clear();
  q.transform = &redact;
  q.community = &community;
  q.paths = &paths;
  q.scope = &gracanice;
  add("redacted, scoped", q);
  return out;
}

}  // namespace

TEST_CASE("push contract: feed pages, export pages and stored answers are the same bytes on every engine") {
  auto sqlite = test::make_engine(test::EngineKind::kSqlite);
  auto postgres = test::make_engine(test::EngineKind::kPostgres);
  REQUIRE(sqlite);
  if (!postgres) return;  // reported by make_engine (a failure under AKT_REQUIRE_POSTGRES=1)
  const History hs = push_history(*sqlite->store);
  const History hp = push_history(*postgres->store);
  CHECK(sqlite->store->last_seq() == postgres->store->last_seq());
  CHECK(sqlite->store->last_seq() > 8);
  // Answers name the epoch too, random per database as the server actor.
  for (std::size_t i = 0; i < hs.answers.size(); ++i)
    CHECK(normal(normal(hs.answers[i], sqlite->store->server_actor()), sqlite->store->epoch()) ==
          normal(normal(hp.answers[i], postgres->store->server_actor()), postgres->store->epoch()));

  const auto fs = feed_variants(*sqlite->store);
  const auto fp = feed_variants(*postgres->store);
  REQUIRE(fs.size() == fp.size());
  for (std::size_t i = 0; i < fs.size(); ++i) {
    INFO("variant: " << fs[i].first);
    CHECK(fs[i].second == fp[i].second);
  }
  // The scenario shows what it claims: a marker, a merge, a cut page.
  const std::string scoped = fs[4].second.front();
  CHECK(scoped.find("\"out_of_scope\":true") != std::string::npos);
  CHECK(fs[0].second.front().find("SERVER") != std::string::npos);
  CHECK(fs[1].second.size() > 3);
  CHECK(fs[2].second.size() > 1);
  CHECK(fs[10].second.front().find("body_hash") != std::string::npos);

  for (std::size_t limit : {std::size_t{1}, std::size_t{3}, std::size_t{250}}) {
    INFO("export page of " << limit);
    CHECK(export_rows(*sqlite->store, limit) == export_rows(*postgres->store, limit));
  }

  // Stored answers read back (GET /v1/push/{id}); unknown batch and a non-UUID device: none.
  for (std::size_t i = 0; i < hs.batches.size(); ++i) {
    auto a = sqlite->store->batch_answer(hs.batches[i].first, hs.batches[i].second);
    auto b = postgres->store->batch_answer(hp.batches[i].first, hp.batches[i].second);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->has_value());
    REQUIRE(b->has_value());
    CHECK(**a == hs.answers[i]);
    CHECK(**b == hp.answers[i]);
  }
  for (store::SyncStore* s : {sqlite->store.get(), postgres->store.get()}) {
    auto none = s->batch_answer(kDevB, "first");
    REQUIRE(none.ok());
    CHECK(!none->has_value());
    auto bad = s->batch_answer("not-a-uuid", "first");
    REQUIRE(bad.ok());
    CHECK(!bad->has_value());
    CHECK(s->record("not-a-uuid").status().code() == Status::Code::kInvalidArgument);
  }

  // Decoded reads agree too: changes pages and single records.
  auto cs = sqlite->store->changes(2, 3);
  auto cp = postgres->store->changes(2, 3);
  REQUIRE(cs.ok());
  REQUIRE(cp.ok());
  CHECK(cs->next == cp->next);
  CHECK(cs->more == cp->more);
  REQUIRE(cs->records.size() == cp->records.size());
  for (std::size_t i = 0; i < cs->records.size(); ++i) {
    CHECK(cs->records[i].record_id == cp->records[i].record_id);
    CHECK(cs->records[i].seq == cp->records[i].seq);
    CHECK(cs->records[i].conflict == cp->records[i].conflict);
    CHECK(cs->records[i].live.size() == cp->records[i].live.size());
  }
  for (const std::string& id : hs.ids) {
    auto rs = sqlite->store->record(id);
    auto rp = postgres->store->record(id);
    REQUIRE(rs.ok());
    REQUIRE(rp.ok());
    REQUIRE(rs->has_value());
    REQUIRE(rp->has_value());
    CHECK((*rs)->seq == (*rp)->seq);
    CHECK((*rs)->scope == (*rp)->scope);
    CHECK((*rs)->live.back().body == (*rp)->live.back().body);
    CHECK((*rs)->conflicted == (*rp)->conflicted);
  }
}

TEST_CASE("push contract: pull cursors are written by flush on every engine") {
  for (auto kind : {test::EngineKind::kSqlite, test::EngineKind::kPostgres}) {
    auto e = test::make_engine(kind);
    if (!e) continue;
    e->store->note_pull(kDevA, 7, 1700000000123);
    e->store->note_pull(kDevA, 5, 1700000000456);  // a smaller cursor never lowers the stored one
    REQUIRE(e->store->flush().ok());
    auto devices = test::read(*e, [](store::StoreReader& tx) { return tx.list_devices(); });
    REQUIRE(devices.ok());
    auto it = std::find_if(devices->begin(), devices->end(), [](const store::DeviceRow& d) { return d.actor == kDevA; });
    REQUIRE(it != devices->end());
    CHECK(it->last_cursor == 7);
    CHECK(it->last_pull == 1700000000456);
  }
}
