#include "tests/support/edits.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "sync/uuid.hpp"

namespace akt::test {

std::string uuid_n(std::uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return buf;
}

std::string uuid7(std::uint64_t ms, std::uint64_t counter) {
  std::array<std::uint8_t, 10> r{};
  for (int i = 0; i < 8; ++i) r[static_cast<std::size_t>(2 + i)] = static_cast<std::uint8_t>(counter >> (8 * (7 - i)));
  return sync::format_uuid(sync::make_uuid_v7(ms, r));
}

sync::Edit make_edit(const std::string& record, const std::string& actor, std::int64_t n,
                     const sync::VectorClock& ctx, const std::string& body, std::vector<std::string> changed) {
  sync::Edit e;
  e.record_id = record;
  e.form_id = "so1_infra_monitoring";
  e.form_version = 1;
  e.scope = {"gracanice", "serb", "SO1"};
  e.dot = {actor, n};
  e.context = ctx;
  e.changed = std::move(changed);
  // Bodies are stored canonical (keys sorted), as the server re-encodes them.
  e.body = nlohmann::json::parse(body).dump();
  // Counters up to 2^63-1 are made by the bound tests: the time takes the counter's low part, no overflow.
  e.device_time = 1700000000000 + n % 1000000000;
  return e;
}

}  // namespace akt::test
