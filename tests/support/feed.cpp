#include "tests/support/feed.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"

namespace akt::test {

Feed pull_all(client::HttpClient& c, const Device& dev, const std::string& cursor, int limit) {
  Feed f;
  f.cursor = cursor;
  for (;;) {
    auto r = get(c, dev, "/v1/changes?since=" + f.cursor + "&limit=" + std::to_string(limit));
    REQUIRE(r.status == 200);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    ++f.pages;
    for (const auto& x : j["changes"]) {
      auto s = sync::decode_record_state(x);
      REQUIRE(s.ok());
      if (s->out_of_scope) {
        f.records.erase(s->record_id);  // a marker: the record left the caller's scope
        continue;
      }
      f.records[s->record_id] = std::move(*s);
    }
    f.cursor = j["next"].get<std::string>();
    if (!j["more"].get<bool>()) return f;
  }
}

}  // namespace akt::test
