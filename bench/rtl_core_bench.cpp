// Simulation speed of the tiny core's RTL under Verilator: simulated core cycles per host
// second on a long token-ordered program (300 matmul tiles of random format, dataflow and
// shape fed by both DMA engines, then a vector instruction and a store), run `reps` times
// per measurement; prints the median of 3 measurements. Built twice (tests/rtl/CMakeLists.txt):
// rtl_core_bench (single-threaded model) and rtl_core_bench_mt (verilator --threads 2).
// Not a test: build and run by hand, see docs/validation.md "RTL".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "tests/rtl/core_harness.h"

int main(int argc, char** argv) {
  using namespace tessera::rtl_core;
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  std::mt19937_64 rng(2026);
  const Case c = random_case(rng, 300);
  std::vector<double> rates;
  uint64_t cycles = 0;
  for (int m = 0; m < 3; ++m) {
    cycles = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      std::vector<uint8_t> l2(256 * 1024, 0);
      std::copy(c.data[0].bytes.begin(), c.data[0].bytes.end(), l2.begin());
      CoreBench b("bench");
      const Timeline tl = b.run(c.prog, l2, 20, 16, 10'000'000);
      if (tl.err || tl.halt == UINT64_MAX) {
        std::fprintf(stderr, "rtl_core_bench: the program did not halt cleanly\n");
        return 1;
      }
      cycles += tl.cycles;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(cycles) / s);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("%zu instructions, %llu cycles per measurement, median %.0f cycles/s (min %.0f, max %.0f)\n",
              c.prog.size(), static_cast<unsigned long long>(cycles), rates[1], rates[0], rates[2]);
  return 0;
}
