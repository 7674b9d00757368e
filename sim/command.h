#pragma once
// Subcommands of the `tessera` executable. Each sim/cmd_*.cpp registers itself with
// a static TESSERA_COMMAND(...) so that adding a command never edits a shared table.
// A command parses its own arguments (argv[0] is "tessera <name>") and returns the
// process exit status; InputError escaping it becomes exit status 2.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/config/config.h"

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
// usage error and the help text. std::nullopt: parsed, go on. Every unsigned option refuses a
// negative value ("--batch: expected a non-negative integer, got -1") instead of wrapping it.
std::optional<int> parse_args(CLI::App& app, int argc, char** argv);

// Writes a file through `fn` and checks it reached the file: the stream is closed and its
// state tested, so a full disk or /dev/full is an InputError naming `option` (e.g. "--trace")
// and the path, never a silent exit 0.
void write_file(const std::string& option, const std::string& path, const std::function<void(std::ostream&)>& fn);

// The architecture options of every command that works on one: --arch (a preset name or an
// architecture file) and --set KEY.PATH=VALUE (repeatable), which overrides any key of
// spec/arch.schema.yaml and is checked exactly like the file (docs/config.md, "Overrides").
// A command adds both with one line and loads the result with load().
struct ArchOption {
  std::string arch;
  std::vector<std::string> sets;

  // --arch is required unless `required` is false or there is a `default_arch`.
  explicit ArchOption(CLI::App& app, const std::string& default_arch = "",
                      const std::string& arch_help = "architecture preset or file", bool required = true)
      : arch(default_arch) {
    auto* opt = app.add_option("--arch", arch, arch_help);
    if (!default_arch.empty()) {
      opt->capture_default_str();
    } else if (required) {
      opt->required();
    }
    add_set_option(app, sets);
  }
  // Only --set, for a command whose architectures come from elsewhere (tessera config check FILES).
  static void add_set_option(CLI::App& app, std::vector<std::string>& sets) {
    app.add_option("--set", sets,
                   "override a configuration key, KEY.PATH=VALUE as written in an architecture file "
                   "(e.g. --set l2.bytes=64MiB --set dram.stacks=8); repeatable, applied in order")
        ->expected(1)  // one KEY=VALUE per --set, so positional arguments may follow
        ->take_all();
  }
  config::Arch load() const { return config::load_arch(arch, sets); }
};

// --max-cycles N of every command that simulates (sim, gemm, run): the run stops with exit 2
// once it reaches cycle N before finishing (model::RunOptions::max_cycles; 0, the default, is no
// limit: a livelock is still detected and reported).
inline void add_max_cycles_option(CLI::App& app, uint64_t& max_cycles) {
  app.add_option("--max-cycles", max_cycles,
                 "stop with an error if a simulation reaches this cycle before finishing (default: no limit; a run "
                 "that stops making progress is reported either way)");
}

// --threads N of the commands that simulate in timing mode (sim, run): the chips of a multi-chip
// system are simulated by N host processes in parallel, with the same results for every N
// (model::RunOptions::threads; docs/model.md, "Host parallelism").
inline void add_threads_option(CLI::App& app, uint32_t& threads) {
  app.add_option("--threads", threads,
                 "host workers that simulate the chips of a multi-chip system in parallel (timing mode; same "
                 "results for every count; default 1)")
      ->check(CLI::Range(1, 256));
}

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn fn) {
    command_registry()[name] = CommandInfo{summary, fn};
  }
};

// Replaces this process with tessera-cosim (next to this executable) run with `args`: the
// co-simulator links the Verilated core, which `tessera` does not (sim/cmd_cosim.cpp).
// InputError saying how to build it when it is missing.
[[noreturn]] void exec_cosim(const std::vector<std::string>& args);

}  // namespace tessera::cli

#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)
#define TESSERA_COMMAND(name, summary, fn) \
  static const ::tessera::cli::CommandRegistrar TESSERA_CONCAT(tessera_cmd_, __LINE__){name, summary, fn}
