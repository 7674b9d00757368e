#pragma once
// Byte counts for people: every message and report that shows a capacity or a size uses
// bytes_text, so a small non-zero size never prints as "0.00 GB" and units never mix
// (binary units throughout, as DRAM and SRAM capacities are quoted; docs/errors.md).
#include <cstdint>
#include <cstdio>
#include <string>

namespace tessera {

// "512 B", "1.5 KiB", "18.00 MiB", "7.97 GiB": the largest binary unit that keeps the value
// at least 1, so the number is never zero unless the count is.
inline std::string bytes_text(uint64_t b) {
  char buf[64];
  if (b >= (uint64_t(1) << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(uint64_t(1) << 30));
  } else if (b >= (uint64_t(1) << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / double(uint64_t(1) << 20));
  } else if (b >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
  }
  return buf;
}

}  // namespace tessera
