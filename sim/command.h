#pragma once
// Subcommands of the `tessera` executable. Each sim/cmd_*.cpp registers itself with
// a static TESSERA_COMMAND(...) so that adding a command never edits a shared table.
// A command parses its own arguments (argv[0] is "tessera <name>") and returns the
// process exit status; InputError escaping it becomes exit status 2.
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace tessera::cli {

using CommandFn = int (*)(int argc, char** argv);

struct CommandInfo {
  std::string summary;
  CommandFn fn;
};

// Sorted by name so that `tessera --help` is deterministic.
std::map<std::string, CommandInfo>& command_registry();

// Parses a command's arguments with `app`. Returns the status the command must exit with
// right away: 0 after printing --help (of the command or a subcommand), 2 after printing a
// usage error and the help text. std::nullopt: parsed, go on.
std::optional<int> parse_args(CLI::App& app, int argc, char** argv);

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn fn) {
    command_registry()[name] = CommandInfo{summary, fn};
  }
};

}  // namespace tessera::cli

#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)
#define TESSERA_COMMAND(name, summary, fn) \
  static const ::tessera::cli::CommandRegistrar TESSERA_CONCAT(tessera_cmd_, __LINE__){name, summary, fn}
