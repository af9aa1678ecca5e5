// The inbox kinds' one table (sync/inbox_kind.hpp), and the admin console that names the same kinds.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sync/inbox_kind.hpp"

using namespace akt::sync;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("inbox kinds: every kind has one name that reads back to it, in the enum's order") {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < inbox_kinds().size(); ++i) {
    const InboxKindInfo& k = inbox_kinds()[i];
    CAPTURE(k.name);
    CHECK(static_cast<std::size_t>(k.kind) == i);
    CHECK(names.insert(k.name).second);
    CHECK(inbox_kind_from(k.name) == k.kind);
    CHECK(to_string(k.kind) == k.name);
    CHECK_FALSE(k.opened_by.empty());
    CHECK_FALSE(k.path.empty());
  }
  CHECK(names == std::set<std::string_view>{"field", "semantic", "delete_edit", "locked_change", "permission",
                                            "duplicate_candidate"});
  for (const char* bad : {"", "Field", "clock", "schema", "field ", "delete-edit"}) CHECK_FALSE(inbox_kind_from(bad));
}

TEST_CASE("inbox kinds: the actions each kind is resolved with (PROTOCOL 11.5)") {
  CHECK(inbox_kind_allows(InboxKind::kDeleteEdit, "confirm_delete"));
  CHECK(inbox_kind_allows(InboxKind::kDeleteEdit, "restore"));
  CHECK_FALSE(inbox_kind_allows(InboxKind::kDeleteEdit, "accept"));
  for (InboxKind k : {InboxKind::kLockedChange, InboxKind::kPermission}) {
    CHECK(inbox_kind_allows(k, "accept"));
    CHECK(inbox_kind_allows(k, "reject"));
    CHECK_FALSE(inbox_kind_allows(k, "restore"));
  }
  CHECK(inbox_kind_allows(InboxKind::kDuplicateCandidate, "keep_both"));
  CHECK(inbox_kind_allows(InboxKind::kDuplicateCandidate, "exclude"));
  for (InboxKind k : {InboxKind::kField, InboxKind::kSemantic}) {
    CHECK_FALSE(inbox_kind_allows(k, ""));
    CHECK_FALSE(inbox_kind_allows(k, "accept"));
  }
  for (const InboxKindInfo& k : inbox_kinds()) {
    CHECK_FALSE(inbox_kind_allows(k.kind, ""));  // an absent action is never one
    CHECK_FALSE(inbox_kind_allows(k.kind, "accept|reject"));
  }
}

TEST_CASE("inbox kinds: what an open entry marks on its record") {
  std::set<std::string> flagged;
  bool pending = false;
  mark_entry(InboxKind::kField, "visit[V-a].v_pct_observed", flagged, pending);
  mark_entry(InboxKind::kSemantic, "actual_end,pct_complete,status", flagged, pending);
  CHECK(flagged == std::set<std::string>{"visit[V-a].v_pct_observed", "actual_end", "pct_complete", "status"});
  CHECK_FALSE(pending);
  mark_entry(InboxKind::kLockedChange, "", flagged, pending);
  mark_entry(InboxKind::kPermission, "a,b", flagged, pending);
  mark_entry(InboxKind::kDuplicateCandidate, "[\"midline\",17]", flagged, pending);
  CHECK(flagged.size() == 4);
  CHECK_FALSE(pending);
  mark_entry(InboxKind::kDeleteEdit, "", flagged, pending);
  CHECK(pending);
  CHECK(flagged.size() == 4);
}

TEST_CASE("inbox kinds: the admin console filters, explains and names every kind, in all three languages") {
  const std::string app = read_file(std::string(AKT_SOURCE_DIR) + "/server/web/app.js");
  const std::string i18n = read_file(std::string(AKT_SOURCE_DIR) + "/server/web/i18n.js");
  REQUIRE_FALSE(app.empty());
  REQUIRE_FALSE(i18n.empty());
  // The map from kind to the view that builds an entry's resolution form.
  const std::size_t build_at = app.find("const build = {");
  REQUIRE(build_at != std::string::npos);
  const std::string build = app.substr(build_at, app.find('}', build_at) - build_at);
  for (const InboxKindInfo& k : inbox_kinds()) {
    const std::string name(k.name);
    CAPTURE(name);
    // The kind filter's option and the view that builds the entry's resolution form.
    CHECK(app.find("['" + name + "', t('kind_" + name + "')]") != std::string::npos);
    CHECK(build.find(" " + name + ": ") != std::string::npos);
    // Its label in English, Albanian and Serbian (one key per language block).
    std::size_t count = 0;
    for (std::size_t at = i18n.find("kind_" + name + ":"); at != std::string::npos;
         at = i18n.find("kind_" + name + ":", at + 1))
      ++count;
    CHECK(count >= 3);
  }
}
