// The functional-mode storage of the model's memories (model/core/memory.h).
#include <gtest/gtest.h>

#include <vector>

#include "model/core/memory.h"

namespace tessera::model {
namespace {

TEST(SparseMemory, ReadsZeroWritesAcrossPages) {
  SparseMemory m;
  std::vector<uint8_t> out(8, 0xff);
  m.read(123456789, out.data(), out.size());
  for (uint8_t b : out) EXPECT_EQ(b, 0);
  std::vector<uint8_t> in(100000);
  for (size_t i = 0; i < in.size(); ++i) in[i] = uint8_t(i * 7 + 3);
  m.write(SparseMemory::kPageBytes - 17, in.data(), in.size());
  std::vector<uint8_t> back(in.size());
  m.read(SparseMemory::kPageBytes - 17, back.data(), back.size());
  EXPECT_EQ(in, back);
  EXPECT_EQ(m.pages(), 3u);
}

}  // namespace
}  // namespace tessera::model
