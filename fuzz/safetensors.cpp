// libFuzzer target: safetensors files through the reader (header JSON, layout checks) and
// every tensor of an accepted file through the decoder. The reader takes a path, so each
// input goes through one scratch file per process. An InputError is the expected refusal;
// anything else is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/hf/safetensors.h"
#include "common/util/error.h"

// The scratch file is rewritten for every input: on a disk file system that write (journal,
// truncation) took most of the time per input, so it lives in memory (/dev/shm) where there is one.
static std::string scratch_dir() {
  std::error_code ec;
  return std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
}

// Removed when the fuzzer ends after -runs (libFuzzer skips destructors after -max_total_time and on a
// crash; scripts/fuzz.sh removes what those leave).
struct ScratchFile {
  std::string path = scratch_dir() + "/tessera-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
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
