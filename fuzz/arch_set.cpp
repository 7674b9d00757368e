// libFuzzer target: `--set KEY.PATH=VALUE` overrides through config::load_arch, the path every
// --arch command takes. The input is one override per line, applied to the preset picked by
// the first byte, so the fuzzer explores both the override syntax (key paths, flow values,
// presets restarting a section) and the checks that run after the overrides. An InputError is
// the expected refusal; any other exception, crash, leak or hang is a bug (docs/errors.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<std::string> presets = tessera::config::preset_names();
  const std::string& preset = presets[data[0] % presets.size()];
  std::vector<std::string> sets;
  std::string line;
  for (size_t i = 1; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\n') {
      sets.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) sets.push_back(line);
  try {
    tessera::config::load_arch(preset, sets);
  } catch (const tessera::InputError&) {
  }
  return 0;
}
