// The quickstart's demo data: every decimal answer is a number a person or a GPS would give (at most six
// decimals; GPS points have four), so that no page, export or CLI listing prints binary-arithmetic noise
// such as 7.800000000000001.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "clients/demo_data.hpp"
#include "sync/wire_json.hpp"

using namespace akt;

namespace {

void check_numbers(const nlohmann::json& v, const std::string& where) {
  if (v.is_number_float()) {
    const std::string text = nlohmann::json(v).dump();
    const std::size_t dot = text.find('.');
    CHECK_MESSAGE((dot == std::string::npos || text.size() - dot - 1 <= 6), where << " = " << text);
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.items()) check_numbers(x, where + "." + k);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) check_numbers(v[i], where + "[" + std::to_string(i) + "]");
  }
}

}  // namespace

TEST_CASE("demo data: decimal answers have at most six decimals, never binary-arithmetic noise") {
  const auto demo = client::make_demo_data(40, "00000000-0000-4000-8000-0000000000a1", "enumerator1",
                                           "00000000-0000-4000-8000-0000000000b2", "enumerator2");
  std::size_t decimals = 0;
  for (const auto* pushes : {&demo.first, &demo.then})
    for (const auto& p : *pushes)
      for (const auto& e : p.request.edits) {
        auto body = nlohmann::json::parse(e.body, nullptr, false);
        REQUIRE_FALSE(body.is_discarded());
        if (body.contains("median_processing_days")) ++decimals;
        check_numbers(body, e.form_id);
      }
  CHECK(decimals > 0);  // the check saw the decimal answers
}
