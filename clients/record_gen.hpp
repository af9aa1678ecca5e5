// Realistic survey records for demo data, the fleet simulator and benchmarks: Form A
// (so1_interethnic_survey) bodies of about 1 KB with Albanian and Serbian characters. Deterministic
// from the caller's random engine; no I/O.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "sync/record.hpp"

namespace akt::client {

struct GeneratedRecord {
  sync::Scope scope;
  std::string body;  // canonical JSON object text
  std::vector<std::string> changed;
};

GeneratedRecord generate_survey_record(std::mt19937_64& rng);

// A valid infrastructure monitoring card (so1_infra_monitoring, tests/schema/fixtures/
// so1_infra_monitoring.valid.json) in progress at 100 %: a form with cross-field rules (completed means
// 100 %, and an actual end date and maintenance arrangement are then required).
GeneratedRecord generate_infra_card(std::mt19937_64& rng);

// A UUIDv7 for `unix_ms` with randomness from `rng`.
std::string new_record_id(std::uint64_t unix_ms, std::mt19937_64& rng);

}  // namespace akt::client
