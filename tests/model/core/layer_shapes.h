#pragma once
// Programs the model tests share, all written by the compiler: the decode step of one decoder
// layer of a Llama-style model small enough for the tiny preset (hidden 32, 4 query and 2 KV
// heads of 8, FFN 64), tensor-parallel over every chip of the architecture.
#include <cstdint>

#include "common/config/config.h"
#include "common/hf/model_config.h"
#include "common/isa/isa.h"
#include "compiler/compiler.h"

namespace tessera::model::test {

inline hf::ModelConfig tiny_llama() {
  return hf::parse_model_config(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
      "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
      "num_hidden_layers": 2, "vocab_size": 64, "max_position_embeddings": 1024, "rms_norm_eps": 1e-05,
      "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": false})",
                                "tests/model/core/layer_shapes.h");
}

// Layer 0 of a decode step: `batch` sequences with `context` tokens in the KV cache (the new
// one included), in the compiler's default precision for the architecture.
inline isa::Program tiny_layer(const config::ArchConfig& arch, uint64_t batch, uint64_t context) {
  compiler::CompileOptions o;
  o.phase = compiler::Phase::Decode;
  o.batch = batch;
  o.context = context;
  o.tp = uint32_t(arch.system.chips);
  o.segment.kind = compiler::Segment::Layer;
  return compiler::compile(tiny_llama(), arch, o).program;
}

}  // namespace tessera::model::test
