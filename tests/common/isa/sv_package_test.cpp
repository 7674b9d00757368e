// The generated SystemVerilog package against the C++ codec: a probe module reads every
// field of a word through the package's packed structs and writes it back at the package's
// offset localparams. For random encoded instructions of every opcode the probe's output for
// the instruction's format must be the word itself, so the RTL sees the fields where the
// encoder put them.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>

#include "Visa_pkg_probe.h"
#include "common/isa/isa.h"
#include "tests/common/isa/random_instr.h"
#include "verilated.h"

namespace tessera::isa {
namespace {

constexpr uint64_t kSeed = 77031;

template <typename Wide>
void load_word(Wide& dst, const Word& w) {
  for (size_t i = 0; i < kWordBytes / 4; ++i) {
    dst[i] = static_cast<uint32_t>(w[4 * i]) | static_cast<uint32_t>(w[4 * i + 1]) << 8 |
             static_cast<uint32_t>(w[4 * i + 2]) << 16 | static_cast<uint32_t>(w[4 * i + 3]) << 24;
  }
}

template <typename Wide>
Word store_word(const Wide& src) {
  Word w{};
  for (size_t i = 0; i < kWordBytes / 4; ++i) {
    for (int b = 0; b < 4; ++b) w[4 * i + b] = static_cast<uint8_t>(src[i] >> (8 * b));
  }
  return w;
}

TEST(IsaSvPackage, StructFieldsSitAtTheCodecOffsets) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  auto ctx = std::make_unique<VerilatedContext>();
  auto probe = std::make_unique<Visa_pkg_probe>(ctx.get());
  std::mt19937_64 rng(kSeed);
  for (const auto& op : all_opcodes()) {
    for (int n = 0; n < 50; ++n) {
      const Word w = encode(testing_support::random_instr(op, rng));
      load_word(probe->word_i, w);
      probe->eval();
      Word out{};
      switch (op.format) {
        case Format::none: out = store_word(probe->none_word_o); break;
        case Format::dma: out = store_word(probe->dma_word_o); break;
        case Format::matmul: out = store_word(probe->matmul_word_o); break;
        case Format::vector: out = store_word(probe->vector_word_o); break;
        case Format::coll: out = store_word(probe->coll_word_o); break;
        case Format::sync: out = store_word(probe->sync_word_o); break;
        case Format::barrier: out = store_word(probe->barrier_word_o); break;
      }
      ASSERT_EQ(out, w) << op.name << ": " << format_instr(decode(w, 0));
    }
  }
  probe->final();
}

}  // namespace
}  // namespace tessera::isa
