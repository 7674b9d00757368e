// The input decoder RTL against the numerics library's decoders, exhaustively: every
// FP8 E4M3 and E5M2 code, every BF16 code, every INT8 value.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>

#include "Vfp_decode.h"
#include "common/numerics/fp.h"

namespace {

namespace num = tessera::num;

uint32_t rtl_decode(Vfp_decode& d, uint8_t fmt, uint16_t raw) {
  d.fmt_i = fmt;
  d.raw_i = raw;
  d.eval();
  return d.f32_o;
}

TEST(FpDecodeRtl, EveryFp8Code) {
  Vfp_decode d;
  for (unsigned code = 0; code < 256; ++code) {
    EXPECT_EQ(rtl_decode(d, 1, static_cast<uint16_t>(code)), std::bit_cast<uint32_t>(num::e4m3_to_f32(uint8_t(code))))
        << "e4m3 code 0x" << std::hex << code;
    EXPECT_EQ(rtl_decode(d, 2, static_cast<uint16_t>(code)), std::bit_cast<uint32_t>(num::e5m2_to_f32(uint8_t(code))))
        << "e5m2 code 0x" << std::hex << code;
  }
}

TEST(FpDecodeRtl, EveryBf16Code) {
  Vfp_decode d;
  for (unsigned code = 0; code < 65536; ++code) {
    ASSERT_EQ(rtl_decode(d, 3, static_cast<uint16_t>(code)), std::bit_cast<uint32_t>(num::bf16_to_f32(uint16_t(code))))
        << "bf16 code 0x" << std::hex << code;
  }
}

TEST(FpDecodeRtl, EveryInt8Value) {
  Vfp_decode d;
  for (int v = -128; v < 128; ++v) {
    d.fmt_i = 0;
    d.raw_i = static_cast<uint8_t>(v);
    d.eval();
    EXPECT_EQ(static_cast<int32_t>(d.int_o), v);
  }
}

}  // namespace
