// run_shell (shell.hpp).
#include "tests/support/shell.hpp"

#include <sys/wait.h>

#include <cstdio>

namespace akt::test {

ShellRun run_shell(const std::string& command) {
  ShellRun r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) {
    r.out = "cannot start: " + command;
    return r;
  }
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace akt::test
