// `tessera tech`: check and show technology tables (configs/tech/, spec/tech.schema.yaml) and
// print the area of an architecture at its node, with the power of its matrix-bound peak
// (docs/area.md "Area model", docs/energy.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/tech/area.h"
#include "common/tech/energy.h"
#include "common/tech/tech.h"
#include "sim/command.h"

namespace {

namespace cfg = tessera::config;
namespace tech = tessera::tech;

int check_main(const std::vector<std::string>& files) {
  int bad = 0;
  for (const auto& file : files) {
    try {
      const tech::Tech t = tech::load_tech(file);
      std::printf("%s: ok (%s, %d nm)\n", file.c_str(), t->name.c_str(), int(t->node_nm));
      std::fflush(stdout);
    } catch (const cfg::ConfigError& e) {
      ++bad;
      for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.message().c_str());
    }
  }
  if (bad) {
    std::fprintf(stderr, "tessera tech check: %d of %zu file(s) have errors\n", bad, files.size());
    return 2;
  }
  return 0;
}

void show(const tech::TechConfig& t) {
  std::printf("# technology table %s (docs/energy.md, docs/area.md cite every value)\n", t.name.c_str());
  for (const auto& [path, value] : tech::leaf_values(t)) {
    const char* unit = "";
    for (const auto& k : tech::schema::kKeys) {
      if (path == k.path) unit = k.unit;
    }
    std::printf("%-34s %s%s%s\n", path.c_str(), value.c_str(), *unit ? "  " : "", unit);
  }
}

void area_main(const cfg::ArchConfig& a, const tech::TechConfig& t, tech::PortModel ports) {
  const tech::AreaReport r = tech::area(a, t, ports);
  std::printf("# area of one %s chip at %s (ports: %s); docs/area.md, \"Area model\"\n", a.name.c_str(),
              t.name.c_str(), std::string(tech::port_model_name(ports)).c_str());
  for (const auto& i : r.items) {
    std::printf("%-20s %9.2f mm2  %5.1f %%  %s\n", i.component.c_str(), i.mm2, 100.0 * i.mm2 / r.die_mm2,
                i.basis.c_str());
  }
  std::printf("%-20s %9.2f mm2  (reticle %.0f mm2)\n", "die", r.die_mm2, r.reticle_mm2);
  if (auto v = tech::reticle_violation(r)) std::printf("warning: %s\n", v->c_str());
  // The matrix-bound peak: every engine streaming in its first precision for one second.
  const cfg::MatrixPrecision prec = a.matrix.precisions.front();
  const tech::EnergyPrices p = tech::prices(a, t, ports);
  const tech::EnergyReport e = tech::energy(tech::matrix_peak_counts(a, prec, 1.0), p);
  const double macs_per_s = double(a.system.chips * a.chip.cores * a.core.matrix_engines * a.matrix.rows *
                                   a.matrix.cols) * a.clock.core_mhz * 1e6;
  std::printf("# power per chip with every matrix engine streaming %s (MACs, array registers, L1 A reads,\n"
              "# accumulator read-modify-write, static); docs/energy.md\n",
              cfg::to_string(prec).c_str());
  for (const auto& i : e.items) {
    if (i.joules > 0) std::printf("%-20s %9.2f W\n", i.component.c_str(), i.joules / p.chips);
  }
  std::printf("%-20s %9.2f W  (%.3g TOPS/W at %.4g TOPS; process.tdp_w %.0f)\n", "total", e.total_j / p.chips,
              2.0 * macs_per_s / e.total_j / 1e12, 2.0 * macs_per_s / p.chips / 1e12, a.process.tdp_w);
}

int tech_main(int argc, char** argv) {
  CLI::App app{"Technology tables: energy per event and area per unit of a process node (docs/energy.md)", argv[0]};
  app.require_subcommand(1);

  std::vector<std::string> files;
  auto* check = app.add_subcommand("check", "validate technology tables; exit 2 if any has an error");
  check->add_option("files", files, "table files (or names of the embedded tables)")->required();

  std::string show_tech;
  auto* show_cmd = app.add_subcommand("show", "print every value of a technology table");
  show_cmd->add_option("--tech", show_tech, "table name (28nm, 7nm, 5nm, 4nm) or file")->required();

  std::string arch, area_tech, ports = "config";
  auto* area = app.add_subcommand("area", "print the area of one chip by component, and its matrix-bound power");
  area->add_option("--arch", arch, "preset name or architecture file")->required();
  area->add_option("--tech", area_tech, "table name or file (default: the table of process.node_nm)");
  area->add_option("--ports", ports,
                   "SRAM ports: config (each tier as its ports key says, as the cycle model arbitrates), "
                   "per-client (every client its own port) or two-port (1R1W banks)")
      ->check(CLI::IsMember({"config", "per-client", "two-port"}));

  auto* list = app.add_subcommand("list", "list the embedded technology tables");

  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  if (check->parsed()) return check_main(files);
  if (show_cmd->parsed()) {
    show(*tech::load_tech(show_tech));
    return 0;
  }
  if (area->parsed()) {
    const cfg::Arch a = cfg::load_arch(arch);
    area_main(*a, *tech::tech_for(*a, area_tech),
              ports == "two-port"     ? tech::PortModel::two_port
              : ports == "per-client" ? tech::PortModel::per_client
                                      : tech::PortModel::config);
    return 0;
  }
  if (list->parsed()) {
    for (const auto& n : tech::tech_names()) {
      const tech::Tech t = tech::load_tech(n);
      std::printf("%-6s %3d nm  %s\n", n.c_str(), int(t->node_nm), t->description.c_str());
    }
    return 0;
  }
  return 2;
}

}  // namespace

TESSERA_COMMAND("tech", "technology tables, area and matrix-bound power (check | show | area | list)", tech_main);
