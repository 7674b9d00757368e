// Simulation speed of the tiny core's RTL under Verilator: simulated core cycles per host
// second on a long token-ordered program (300 matmul tiles of random format, dataflow and
// shape fed by both DMA engines, then a vector instruction and a store), run `reps` times
// per measurement; prints the median of `runs` measurements (default 5). rtl_core_bench runs
// the bench build of the current RTL (no tracing, C++ -O2) and, in the same run and
// interleaved with it, the baseline: the RTL of commit TESSERA_RTL_BASELINE built as the tests
// built it then (tracing compiled in, -O1); rtl_core_bench_mt runs `verilator --threads 2`.
// Both models must give the same cycle count. Not a test: build and run by hand, see
// docs/validation.md "RTL" (tests/rtl/CMakeLists.txt builds it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tests/rtl/core_harness.h"
#ifdef TESSERA_RTL_BASELINE
#include "Vcore_baseline.h"
#endif

namespace {

using namespace tessera::rtl_core;

// One measurement: `reps` runs of the program; cycles per second and the cycles of one run.
template <class V>
double measure(const Case& c, int reps, uint64_t& cycles) {
  cycles = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    std::vector<uint8_t> l2(256 * 1024, 0);
    std::copy(c.data[0].bytes.begin(), c.data[0].bytes.end(), l2.begin());
    CoreBenchOf<V> b("bench");
    const Timeline tl = b.run(c.prog, l2, 20, 16, 10'000'000);
    if (tl.err || tl.halt == UINT64_MAX) {
      std::fprintf(stderr, "rtl_core_bench: the program did not halt cleanly\n");
      std::exit(1);
    }
    cycles = tl.cycles;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(cycles) * reps / s;
}

struct Stats {
  std::vector<double> rates;
  uint64_t cycles = 0;
  void print(const char* what) {
    std::sort(rates.begin(), rates.end());
    std::printf("%-44s median %9.0f cycles/s (min %.0f, max %.0f; %llu cycles per run)\n", what,
                rates[rates.size() / 2], rates.front(), rates.back(), static_cast<unsigned long long>(cycles));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::mt19937_64 rng(2026);
  const Case c = random_case(rng, 300);
  std::printf("%zu instructions, %d runs per measurement, median of %d measurements\n", c.prog.size(), reps, runs);
  Stats now;
#ifdef TESSERA_RTL_BASELINE
  Stats base;
#endif
  for (int m = 0; m < runs; ++m) {
    now.rates.push_back(measure<Vcore>(c, reps, now.cycles));
#ifdef TESSERA_RTL_BASELINE
    base.rates.push_back(measure<Vcore_baseline>(c, reps, base.cycles));
#endif
  }
  now.print("this RTL:");
#ifdef TESSERA_RTL_BASELINE
  base.print("baseline RTL " TESSERA_RTL_BASELINE " (tracing, -O1):");
  std::printf("speed-up %.1fx\n", now.rates[now.rates.size() / 2] / base.rates[base.rates.size() / 2]);
  if (now.cycles != base.cycles) {
    std::fprintf(stderr, "rtl_core_bench: the two builds simulated different cycle counts\n");
    return 1;
  }
#endif
  return 0;
}
