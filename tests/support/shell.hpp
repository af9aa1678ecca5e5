// Runs a command line for a test (the aktsyncd binary's subcommands and exit codes).
#pragma once

#include <string>

namespace akt::test {

struct ShellRun {
  int code = -1;    // exit code; -1 when the command did not exit normally (or could not be started)
  std::string out;  // standard output and standard error, interleaved as written
};

// `command` run by /bin/sh with its standard error sent to its standard output.
ShellRun run_shell(const std::string& command);

}  // namespace akt::test
