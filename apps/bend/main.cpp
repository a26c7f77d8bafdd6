// bend: the command-line front end. `bend <command> [flags]`; every command has --help. The commands
// come from the registry in commands.cpp.
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C).
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli.hpp"

namespace {

// cxxopts says "Argument ‘1e10’ failed to parse" without the flag; find the flag that was given that
// value (`--batch 1e10` or `--batch=1e10`) and name it. Other messages pass through.
std::string describe_flag_error(const cxxopts::exceptions::exception& e, int argc, char** argv) {
  if (dynamic_cast<const cxxopts::exceptions::incorrect_argument_type*>(&e) == nullptr) return e.what();
  const std::string_view message = e.what(), open = "\u2018", close = "\u2019";
  const auto begin = message.find(open), end = message.rfind(close);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) return e.what();
  const std::string_view value = message.substr(begin + open.size(), end - begin - open.size());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string_view flag;
    if (i + 1 < argc && arg.starts_with("--") && value == argv[i + 1]) flag = arg;
    const auto equals = arg.find('=');
    if (arg.starts_with("--") && equals != std::string_view::npos && arg.substr(equals + 1) == value)
      flag = arg.substr(0, equals);
    if (!flag.empty())
      return fmt::format("{} '{}': not a value this flag takes (see --help for its type)", flag, value);
  }
  return e.what();
}

}  // namespace

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
    fmt::print(stderr, "bend: unknown command '{}'; commands are: {} (bend help lists what they do)\n",
               printable(name), command_names());
    return 2;
  }
  try {
    return command->run(argc - 1, argv + 1);
  } catch (const UsageError& e) {
    fmt::print(stderr, "bend {}: {}\n", name, printable(e.what()));
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "bend {}: {}\n", name, printable(describe_flag_error(e, argc, argv)));
    return 2;
  } catch (const std::exception& e) {
    // bend's own errors say what and where; anything else is put in words (never "std::bad_alloc").
    fmt::print(stderr, "bend {}: error: {}\n", name, printable(describe_exception(e)));
    return 1;
  }
}
