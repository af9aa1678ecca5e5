// The lean feed (`compact=2`, PROTOCOL §5.1): the members it leaves out are exactly those the decoder
// restores, so a record read from the lean text equals the same record read from the full text.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "sync/feed_text.hpp"
#include "sync/wire_json.hpp"

using namespace akt::sync;
using nlohmann::json;

namespace {

const std::string kA = "0190f5c2-7a1e-4cc0-9a4b-00000000000a";
const std::string kB = "0190f5c2-7a1e-4cc0-9a4b-00000000000b";

// One record of one version, written full (compact=1's members) or lean.
std::string write(const RecordHead& head, const VersionText& v, bool lean) {
  std::string out;
  append_record_open_styled(out, head, lean);
  append_version_styled(out, v, true, VersionStyle{false, false, {}, lean, head.form_version});
  append_record_close(out);
  return out;
}

RecordState read(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  auto s = decode_record_state(j);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  return *s;
}

// The lean text read back is the full text read back, member by member.
void check_same(const RecordHead& head, const VersionText& v) {
  const std::string full = write(head, v, false), lean = write(head, v, true);
  INFO("full: " << full);
  INFO("lean: " << lean);
  const RecordState a = read(full), b = read(lean);
  CHECK(b.record_id == a.record_id);
  CHECK(b.form_id == a.form_id);
  CHECK(b.form_version == a.form_version);
  CHECK(b.scope == a.scope);
  CHECK(b.seq == a.seq);
  CHECK(b.deleted == a.deleted);
  CHECK(b.conflict == a.conflict);
  CHECK(b.conflicted == a.conflicted);
  CHECK(b.deletion_pending == a.deletion_pending);
  REQUIRE(b.live.size() == 1);
  CHECK(b.live[0].clock == a.live[0].clock);
  CHECK(b.live == a.live);
}

RecordHead head(std::int64_t form_version = 2) {
  return {"0190f5c2-7a1e-7cc0-9a4b-000000000001", "so1_interethnic_survey", form_version, "gracanica", "serb", "SO1",
          41, false, false, "[]", false, "[]"};
}

VersionText version(const std::string& clock, std::int64_t n = 3, std::int64_t form_version = 2) {
  return {kA, n, clock, "[]", "[]", R"({"hh_size":4})", false, form_version, 1700000000000, 1700000001000};
}

}  // namespace

TEST_CASE("lean feed: a create leaves out its clock and every member at its default") {
  const std::string clock = "{\"" + kA + "\":3}";
  const json lean = json::parse(write(head(), version(clock), true));
  for (const char* key : {"deleted", "conflict", "conflicted", "deletion_pending"}) {
    INFO(key);
    CHECK_FALSE(lean.contains(key));
  }
  const json& v = lean["live"][0];
  CHECK_FALSE(v.contains("clock"));
  CHECK_FALSE(v.contains("deleted"));
  CHECK_FALSE(v.contains("form_version"));
  CHECK(v["dot"] == json{{"actor", kA}, {"n", 3}});
  CHECK(v["body"] == json{{"hh_size", 4}});
  CHECK(v["device_time"] == 1700000000000);
  CHECK(v["server_time"] == 1700000001000);
  CHECK(lean["form_version"] == 2);
  CHECK(write(head(), version(clock), true).size() < write(head(), version(clock), false).size());
  check_same(head(), version(clock));
}

TEST_CASE("lean feed: whatever differs from what the decoder would restore is sent") {
  SUBCASE("a clock of more than the dot") {
    const std::string clock = "{\"" + kA + "\":3,\"" + kB + "\":5}";
    CHECK(json::parse(write(head(), version(clock), true))["live"][0].contains("clock"));
    check_same(head(), version(clock));
  }
  SUBCASE("a clock whose counter only starts like the dot's") {
    const std::string clock = "{\"" + kA + "\":31}";
    CHECK(json::parse(write(head(), version(clock), true))["live"][0]["clock"] == json{{kA, 31}});
    check_same(head(), version(clock));
  }
  SUBCASE("a clock of another actor with the dot's counter") {
    const std::string clock = "{\"" + kB + "\":3}";
    CHECK(json::parse(write(head(), version(clock), true))["live"][0].contains("clock"));
    check_same(head(), version(clock));
  }
  SUBCASE("a version filled with another form version than the record's") {
    const std::string clock = "{\"" + kA + "\":3}";
    CHECK(json::parse(write(head(2), version(clock, 3, 1), true))["live"][0]["form_version"] == 1);
    check_same(head(2), version(clock, 3, 1));
  }
  SUBCASE("a deletion, a conflict and a pending deletion") {
    RecordHead h = head();
    h.deleted = true;
    h.conflict = true;
    h.conflicted = R"(["hh_size"])";
    h.deletion_pending = true;
    const std::string clock = "{\"" + kA + "\":3}";  // VersionText holds views: the text must outlive it
    VersionText v = version(clock);
    v.deleted = true;
    const json lean = json::parse(write(h, v, true));
    CHECK(lean["deleted"] == true);
    CHECK(lean["conflict"] == true);
    CHECK(lean["conflicted"] == json::array({"hh_size"}));
    CHECK(lean["deletion_pending"] == true);
    CHECK(lean["live"][0]["deleted"] == true);
    check_same(h, v);
  }
}
