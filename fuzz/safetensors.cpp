// libFuzzer target: safetensors files through the reader (header JSON, layout checks) and
// every tensor of an accepted file through the decoder. The reader takes a path, so each
// input goes through one scratch file per process. An InputError is the expected refusal;
// anything else is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "common/hf/safetensors.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/tessera-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const tessera::hf::SafetensorsFile f(path);
    for (const tessera::hf::TensorInfo& t : f.tensors()) (void)f.read(t.name, t.shape);
  } catch (const tessera::InputError&) {
  }
  return 0;
}
