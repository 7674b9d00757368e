#include "driver/functional.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/hf/model_config.h"
#include "common/util/error.h"
#include "model/core/model.h"
#include "ref/transformer.h"

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
  return run_functional(dir, arch, opt, [&arch, &opt](const isa::Program& program, uint64_t) {
    auto sim = std::make_shared<model::Simulation>(arch, program,
                                                   model::RunOptions{true, model::DramModel::Burst, opt.max_cycles});
    sim->run();
    StepRun r;
    r.cycles = sim->cycles();
    r.instructions = sim->instructions();
    r.hbm_read = sim->totals().hbm_read;
    r.read = [sim](uint32_t chip, isa::Space space, uint64_t addr, uint64_t bytes) {
      return sim->read_memory(chip, 0, space, 0, addr, bytes);
    };
    return r;
  });
}

FunctionalResult run_functional(const std::string& dir, const config::ArchConfig& arch, const FunctionalOptions& opt,
                                const StepRunner& runner) {
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
    // One tensor-parallel group over every chip unless the plan says otherwise.
    co.tp = opt.tp ? opt.tp : uint32_t(arch.system.chips);
    co.pp = std::max<uint32_t>(1, opt.pp);
    co.chips = opt.tp ? co.tp * co.pp : 0;
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
    res.precision = c.precision;
    const StepRun run = runner(c.program, s);
    res.cycles += run.cycles;
    res.instructions += run.instructions;
    res.hbm_read += run.hbm_read;
    // Logits of the (only) sequence, and the best (value, index) over every run and chip:
    // largest value, lowest vocabulary index on ties (the reference's argmax).
    std::vector<float> logits(model.vocab_size, 0.0f);
    float best_v = 0;
    int64_t best_i = -1;
    for (const ResultLocation& r : c.results) {
      const std::vector<uint8_t> lb = run.read(r.chip, r.space, r.addr, r.cols * 4);
      for (uint64_t j = 0; j < r.cols; ++j) logits[r.vocab_offset + j] = f32_at(lb, j);
      const uint64_t runs = r.top1_stride / 8;
      const std::vector<uint8_t> tb = run.read(r.chip, r.space, r.top1_addr, r.top1_stride);
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
      d.bytes = run.read(m.chip, m.space, m.addr, m.bytes);
      carried.push_back(std::move(d));
    }
  }
  return res;
}

std::vector<int64_t> parse_tokens(const std::string& text, const std::string& option) {
  std::vector<int64_t> ids;
  const char* p = text.data();
  const char* end = p + text.size();
  while (true) {
    int64_t v = -1;
    const auto [q, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v < 0 || (q != end && *q != ','))
      throw InputError(option + " '" + text + "': expected comma-separated non-negative token ids, e.g. 1,10,20,30");
    ids.push_back(v);
    if (q == end) break;
    p = q + 1;
  }
  return ids;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

ReferenceComparison compare_with_reference(const std::string& dir, const FunctionalOptions& opt,
                                           const FunctionalResult& run) {
  if (run.logits.size() != run.tokens.size()) throw std::logic_error("compare_with_reference: the run kept no logits");
  const ref::Model fp32 = ref::Model::load(dir);
  ref::Quantisation q;
  q.weights = num::DType(uint8_t(run.precision.weights));
  q.activations = num::DType(uint8_t(run.precision.activations));
  q.kv = num::DType(uint8_t(run.precision.kv));
  const ref::Model quant = fp32.quantised(q);
  ref::GenerateOptions go;
  go.steps = run.tokens.size();
  go.forced = opt.forced.empty() ? run.tokens : opt.forced;
  const ref::Generation a = ref::generate(fp32, opt.prompt, go), b = ref::generate(quant, opt.prompt, go);
  ReferenceComparison c;
  c.steps = go.steps;
  double sa = 0, sb = 0;
  for (uint64_t s = 0; s < c.steps; ++s) {
    const double ca = cosine(run.logits[s], a.logits[s]), cb = cosine(run.logits[s], b.logits[s]);
    c.min_cosine = std::min(c.min_cosine, ca);
    c.min_cosine_quantised = std::min(c.min_cosine_quantised, cb);
    sa += ca;
    sb += cb;
    if (uint64_t(run.tokens[s]) == ref::argmax(a.logits[s])) ++c.greedy_equal;
  }
  c.mean_cosine = sa / double(c.steps);
  c.mean_cosine_quantised = sb / double(c.steps);
  return c;
}


}  // namespace tessera::driver
