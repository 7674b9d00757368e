// `tessera config` as a user runs it: exit status 0 for good files, 2 for bad files and bad
// arguments with FILE:LINE: key.path messages, and a SystemVerilog package that Verilator lints.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const std::string kSrc = TESSERA_SOURCE_DIR;
const std::string kTessera = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command line, capturing stdout and stderr.
CliRun shell(const std::string& cmd_line) {
  CliRun r;
  const std::string cmd = "{ " + cmd_line + " ; } 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs `tessera ARGS` from the source directory, or from `cwd`.
CliRun run(const std::string& args, const std::string& cwd = kSrc) {
  return shell("cd '" + cwd + "' && '" + kTessera + "' " + args);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(ConfigCli, CheckAcceptsEveryPreset) {
  const CliRun r = run("config check configs/arch/sohu-like.yaml configs/arch/tiny.yaml configs/arch/tpu-v1.yaml");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "configs/arch/tiny.yaml: ok (tiny, fingerprint 0x")) << r.output;
  EXPECT_TRUE(contains(r.output, "configs/arch/sohu-like.yaml: ok (sohu-like, fingerprint 0x")) << r.output;
  const CliRun d = run("config check --dram configs/dram/hbm2e.yaml configs/dram/hbm3.yaml configs/dram/hbm3e.yaml "
                    "configs/dram/ddr3-2133.yaml");
  EXPECT_EQ(d.status, 0) << d.output;
}

TEST(ConfigCli, CheckReportsEveryBadFileWithFileLineAndKeyPath) {
  const std::string dir = "tests/common/config/data/";
  const CliRun r = run("config check configs/arch/tiny.yaml " + dir + "unknown_key.yaml " + dir +
                    "string_for_number.yaml " + dir + "small_l1.yaml");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "configs/arch/tiny.yaml: ok")) << r.output;
  EXPECT_TRUE(contains(r.output, dir + "unknown_key.yaml:6: l1.bank_widht: expected a key of section l1")) << r.output;
  EXPECT_TRUE(contains(r.output, dir + "string_for_number.yaml:6: matrix.rows: expected an integer")) << r.output;
  EXPECT_TRUE(contains(r.output, dir + "small_l1.yaml:10: l1.bytes: expected at least")) << r.output;
  EXPECT_TRUE(contains(r.output, "3 of 4 file(s) have errors")) << r.output;
}

TEST(ConfigCli, ShowPrintsResolvedYamlAndDerivedFigures) {
  const CliRun r = run("config show --arch sohu-like");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\n  rows: 256\n")) << r.output;
  EXPECT_TRUE(contains(r.output, "10.07 PFLOPS per chip")) << r.output;
  EXPECT_TRUE(contains(r.output, "144.00 GiB per chip")) << r.output;
  EXPECT_TRUE(contains(r.output, "7372.8 GB/s per chip")) << r.output;
  EXPECT_TRUE(contains(r.output, "800 GB/s per chip per direction")) << r.output;
  EXPECT_TRUE(contains(r.output, "fingerprint: 0x")) << r.output;
  // The preset from its file is the same configuration, and the embedded preset works from any
  // directory.
  const CliRun f = run("config show --arch configs/arch/sohu-like.yaml");
  EXPECT_EQ(f.output.substr(f.output.find('\n')), r.output.substr(r.output.find('\n')));
  const CliRun elsewhere = run("config show --arch sohu-like", fs::temp_directory_path().string());
  EXPECT_EQ(elsewhere.output, r.output);
  // The output is itself a configuration, with the same fingerprint.
  const fs::path copy = fs::temp_directory_path() / ("tessera_show_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(copy) << r.output;
  const CliRun again = run("config check '" + copy.string() + "'");
  fs::remove(copy);
  EXPECT_EQ(again.status, 0) << again.output;
  const size_t at = r.output.find("fingerprint: ") + 13;
  EXPECT_TRUE(contains(again.output, "fingerprint " + r.output.substr(at, 18))) << again.output;
}

TEST(ConfigCli, SchemaListsEveryKey) {
  const CliRun r = run("config schema");
  EXPECT_EQ(r.status, 0);
  for (const char* key : {"matrix.rows", "dram.timing.trcd", "dram.controller.address_map", "l2.bank_width",
                          "dram.stack_bytes", "link.latency_ns"}) {
    EXPECT_TRUE(contains(r.output, std::string("\n") + key + " ")) << key;
  }
}

TEST(ConfigCli, BadArgumentsExitTwo) {
  for (const char* args : {"config", "config frobnicate", "config show", "config check", "config sv",
                           "config show --arch nosuchpreset", "config check no/such.yaml"}) {
    SCOPED_TRACE(args);
    const CliRun r = run(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_FALSE(r.output.empty());
  }
  EXPECT_TRUE(contains(run("config show --arch nosuchpreset").output, "sohu-like, tiny, tpu-v1"));
  EXPECT_TRUE(contains(run("config check configs/arch/").output, "configs/arch/: (file): expected a readable"));
}

// The package the RTL takes its parameters from: every preset's lints clean with -Wall.
TEST(ConfigCli, SystemVerilogPackageLints) {
  if (std::system("command -v verilator > /dev/null 2>&1") != 0) GTEST_SKIP() << "verilator not installed";
  const fs::path dir = fs::temp_directory_path() / ("tessera_cfg_sv_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* preset : {"tiny", "sohu-like", "tpu-v1"}) {
    SCOPED_TRACE(preset);
    const std::string file = (dir / "tessera_cfg_pkg.sv").string();
    const CliRun r = run(std::string("config sv --arch ") + preset + " -o '" + file + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(contains(text.str(), "package tessera_cfg_pkg;"));
    if (std::string(preset) == "tiny") {
      EXPECT_TRUE(contains(text.str(), "localparam int unsigned MATRIX_ROWS = 32'd8;"));
      EXPECT_TRUE(contains(text.str(), "localparam logic [3:0] MATRIX_PRECISIONS = 4'b1111;"));
      EXPECT_TRUE(contains(text.str(), "localparam logic [1:0] MATRIX_DATAFLOWS = 2'b11;"));
      EXPECT_TRUE(contains(text.str(), "localparam int unsigned ACCUMULATOR_BANKS = 32'd8;"));
      EXPECT_TRUE(contains(text.str(), "localparam bit MATRIX_DOUBLE_BUFFER_WEIGHTS = 1'b1;"));
    }
    if (std::string(preset) == "tpu-v1") {
      EXPECT_TRUE(contains(text.str(), "localparam logic [3:0] MATRIX_PRECISIONS = 4'b0001;"));
    }
    // A module that uses the package the way RTL does: qualified names and a mask test.
    std::ofstream probe(dir / "cfg_pkg_probe.sv");
    probe << "module cfg_pkg_probe (\n"
             "  output logic [31:0] rows_o,\n"
             "  output logic [63:0] l1_bytes_o,\n"
             "  output logic        bf16_o\n"
             ");\n"
             "  assign rows_o = tessera_cfg_pkg::MATRIX_ROWS;\n"
             "  assign l1_bytes_o = tessera_cfg_pkg::L1_BYTES;\n"
             "  assign bf16_o = tessera_cfg_pkg::MATRIX_PRECISIONS[tessera_cfg_pkg::MATRIX_PRECISION_BF16];\n"
             "endmodule\n";
    probe.close();
    const CliRun lint = shell("cd '" + dir.string() +
                              "' && verilator --lint-only -Wall tessera_cfg_pkg.sv cfg_pkg_probe.sv "
                              "--top-module cfg_pkg_probe");
    EXPECT_EQ(lint.status, 0) << lint.output;
  }
  fs::remove_all(dir);
}

// --set on every command that takes --arch (docs/config.md §1.3): the same option, the same checks.
TEST(ConfigCli, SetOverridesOnEveryArchCommand) {
  const CliRun show = run("config show --arch tiny --set dram.stacks=2 --set l2.bytes=1MiB");
  EXPECT_EQ(show.status, 0) << show.output;
  EXPECT_TRUE(contains(show.output, "\n  stacks: 2\n")) << show.output;
  EXPECT_TRUE(contains(show.output, "\n  bytes: 1048576\n")) << show.output;
  const CliRun check = run("config check tiny tpu-v1 --set dram.controller.refresh=per_bank");
  EXPECT_EQ(check.status, 2) << check.output;
  EXPECT_TRUE(contains(check.output, "tiny: ok")) << check.output;
  EXPECT_TRUE(contains(check.output, "--set:1: dram.controller.refresh: expected all_bank for ddr3")) << check.output;
  // Each command rejects a bad override with exit status 2 and the --set:N location.
  for (const std::string cmd : {"run", "compile --model llama3-8b --context 16", "gemm --m 8 --k 8 --n 8", "sim --program x.tbin",
                                 "hbm --pattern stream", "config show", "config sv"}) {
    SCOPED_TRACE(cmd);
    const std::string arch = cmd == "run" || cmd.rfind("compile", 0) == 0 ? "" : " --arch tiny";
    const CliRun bad = run(cmd + arch + " --set dram.stacks=2 --set matrix.rows=0");
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_TRUE(contains(bad.output, "--set:2: matrix.rows: expected an integer in [1, 1024], got 0")) << bad.output;
    const CliRun unknown = run(cmd + arch + " --set no.such.key=1");
    EXPECT_EQ(unknown.status, 2) << unknown.output;
    EXPECT_TRUE(contains(unknown.output, "--set:1: no.such.key: expected a key of spec/arch.schema.yaml")) << unknown.output;
  }
}

// The acceptance example of issue 11: the report shows the overridden values.
TEST(ConfigCli, RunReportsItsOverrides) {
  const fs::path json = fs::temp_directory_path() / "tessera_run_overrides.json";
  const CliRun r = run("run --set dram.stacks=8 --set l2.bytes=64MiB --json '" + json.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\n  overrides: dram.stacks=8, l2.bytes=64MiB\n")) << r.output;
  std::ifstream in(json);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(contains(text.str(), "\"overrides\": [\n    \"dram.stacks=8\",\n    \"l2.bytes=64MiB\"\n  ]")) << text.str();
  fs::remove(json);
}
