// Pulling the whole change feed in pages, for tests.
#pragma once

#include <map>
#include <string>

#include "clients/http_client.hpp"
#include "sync/record.hpp"
#include "tests/support/test_server.hpp"

namespace akt::test {

struct Feed {
  std::map<std::string, sync::RecordState> records;  // latest state per record
  std::string cursor;
  int pages = 0;
};

// Pulls from `cursor` until `more` is false. REQUIREs every page to be a well-formed 200.
Feed pull_all(client::HttpClient& c, const Device& dev, const std::string& cursor, int limit);

}  // namespace akt::test
