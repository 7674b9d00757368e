// libFuzzer target: architecture YAML through the configuration loader (schema, presets,
// `base:` inheritance, derived checks). An InputError is the expected refusal; any other
// exception, crash, leak or hang is a bug (docs/errors.md).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tessera::config::load_arch_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz/arch.yaml");
  } catch (const tessera::InputError&) {
  }
  return 0;
}
