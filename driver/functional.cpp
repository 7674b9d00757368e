#include "driver/functional.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/hf/model_config.h"
#include "common/util/error.h"
#include "driver/plan.h"
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
    model::RunOptions ro{true, model::DramModel::Burst, opt.max_cycles};
    ro.stand_in_cores = opt.stand_in_cores;
    ro.stand_in = opt.stand_in;
    auto sim = std::make_shared<model::Simulation>(arch, program, ro);
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

std::vector<std::pair<uint32_t, uint32_t>> parse_core_list(const std::string& text, const std::string& option,
                                                           const config::ArchConfig& arch) {
  std::vector<std::pair<uint32_t, uint32_t>> cores;
  const char* p = text.data();
  const char* end = p + text.size();
  auto bad = [&] {
    return InputError(option + " '" + text + "': expected comma-separated cores, each K (core K of chip 0) or C:K (core K "
                      "of chip C), e.g. 0 or 0,1 or 1:0");
  };
  while (true) {
    uint32_t a = 0, b = 0;
    auto [q, ec] = std::from_chars(p, end, a);
    if (ec != std::errc()) throw bad();
    if (q != end && *q == ':') {
      const auto [q2, ec2] = std::from_chars(q + 1, end, b);
      if (ec2 != std::errc()) throw bad();
      q = q2;
      cores.emplace_back(a, b);
    } else {
      cores.emplace_back(0, a);
    }
    if (q != end && *q != ',') throw bad();
    const auto [chip, core] = cores.back();
    if (chip >= arch.system.chips || core >= arch.chip.cores)
      throw InputError(option + " '" + text + "': chip " + std::to_string(chip) + " core " + std::to_string(core) +
                       " does not exist (" + arch.name + ": system.chips = " + std::to_string(arch.system.chips) +
                       ", chip.cores = " + std::to_string(arch.chip.cores) + ")");
    if (q == end) break;
    p = q + 1;
  }
  std::sort(cores.begin(), cores.end());
  cores.erase(std::unique(cores.begin(), cores.end()), cores.end());
  return cores;
}

void set_functional_plan(FunctionalOptions& fo, const std::string& plan_text, const config::ArchConfig& arch) {
  const Plan pl = parse_plan(plan_text);
  if (pl.dp != 1) throw InputError("--plan " + plan_text + ": a functional run generates one sequence, so dp must be 1");
  if (pl.tp * pl.pp > arch.system.chips)
    throw InputError("--plan " + plan_text + ": needs " + std::to_string(pl.tp * pl.pp) + " chips, system.chips of --arch is " +
                     std::to_string(arch.system.chips) + " (raise it with --set system.chips=N)");
  fo.tp = pl.tp;
  fo.pp = pl.pp;
}

void print_functional(const std::string& model_dir, const FunctionalOptions& fo, const FunctionalResult& r) {
  std::string line;
  for (size_t i = 0; i < r.tokens.size(); ++i) line += (i ? "," : "") + std::to_string(r.tokens[i]);
  std::printf("%s\n", line.c_str());
  // On stderr, so stdout stays the token list `tessera ref` prints.
  const ReferenceComparison cmp = compare_with_reference(model_dir, fo, r);
  std::fprintf(stderr,
               "precision %s: logits cosine to the FP32 reference min %.6f mean %.6f, to the FP32 reference "
               "quantised as the program stores values (docs/numerics.md) min %.6f mean %.6f; greedy token = FP32 "
               "reference argmax at %llu of %llu steps\n",
               compiler::precision_name(r.precision).c_str(), cmp.min_cosine, cmp.mean_cosine, cmp.min_cosine_quantised,
               cmp.mean_cosine_quantised, (unsigned long long)cmp.greedy_equal, (unsigned long long)cmp.steps);
  std::fprintf(stderr, "%llu cycles, %llu instructions over %llu step programs\n", (unsigned long long)r.cycles,
               (unsigned long long)r.instructions, (unsigned long long)fo.steps);
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
