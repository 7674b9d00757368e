// tessera_hbm_check: replays a DRAM command trace written by `tessera hbm --hbm-trace`
// (or by any run of the model) against the JEDEC rules of an architecture's `dram`
// section and lists every violation. Exit status: 0 clean, 1 violations, 2 bad input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "model/dram_checker/checker.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"Checks a DRAM command trace against the JEDEC timing rules (docs/dram.md, \"Checker\")",
               "tessera_hbm_check"};
  std::string arch, trace;
  std::vector<std::string> sets;
  size_t show = 20;
  uint32_t postponed = 8;
  app.add_option("--arch", arch, "architecture preset name or YAML file the trace was made with")->required();
  app.add_option("--set", sets, "a --set KEY.PATH=VALUE the trace was made with (docs/config.md §1.3); repeatable")
      ->expected(1)
      ->take_all();
  app.add_option("--show", show, "violations to list (all are counted)");
  app.add_option("--max-postponed", postponed, "refreshes a bank may fall behind its tREFI schedule");
  app.add_option("trace", trace, "trace file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  tessera::dram_checker::CheckParams p = tessera::dram_checker::check_params_from_arch(*tessera::config::load_arch(arch, sets));
  p.max_postponed = postponed;
  std::ifstream in(trace);
  if (!in) throw tessera::InputError(trace + ": cannot open the trace");
  const auto r = tessera::dram_checker::check_trace(in, p, show);
  std::printf("%s: %llu commands over %llu tCK, %llu violations\n", trace.c_str(), (unsigned long long)r.commands,
              (unsigned long long)r.last_cycle + (r.commands ? 1 : 0), (unsigned long long)r.total());
  for (size_t i = 0; i < tessera::dram_checker::kRuleCount; ++i) {
    if (r.counts[i]) {
      std::printf("  %-12s %llu\n", std::string(tessera::dram_checker::rule_name(tessera::dram_checker::Rule(i))).c_str(),
                  (unsigned long long)r.counts[i]);
    }
  }
  for (const auto& v : r.violations) {
    std::printf("%s:%llu: cycle %llu: %s: %s\n", trace.c_str(), (unsigned long long)v.line,
                (unsigned long long)v.cycle, std::string(tessera::dram_checker::rule_name(v.rule)).c_str(),
                v.message.c_str());
  }
  return r.total() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const tessera::InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 1;
  }
}
