// The compact stored `changed` of a create (sync/stored_changed.hpp): stored as the empty text exactly when
// its list is its body's keys, and always read back as the list that was pushed.
#include "sync/stored_changed.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"

using namespace akt::sync;

namespace {

Edit create(std::string body, std::vector<std::string> changed) {
  Edit e;
  e.body = std::move(body);
  e.changed = std::move(changed);
  return e;
}

// What a reader gets back from what the writer stored.
std::vector<std::string> round_trip(const Edit& e) {
  const std::string stored = stored_changed(e, encode_strings(e.changed));
  CHECK(changed_text(stored, e.body) == encode_strings(e.changed));
  auto back = decode_changed(stored, e.body);
  REQUIRE(back.ok());
  return *back;
}

}  // namespace

TEST_CASE("stored changed: a create listing its body's keys is stored as the empty text") {
  const Edit e = create(R"({"a":1,"b":{"c":[1,"}"]},"d":"x"})", {"a", "b", "d"});
  CHECK(body_keys_text(e.body) == R"(["a","b","d"])");
  CHECK(stored_changed(e, encode_strings(e.changed)) == "");
  CHECK(round_trip(e) == e.changed);
  CHECK(changed_text("", e.body) == R"(["a","b","d"])");
  CHECK(body_keys_text("{}") == "[]");
  CHECK(body_keys_text("not json") == "[]");
}

TEST_CASE("stored changed: other lists, edits and deletions keep their list") {
  const std::string body = R"({"a":1,"b":2})";
  for (const auto& changed : std::vector<std::vector<std::string>>{{"a"}, {"b", "a"}, {"a", "b", "c"}, {}, {"a.x", "b"}}) {
    const Edit e = create(body, changed);
    CHECK(stored_changed(e, encode_strings(e.changed)) == encode_strings(changed));
    CHECK(round_trip(e) == changed);
  }
  Edit edit = create(body, {"a", "b"});
  edit.context.advance("00000000-0000-4000-8000-00000000000a", 1);
  CHECK(stored_changed(edit, encode_strings(edit.changed)) == R"(["a","b"])");
  Edit gone = create("{}", {});
  gone.deleted = true;
  CHECK(stored_changed(gone, "[]") == "[]");
  // A stored list is read as itself, whatever the body holds.
  CHECK(changed_text(R"(["z"])", body) == R"(["z"])");
}

TEST_CASE("stored changed: every create the push decoder fills in round-trips, escapes and all") {
  std::mt19937 rng(11);
  const std::vector<std::string> pieces = {"a", "Z", "\"", "\\", "\x01", "\x1f", "/", "\xc3\xa9", "\xe2\x80\xa8", " ", "é"};
  WireLimits lim;
  int compact = 0;
  for (int round = 0; round < 300; ++round) {
    nlohmann::json body = nlohmann::json::object();
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      std::string key;
      const int len = 1 + static_cast<int>(rng() % 4);
      for (int c = 0; c < len; ++c) key += pieces[rng() % pieces.size()];
      body[key] = k % 2 ? nlohmann::json(k) : nlohmann::json{{"nested", key}};
    }
    nlohmann::json edit = {{"record", "0190f0a1-2b3c-7d4e-8f60-718293a4b5c6"},
                           {"form", "f"},
                           {"form_version", 1},
                           {"scope", {{"municipality", "m"}, {"community", "c"}, {"component", "x"}}},
                           {"dot", {{"actor", "00000000-0000-4000-8000-00000000000a"}, {"n", round + 1}}},
                           {"body", body},
                           {"device_time", 1}};
    const nlohmann::json batch = {{"v", kWireVersion}, {"batch_id", "b"}, {"edits", nlohmann::json::array({edit})}};
    auto req = decode_push_request(batch.dump(), lim);
    REQUIRE_MESSAGE(req.ok(), req.status().message());
    const Edit& e = req->edits[0];
    CAPTURE(e.body);
    if (stored_changed(e, encode_strings(e.changed)).empty()) ++compact;
    CHECK(round_trip(e) == e.changed);
  }
  CHECK(compact == 300);  // the decoder's canonical body spells its keys as encode_strings does
}
