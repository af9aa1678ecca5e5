// The doctest main shared by every test binary. CTest runs one TEST_CASE per entry, by name
// (`--test-case=NAME`, from doctest_discover_tests); a name that the discovery cuts (at a `;`) or that
// doctest's filter splits (at a `,`) matches no test case, and doctest would report such a run as passed
// with nothing run. A run with a test-case filter that ran no test case fails here instead, naming the
// filter, so a test that cannot run cannot pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace {

unsigned g_cases_run = 0;
bool g_run_ended = false;

struct RunCounter : doctest::IReporter {
  explicit RunCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_cases_run = stats.numTestCasesPassingFilters;
    g_run_ended = true;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("akt_run_counter", 1, RunCounter);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit() || rc != 0) return rc;
  std::string_view filter;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    for (std::string_view flag : {"--test-case=", "-tc=", "--dt-test-case=", "--dt-tc="})
      if (a.substr(0, flag.size()) == flag) filter = a.substr(flag.size());
  }
  if (!filter.empty() && g_run_ended && g_cases_run == 0) {
    std::fprintf(stderr,
                 "no test case matched the filter '%.*s': a TEST_CASE name with ';' is cut by CTest's discovery "
                 "and one with ',' is split by doctest's filter; rename it\n",
                 static_cast<int>(filter.size()), filter.data());
    return 1;
  }
  return rc;
}
