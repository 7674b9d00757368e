// The `tessera sim` and `tessera gemm` commands: outputs, files, and exit status 2 with a
// message for bad input (a corrupted program, a deadlock, an unknown precision).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

const std::string kTessera = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";

struct Result {
  int status;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = kTessera + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::filesystem::path temp_dir() {
  const auto d = std::filesystem::temp_directory_path() / ("tessera_model_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kProgram = R"(.arch tiny
  load dma0 signal=mx0 dst_space=l1 src_space=hbm src_addr=0x1000 len=64 n1=1 n2=1
  matmul mx0 wait=dma0 signal=vec a_type=fp8_e4m3 b_type=fp8_e4m3 dataflow=ws m=8 k=8 n=8 a_addr=0 b_addr=0 a_stride=8 b_stride=8 c_stride=32
  vcvt vec wait=mx0 signal=dma1 dst_space=l1 dst_type=fp8_e4m3 dst_addr=0x200 dst_stride=8 src1_space=acc src1_type=fp32 src1_stride=32 rows=8 cols=8 imm=0.0625
  store dma1 wait=vec dst_space=hbm src_space=l1 dst_addr=0x2000 src_addr=0x200 len=64 n1=1 n2=1
  halt
.data chip=0 space=hbm addr=0x1000 bytes=38383838383838383838383838383838
)";

TEST(Cli, SimRunsAProgramAndWritesStatsAndTrace) {
  const auto d = temp_dir();
  write(d / "p.s", kProgram);
  ASSERT_EQ(run("asm " + (d / "p.s").string() + " -o " + (d / "p.tbin").string()).status, 0);
  for (const char* mode : {"timing", "functional"}) {
    const Result r = run("sim --arch tiny --program " + (d / "p.tbin").string() + " --mode " + mode + " --stats " +
                         (d / "s.json").string() + " --trace " + (d / "t.json").string());
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("cycles: "), std::string::npos) << r.out;
    EXPECT_NE(read(d / "s.json").find("\"busy_cycles\""), std::string::npos);
    EXPECT_NE(read(d / "t.json").find("\"name\":\"matmul\""), std::string::npos);
  }
  std::filesystem::remove_all(d);
}

TEST(Cli, SimRejectsBadInputWithStatus2) {
  const auto d = temp_dir();
  write(d / "p.s", kProgram);
  ASSERT_EQ(run("asm " + (d / "p.s").string() + " -o " + (d / "p.tbin").string()).status, 0);
  // A flipped byte: the checksum catches it.
  std::string bytes = read(d / "p.tbin");
  bytes[bytes.size() / 2] ^= 0x40;
  write(d / "bad.tbin", bytes);
  Result r = run("sim --arch tiny --program " + (d / "bad.tbin").string());
  EXPECT_EQ(r.status, 2) << r.out;
  // A program for another architecture.
  r = run("sim --arch tpu-v1 --program " + (d / "p.tbin").string());
  EXPECT_EQ(r.status, 2) << r.out;
  // A deadlock: the matrix engine waits for a token nobody sends.
  write(d / "dead.s", ".arch tiny\n  matmul mx0 wait=dma0 a_type=fp8_e4m3 b_type=fp8_e4m3 m=8 k=8 n=8 a_stride=8 "
                      "b_stride=8 c_stride=32\n  halt\n");
  ASSERT_EQ(run("asm " + (d / "dead.s").string() + " -o " + (d / "dead.tbin").string()).status, 0);
  r = run("sim --arch tiny --program " + (d / "dead.tbin").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("deadlock"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("instruction #0 (matmul)"), std::string::npos) << r.out;
  // Host workers: at least one; the same output with one or two on a one-chip program.
  r = run("sim --arch tiny --program " + (d / "p.tbin").string() + " --threads 0");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
  EXPECT_EQ(run("sim --arch tiny --program " + (d / "p.tbin").string() + " --threads 2").out,
            run("sim --arch tiny --program " + (d / "p.tbin").string()).out);
  std::filesystem::remove_all(d);
}

TEST(Cli, GemmPrintsCyclesUtilisationAndTraffic) {
  Result r = run("gemm --arch tpu-v1 --m 256 --k 256 --n 256");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("cycles: "), std::string::npos);
  // One 256^3 tile: weight load k, stream m, fill and drain R + n - 1, so W..E spans 1024 cycles.
  EXPECT_NE(r.out.find("matrix cycles: 1024 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MAC utilisation"), std::string::npos);
  EXPECT_NE(r.out.find("HBM traffic: 131072 bytes read, 262144 bytes written"), std::string::npos) << r.out;
  r = run("gemm --arch tiny --m 64 --k 64 --n 64 --dataflow os --precision bf16 --no-double-buffer");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("single-buffered"), std::string::npos) << r.out;
  r = run("gemm --arch tpu-v1 --m 64 --k 64 --n 64 --precision fp4");
  EXPECT_EQ(r.status, 2) << r.out;
  r = run("gemm --arch tpu-v1 --m 64 --k 64 --n 64 --dataflow os");
  EXPECT_EQ(r.status, 2) << r.out;  // tpu-v1 has no output-stationary dataflow
  r = run("gemm --arch tiny --m 64 --k 64 --n 64 --cores 2");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("chip.cores"), std::string::npos) << r.out;
  // A GEMM with no tile that fits the SRAM is refused by the tiling pass, naming the matmul.
  const auto d = temp_dir();
  write(d / "small_l1.yaml", "name: tiny-small-l1\nbase: tiny\nl1: {bytes: 16384}\n");
  r = run("gemm --arch " + (d / "small_l1.yaml").string() + " --m 64 --k 64 --n 64");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("no tile of matmul 'gemm'"), std::string::npos) << r.out;
  std::filesystem::remove_all(d);
  // The compiler spreads a GEMM over the cores asked for: 8 column tiles over 4 cores.
  r = run("gemm --arch sohu-like --m 256 --k 256 --n 2048 --cores 4");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("on 4 core(s) x 4 engine(s)"), std::string::npos) << r.out;
}

// --dram picks the DRAM fidelity on both commands; the statistics name it; a bad value is an
// input error naming the option.
TEST(Cli, DramOptionSelectsTheFidelity) {
  const auto d = temp_dir();
  write(d / "p.s", kProgram);
  ASSERT_EQ(run("asm " + (d / "p.s").string() + " -o " + (d / "p.tbin").string()).status, 0);
  Result r = run("sim --arch tiny --program " + (d / "p.tbin").string() + " --dram bandwidth --stats " +
                 (d / "s.json").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dram: bandwidth"), std::string::npos) << r.out;
  EXPECT_NE(read(d / "s.json").find("\"dram_model\": \"bandwidth\""), std::string::npos);
  r = run("sim --arch tiny --program " + (d / "p.tbin").string() + " --dram exact");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--dram"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("burst|bandwidth"), std::string::npos) << r.out;
  r = run("gemm --arch tiny --m 64 --k 64 --n 64 --dram bandwidth");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("HBM traffic: "), std::string::npos) << r.out;
  r = run("gemm --arch tiny --m 64 --k 64 --n 64 --dram fast");
  EXPECT_EQ(r.status, 2) << r.out;
  std::filesystem::remove_all(d);
}

}  // namespace
