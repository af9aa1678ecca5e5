#include "clients/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace akt::client {
namespace {

pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      ::close(fd);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int run_child(const std::string& binary, const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = spawn(binary, args, log);
  if (pid < 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::start(const std::string& binary, const std::string& config,
                                                            const std::string& dir) {
  std::unique_ptr<ServerProcess> p(new ServerProcess(binary, config, dir));
  if (Status s = p->launch(); !s.ok()) return s;
  return p;
}

Status ServerProcess::launch() {
  const std::string port_file = dir_ + "/port";
  std::remove(port_file.c_str());
  port_ = 0;
  pid_ = spawn(binary_, {"--config", config_, "--port-file", port_file, "--log-level", "warn"}, dir_ + "/aktsyncd.log");
  if (pid_ < 0) return Status::io_error("cannot start " + binary_);
  for (int i = 0; i < 2000; ++i) {
    std::ifstream in(port_file);
    int p = 0;
    if (in >> p && p > 0) {
      port_ = static_cast<std::uint16_t>(p);
      return {};
    }
    int status = 0;
    if (waitpid(pid_.load(), &status, WNOHANG) == pid_.load()) {
      pid_ = -1;
      return Status::io_error(binary_ + " exited at start; see " + dir_ + "/aktsyncd.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::io_error(binary_ + " did not start listening within 20 s");
}

void ServerProcess::kill9() {
  const pid_t pid = pid_.exchange(-1);
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

Status ServerProcess::restart() {
  kill9();
  return launch();
}

Status ServerProcess::stop() {
  const pid_t pid = pid_.exchange(-1);
  if (pid <= 0) return {};
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Status::io_error("aktsyncd did not stop cleanly");
  return {};
}

ServerProcess::~ServerProcess() { kill9(); }

}  // namespace akt::client
