// The `tessera` command: dispatches to the subcommands registered in sim/cmd_*.cpp.
#include <fstream>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "common/util/error.h"
#include "common/util/main.h"
#include "sim/command.h"

namespace tessera::cli {

std::map<std::string, CommandInfo>& command_registry() {
  static std::map<std::string, CommandInfo> registry;
  return registry;
}

void write_file(const std::string& option, const std::string& path, const std::function<void(std::ostream&)>& fn) {
  const std::string who = (option.empty() ? "" : option + " ") + path;
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError(who + ": cannot open the file for writing");
  fn(out);
  out.close();
  if (!out) throw InputError(who + ": writing failed (disk full or not writable)");
}

namespace {

// CLI11 converts "-1" for an unsigned option with strtoull, which wraps it to 2^64-1: the
// command would then report a number the user never typed. Every unsigned option of every
// command (and subcommand) gets this check first, before its own range check, so the refusal
// names the flag and the value as written.
void refuse_negative_unsigned(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_type_name().rfind("UINT", 0) != 0) continue;
    opt->transform(CLI::Validator(
        [](std::string& value) -> std::string {
          const size_t first = value.find_first_not_of(" \t");
          if (first != std::string::npos && value[first] == '-') {
            return "expected a non-negative integer, got " + value;
          }
          return {};
        },
        ""));
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_negative_unsigned(*sub);
}

}  // namespace

std::optional<int> parse_args(CLI::App& app, int argc, char** argv) {
  refuse_negative_unsigned(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n%s", e.what(), app.help().c_str());
    return 2;
  }
  return std::nullopt;
}

}  // namespace tessera::cli

namespace {

void print_usage(FILE* out) {
  std::fprintf(out, "usage: tessera <command> [options]   (tessera <command> --help for its options)\n\ncommands:\n");
  for (const auto& [name, info] : tessera::cli::command_registry()) {
    std::fprintf(out, "  %-14s %s\n", name.c_str(), info.summary.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto& registry = tessera::cli::command_registry();
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  auto it = registry.find(name);
  if (it == registry.end()) {
    std::fprintf(stderr, "tessera: unknown command '%s'\n", name.c_str());
    print_usage(stderr);
    return 2;
  }
  std::string prog = "tessera " + name;
  argv[1] = prog.data();
  return tessera::exit_status_of([&] { return it->second.fn(argc - 1, argv + 1); });
}
