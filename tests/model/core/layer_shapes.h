#pragma once
// Layer shapes the model tests share: a decoder layer small enough for the tiny preset.
#include <cstdint>

#include "model/core/layer_program.h"

namespace tessera::model::test {

inline LayerShape tiny_layer(uint64_t batch, uint64_t context) {
  LayerShape sh;
  sh.d_model = 32;
  sh.q_heads = 4;
  sh.kv_heads = 2;
  sh.head_dim = 8;
  sh.d_ff = 64;
  sh.batch = batch;
  sh.context = context;
  return sh;
}

}  // namespace tessera::model::test
