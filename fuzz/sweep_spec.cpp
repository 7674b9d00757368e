// libFuzzer target: sweep specs through sweep::parse_spec, the path `tessera sweep SPEC` takes
// before any point runs (workloads' models, axis keys and the base architecture are all checked
// there), then every accepted spec's point arithmetic and CSV header, which index the axes.
// An InputError is the expected refusal; any other exception, crash, leak or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/util/error.h"
#include "driver/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tessera::sweep::Spec s =
        tessera::sweep::parse_spec(std::string(reinterpret_cast<const char*>(data), size), "spec.yaml");
    const size_t n = s.points();
    if (n == 0) __builtin_trap();  // parse_spec promises at least one workload and one value per axis
    (void)tessera::sweep::point(s, 0);
    (void)tessera::sweep::point(s, n - 1);
    (void)tessera::sweep::point(s, n / 2);
    (void)tessera::sweep::csv_header(s);
  } catch (const tessera::InputError&) {
  }
  return 0;
}
