// compile(): front end, passes, back end, data; and the small public helpers.
#include "compiler/compiler.h"

#include <algorithm>
#include <filesystem>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/codegen.h"
#include "compiler/emitter.h"
#include "compiler/embedded_models.h"
#include "compiler/passes/passes.h"
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

Precision parse_precision(const std::string& text, const config::ArchConfig&) {
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
    p.weights = p.activations = isa::DType::int8;
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
  if (model.find('/') != std::string::npos || std::filesystem::exists(model)) return hf::load_model_config(model);
  for (const EmbeddedModel& m : embedded_models())
    if (m.name == model) return hf::parse_model_config(m.json, "configs/models/" + model + "/config.json");
  std::string names;
  for (const std::string& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  throw InputError("--model '" + model + "': not a directory with config.json and not a known model (known: " + names +
                   ")");
}

Compiled compile(const hf::ModelConfig& model, const config::ArchConfig& arch, const CompileOptions& opt) {
  const Hw hw = hw_of(arch);
  // The emitter keeps at most two windows of CoreStream::kTokenWindow + 1 tokens in flight
  // between a pair of units (emitter.cpp).
  if (hw.token_depth < 2 * (uint64_t(CoreStream::kTokenWindow) + 1))
    throw InputError(arch.name + ": core.token_depth " + std::to_string(hw.token_depth) + " is below " +
                     std::to_string(2 * (CoreStream::kTokenWindow + 1)) +
                     ", the dependency tokens the compiler's schedules keep in flight between two units");
  Precision prec;
  if (opt.precision) {
    prec = *opt.precision;
  } else if (hw.supports(isa::DType::fp8_e4m3)) {
    prec.weights = prec.activations = prec.kv = isa::DType::fp8_e4m3;
  }
  const Parallelism par = choose_parallelism(model, hw, opt, prec);
  CompileOptions o = opt;
  o.batch = par.batch;
  if (!o.tokens.empty() && o.tokens.size() != o.batch)
    throw InputError("tokens given for " + std::to_string(o.tokens.size()) + " sequences, the step has " +
                     std::to_string(o.batch) + " per replica");
  Graph g = build_graph(model, arch, o);
  g.tp = par.tp;
  g.replicas = par.replicas;
  for (const auto& row : o.tokens) {
    if (row.size() != g.tokens)
      throw InputError("tokens: " + std::to_string(row.size()) + " ids given for a step of " +
                       std::to_string(g.tokens) + " tokens per sequence");
    for (int64_t id : row)
      if (id < 0 || uint64_t(id) >= model.vocab_size)
        throw InputError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                         std::to_string(model.vocab_size) + ") of " + model.source);
  }
  run_precision(g, hw, prec);
  run_partition(g, hw, o);
  run_fusion(g);
  run_tiling(g, hw);
  run_placement(g, hw);

  Compiled out;
  out.tp = par.tp;
  out.replicas = par.replicas;
  out.chips_used = par.chips;
  out.batch_per_replica = par.batch;
  out.precision = prec;
  for (const Tensor& t : g.tensors) {
    const uint64_t copies = t.per_layer ? model.num_layers : 1;
    if (t.kind == TensorKind::Weight || t.kind == TensorKind::Scale || t.kind == TensorKind::Bias)
      out.weight_bytes_per_chip += t.bytes * copies;
  }
  out.kv_bytes_per_chip = g.tensor("layer.k_cache").bytes * model.num_layers;

  Codegen cg(g, hw, o, out);
  out.program.arch_name = arch.name;
  out.program.arch_fingerprint = config::fingerprint(arch);
  out.program.text = cg.run();
  if (opt.stop_after_phase) {
    for (isa::TextSection& t : out.program.text) {
      for (size_t i = 0; i < t.code.size(); ++i) {
        if (t.code[i].op == isa::Opcode::barrier && t.code[i].id == opt.stop_after_phase) {
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
  for (const Op& op : g.ops) {
    const Segment::Kind k = opt.segment.kind;
    const bool in = k == Segment::Whole || (k == Segment::Layer && op.per_layer) || (k == Segment::Head && !op.per_layer);
    const uint64_t copies = k == Segment::Whole && op.per_layer ? model.num_layers : 1;
    if (in) out.macs_per_replica += op.macs * copies * g.tp;
  }
  // Useful MACs and the minimum HBM traffic of the segment (for the runner's roofline).
  {
    const Segment::Kind k = opt.segment.kind;
    const uint64_t layers = k == Segment::Whole ? model.num_layers : 1;
    std::vector<char> counted(g.tensors.size(), 0);
    auto bytes_once = [&](int ti) -> uint64_t {
      if (ti < 0 || counted[size_t(ti)]) return 0;
      counted[size_t(ti)] = 1;
      const Tensor& t = g.tensors[size_t(ti)];
      if (t.kind != TensorKind::Weight && t.kind != TensorKind::Bias && t.kind != TensorKind::Scale) return 0;
      return t.bytes;
    };
    const uint64_t hd = model.head_dim, kv_es = num::dtype_bytes(num::DType(prec.kv));
    // Keys a query at position p sees, summed over this step's queries of one sequence.
    auto keys = [&]() {
      uint64_t sum = 0;
      for (uint64_t t = 0; t < g.tokens; ++t) {
        const uint64_t seen = g.position + t + 1;
        sum += model.sliding_window ? std::min<uint64_t>(seen, *model.sliding_window) : seen;
      }
      return sum;
    }();
    const uint64_t kv_seen = model.sliding_window ? std::min<uint64_t>(g.position + g.tokens, *model.sliding_window)
                                                  : g.position + g.tokens;
    for (const Op& op : g.ops) {
      const bool in = k == Segment::Whole || (k == Segment::Layer && op.per_layer) ||
                      (k == Segment::Head && !op.per_layer && op.kind != OpKind::Embed) ||
                      (k == Segment::Embed && op.kind == OpKind::Embed);
      if (!in) continue;
      const uint64_t copies = op.per_layer ? layers : 1;
      uint64_t macs = 0, bytes = 0;
      if (op.kind == OpKind::Linear) {
        macs = op.macs;
        if (model.is_moe() && op.name.find("expert") != std::string::npos)
          macs = macs * model.experts_per_token / model.num_experts;
        bytes = bytes_once(op.weight) + bytes_once(op.bias) + bytes_once(op.scale);
      } else if (op.kind == OpKind::Attention) {
        macs = 2 * g.batch * g.heads * hd * keys;
        // Reads every cached key and value once; the step's own are written once.
        bytes = g.batch * g.kv_heads * 2 * hd * kv_es * (kv_seen - std::min(kv_seen, g.tokens) + 2 * g.tokens);
      } else if (op.kind == OpKind::Embed) {
        for (int ti : op.inputs)
          if (g.tensors[size_t(ti)].kind == TensorKind::Weight)
            bytes += g.rows() * g.tensors[size_t(ti)].bytes / std::max<uint64_t>(1, g.tensors[size_t(ti)].shape[0]);
      } else {
        for (int ti : op.inputs) bytes += bytes_once(ti);
      }
      out.useful_macs_per_replica += macs * copies * g.tp;
      out.min_hbm_bytes_per_chip += bytes * copies;
    }
  }
  if (!opt.weights_dir.empty()) out.program.data = pack_data(g, hw, opt.weights_dir);
  for (const isa::DataSection& d : opt.carried_data) out.program.data.push_back(d);
  isa::validate(out.program, arch);

  // Results and the state a functional runner carries from step to step.
  const Tensor& lg = g.tensor("logits");
  const Tensor& top = g.tensor("top1");
  for (uint32_t chip = 0; chip < g.tp; ++chip) {
    ResultLocation r;
    r.chip = chip;
    r.space = lg.tier;
    r.addr = lg.addr;
    r.rows = lg.shape[0];
    r.cols = lg.shape[1];
    r.row_stride = lg.shape[1] * 4;
    r.vocab_offset = uint64_t(chip) * g.vocab;
    r.top1_addr = top.addr;
    r.top1_stride = top.shape[1] * 4;
    out.results.push_back(r);
  }
  const Tensor& kc = g.tensor("layer.k_cache");
  for (uint32_t chip = 0; chip < g.tp; ++chip)
    for (uint64_t l = 0; l < model.num_layers; ++l) {
      MemoryRegion r;
      r.chip = chip;
      r.space = isa::Space::hbm;
      r.addr = kc.addr + l * g.layer_stride;
      r.bytes = kc.bytes;
      r.what = "KV cache pages, layer " + std::to_string(l);
      r.live = "whole request";
      out.persistent.push_back(r);
    }
  // Memory map: every tensor of one chip, then the per-phase L1 scratch recorded by the kernels.
  std::vector<MemoryRegion> tensors;
  for (const Tensor& t : g.tensors) {
    MemoryRegion r;
    r.space = t.tier;
    r.addr = t.addr;
    r.bytes = t.bytes;
    r.what = t.name + " " + std::string(num::dtype_name(num::DType(t.dtype))) + shape_text(t.shape) +
             (t.per_layer ? " (layer 0; layer l at +l x " + std::to_string(g.layer_stride) + ")" : "");
    if (t.kind == TensorKind::Weight || t.kind == TensorKind::Bias || t.kind == TensorKind::Scale ||
        t.kind == TensorKind::Constant) {
      r.live = "whole run (resident)";
    } else if (t.kind == TensorKind::KVCache) {
      r.live = "whole request (pages)";
    } else {
      r.live = "ops " + std::to_string(t.first_op) + ".." + std::to_string(t.last_op) + " (" +
               g.ops[size_t(t.first_op)].name + " .. " + g.ops[size_t(t.last_op)].name + ")";
    }
    tensors.push_back(r);
  }
  MemoryRegion ring;
  ring.core = 0;
  ring.space = isa::Space::l1;
  ring.addr = 0;
  ring.bytes = g.ring_slot * g.ring_slots;
  ring.what = "weight ring: " + std::to_string(g.ring_slots) + " slots x " + std::to_string(g.ring_slot) + " B";
  ring.live = "whole run";
  tensors.push_back(ring);
  out.memory.insert(out.memory.begin(), tensors.begin(), tensors.end());
  out.ir_text = dump(g);
  return out;
}

}  // namespace tessera::compiler
