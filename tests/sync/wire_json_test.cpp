// The push codec: round trips, and every malformed input refused with the path of the problem.
#include "sync/wire_json.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/json_text.hpp"
#include "tests/support/edits.hpp"

using namespace akt::sync;
using akt::test::uuid_n;

namespace {

std::string valid_batch() {
  PushRequest r;
  r.batch_id = "b-1";
  VectorClock ctx;
  ctx.advance(uuid_n(1), 3);
  r.edits.push_back(akt::test::make_edit(uuid_n(100), uuid_n(2), 5, ctx,
                                         R"({"name":"Dragaš – Đeneral Janković ë ç č ć š ž đ","pct":75})",
                                         {"pct"}));
  return encode_push_request(r);
}

}  // namespace

TEST_CASE("wire: push request round trip") {
  auto r = decode_push_request(valid_batch(), WireLimits{});
  REQUIRE(r.ok());
  REQUIRE(r->edits.size() == 1);
  const Edit& e = r->edits[0];
  CHECK(e.record_id == uuid_n(100));
  CHECK(e.dot == Dot{uuid_n(2), 5});
  CHECK(e.context.get(uuid_n(1)) == 3);
  CHECK(e.changed == std::vector<std::string>{"pct"});
  CHECK(e.scope.municipality == "gracanice");
  CHECK(encode_push_request(*r) == valid_batch());
}

TEST_CASE("wire: malformed batches are refused with a JSON path") {
  nlohmann::json good = nlohmann::json::parse(valid_batch());
  auto expect_error = [](const nlohmann::json& j, const std::string& fragment) {
    auto r = decode_push_request(j.dump(), WireLimits{});
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().message().find(fragment) != std::string::npos);
  };
  SUBCASE("not JSON") {
    auto r = decode_push_request("{\"v\":1,", WireLimits{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "$: malformed JSON");
  }
  SUBCASE("wrong version") { auto j = good; j["v"] = 2; expect_error(j, "$.v"); }
  SUBCASE("missing batch id") { auto j = good; j.erase("batch_id"); expect_error(j, "$.batch_id"); }
  SUBCASE("edits not an array") { auto j = good; j["edits"] = 3; expect_error(j, "$.edits"); }
  SUBCASE("bad record id") { auto j = good; j["edits"][0]["record"] = "x"; expect_error(j, "$.edits[0].record"); }
  SUBCASE("dot counter a string") { auto j = good; j["edits"][0]["dot"]["n"] = "5"; expect_error(j, "$.edits[0].dot.n"); }
  SUBCASE("dot counter zero") { auto j = good; j["edits"][0]["dot"]["n"] = 0; expect_error(j, "$.edits[0].dot.n"); }
  SUBCASE("dot counter fractional") { auto j = good; j["edits"][0]["dot"]["n"] = 1.5; expect_error(j, "$.edits[0].dot.n"); }
  SUBCASE("body an array") { auto j = good; j["edits"][0]["body"] = nlohmann::json::array(); expect_error(j, "$.edits[0].body"); }
  SUBCASE("context key not a uuid") { auto j = good; j["edits"][0]["context"] = {{"dev", 1}}; expect_error(j, "$.edits[0].context"); }
  SUBCASE("context counter negative") { auto j = good; j["edits"][0]["context"] = {{uuid_n(1), -1}}; expect_error(j, "$.edits[0].context"); }
  SUBCASE("changed has a number") { auto j = good; j["edits"][0]["changed"] = {1}; expect_error(j, "$.edits[0].changed[0]"); }
  SUBCASE("missing scope") { auto j = good; j["edits"][0].erase("scope"); expect_error(j, "$.edits[0].scope"); }
  SUBCASE("form version zero") { auto j = good; j["edits"][0]["form_version"] = 0; expect_error(j, "$.edits[0].form_version"); }
}

TEST_CASE("wire: limits") {
  WireLimits lim;
  lim.max_edits = 0;
  auto r = decode_push_request(valid_batch(), lim);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == akt::Status::Code::kTooLarge);
  lim = WireLimits{};
  lim.max_body_bytes = 10;
  CHECK_FALSE(decode_push_request(valid_batch(), lim).ok());
  std::string deep(100000, '[');
  auto d = decode_push_request(deep, WireLimits{});
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("nests deeper") != std::string::npos);
}

TEST_CASE("wire: depth scan ignores brackets inside strings") {
  CHECK(json_depth_within(R"({"a":"[[[[[[[[[[[[[["})", 2));
  CHECK_FALSE(json_depth_within(R"({"a":[[["x"]]]})", 3));
  CHECK(json_depth_within(R"({"a":"\"[[[["})", 1));
}

TEST_CASE("wire: push response round trip") {
  PushResponse r{"b", "e1", {}};
  EditResult x;
  x.index = 0;
  x.record_id = uuid_n(5);
  x.dot = {uuid_n(6), 2};
  x.outcome = Outcome::kRejected;
  x.error_code = "dot_reuse";
  x.error_detail = "d";
  r.results.push_back(x);
  const std::string text = encode_push_response(r);
  CHECK(nlohmann::json::parse(text).dump() == text);  // valid JSON, keys sorted, no spaces
  auto back = decode_push_response(text);
  REQUIRE(back.ok());
  CHECK(back->results[0].outcome == Outcome::kRejected);
  CHECK(back->results[0].error_code == "dot_reuse");
}

TEST_CASE("wire: push response names the entries an edit opened or extended and the merged version") {
  PushResponse r{"b", "e1", {}};
  EditResult x;
  x.record_id = uuid_n(5);
  x.dot = {uuid_n(6), 2};
  x.outcome = Outcome::kMerged;
  x.entries = {3, 7};
  x.version = Dot{uuid_n(7), 4};
  r.results.push_back(x);
  EditResult y = x;
  y.index = 1;
  y.outcome = Outcome::kApplied;
  y.entries.clear();
  y.version.reset();
  r.results.push_back(y);
  const std::string text = encode_push_response(r);
  const auto j = nlohmann::json::parse(text);
  CHECK(j["results"][0]["entries"] == nlohmann::json::array({3, 7}));
  CHECK(j["results"][0]["version"] == nlohmann::json{{"actor", uuid_n(7)}, {"n", 4}});
  CHECK_FALSE(j["results"][1].contains("entries"));  // only when some entry was opened or extended
  CHECK_FALSE(j["results"][1].contains("version"));
  auto back = decode_push_response(text);
  REQUIRE(back.ok());
  CHECK(back->results[0].entries == std::vector<std::int64_t>{3, 7});
  REQUIRE(back->results[0].version.has_value());
  CHECK(*back->results[0].version == Dot{uuid_n(7), 4});
  CHECK(back->results[1].entries.empty());
  CHECK_FALSE(back->results[1].version.has_value());
}

TEST_CASE("wire: record state encodes to parseable JSON and back") {
  RecordState s;
  s.record_id = uuid_n(9);
  s.form_id = "f";
  s.form_version = 1;
  s.scope = {"gracanice", "serb", "SO1"};
  s.seq = 4;
  Version v;
  v.dot = {uuid_n(1), 1};
  v.clock.advance(uuid_n(1), 1);
  v.body = R"({"q":"\"quoted\" ž"})";
  v.changed = {"q"};
  s.live.push_back(v);
  std::string out;
  append_record_state(out, s);
  auto j = nlohmann::json::parse(out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  auto back = decode_record_state(j);
  REQUIRE(back.ok());
  CHECK(back->live[0] == v);
  CHECK(back->scope == s.scope);
}

TEST_CASE("wire: bodies are stored canonical, so a re-encoded retry is the same edit") {
  const std::string a = uuid_n(1), r = uuid_n(2);
  auto batch = [&](const std::string& body) {
    return R"({"v":1,"batch_id":"b","edits":[{"record":")" + r +
           R"(","form":"f","form_version":1,"scope":{"municipality":"m","community":"c","component":"SO1"},"dot":{"actor":")" +
           a + R"(","n":1},"body":)" + body + "}]}";
  };
  auto unsorted = decode_push_request(batch(R"({"z":1, "a":{"y":[1.5,-3e2,true,null], "b":"ë"}, "m":1.0})"), WireLimits{});
  auto sorted = decode_push_request(batch(R"({"a":{"b":"ë","y":[1.5,-300.0,true,null]},"m":1.0,"z":1})"), WireLimits{});
  REQUIRE(unsorted.ok());
  REQUIRE(sorted.ok());
  CHECK(unsorted->edits[0].body == R"({"a":{"b":"ë","y":[1.5,-300.0,true,null]},"m":1.0,"z":1})");
  CHECK(unsorted->edits[0] == sorted->edits[0]);
  CHECK(edit_fingerprint(unsorted->edits[0]) == edit_fingerprint(sorted->edits[0]));
  // Round trip through the encoder is stable.
  auto again = decode_push_request(encode_push_request(*unsorted), WireLimits{});
  REQUIRE(again.ok());
  CHECK(again->edits[0] == unsorted->edits[0]);
  // Duplicate keys mean different things to different parsers: refused.
  auto dup = decode_push_request(batch(R"({"a":1,"a":2})"), WireLimits{});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("duplicate key 'a'") != std::string::npos);
}

TEST_CASE("wire: an out-of-scope marker decodes with its record and seq only, and encodes back the same") {
  const std::string text = R"({"record":")" + uuid_n(9) + R"(","seq":1207,"out_of_scope":true})";
  auto back = decode_record_state(nlohmann::json::parse(text));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->out_of_scope);
  CHECK(back->record_id == uuid_n(9));
  CHECK(back->seq == 1207);
  CHECK(back->live.empty());
  std::string out;
  append_record_state(out, *back);
  CHECK(out == text);
  CHECK_FALSE(decode_record_state(nlohmann::json::parse(R"({"record":")" + uuid_n(9) +
                                                        R"(","seq":3,"out_of_scope":false})")).ok());
  CHECK_FALSE(decode_record_state(nlohmann::json::parse(R"({"record":")" + uuid_n(9) + R"(","out_of_scope":true})")).ok());
}

TEST_CASE("json text: append_json_string escapes exactly what nlohmann's dump() escapes, copying the rest") {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "Graçanicë Грачаница \"quoted\" back\\slash";
  for (const std::string& s : {std::string(), std::string("plain"), all, std::string("\x1f\x7f", 2),
                              std::string("a\0b", 3), std::string(1000, 'x') + "\n" + std::string(1000, 'y')}) {
    std::string out = "prefix:";
    akt::sync::append_json_string(out, s);
    CHECK(out == "prefix:" + nlohmann::json(s).dump());
    CHECK(nlohmann::json::parse(out.substr(7)).get<std::string>() == s);
  }
}

#if defined(__GLIBC__)
#include <malloc.h>

// Issue #21: simdjson's DOM parser holds ~15 bytes per byte of the largest document it parsed; a parser
// kept per thread for every size made each server worker keep ~30 MiB after one 2 MiB batch.
TEST_CASE("wire: decoding a large batch keeps no parser memory afterwards") {
  auto in_use = [] {
    const struct mallinfo2 m = mallinfo2();
    return static_cast<double>(m.uordblks + m.hblkhd);
  };
  PushRequest big;
  big.batch_id = "big";
  const std::string answer(4000, 'x');
  for (int i = 0; i < 500; ++i)
    big.edits.push_back(akt::test::make_edit(uuid_n(1000 + i), uuid_n(2), i + 1, VectorClock{},
                                             R"({"note":")" + answer + R"("})", {"note"}));
  const std::string text = encode_push_request(big);
  REQUIRE(text.size() > 2'000'000);
  REQUIRE(decode_push_request(valid_batch(), WireLimits{}).ok());  // this thread's small parser exists
  const double before = in_use();
  {
    auto r = decode_push_request(text, WireLimits{});
    REQUIRE(r.ok());
    CHECK(r->edits.size() == 500);
  }
  const double kept = in_use() - before;
  INFO("bytes kept after decoding a " << text.size() << "-byte batch: " << kept);
  CHECK(kept < 1024 * 1024);
}
#endif
