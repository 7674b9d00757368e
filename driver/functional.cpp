#include "driver/functional.h"

#include <cmath>
#include <cstring>

#include "common/hf/model_config.h"
#include "common/util/error.h"
#include "model/core/model.h"

namespace tessera::driver {

using compiler::CompileOptions;
using compiler::Compiled;
using compiler::MemoryRegion;
using compiler::Phase;
using compiler::ResultLocation;

namespace {

float f32_at(const std::vector<uint8_t>& b, size_t i) {
  float f;
  std::memcpy(&f, b.data() + 4 * i, 4);
  return f;
}
int32_t i32_at(const std::vector<uint8_t>& b, size_t i) {
  int32_t v;
  std::memcpy(&v, b.data() + 4 * i, 4);
  return v;
}

}  // namespace

FunctionalResult run_functional(const std::string& dir, const config::ArchConfig& arch, const FunctionalOptions& opt) {
  const hf::ModelConfig model = hf::load_model_config(dir);
  if (opt.prompt.empty()) throw InputError("--prompt: at least one token id is needed");
  if (opt.steps == 0) throw InputError("--steps: at least 1");
  if (!opt.forced.empty() && opt.forced.size() != opt.steps)
    throw InputError(std::to_string(opt.forced.size()) + " forced tokens for " + std::to_string(opt.steps) + " steps");
  const uint64_t P = opt.prompt.size();
  FunctionalResult res;
  std::vector<isa::DataSection> carried;
  int64_t next = 0;
  for (uint64_t s = 0; s < opt.steps; ++s) {
    CompileOptions co;
    co.batch = 1;
    co.chips = 0;
    co.tp = uint32_t(arch.system.chips);  // one tensor-parallel group over every chip
    co.max_context = P + opt.steps;
    co.precision = opt.precision;
    co.weights_dir = dir;
    if (s == 0) {
      co.phase = Phase::Prefill;
      co.context = P;
      co.tokens = {opt.prompt};
    } else {
      co.phase = Phase::Decode;
      co.context = P + s;
      co.tokens = {{next}};
    }
    co.carried_data = carried;
    const Compiled c = compiler::compile(model, arch, co);
    model::Simulation sim(arch, c.program, model::RunOptions{true, model::DramModel::Burst, opt.max_cycles});
    sim.run();
    res.cycles += sim.cycles();
    res.instructions += sim.instructions();
    // Logits of the (only) sequence, and the best (value, index) over every run and chip:
    // largest value, lowest vocabulary index on ties (the reference's argmax).
    std::vector<float> logits(model.vocab_size, 0.0f);
    float best_v = 0;
    int64_t best_i = -1;
    for (const ResultLocation& r : c.results) {
      const std::vector<uint8_t> lb = sim.read_memory(r.chip, 0, r.space, 0, r.addr, r.cols * 4);
      for (uint64_t j = 0; j < r.cols; ++j) logits[r.vocab_offset + j] = f32_at(lb, j);
      const uint64_t runs = r.top1_stride / 8;
      const std::vector<uint8_t> tb = sim.read_memory(r.chip, 0, r.space, 0, r.top1_addr, r.top1_stride);
      for (uint64_t k = 0; k < runs; ++k) {
        const float v = f32_at(tb, 2 * k);
        const int64_t i = int64_t(r.vocab_offset + uint64_t(k) * 32768 + uint64_t(i32_at(tb, 2 * k + 1)));
        if (std::isnan(v)) throw InputError("step " + std::to_string(s) + ": a logit is NaN");
        if (best_i < 0 || v > best_v || (v == best_v && i < best_i)) {
          best_v = v;
          best_i = i;
        }
      }
    }
    const int64_t token = opt.forced.empty() ? best_i : opt.forced[s];
    res.tokens.push_back(best_i);
    if (opt.keep_logits) res.logits.push_back(std::move(logits));
    next = token;
    carried.clear();
    for (const MemoryRegion& m : c.persistent) {
      isa::DataSection d;
      d.chip = m.chip;
      d.space = m.space;
      d.addr = m.addr;
      d.bytes = sim.read_memory(m.chip, 0, m.space, 0, m.addr, m.bytes);
      carried.push_back(std::move(d));
    }
  }
  return res;
}


}  // namespace tessera::driver
