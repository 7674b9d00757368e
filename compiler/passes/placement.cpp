// Placement: a tier, an address and a live range for every tensor of one chip.
//   - Weights (packed in the tile order the matmuls stream them, weights.h), biases,
//     scales and norm gains live in HBM, one region per layer; the layer regions are
//     aligned to the DRAM address-map period, so every layer's accesses hit the same
//     channels, bank groups and banks and differ only in the row (which is why one
//     simulated layer stands for all of them).
//   - The KV cache lives in HBM in pages of matrix.cols tokens (one K^T page is one
//     weight-stationary B tile): a pool per layer, pages of the sequences interleaved.
//   - Activations live in L2 when they fit: first-fit over their live ranges (op index
//     intervals; the residual stream x lives throughout), smallest first; the rest in HBM.
//   - Per-core L1 and accumulator space is allocated by the code generator per phase.
#include <algorithm>
#include <cstdio>
#include <map>

#include "common/config/derived.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "common/util/units.h"
#include "compiler/layout.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

uint64_t align_up(uint64_t a, uint64_t b) { return (a + b - 1) / b * b; }
uint64_t es(isa::DType t) { return num::dtype_bytes(num::DType(t)); }
std::string hex(uint64_t a) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)a);
  return b;
}

// Bytes of the DRAM address-map period (every field below the row).
uint64_t dram_period(const Hw& hw) {
  const config::ArchConfig& c = *hw.cfg;
  return uint64_t(c.dram.row_bytes) * uint64_t(c.dram.stacks) * uint64_t(c.dram.channels) *
         uint64_t(c.dram.pseudo_channels) * uint64_t(c.dram.bank_groups) * uint64_t(c.dram.banks_per_group);
}

// Row pitch of the residual stream x in HBM. The residual epilogues of o and down move one
// column group (1 KiB on Llama-3-70B) of many consecutive rows; with rows a multiple of the
// address map's sweep over the pseudo-channels apart, those slices fall in a few of them
// (Llama-3-70B: 32 KiB rows, 6 of sohu-like's 192 pseudo-channels) and a core moved them at
// about 340 B/cycle. The smallest padding, in steps of 64 B up to 16 KiB, that spreads the
// same byte of 256 consecutive rows over the most pseudo-channels.
uint64_t x_pitch(const Hw& hw, uint64_t row_bytes) {
  const config::ArchConfig& c = *hw.cfg;
  std::vector<config::AddressPiece> pieces;
  std::string why;
  if (!config::parse_address_map(c, pieces, why)) return row_bytes;
  const uint64_t burst = uint64_t(config::dram_burst_bytes(c));
  auto channel = [&](uint64_t addr) {
    const auto f = config::decode_address(pieces, burst, addr);  // ro ba bg ch pc st co
    return (f[5] * uint64_t(c.dram.channels) + f[3]) * uint64_t(c.dram.pseudo_channels) + f[4];
  };
  const uint64_t rows = 256, step = 64;
  const uint64_t all = uint64_t(c.dram.stacks) * uint64_t(c.dram.channels) * uint64_t(c.dram.pseudo_channels);
  uint64_t best = row_bytes, best_n = 0;
  for (uint64_t pitch = align_up(row_bytes, step); pitch <= row_bytes + 16384; pitch += step) {
    std::vector<char> hit(all, 0);
    uint64_t n = 0;
    for (uint64_t r = 0; r < rows; ++r) {
      const uint64_t ch = channel(r * pitch);
      if (ch < all && !hit[ch]) hit[ch] = 1, ++n;
    }
    if (n > best_n) best = pitch, best_n = n;
    if (n == std::min(all, rows)) break;
  }
  return best;
}

}  // namespace

void run_placement(Graph& g, const Hw& hw) {
  const hf::ModelConfig& m = g.model;
  if (g.tokens > 1 && g.find_tensor("identity") < 0) {
    Tensor id;
    id.name = "identity";
    id.kind = TensorKind::Constant;
    id.shape = {hw.C, hw.C};
    id.dtype = g.precision.kv;
    id.note = "B operand of the K -> K^T transposes (output-stationary matmul by I)";
    g.add_tensor(std::move(id));
  }
  for (Tensor& t : g.tensors) {
    uint64_t n = 1;
    for (uint64_t d : t.shape) n *= d;
    t.bytes = n * es(t.dtype);
  }
  for (const Op& op : g.ops)  // packed weights include the groups' skew padding
    if (op.kind == OpKind::Linear && !op.plan.chunk_offset.empty())
      g.tensors[size_t(op.weight)].bytes = op.plan.chunk_offset.back();
  // Live ranges.
  for (Tensor& t : g.tensors) t.first_op = t.last_op = -1;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    auto touch = [&](int ti) {
      if (ti < 0) return;
      Tensor& t = g.tensors[size_t(ti)];
      if (t.first_op < 0) t.first_op = int(i);
      t.last_op = int(i);
    };
    for (int ti : op.inputs) touch(ti);
    for (int ti : op.outputs) touch(ti);
    for (int ti : {op.weight, op.bias, op.scale, op.row_scale}) touch(ti);
  }
  // The residual stream crosses every layer; layer activations are reused by every layer.
  for (Tensor& t : g.tensors) {
    if (t.name == "x") {
      t.first_op = 0;
      t.last_op = int(g.ops.size()) - 1;
    }
  }

  // KV pages: one page = matrix.cols tokens of one (sequence, KV head): K^T [hd x P], V [P x hd].
  g.page_tokens = hw.C;
  g.pages_per_seq = (g.max_context + g.page_tokens - 1) / g.page_tokens;
  g.page_bytes = 2 * m.head_dim * g.page_tokens * es(g.precision.kv);
  // INT8 K and V: one FP32 scale per token for each, after V in the page.
  if (g.precision.kv == isa::DType::int8) g.page_bytes += 2 * g.page_tokens * 4;
  const uint64_t pool = g.page_bytes * g.pages_per_seq * g.batch * g.kv_heads;
  // Split-K decode attention: the units' partial outputs, live during the attention op.
  if (const uint64_t split = decode_attention_splits(g, hw); split > 1 && g.find_tensor("attn.partial") < 0) {
    const uint64_t G = g.heads / g.kv_heads;
    Tensor p;
    p.name = "attn.partial";
    p.kind = TensorKind::Activation;
    p.per_layer = true;
    p.shape = {g.batch * g.kv_heads * split, G * m.head_dim + 2 * G};
    p.dtype = isa::DType::fp32;
    p.bytes = p.shape[0] * p.shape[1] * 4;
    p.note = std::to_string(split) + " partial outputs (O, row max, row sum) per (sequence, KV head): split-K decode";
    for (size_t i = 0; i < g.ops.size(); ++i)
      if (g.ops[i].kind == OpKind::Attention) p.first_op = p.last_op = int(i);
    g.add_tensor(std::move(p));
  }

  // HBM: globals, then spilled activations, then the layers.
  uint64_t hbm = 0;
  // Matmul weights start on a DRAM bank-group window, so their groups' skews (layout.h)
  // are the pseudo-channels they name.
  const uint64_t window = hw.dram_bg_window ? hw.dram_bg_window : 4096;
  auto matmul_weight = [&](const Tensor& t) { return t.kind == TensorKind::Weight && t.shape.size() == 2 && t.name != "embed.w" && t.name != "pos_embed.w"; };
  auto place_hbm = [&](Tensor& t) {
    t.tier = isa::Space::hbm;
    if (matmul_weight(t)) hbm = align_up(hbm, window);
    t.addr = hbm;
    hbm = align_up(hbm + footprint(t), 4096);
  };
  for (Tensor& t : g.tensors) {
    if (t.per_layer) continue;
    if (t.kind == TensorKind::Weight || t.kind == TensorKind::Bias || t.kind == TensorKind::Scale ||
        t.kind == TensorKind::Constant)
      place_hbm(t);
  }
  // Activations: L2 first fit by live range, smallest first.
  std::vector<int> acts;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const Tensor& t = g.tensors[i];
    if (t.kind == TensorKind::Activation || t.kind == TensorKind::Logits) acts.push_back(int(i));
  }
  std::stable_sort(acts.begin(), acts.end(),
                   [&](int a, int b) { return g.tensors[size_t(a)].bytes < g.tensors[size_t(b)].bytes; });
  struct Placed {
    uint64_t lo, hi;
    int first, last;
  };
  std::vector<Placed> l2;
  std::vector<int> spilled;
  g.l2_used = 0;
  for (int ti : acts) {
    Tensor& t = g.tensors[size_t(ti)];
    const uint64_t need = align_up(t.bytes, 256);
    bool done = false;
    if (hw.l2_bytes) {
      // Candidate addresses: 0 and the end of every placed block whose live range overlaps.
      std::vector<uint64_t> cands = {0};
      for (const Placed& p : l2) cands.push_back(p.hi);
      std::sort(cands.begin(), cands.end());
      for (uint64_t a : cands) {
        if (a + need > hw.l2_bytes) break;
        bool clash = false;
        for (const Placed& p : l2) {
          const bool time = !(p.last < t.first_op || t.last_op < p.first);
          const bool space = a < p.hi && p.lo < a + need;
          if (time && space) {
            clash = true;
            break;
          }
        }
        if (!clash) {
          t.tier = isa::Space::l2;
          t.addr = a;
          l2.push_back({a, a + need, t.first_op, t.last_op});
          g.l2_used = std::max(g.l2_used, a + need);
          done = true;
          break;
        }
      }
    }
    if (!done) spilled.push_back(ti);
  }
  // Spilled activations, in HBM in the order above; x's rows in L2 (below) only once the
  // others have their L2 blocks.
  for (int ti : spilled) {
    Tensor& t = g.tensors[size_t(ti)];
    if (t.name == "x" && t.shape.size() == 2) {
      const uint64_t row = t.bytes / t.shape[0];
      // The residual stream crosses every layer, so it spills whole when any op's other
      // activations leave L2 too little room, though most ops leave room for most of it
      // (Llama-3-70B prefill at 2,048 rows: x 64 MiB, the others at most 80 MiB of 128).
      // Its last rows then live in the largest block of L2 free over its live range and
      // only the rows before them in HBM: the norms and the residual epilogues are bound by
      // HBM when x is, and the last pass of down (the last rows) ended on them. Only on one
      // chip without pipeline stages: the all-reduce and the stage handover address x as
      // one region.
      if (hw.l2_bytes && g.tp == 1 && g.pp == 1 && t.shape[0] > 1) {
        uint64_t best_a = 0, best_rows = 0;
        std::vector<uint64_t> cands = {0};
        for (const Placed& p : l2) cands.push_back(align_up(p.hi, 256));
        for (uint64_t a : cands) {
          uint64_t end = hw.l2_bytes;
          bool inside = false;
          for (const Placed& p : l2) {
            if (p.last < t.first_op || t.last_op < p.first) continue;
            if (p.lo <= a && a < p.hi) inside = true;
            if (p.lo >= a) end = std::min(end, p.lo);
          }
          if (inside || end <= a) continue;
          const uint64_t rows = std::min<uint64_t>((end - a) / row, t.shape[0] - 1);
          if (rows > best_rows) best_a = a, best_rows = rows;
        }
        if (best_rows) {
          t.l2_rows = best_rows;
          t.l2_addr = best_a;
          const uint64_t hi = best_a + align_up(best_rows * row, 256);
          l2.push_back({best_a, hi, t.first_op, t.last_op});
          g.l2_used = std::max(g.l2_used, hi);
        }
      }
      const uint64_t pitch = x_pitch(hw, row);
      t.pitch = pitch == row ? 0 : pitch;
    }
  }
  for (int ti : spilled) {
    Tensor& t = g.tensors[size_t(ti)];
    place_hbm(t);
    if (t.note.empty())
      t.note = t.l2_rows ? "last " + std::to_string(t.l2_rows) + " rows in L2 at " + hex(t.l2_addr) +
                               ": L2 too full over its live range for all of them"
                         : "spilled: L2 full over its live range";
  }
  // Vector operands reach the first 4 GiB; kernels only touch HBM by DMA, so no limit here.
  // Layers: each region aligned to the DRAM address-map period.
  const uint64_t period = dram_period(hw);
  hbm = align_up(hbm, period);
  const uint64_t layer_base = hbm;
  uint64_t off = 0;
  for (Tensor& t : g.tensors) {
    if (!t.per_layer) continue;
    if (t.kind == TensorKind::KVCache || t.kind == TensorKind::Activation || t.kind == TensorKind::Logits) continue;
    t.tier = isa::Space::hbm;
    if (matmul_weight(t)) off = align_up(off, window);
    t.addr = layer_base + off;
    off = align_up(off + t.bytes, 4096);
  }
  off = align_up(off, 65536);
  for (const char* n : {"layer.k_cache", "layer.v_cache"}) {
    Tensor& t = g.tensor(n);
    t.tier = isa::Space::hbm;
    t.addr = layer_base + off;  // both name the same page pool
    t.bytes = pool;
    t.note = std::to_string(g.pages_per_seq) + " pages of " + std::to_string(g.page_tokens) +
             " tokens per (sequence, KV head); page = K^T [" + std::to_string(m.head_dim) + "x" +
             std::to_string(g.page_tokens) + "] + V [" + std::to_string(g.page_tokens) + "x" +
             std::to_string(m.head_dim) + "], " + std::to_string(g.page_bytes) + " B; K and V share the pool";
  }
  off += pool;
  g.layer_stride = align_up(off, period);
  g.hbm_used = layer_base + g.layer_stride * g.layers_on_chip();
  if (g.hbm_used > hw.hbm_bytes)
    throw InputError("placement: " + bytes_text(g.hbm_used) + " of HBM needed per chip (weights, KV cache for " +
                     std::to_string(g.batch) + " x " + std::to_string(g.max_context) +
                     " tokens, activations) exceed the " + bytes_text(hw.hbm_bytes) + " of " + hw.name);
  g.passes_run.push_back("placement");
}

}  // namespace tessera::compiler
