#pragma once
// Initial HBM contents of a functional program: a Hugging Face checkpoint's tensors cut for
// each chip of the tensor-parallel group, converted to the precision policy (BF16 by
// round-to-nearest-even; FP8/INT8 with one FP32 scale per output channel) and packed in
// the tile order of layout.h; plus the constant tables (RoPE cos/sin, identity).
#include <vector>

#include "common/isa/isa.h"
#include "compiler/hw.h"
#include "compiler/ir.h"

namespace tessera::compiler {

// Data sections for every chip of the group. InputError for a missing or misshapen tensor.
std::vector<isa::DataSection> pack_data(const Graph& g, const Hw& hw, const std::string& weights_dir);

// The RoPE table the program reads: row t = cos(t f_i) for i < head_dim/2, then sin(t f_i),
// computed by the functions the reference Transformer uses too (common/hf/rope.h), so both
// use the same FP32 values.
std::vector<float> rope_table(const hf::ModelConfig& m, uint64_t rows);

}  // namespace tessera::compiler
