// bytes_text: the one way sizes are shown in messages and reports (issue 17: a small KV cache
// printed as "0.00 GB").
#include <gtest/gtest.h>

#include "common/util/units.h"

namespace {

using tessera::bytes_text;

TEST(BytesText, SmallNonZeroSizesAreNeverZero) {
  EXPECT_EQ(bytes_text(0), "0 B");
  EXPECT_EQ(bytes_text(1), "1 B");
  EXPECT_EQ(bytes_text(1023), "1023 B");
  EXPECT_EQ(bytes_text(1024), "1.0 KiB");
  EXPECT_EQ(bytes_text(1536), "1.5 KiB");
  EXPECT_EQ(bytes_text(uint64_t(18) << 20), "18.00 MiB");
  // 5 MB, which "%.2f GB" showed as 0.01 GB and 4 MB as 0.00 GB.
  EXPECT_EQ(bytes_text(4000000), "3.81 MiB");
}

TEST(BytesText, LargeSizesUseGiB) {
  EXPECT_EQ(bytes_text(uint64_t(1) << 30), "1.00 GiB");
  EXPECT_EQ(bytes_text(uint64_t(144) << 30), "144.00 GiB");
  EXPECT_EQ(bytes_text(UINT64_MAX), "17179869184.00 GiB");
}

}  // namespace
