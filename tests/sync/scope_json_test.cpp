#include "sync/scope_json.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using akt::sync::Scope;
using akt::sync::scope_of_body;
using akt::sync::scope_of_body_text;

TEST_CASE("scope_of_body: the body's top-level scope fields set the scope, nothing else does") {
  const Scope was{"novoberde", "serb", "SO1"};
  SUBCASE("a moved municipality") {
    CHECK(scope_of_body_text(R"({"municipality":"prizren","x":1})", was) == Scope{"prizren", "serb", "SO1"});
  }
  SUBCASE("all three members") {
    CHECK(scope_of_body_text(R"({"municipality":"prizren","community":"roma","component":"SO2"})", was) ==
          Scope{"prizren", "roma", "SO2"});
  }
  SUBCASE("members the body lacks, or holds as another type, or holds deeper down, stay") {
    CHECK(scope_of_body_text(R"({"community":7,"component":null,"g":{"municipality":"prizren"}})", was) == was);
  }
  SUBCASE("a tombstone's empty body, a body that is not an object or does not parse: nothing changes") {
    CHECK(scope_of_body_text("{}", was) == was);
    CHECK(scope_of_body_text("[\"municipality\"]", was) == was);
    CHECK(scope_of_body_text("{\"municipality\":", was) == was);
  }
  SUBCASE("the parsed overload agrees") {
    CHECK(scope_of_body(nlohmann::json{{"municipality", "gracanice"}}, was) == Scope{"gracanice", "serb", "SO1"});
  }
}
