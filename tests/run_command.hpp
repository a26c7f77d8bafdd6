#pragma once
// Runs a shell command for the tests that drive built programs (the CLI, the examples): its exit code
// and its stdout and stderr together; and interrupts a training run in its second epoch.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bend::testing {

struct CommandResult {
  int code;         // the exit status, or -1 when the command did not exit normally
  std::string out;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r{0, {}};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.out += buf.data();
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The whole text of a file ("" when it cannot be read).
inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct InterruptedRun {
  int status;       // as waitpid() reports it
  std::string out;  // the log: stdout and stderr together
};

// Starts `args` (args[0] is looked up on PATH unless it holds a '/') with stdout and stderr into `log`
// and SIGINT at its default action (whatever the test inherited), waits until the log reports epoch 1,
// then sends `signal` 50 ms into the second epoch and waits for the exit. FAILs after 120 s.
inline InterruptedRun interrupt_in_second_epoch(std::vector<std::string> args,
                                                const std::filesystem::path& log, int signal) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGINT);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &files, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  INFO("starting " << args[0]);
  REQUIRE(spawned == 0);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_text_file(log).find("epoch   1") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(::kill(pid, signal) == 0);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (std::chrono::steady_clock::now() >= deadline) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL(args[0] << " did not stop within 120 s of starting: " << read_text_file(log));
  }
  return {status, read_text_file(log)};
}

}  // namespace bend::testing
