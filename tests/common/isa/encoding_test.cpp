// Instruction codec: encode/decode and format/parse round trips on random instructions of
// every opcode, and the errors of each.
#include <gtest/gtest.h>

#include <bit>
#include <cstdio>
#include <random>

#include "common/isa/isa.h"
#include "common/isa/text_util.h"
#include "common/util/error.h"
#include "tests/common/isa/random_instr.h"

namespace tessera::isa {
namespace {

constexpr uint64_t kSeed = 20240611;
constexpr int kPerOpcode = 300;

TEST(IsaEncoding, RandomInstructionsOfEveryOpcodeRoundTrip) {
  std::printf("seed %llu, %d instructions per opcode\n", static_cast<unsigned long long>(kSeed), kPerOpcode);
  std::mt19937_64 rng(kSeed);
  for (const auto& op : all_opcodes()) {
    for (int n = 0; n < kPerOpcode; ++n) {
      const Instr x = testing_support::random_instr(op, rng);
      const Word w = encode(x);
      const Instr y = decode(w, 7);
      ASSERT_EQ(y, x) << op.name << ": " << format_instr(x) << " decoded as " << format_instr(y);
      const std::string line = format_instr(x);
      const Instr z = parse_instr(line, "test");
      ASSERT_EQ(z, x) << line << " parsed as " << format_instr(z);
      ASSERT_EQ(encode(z), w);
    }
  }
}

TEST(IsaEncoding, EachFieldOccupiesExactlyItsBits) {
  // Setting one field to all ones must set exactly that field's bits and no other, so the
  // offsets of the tables tile the word without overlap.
  for (const auto& op : all_opcodes()) {
    const FormatInfo& fmt = info(op.format);
    std::array<int, kWordBits> owner{};
    owner.fill(-1);
    for (size_t i = 0; i < fmt.fields.size(); ++i) {
      const FieldInfo& f = fmt.fields[i];
      Instr x;
      x.op = op.op;
      x.unit = 0;
      uint64_t ones = f.range.bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << f.range.bits) - 1;
      if (f.kind == FieldKind::enumeration) ones = enum_codes(f.enum_type).back();
      if (f.kind == FieldKind::f32) {
        x.*f.f32 = std::bit_cast<float>(static_cast<uint32_t>(ones));
      } else {
        x.*f.u64 = ones;
      }
      const Word w = encode(x);
      const Word base = encode(Instr{.op = op.op});
      for (unsigned b = 0; b < kWordBits; ++b) {
        const bool differs = ((w[b / 8] ^ base[b / 8]) >> (b % 8)) & 1;
        const bool inside = b >= f.range.offset && b < f.range.offset + f.range.bits;
        if (differs) {
          ASSERT_TRUE(inside) << op.name << "." << f.name << " wrote bit " << b;
          ASSERT_EQ(owner[b], -1) << op.name << "." << f.name << " overlaps another field at bit " << b;
          owner[b] = static_cast<int>(i);
        }
      }
    }
    for (const auto& r : fmt.reserved) {
      for (unsigned b = r.offset; b < r.offset + r.bits; ++b) EXPECT_EQ(owner[b], -1) << op.name << " bit " << b;
    }
  }
}

TEST(IsaEncoding, WordIsLittleEndianWithOpcodeInByteZero) {
  Instr x;
  x.op = Opcode::matmul;
  x.unit = static_cast<uint8_t>(Unit::mx1);
  const Word w = encode(x);
  EXPECT_EQ(w[0], static_cast<uint8_t>(Opcode::matmul));
  // Unit ids occupy the next bits, least significant first.
  EXPECT_EQ(w[1] & 0x0f, static_cast<uint8_t>(Unit::mx1));
}

TEST(IsaEncoding, DecodeRejectsUnknownOpcode) {
  Word w{};
  uint8_t code = 0;
  while (find_opcode(code) != nullptr) ++code;
  w[0] = code;
  try {
    decode(w, 12);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("instruction #12: unknown opcode"), std::string::npos) << e.what();
  }
}

TEST(IsaEncoding, DecodeRejectsEveryNonzeroReservedBit) {
  for (const auto& op : all_opcodes()) {
    const Word base = encode(Instr{.op = op.op, .unit = static_cast<uint8_t>(enum_codes(EnumType::unit)[0])});
    for (const auto& r : info(op.format).reserved) {
      for (unsigned b : {r.offset, r.offset + r.bits - 1}) {
        Word w = base;
        w[b / 8] ^= static_cast<uint8_t>(1u << (b % 8));
        try {
          decode(w, 3);
          FAIL() << op.name << " bit " << b;
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("reserved bits"), std::string::npos) << e.what();
        }
      }
    }
  }
}

TEST(IsaEncoding, DecodeRejectsUndefinedEnumCodes) {
  // The unit field has one code more than units (15); dtype has 7 defined of 8.
  Word w = encode(Instr{.op = Opcode::halt, .unit = static_cast<uint8_t>(Unit::seq)});
  w[1] |= 0x0f;
  EXPECT_THROW(decode(w, 0), InputError);
  Instr mm{.op = Opcode::matmul, .unit = static_cast<uint8_t>(Unit::mx0)};
  Word wm = encode(mm);
  const FieldInfo* a_type = find_field(Format::matmul, "a_type");
  ASSERT_NE(a_type, nullptr);
  for (unsigned b = 0; b < a_type->range.bits; ++b) {
    const unsigned bit = a_type->range.offset + b;
    wm[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
  try {
    decode(wm, 5);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("field a_type: code 7 is not a defined value"), std::string::npos)
        << e.what();
  }
}

TEST(IsaEncoding, EncodeRejectsValuesThatDoNotFitAndForeignFields) {
  Instr x{.op = Opcode::matmul, .unit = static_cast<uint8_t>(Unit::mx0)};
  x.m = uint64_t{1} << find_field(Format::matmul, "m")->range.bits;
  EXPECT_THROW(encode(x), InputError);
  Instr y{.op = Opcode::matmul, .unit = static_cast<uint8_t>(Unit::mx0)};
  y.tag = 1;  // a coll field
  try {
    encode(y);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("field tag is not part of format matmul"), std::string::npos) << e.what();
  }
}

TEST(IsaText, Fp32SpellingsRoundTripEveryClassOfValue) {
  const uint32_t cases[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x3f800000u,
                            0x3dcccccdu, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                            0xffc00000u, 0x7f800001u, 0x7fa5a5a5u, 0x4b000001u, 0xc2f6e979u};
  for (uint32_t bits : cases) {
    const std::string s = detail::format_f32_bits(bits);
    auto back = detail::parse_f32_bits(s);
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, bits) << s;
  }
  std::mt19937 rng(kSeed);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t bits = rng();
    auto back = detail::parse_f32_bits(detail::format_f32_bits(bits));
    ASSERT_TRUE(back.has_value()) << detail::format_f32_bits(bits);
    ASSERT_EQ(*back, bits) << detail::format_f32_bits(bits);
  }
  EXPECT_EQ(detail::parse_f32_bits("0x1.8p1"), std::bit_cast<uint32_t>(3.0f));
  EXPECT_EQ(detail::parse_f32_bits("-0x1p-2"), std::bit_cast<uint32_t>(-0.25f));
  EXPECT_EQ(detail::parse_f32_bits("1e39"), std::nullopt);
  EXPECT_EQ(detail::parse_f32_bits("one"), std::nullopt);
  EXPECT_EQ(detail::parse_f32_bits("1.0x"), std::nullopt);
}

TEST(IsaText, ParseAcceptsTheDocumentedSyntax) {
  const Instr x = parse_instr(
      "matmul mx1 wait=dma0|dma1 signal=vec a_type=fp8_e4m3 b_type=bf16 dataflow=os accumulate=1 a_addr=0x100 "
      "b_addr=256 c_addr=0 m=8 k=16 n=8 a_stride=8 b_stride=16 c_stride=32   # trailing comment",
      "t.s:1");
  EXPECT_EQ(x.op, Opcode::matmul);
  EXPECT_EQ(x.unit, static_cast<uint8_t>(Unit::mx1));
  EXPECT_EQ(x.wait, (1u << static_cast<unsigned>(Unit::dma0)) | (1u << static_cast<unsigned>(Unit::dma1)));
  EXPECT_EQ(x.signal, 1u << static_cast<unsigned>(Unit::vec));
  EXPECT_EQ(x.a_type, static_cast<uint64_t>(DType::fp8_e4m3));
  EXPECT_EQ(x.dataflow, static_cast<uint64_t>(Dataflow::os));
  EXPECT_EQ(x.a_addr, 0x100u);
  EXPECT_EQ(x.b_addr, 256u);
  // Fields left out are zero; a class of one unit needs no unit.
  const Instr v = parse_instr("vscale dst_space=l1 rows=1 cols=4 imm=0.5 imm2=-inf", "t.s:2");
  EXPECT_EQ(v.unit, static_cast<uint8_t>(Unit::vec));
  EXPECT_EQ(v.imm, 0.5f);
  EXPECT_EQ(v.dst_addr, 0u);
  EXPECT_EQ(parse_instr("halt", "t.s:3").unit, static_cast<uint8_t>(Unit::seq));
  EXPECT_EQ(parse_instr("tpush vec signal=0x3", "t.s:4").signal, 3u);
}

void expect_parse_error(const std::string& line, const std::string& needle) {
  try {
    parse_instr(line, "prog.s:9");
    ADD_FAILURE() << "accepted: " << line;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("prog.s:9: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(IsaText, ParseErrorsNameLineAndField) {
  expect_parse_error("frobnicate mx0", "unknown opcode 'frobnicate'");
  expect_parse_error("matmul m=1", "matmul needs a unit");
  expect_parse_error("matmul mx9 m=1", "expected a unit");
  expect_parse_error("matmul mx0 m=65536", "field m: value 65536 does not fit 16 bits");
  expect_parse_error("matmul mx0 m=-1", "field m: expected an unsigned integer");
  expect_parse_error("matmul mx0 a_type=fp64", "field a_type: expected one of int8");
  expect_parse_error("matmul mx0 tag=3", "'tag' is not a field of matmul");
  expect_parse_error("matmul mx0 m=1 m=2", "field m given twice");
  expect_parse_error("matmul mx0 wait=dma0|foo", "field wait: expected unit names");
  expect_parse_error("matmul mx0 wait=dma0|dma0", "unit dma0 named twice");
  expect_parse_error("vscale vec imm=abc", "field imm: expected an fp32 value");
  expect_parse_error("load dma0 dst_addr=0x10000000000", "field dst_addr: value 0x10000000000 does not fit 40 bits");
  expect_parse_error("load dma0 len", "expected field=value, got 'len'");
}

}  // namespace
}  // namespace tessera::isa
