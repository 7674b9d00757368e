// compile(): front end, passes, back end, data; and the small public helpers.
#include "compiler/compiler.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/codegen.h"
#include "compiler/emitter.h"
#include "compiler/embedded_models.h"
#include "compiler/memmap.h"
#include "compiler/passes/passes.h"
#include "compiler/roofline.h"
#include "compiler/weights.h"

namespace tessera::compiler {

std::string_view phase_name(Phase p) { return p == Phase::Prefill ? "prefill" : "decode"; }

std::string precision_name(const Precision& p) {
  return "w=" + std::string(num::dtype_name(num::DType(p.weights))) +
         ",a=" + std::string(num::dtype_name(num::DType(p.activations))) +
         ",kv=" + std::string(num::dtype_name(num::DType(p.kv)));
}

namespace {

isa::DType parse_format(const std::string& s, const std::string& whole) {
  std::string t = s == "fp8" ? "fp8_e4m3" : s;
  const std::optional<num::DType> d = num::parse_dtype(t);
  if (!d || (*d != num::DType::BF16 && *d != num::DType::FP8_E4M3 && *d != num::DType::FP8_E5M2 &&
             *d != num::DType::INT8))
    throw InputError("--precision '" + whole + "': '" + s + "' is not a format (expected bf16, fp8, fp8_e4m3, fp8_e5m2, int8)");
  return isa::DType(uint8_t(*d));
}

}  // namespace

Precision parse_precision(const std::string& text, const config::ArchConfig& arch) {
  Precision p;
  if (text == "bf16") return p;
  if (text == "fp8") {
    p.weights = p.activations = p.kv = isa::DType::fp8_e4m3;
    return p;
  }
  if (text == "fp8w") {
    p.weights = isa::DType::fp8_e4m3;
    return p;
  }
  if (text == "int8") {
    // The KV cache (and attention) in BF16 where the array has it, else INT8 too.
    p.weights = p.activations = isa::DType::int8;
    if (!hw_of(arch).supports(isa::DType::bf16)) p.kv = isa::DType::int8;
    return p;
  }
  // w=..,a=..,kv=..
  size_t start = 0;
  bool any = false;
  while (start < text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw InputError("--precision '" + text + "': expected bf16, fp8, fp8w, int8 or w=F,a=F,kv=F");
    const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "w") {
      p.weights = parse_format(val, text);
    } else if (key == "a") {
      p.activations = parse_format(val, text);
    } else if (key == "kv") {
      p.kv = parse_format(val, text);
    } else {
      throw InputError("--precision '" + text + "': unknown key '" + key + "' (expected w, a, kv)");
    }
    any = true;
    start = end + 1;
  }
  if (!any) throw InputError("--precision: empty");
  return p;
}

std::vector<std::string> model_names() {
  std::vector<std::string> v;
  for (const EmbeddedModel& m : embedded_models()) v.emplace_back(m.name);
  std::sort(v.begin(), v.end());
  return v;
}

hf::ModelConfig load_model(const std::string& model) {
  // The non-throwing form: a name the file system refuses outright (longer than NAME_MAX) threw
  // std::filesystem::filesystem_error instead of naming the known models (found by fuzz_sweep_spec).
  std::error_code ec;
  if (model.find('/') != std::string::npos || std::filesystem::exists(model, ec)) return hf::load_model_config(model);
  for (const EmbeddedModel& m : embedded_models())
    if (m.name == model) return hf::parse_model_config(m.json, "configs/models/" + model + "/config.json");
  std::string names;
  for (const std::string& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  throw InputError("--model '" + model + "': not a directory with config.json and not a known model (known: " + names +
                   ")");
}

namespace {

Precision precision_of(const Hw& hw, const CompileOptions& opt) {
  Precision prec;
  if (opt.precision) {
    prec = *opt.precision;
  } else if (hw.supports(isa::DType::fp8_e4m3)) {
    prec.weights = prec.activations = prec.kv = isa::DType::fp8_e4m3;
  }
  return prec;
}

void check_token_rows(const CompileOptions& o) {
  if (!o.tokens.empty() && o.tokens.size() != o.batch)
    throw InputError("tokens given for " + std::to_string(o.tokens.size()) + " sequences, the step has " +
                     std::to_string(o.batch) + " per replica");
}

void check_token_ids(const Graph& g, const CompileOptions& o) {
  for (const auto& row : o.tokens) {
    if (row.size() != g.tokens)
      throw InputError("tokens: " + std::to_string(row.size()) + " ids given for a step of " +
                       std::to_string(g.tokens) + " tokens per sequence");
    for (int64_t id : row)
      if (id < 0 || uint64_t(id) >= g.model.vocab_size)
        throw InputError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                         std::to_string(g.model.vocab_size) + ") of " + g.model.source);
  }
}

// Tests: every core halts after the barrier that closes phase `phase`.
void stop_after_phase(std::vector<isa::TextSection>& text, uint32_t phase) {
  for (isa::TextSection& t : text) {
    for (size_t i = 0; i < t.code.size(); ++i) {
      if (t.code[i].op == isa::Opcode::barrier && t.code[i].id == phase) {
        t.code.resize(i + 1);
        isa::Instr h;
        h.op = isa::Opcode::halt;
        h.unit = uint8_t(isa::Unit::seq);
        t.code.push_back(h);
        break;
      }
    }
  }
}

// The logits and top-1 of every chip's vocabulary slice (the last pipeline stage's chips).
std::vector<ResultLocation> result_locations(const Graph& g, const CompileOptions& o) {
  const Tensor& lg = g.tensor("logits");
  const Tensor& top = g.tensor("top1");
  const uint32_t base = o.segment.kind == Segment::Whole ? (g.pp - 1) * g.tp : 0;
  std::vector<ResultLocation> out;
  for (uint32_t chip = 0; chip < g.tp; ++chip) {
    ResultLocation r;
    r.chip = base + chip;
    r.space = lg.tier;
    r.addr = lg.addr;
    r.rows = lg.shape[0];
    r.cols = lg.shape[1];
    r.row_stride = lg.shape[1] * 4;
    r.vocab_offset = uint64_t(chip) * g.vocab;
    r.top1_addr = top.addr;
    r.top1_stride = top.shape[1] * 4;
    out.push_back(r);
  }
  return out;
}

}  // namespace

const std::vector<PassInfo>& passes() {
  static const std::vector<PassInfo> list = {
      {"precision", "element type of every tensor; per-channel scales of FP8/INT8 weights",
       [](Graph& g, const PassContext& c) { run_precision(g, c.hw, c.precision); }},
      {"partition", "per-chip shapes of the tensor-parallel group",
       [](Graph& g, const PassContext& c) { run_partition(g, c.hw, c.opt); }},
      {"fusion", "ops merged into the kernels of the back end; all-reduces after row-parallel matmuls",
       [](Graph& g, const PassContext&) { run_fusion(g); }},
      {"tiling", "tiles, core grid and engine split of every matmul; the weight ring",
       [](Graph& g, const PassContext& c) { run_tiling(g, c.hw); }},
      {"placement", "tier, address and live range of every tensor; the paged KV cache",
       [](Graph& g, const PassContext& c) { run_placement(g, c.hw); }},
  };
  return list;
}

Graph build_step_graph(const hf::ModelConfig& model, const config::ArchConfig& arch, const PassContext& c,
                       const Parallelism& par) {
  check_token_rows(c.opt);
  Graph g = build_graph(model, arch, c.opt);
  g.tp = par.tp;
  g.replicas = par.replicas;
  g.pp = par.pp;
  check_token_ids(g, c.opt);
  return g;
}

Compiled compile(const hf::ModelConfig& model, const config::ArchConfig& arch, const CompileOptions& opt) {
  const Hw hw = hw_of(arch);
  check_token_depth(hw);
  const Precision prec = precision_of(hw, opt);
  const Parallelism par = choose_parallelism(model, hw, opt, prec);
  CompileOptions o = opt;
  o.batch = par.batch;
  const PassContext ctx{hw, o, prec};
  Graph g = build_step_graph(model, arch, ctx, par);
  for (const PassInfo& p : passes()) p.run(g, ctx);

  Compiled out;
  out.tp = par.tp;
  out.replicas = par.replicas;
  out.chips_used = par.chips;
  out.batch_per_replica = par.batch;
  out.pp = par.pp;
  out.stage_layers = g.layers_on_chip();
  // With any padding of its rows (and the rows in L2 of a split x): what the stages send.
  const Tensor& x = g.tensor("x");
  out.stage_activation_bytes = footprint(x) + x.l2_rows * (x.bytes / x.shape[0]);
  out.precision = prec;
  for (const Tensor& t : g.tensors) {
    const uint64_t copies = t.per_layer ? g.layers_on_chip() : 1;
    if (t.kind == TensorKind::Weight || t.kind == TensorKind::Scale || t.kind == TensorKind::Bias)
      out.weight_bytes_per_chip += t.bytes * copies;
  }
  out.kv_bytes_per_chip = g.tensor("layer.k_cache").bytes * g.layers_on_chip();

  Codegen cg(g, hw, o, out);
  out.program.arch_name = arch.name;
  out.program.arch_fingerprint = config::fingerprint(arch);
  out.program.text = cg.run();
  if (opt.stop_after_phase) stop_after_phase(out.program.text, opt.stop_after_phase);
  const RooflineInputs roof = roofline_inputs(g, opt.segment.kind);
  out.macs_per_replica = roof.macs_per_replica;
  out.useful_macs_per_replica = roof.useful_macs_per_replica;
  out.min_hbm_bytes_per_chip = roof.min_hbm_bytes_per_chip;
  if (model.is_moe()) {
    out.experts = uint32_t(model.num_experts);
    out.moe_used_addr = cg.moe_used;
    out.routed_experts = g.routed_experts;
    // The weights a predicate saves (per-channel scales are loaded whole: the down
    // projection's belong to its output columns, shared by every expert).
    for (const Op& op : g.ops)
      if (op.name == "experts.gate_up" || op.name == "experts.down")
        out.expert_bytes_per_chip += g.tensors[size_t(op.weight)].bytes / model.num_experts;
  }
  if (!opt.weights_dir.empty()) out.program.data = pack_data(g, hw, opt.weights_dir);
  // Results and the state a functional runner carries from step to step.
  out.results = result_locations(g, o);
  out.persistent = kv_cache_regions(g);
  // The previous step's KV regions go to this program's: where HBM also holds spilled
  // activations (no L2, e.g. tpu-v1), a prefill's larger activations move the layer region.
  if (!opt.carried_data.empty() && opt.carried_data.size() != out.persistent.size())
    throw std::logic_error("compile: carried data is not the KV cache regions of the previous step");
  for (size_t i = 0; i < opt.carried_data.size(); ++i) {
    isa::DataSection d = opt.carried_data[i];
    const MemoryRegion& r = out.persistent[i];
    if (d.bytes.size() != r.bytes || d.chip != r.chip)
      throw std::logic_error("compile: carried data is not the KV cache regions of the previous step");
    d.addr = r.addr;
    out.program.data.push_back(std::move(d));
  }
  isa::validate(out.program, arch);
  // The kernels recorded their L1 scratch while generating code; the tensors go first.
  const std::vector<MemoryRegion> tensors = tensor_regions(g);
  out.memory.insert(out.memory.begin(), tensors.begin(), tensors.end());
  out.ir_text = dump(g);
  return out;
}

}  // namespace tessera::compiler
