// libFuzzer target: config.json through the model-config reader, and every accepted
// config through the tensor list and parameter counts (what `tessera ref` and the compiler
// do next). An InputError is the expected refusal; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/hf/model_config.h"
#include "common/hf/model_tensors.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tessera::hf::ModelConfig c =
        tessera::hf::parse_model_config(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
    (void)tessera::hf::parameter_count(c);
    (void)tessera::hf::kv_cache_bytes_per_token(c, 2);
    (void)tessera::hf::parse_model_config(tessera::hf::model_config_json(c), "round-trip.json");
  } catch (const tessera::InputError&) {
  }
  return 0;
}
