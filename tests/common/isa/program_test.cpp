// Programs: the all-opcodes sample, asm -> tbin -> disasm -> asm identity, every way a .tbin
// can be damaged, the assembler's diagnostics, and one rejected program per validation check.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/util/error.h"

namespace tessera::isa {
namespace {

const std::string kSample = std::string(TESSERA_SOURCE_DIR) + "/tests/common/isa/data/all_opcodes.s";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const config::ArchConfig& arch(const std::string& name) {
  static std::map<std::string, config::Arch> cache;
  auto& a = cache[name];
  if (!a) a = config::load_arch(name);
  return *a;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

TEST(IsaProgram, SampleCoversEveryOpcodeAndValidatesOnTiny) {
  const Program p = assemble(slurp(kSample), kSample, arch("tiny"));
  std::set<Opcode> seen;
  for (const auto& t : p.text) {
    for (const auto& x : t.code) seen.insert(x.op);
  }
  for (const auto& op : all_opcodes()) EXPECT_TRUE(seen.contains(op.op)) << "all_opcodes.s lacks " << op.name;
  EXPECT_NO_THROW(validate(p, arch("tiny")));
}

TEST(IsaProgram, AsmTbinDisasmAsmIsByteIdentical) {
  const Program p = assemble(slurp(kSample), kSample, arch("tiny"));
  const std::vector<uint8_t> bin = write_tbin(p);
  const Program back = read_tbin(bin, "all.tbin");
  const std::string listing = disassemble(back);
  const Program again = assemble(listing, "listing.s", arch("tiny"));
  EXPECT_EQ(write_tbin(again), bin);
  EXPECT_EQ(disassemble(again), listing);
}

TEST(IsaProgram, SeveralSectionsAndChipsRoundTrip) {
  const std::string src =
      ".arch sohu-like\n"
      ".section text chip=3 core=15\n"
      "  matmul mx3 a_type=bf16 b_type=fp8_e5m2 dataflow=os m=256 k=4096 n=256 a_stride=512 b_stride=256 "
      "c_stride=1024 c_addr=0x1000\n"
      "  creduce coll send_space=l2 recv_space=l2 peer_send=1 peer_recv=7 bytes=4096 dtype=bf16 tag=9\n"
      "  halt\n"
      ".section text chip=0 core=0\n"
      "  barrier seq scope=system id=65535\n"
      "  halt\n"
      ".data chip=7 space=l2 addr=0x7ffff00 bytes=ff\n"
      ".data chip=0 space=hbm addr=0x0 bytes=0102\n";
  const Program p = assemble(src, "multi.s", arch("sohu-like"));
  validate(p, arch("sohu-like"));
  ASSERT_EQ(p.text.size(), 2u);
  EXPECT_EQ(p.text[0].chip, 3u);
  EXPECT_EQ(p.text[0].core, 15u);
  const auto bin = write_tbin(p);
  EXPECT_EQ(write_tbin(assemble(disassemble(read_tbin(bin, "m.tbin")), "m.s", arch("sohu-like"))), bin);
}

TEST(IsaTbin, Crc32IsTheStandardOne) {
  const char* check = "123456789";  // the CRC-32 check value of the IEEE 802.3 polynomial
  EXPECT_EQ(tbin_crc32(reinterpret_cast<const uint8_t*>(check), 9), 0xCBF43926u);
}

class TbinDamage : public ::testing::Test {
 protected:
  void SetUp() override { bin_ = write_tbin(assemble(slurp(kSample), kSample, arch("tiny"))); }
  std::vector<uint8_t> bin_;
};

TEST_F(TbinDamage, EverySingleBitFlipIsRefusedWithTheRightReason) {
  // The magic (bytes 0-7) and the version (8-11) are read before any checksum: a flip there is
  // reported as such; anywhere else a checksum catches it.
  for (size_t bit = 0; bit < bin_.size() * 8; ++bit) {
    auto b = bin_;
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const std::string msg = error_of([&] { read_tbin(b, "p.tbin"); });
    const size_t byte = bit / 8;
    const char* expect = byte < 8 ? "not a Tessera program" : byte < 12 ? "unsupported .tbin format version"
                                                                        : "corrupted";
    ASSERT_NE(msg.find(expect), std::string::npos) << "bit " << bit << ": " << msg;
    ASSERT_EQ(msg.rfind("p.tbin: ", 0), 0u) << msg;
  }
}

TEST_F(TbinDamage, EveryTruncationIsRefused) {
  for (size_t len = 0; len < bin_.size(); ++len) {
    const std::vector<uint8_t> b(bin_.begin(), bin_.begin() + static_cast<std::ptrdiff_t>(len));
    const std::string msg = error_of([&] { read_tbin(b, "p.tbin"); });
    if (len < 8) {
      ASSERT_NE(msg.find("not a Tessera program"), std::string::npos) << len << ": " << msg;
    } else if (len < 48) {
      ASSERT_NE(msg.find("truncated: expected at least 48 bytes of header, file has " + std::to_string(len)),
                std::string::npos)
          << msg;
    } else {
      ASSERT_NE(msg.find("truncated: expected " + std::to_string(bin_.size()) + " bytes, file has " +
                         std::to_string(len)),
                std::string::npos)
          << msg;
    }
  }
}

TEST_F(TbinDamage, WrongMagicVersionTrailingDataAndForeignArch) {
  auto b = bin_;
  std::memcpy(b.data(), "\x7f" "ELF\x02\x01\x01\x00", 8);
  EXPECT_CONTAINS(error_of([&] { read_tbin(b, "x"); }), "not a Tessera program");

  // A well-formed file of another version (its header checksum recomputed) is refused as such.
  b = bin_;
  b[8] = 2;
  const uint32_t crc = tbin_crc32(b.data(), 44);
  for (int i = 0; i < 4; ++i) b[44 + i] = static_cast<uint8_t>(crc >> (8 * i));
  EXPECT_CONTAINS(error_of([&] { read_tbin(b, "x"); }), "unsupported .tbin format version 2 (this tessera reads version 1)");

  b = bin_;
  b.push_back(0);
  EXPECT_CONTAINS(error_of([&] { read_tbin(b, "x"); }), "trailing data");

  const Program p = read_tbin(bin_, "x");
  EXPECT_NO_THROW(check_arch(p, arch("tiny"), "x"));
  const std::string msg = error_of([&] { check_arch(p, arch("sohu-like"), "prog.tbin"); });
  EXPECT_CONTAINS(msg, "prog.tbin: program built for architecture 'tiny' (fingerprint 0x");
  EXPECT_CONTAINS(msg, "this is 'sohu-like'");
}

TEST_F(TbinDamage, UndecodableInstructionNamesSectionAndIndex) {
  // A writer bug (valid checksums, nonzero reserved bits) is caught by decode.
  Program p = assemble(slurp(kSample), kSample, arch("tiny"));
  auto b = write_tbin(p);
  const size_t payload = 48 + p.arch_name.size() + 40 * (p.text.size() + p.data.size());
  b[payload + 3 * 64 + 63] = 0x80;  // top bit of instruction #3
  const uint32_t body = tbin_crc32(b.data() + 48, b.size() - 48);
  for (int i = 0; i < 4; ++i) b[40 + i] = static_cast<uint8_t>(body >> (8 * i));
  const uint32_t head = tbin_crc32(b.data(), 44);
  for (int i = 0; i < 4; ++i) b[44 + i] = static_cast<uint8_t>(head >> (8 * i));
  EXPECT_CONTAINS(error_of([&] { read_tbin(b, "w.tbin"); }),
                  "w.tbin: text section chip 0 core 0, instruction #3 (load): reserved bits 511:416 are not zero");
}

// ---- Assembler diagnostics ----

std::string asm_error(const std::string& src, const std::string& arch_name = "tiny") {
  return error_of([&] { assemble(src, "a.s", arch(arch_name)); });
}

TEST(IsaAssembler, Diagnostics) {
  EXPECT_CONTAINS(asm_error(".arch sohu-like\nhalt\n"), "a.s:1: .arch sohu-like (fingerprint");
  EXPECT_CONTAINS(asm_error(".arch nosuch\nhalt\n"), "a.s:1: .arch nosuch:");
  EXPECT_CONTAINS(asm_error(".arch tiny\n.arch tiny\n"), "a.s:2: .arch given twice");
  EXPECT_CONTAINS(asm_error("halt\n.frob\n"), "a.s:2: unknown directive '.frob'");
  EXPECT_CONTAINS(asm_error(".section data\n"), "a.s:1: .section: expected 'text'");
  EXPECT_CONTAINS(asm_error(".section text chip=0\nhalt\n.section text core=0\n"),
                  "a.s:3: .section text chip=0 core=0 already started at line 1");
  EXPECT_CONTAINS(asm_error(".section text cpu=1\n"), "a.s:1: .section: unknown argument 'cpu'");
  EXPECT_CONTAINS(asm_error(".section text chip=x\n"), "a.s:1: chip: expected an unsigned integer");
  EXPECT_CONTAINS(asm_error(".data space=hbm bytes=00\n"), "a.s:1: .data: addr= is required");
  EXPECT_CONTAINS(asm_error(".data addr=0 bytes=00\n"), "a.s:1: .data: space= is required");
  EXPECT_CONTAINS(asm_error(".data space=rom addr=0 bytes=00\n"), "a.s:1: .data: space: expected hbm");
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0\n"), "exactly one of file= and bytes=");
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0 bytes=0\n"), "even number of hex digits");
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0 bytes=zz\n"), "'zz' is not a hex byte");
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0 file=does-not-exist.bin\n"), "a.s:1: file: ");
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0 file=does-not-exist.bin\n"),
                  "does-not-exist.bin: cannot read the file (it does not exist)");
  // A device never ends: refused unread, naming the file (issue 17).
  EXPECT_CONTAINS(asm_error(".data space=hbm addr=0 file=/dev/zero\n"),
                  "a.s:1: file: /dev/zero: expected a program file, got a device or other special file");
  EXPECT_CONTAINS(asm_error("# comment\n\n  ; another\nhalt\n.section text chip=0 core=0\n"),
                  "a.s:5: .section text chip=0 core=0 already started at line 4");
  EXPECT_CONTAINS(asm_error("halt\n\nmatmul mx0 m=99999\n"), "a.s:3: field m: value 99999 does not fit 16 bits");
}

TEST(IsaAssembler, DataFromAFileRelativeToTheSource) {
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/isa_test_data";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/blob.bin", std::ios::binary) << std::string("\x01\x02\x03", 3);
  }
  const Program p = assemble(".data space=l2 addr=0x40 file=blob.bin\nhalt\n", dir + "/prog.s", arch("tiny"));
  ASSERT_EQ(p.data.size(), 1u);
  EXPECT_EQ(p.data[0].bytes, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(p.data[0].space, Space::l2);
  EXPECT_EQ(p.data[0].addr, 0x40u);
}

TEST(IsaAssembler, ArchDirectiveIsFoundForTheCommand) {
  EXPECT_EQ(arch_directive("# x\n  .arch   sohu-like  # the big one\nhalt\n"), "sohu-like");
  EXPECT_EQ(arch_directive("halt\n"), "");
}

// ---- validate(): one rejected program per check ----

struct Case {
  Check check;
  std::string arch;
  std::string source;  // whole program; a single instruction line gets "halt" appended
  std::string needle;  // part of the message
};

const std::string kLoad = "load dma0 dst_space=l1 src_space=hbm len=64 n1=1 n2=1";
const std::string kMatmul = "matmul mx0 b_type=fp8_e4m3 dataflow=ws m=8 n=8 a_stride=8 b_stride=8 c_stride=32";
const std::string kVadd =
    "vadd vec dst_space=l1 dst_type=fp32 src1_space=l1 src1_type=fp32 src2_space=l1 src2_type=fp32 rows=2 cols=8 "
    "dst_stride=32 src1_stride=32 src2_stride=32";
const std::string kReduce = "creduce coll send_space=l2 recv_space=l2 bytes=64";

std::vector<Case> cases() {
  return {
      {Check::sections, "tiny", "# nothing\n", "program: has no text section"},
      {Check::sections, "tiny", ".section text chip=1 core=0\nhalt\n", "chip 1 is not below system.chips = 1"},
      {Check::sections, "tiny", ".section text chip=0 core=1\nhalt\n", "core 1 is not below chip.cores = 1"},
      {Check::data_sections, "tiny", ".data space=l1 addr=0 bytes=00\nhalt\n", "initial data goes to hbm or l2"},
      {Check::data_sections, "tiny", ".data chip=2 space=hbm addr=0 bytes=00\nhalt\n", "chip is not below"},
      {Check::data_sections, "tiny", ".data space=l2 addr=0x3ffff bytes=0000\nhalt\n", "2 bytes do not fit in l2"},
      {Check::data_sections, "tiny", ".data space=hbm addr=0 bytes=000000\n.data space=hbm addr=2 bytes=00\nhalt\n",
       "data section #1: overlaps data section #0"},
      {Check::halt_last, "tiny", "tpush vec signal=dma0\n", "does not end with halt"},
      {Check::halt_last, "tiny", "halt\nhalt\n", "instruction #0 (halt): halt before the end"},
      {Check::unit_exists, "tiny", "load dma2 dst_space=l1 len=1 n1=1 n2=1", "unit dma2 does not exist"},
      {Check::unit_exists, "tiny", "matmul mx1 m=1 k=1 n=1", "unit mx1 does not exist"},
      {Check::unit_class, "tiny", "load mx0 len=1 n1=1 n2=1", "load runs on class dma, not on mx0"},
      {Check::unit_class, "tiny", "halt vec\n", "halt runs on class seq, not on vec"},
      {Check::token_mask, "tiny", kLoad + " signal=mx1", "signal names mx1, which does not exist"},
      {Check::token_mask, "tiny", kLoad + " wait=seq", "wait names seq, which has no token counter"},
      {Check::token_mask, "tiny", kLoad + " wait=0x8000", "wait names bit 15"},
      {Check::token_mask, "tiny", "barrier seq wait=vec", "runs in the sequencer"},
      {Check::token_mask, "tiny", "tpush vec", "tpush needs a non-empty signal mask"},
      {Check::token_mask, "tiny", "tpop vec", "tpop needs a non-empty wait mask"},
      {Check::field_min, "tiny", "load dma0 dst_space=l1 n1=1 n2=1", "field len = 0, minimum 1"},
      {Check::field_min, "tiny", "vfill vec dst_space=l1 cols=1", "field rows = 0, minimum 1"},
      {Check::unused_zero, "tiny", "vfill vec dst_space=l1 rows=1 cols=1 src1_addr=0x40",
       "field src1_addr is not read by vfill"},
      {Check::unused_zero, "tiny", kVadd + " imm=-0", "field imm is not read by vadd and must be 0, got -0"},
      {Check::unused_zero, "tiny", "vadd_col vec dst_space=l1 rows=1 cols=1 src2_stride=4", "src2_stride"},
      {Check::unused_zero, "tiny", "csend coll bytes=1 recv_addr=0x8", "field recv_addr is not read by csend"},
      {Check::acc_engine, "tiny", "load dma0 dst_space=acc src_space=l1 acc_engine=1 len=4 n1=1 n2=1",
       "acc_engine 1 names a matrix engine this core lacks"},
      {Check::acc_engine, "tiny", kLoad + " acc_engine=2", "acc_engine must be 0 when no operand is in acc"},
      {Check::dma_direction, "tiny", "load dma0 dst_space=hbm src_space=l1 len=1 n1=1 n2=1", "use store"},
      {Check::dma_direction, "tiny", "store dma0 dst_space=l1 src_space=l2 len=1 n1=1 n2=1", "use load"},
      {Check::predicate, "tiny", kLoad + " pred_addr=0x40", "pred_addr 0x40 without pred_words"},
      {Check::predicate, "tiny", kLoad + " pred_words=1 pred_addr=0x42", "pred_addr 0x42 is not a multiple of 4"},
      {Check::predicate, "tiny", "matmul mx0 m=1 k=1 n=1 pred_words=1 pred_addr=0x41", "pred_addr 0x41 is not a multiple"},
      {Check::extent, "tiny", "matmul mx0 m=1 k=1 n=1 pred_words=1 pred_addr=0x10000", "pred touches bytes 0x10000"},
      {Check::extent, "tiny", kLoad + " pred_words=2 pred_addr=0xfffc", "pred touches bytes 0xfffc .. 0x10003"},
      {Check::matmul_types, "tiny", kMatmul + " a_type=fp16 k=8", "a_type fp16 is not a matrix input format"},
      {Check::matmul_types, "tiny", "matmul mx0 a_type=int8 b_type=fp8_e4m3 m=1 k=1 n=1",
       "int8 multiplies only with int8"},
      {Check::matmul_precision, "tpu-v1", "matmul mx0 a_type=fp8_e4m3 b_type=bf16 m=1 k=1 n=1",
       "a_type fp8_e4m3 is not in matrix.precisions"},
      {Check::matmul_dataflow, "tpu-v1", "matmul mx0 dataflow=os m=1 k=1 n=1", "dataflow os is not in"},
      {Check::matmul_shape, "tiny", "matmul mx0 m=1 k=9 n=1 c_stride=32", "ws: k = 9 exceeds matrix.rows = 8"},
      {Check::matmul_shape, "tiny", "matmul mx0 m=1 k=1 n=9", "ws: n = 9 exceeds matrix.cols = 8"},
      {Check::matmul_shape, "tiny", "matmul mx0 dataflow=os m=9 k=1 n=1", "os: m = 9 exceeds matrix.rows = 8"},
      {Check::matmul_shape, "tiny", "matmul mx0 m=4097 k=1 n=1", "m = 4097 exceeds matrix.max_stream = 4096"},
      {Check::matmul_acc_layout, "tiny", "matmul mx0 m=1 k=1 n=1 c_addr=0x10", "multiples of 4 x matrix.cols = 32"},
      {Check::matmul_acc_layout, "tiny", "matmul mx0 m=2 k=1 n=1 c_stride=16", "c_stride 16"},
      {Check::vector_types, "tiny", "vargmax vec dst_space=l1 dst_type=fp32 rows=1 cols=4",
       "dst_type fp32 is not allowed for vargmax (int32)"},
      {Check::vector_types, "tiny", "vtopk vec dst_space=l1 dst_type=bf16 rows=1 cols=4 iarg=1",
       "dst_type bf16 is not allowed for vtopk (fp32)"},
      {Check::vector_types, "tiny", "vexp vec dst_space=l1 src1_space=acc src1_type=bf16 rows=1 cols=1",
       "src1 is in acc, which holds fp32 or int32"},
      {Check::vector_types, "tiny",
       "vexp vec dst_space=l1 src1_space=acc src1_type=fp32 src1_addr=0x2 rows=1 cols=1",
       "src1 in acc needs address and stride multiples of 4"},
      {Check::vector_args, "tiny", "vtopk vec dst_space=l1 dst_type=fp32 rows=1 cols=4 iarg=5",
       "vtopk needs 1 <= iarg (k) <= cols = 4, got 5"},
      {Check::vector_args, "tiny", "vrope vec dst_space=l1 rows=1 cols=3 iarg=1", "an even cols"},
      {Check::vector_args, "tiny", "vrope vec dst_space=l1 rows=1 cols=4", "iarg (heads per token) >= 1"},
      {Check::vector_args, "tiny", "vmask vec dst_space=l1 rows=1 cols=4 iarg=0x10000", "vmask needs rows per"},
      {Check::coll_peer, "tiny", "csend coll bytes=1 peer_send=1", "peer_send = 1 must be less than system.chips = 1"},
      {Check::coll_peer, "sohu-like", "crecv coll bytes=1 peer_recv=8", "peer_recv = 8 must be less"},
      {Check::coll_dtype, "tiny", kReduce + " dtype=int32", "dtype must be a floating format, got int32"},
      {Check::coll_dtype, "tiny", "creduce coll send_space=l2 recv_space=l2 bytes=3 dtype=bf16",
       "bytes = 3 is not a whole number of bf16 elements"},
      {Check::coll_dtype, "tiny", "creduce coll send_space=l2 recv_space=acc bytes=4 dtype=bf16",
       "an acc operand holds fp32"},
      {Check::extent, "tiny", "load dma0 dst_space=l1 dst_addr=0xffc0 len=65 n1=1 n2=1",
       "dst touches bytes 0xffc0 .. 0x10000 of l1, which has 65536 bytes"},
      {Check::extent, "tiny", "load dma0 dst_space=l1 len=64 n1=2 n2=2 dst_stride1=64 dst_stride2=0x10000",
       "dst touches bytes"},
      {Check::extent, "tpu-v1", "load dma0 dst_space=l2 src_space=hbm len=1 n1=1 n2=1",
       "dst is in l2, which this configuration does not have"},
      {Check::extent, "tiny", "matmul mx0 m=8 k=8 n=8 c_addr=0x3fe0 c_stride=32", "C touches bytes"},
      {Check::extent, "tiny", "matmul mx0 dataflow=os m=8 k=8 n=8 a_addr=0xfff0 a_stride=4", "A touches bytes"},
      {Check::extent, "tiny", kVadd + " src2_addr=0xffe0", "src2 touches bytes 0xffe0 .. 0x1001f"},
      {Check::extent, "tiny", "vtopk vec dst_space=l1 dst_type=fp32 dst_addr=0xfff0 rows=1 cols=4 iarg=3",
       "dst touches bytes 0xfff0 .. 0x10007"},
      {Check::extent, "tiny", kReduce + " dtype=fp32 recv_addr=0x3ffc1", "recv touches bytes"},
  };
}

TEST(IsaValidate, EachCheckRejectsItsCase) {
  std::set<Check> covered;
  for (const Case& c : cases()) {
    std::string src = c.source;
    if (src.find('\n') == std::string::npos) src += "\nhalt\n";
    const Program p = assemble(src, "v.s", arch(c.arch));
    const std::string msg = error_of([&] { validate(p, arch(c.arch)); });
    EXPECT_CONTAINS(msg, c.needle);
    EXPECT_CONTAINS(msg, std::string("[check: ") + name(c.check) + "]");
    covered.insert(c.check);
  }
  for (size_t i = 0; i < kNumChecks; ++i) {
    const auto c = static_cast<Check>(i);
    if (std::string_view(name(c)) == "reserved_zero" || std::string_view(name(c)) == "known_code") continue;
    EXPECT_TRUE(covered.contains(c)) << "no rejected program for check " << name(c);
  }
}

TEST(IsaValidate, ErrorNamesSectionInstructionAndOpcode) {
  const Program p = assemble(".section text chip=0 core=0\ntpush vec signal=dma0\n" + kMatmul + " a_type=bf16 k=9\nhalt\n",
                             "v.s", arch("tiny"));
  EXPECT_CONTAINS(error_of([&] { validate(p, arch("tiny")); }),
                  "text section chip 0 core 0, instruction #1 (matmul): ws: k = 9 exceeds matrix.rows = 8");
}

TEST(IsaValidate, LargeProgramsAreFast) {
  // A compiled layer is tens of thousands of instructions; the whole path must stay cheap.
  std::string src = ".arch sohu-like\n";
  for (int i = 0; i < 20000; ++i) {
    src += "matmul mx" + std::to_string(i % 4) +
           " a_type=fp8_e4m3 b_type=fp8_e4m3 m=64 k=256 n=256 a_stride=256 b_stride=256 c_stride=1024\n";
  }
  src += "halt\n";
  const auto t0 = std::chrono::steady_clock::now();
  const Program p = assemble(src, "big.s", arch("sohu-like"));
  validate(p, arch("sohu-like"));
  const auto bin = write_tbin(p);
  const Program back = read_tbin(bin, "big.tbin");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(back.text[0].code.size(), 20001u);
  std::printf("20001 instructions: assemble + validate + write + read in %.3f s (%.2f MB)\n", s,
              double(bin.size()) / 1e6);
  EXPECT_LT(s, 10.0);
}

}  // namespace
}  // namespace tessera::isa
