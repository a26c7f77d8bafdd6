// bend: the command-line front end. `bend <command> [flags]`; every command has --help. The commands
// come from the registry in commands.cpp.
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C).
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace bend::cli;
  if (argc < 2) {
    fmt::print(stderr, "{}", usage_text());
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "--version" || name == "-V") {
    fmt::print("{}\n", version_text());
    return 0;
  }
  if (name == "--help" || name == "-h") name = "help";
  const Command* command = find_command(name);
  if (command == nullptr) {
    fmt::print(stderr, "bend: unknown command '{}'; commands are: {} (bend help lists what they do)\n", name,
               command_names());
    return 2;
  }
  try {
    return command->run(argc - 1, argv + 1);
  } catch (const UsageError& e) {
    fmt::print(stderr, "bend {}: {}\n", name, e.what());
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "bend {}: {}\n", name, e.what());
    return 2;
  } catch (const std::exception& e) {
    // bend's own errors say what and where; anything else is put in words (never "std::bad_alloc").
    fmt::print(stderr, "bend {}: error: {}\n", name, describe_exception(e));
    return 1;
  }
}
