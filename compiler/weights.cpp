#include "compiler/weights.h"

#include <cmath>
#include <cstring>
#include <map>

#include "common/hf/model_tensors.h"
#include "common/hf/rope.h"
#include "common/hf/safetensors.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/layout.h"
#include "compiler/schedule.h"

namespace tessera::compiler {

namespace {

using Matrix = std::vector<float>;  // row-major [K][N]

struct Mat {
  uint64_t K = 0, N = 0;
  Matrix v;
  float& at(uint64_t k, uint64_t n) { return v[k * N + n]; }
  float at(uint64_t k, uint64_t n) const { return v[k * N + n]; }
};

// Reads checkpoint tensors by their Hugging Face names (common/hf/model_tensors.h).
class Checkpoint {
 public:
  Checkpoint(const hf::ModelConfig& m, const std::string& dir) : m_(m), store_(hf::TensorStore::open_dir(dir)) {
    // As the reference does: a checkpoint with a tensor the config does not have (weights for
    // more layers than num_hidden_layers) is refused, not silently ignored.
    hf::check_checkpoint(m, store_);
    for (const hf::TensorSpec& s : hf::model_tensors(m)) shapes_[s.name] = s.shape;
  }
  std::vector<float> read(const std::string& name) const {
    auto it = shapes_.find(name);
    if (it == shapes_.end()) throw InputError("weights: the model has no tensor '" + name + "'");
    return store_.read(hf::stored_name(m_, store_, name), it->second);
  }
  // nn.Linear weight [out, in] as [in, out]; GPT-2 Conv1D is stored [in, out] already.
  Mat linear(const std::string& name, bool conv1d) const {
    const std::vector<float> w = read(name);
    const hf::Shape& sh = shapes_.at(name);
    Mat m;
    if (conv1d) {
      m.K = sh[0];
      m.N = sh[1];
      m.v = w;
    } else {
      m.K = sh[1];
      m.N = sh[0];
      m.v.resize(m.K * m.N);
      for (uint64_t o = 0; o < m.N; ++o)
        for (uint64_t i = 0; i < m.K; ++i) m.v[i * m.N + o] = w[o * m.K + i];
    }
    return m;
  }

 private:
  const hf::ModelConfig& m_;
  hf::TensorStore store_;
  std::map<std::string, hf::Shape> shapes_;
};

// Columns [c0, c0 + n) of a matrix.
Mat cols(const Mat& a, uint64_t c0, uint64_t n) {
  Mat m{a.K, n, Matrix(a.K * n)};
  for (uint64_t k = 0; k < a.K; ++k)
    for (uint64_t j = 0; j < n; ++j) m.at(k, j) = a.at(k, c0 + j);
  return m;
}
Mat rows(const Mat& a, uint64_t r0, uint64_t n) {
  Mat m{n, a.N, Matrix(a.v.begin() + int64_t(r0 * a.N), a.v.begin() + int64_t((r0 + n) * a.N))};
  return m;
}
Mat hcat(const std::vector<Mat>& parts) {
  Mat m{parts.at(0).K, 0, {}};
  for (const Mat& p : parts) m.N += p.N;
  m.v.resize(m.K * m.N);
  uint64_t c = 0;
  for (const Mat& p : parts) {
    for (uint64_t k = 0; k < m.K; ++k)
      for (uint64_t j = 0; j < p.N; ++j) m.at(k, c + j) = p.at(k, j);
    c += p.N;
  }
  return m;
}
Mat vcat(const std::vector<Mat>& parts) {
  Mat m{0, parts.at(0).N, {}};
  for (const Mat& p : parts) {
    m.K += p.K;
    m.v.insert(m.v.end(), p.v.begin(), p.v.end());
  }
  return m;
}
std::vector<float> slice(const std::vector<float>& v, uint64_t a, uint64_t n) {
  return std::vector<float>(v.begin() + int64_t(a), v.begin() + int64_t(a + n));
}

void put_f32(std::vector<uint8_t>& out, float f) {
  uint8_t b[4];
  std::memcpy(b, &f, 4);
  out.insert(out.end(), b, b + 4);
}

void put_elem(std::vector<uint8_t>& out, isa::DType t, float v) {
  const uint32_t bits = num::encode(num::DType(t), v, num::Overflow::Saturate);
  for (unsigned i = 0; i < num::dtype_bytes(num::DType(t)); ++i) out.push_back(uint8_t(bits >> (8 * i)));
}

float max_finite(isa::DType t) {
  switch (t) {
    case isa::DType::fp8_e4m3: return 448.0f;
    case isa::DType::fp8_e5m2: return 57344.0f;
    case isa::DType::int8: return 127.0f;
    default: return 1.0f;
  }
}

struct Packer {
  const Graph& g;
  const Hw& hw;
  uint32_t chip;
  std::vector<isa::DataSection>& out;

  void section(uint64_t addr, std::vector<uint8_t> bytes) {
    if (bytes.empty()) return;
    isa::DataSection d;
    d.chip = chip;
    d.space = isa::Space::hbm;
    d.addr = addr;
    d.bytes = std::move(bytes);
    out.push_back(std::move(d));
  }
  // A chip holds its pipeline stage's layers, layer l at its index within the stage.
  uint64_t base(const Tensor& t, uint64_t layer) const {
    return t.addr + (t.per_layer ? g.local_layer(layer) * g.layer_stride : 0);
  }

  void vec_f32(const std::string& name, uint64_t layer, const std::vector<float>& v) {
    std::vector<uint8_t> b;
    for (float f : v) put_f32(b, f);
    section(base(g.tensors[size_t(g.find_tensor(name))], layer), std::move(b));
  }

  // The chip's [K, N] matrix (columns as fusion concatenated them), bias and scales, packed.
  void linear(const Op& op, uint64_t layer, const Mat& w, const std::vector<float>& bias) {
    const MatmulPlan& p = op.plan;
    const Tensor& wt = g.tensors[size_t(op.weight)];
    const isa::DType dt = wt.dtype;
    const bool scaled = op.scale >= 0;
    std::vector<float> scale(w.N, 1.0f);
    if (scaled) {
      for (uint64_t n = 0; n < w.N; ++n) {
        float mx = 0.0f;
        for (uint64_t k = 0; k < w.K; ++k) mx = std::max(mx, std::fabs(w.at(k, n)));
        scale[n] = mx > 0.0f ? mx / max_finite(dt) : 1.0f;
      }
    }
    const uint64_t es = num::dtype_bytes(num::DType(dt));
    std::vector<uint8_t> b(p.chunk_offset.back(), 0);  // gaps between chunk slots stay zero
    std::vector<uint8_t> tile;
    std::vector<float> pscale, pbias;
    for (uint64_t gi = 0; gi < p.groups; ++gi) {
      for (uint64_t q = 0; q < k_tiles(p); ++q) {
        for (uint64_t bl = 0; bl < p.group_blocks; ++bl) {
          const BlockCols bc = block_cols(p, gi, bl);
          tile.clear();
          for (uint64_t k = q * p.k_t; k < q * p.k_t + k_rows(p, q); ++k)
            for (uint64_t j = 0; j < bc.width; ++j) {
              const uint64_t n = logical_column(g, op, gi, bl, j);
              put_elem(tile, dt, scaled ? w.at(k, n) / scale[n] : w.at(k, n));
            }
          std::copy(tile.begin(), tile.end(), b.begin() + int64_t(packed_tile_offset(p, gi, q, bl, es)));
        }
      }
      for (uint64_t bl = 0; bl < p.group_blocks; ++bl) {
        const BlockCols bc = block_cols(p, gi, bl);
        for (uint64_t j = 0; j < bc.width; ++j) {
          const uint64_t n = logical_column(g, op, gi, bl, j);
          pscale.push_back(scale[n]);
          if (!bias.empty()) pbias.push_back(bias[n]);
        }
      }
    }
    section(base(wt, layer), std::move(b));
    if (scaled) {
      std::vector<uint8_t> sb;
      for (float f : pscale) put_f32(sb, f);
      section(base(g.tensors[size_t(op.scale)], layer), std::move(sb));
    }
    if (op.bias >= 0 && !bias.empty()) {
      std::vector<uint8_t> bb;
      for (float f : pbias) put_f32(bb, f);
      section(base(g.tensors[size_t(op.bias)], layer), std::move(bb));
    }
  }
};

const Op& op_named(const Graph& g, const std::string& name) {
  for (const Op& op : g.ops)
    if (op.name == name) return op;
  throw std::logic_error("weights: no op " + name);
}

}  // namespace

std::vector<float> rope_table(const hf::ModelConfig& m, uint64_t rows) {
  const uint64_t hd = m.head_dim, half = hd / 2;
  const std::vector<double> f = hf::rope_inv_freq(m);
  std::vector<float> t(rows * hd), cs, sn;
  for (uint64_t r = 0; r < rows; ++r) {
    hf::rope_cos_sin(f, r, cs, sn);
    for (uint64_t i = 0; i < half; ++i) {
      t[r * hd + i] = cs[i];
      t[r * hd + half + i] = sn[i];
    }
  }
  return t;
}

std::vector<isa::DataSection> pack_data(const Graph& g, const Hw& hw, const std::string& dir) {
  const hf::ModelConfig& m = g.model;
  const Checkpoint ck(m, dir);
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;
  const uint64_t H = m.hidden_size, hd = m.head_dim, I = m.intermediate_size;
  const uint64_t hq = g.heads * hd, hk = g.kv_heads * hd, Ic = g.inter;
  std::vector<isa::DataSection> out;
  using hf::bias_of, hf::weight_of;
  const hf::ModelTensorNames names = hf::model_tensor_names(m);
  const std::vector<float> embed = ck.read(names.embed);
  // Chip dev is rank dev mod tp of pipeline stage dev / tp.
  for (uint32_t dev = 0; dev < g.tp * g.pp; ++dev) {
    const uint32_t chip = dev % g.tp;
    Packer pk{g, hw, dev, out};
    // Embedding tables (BF16) and constants.
    {
      std::vector<uint8_t> b;
      for (float f : embed) put_elem(b, isa::DType::bf16, f);
      pk.section(g.tensors[size_t(g.find_tensor("embed.w"))].addr, std::move(b));
    }
    if (gpt2) {
      std::vector<uint8_t> b;
      for (float f : ck.read(names.pos_embed)) put_elem(b, isa::DType::bf16, f);
      pk.section(g.tensors[size_t(g.find_tensor("pos_embed.w"))].addr, std::move(b));
    }
    if (const int ti = g.find_tensor("rope.table"); ti >= 0) {
      const Tensor& t = g.tensors[size_t(ti)];
      pk.vec_f32("rope.table", 0, rope_table(m, t.shape[0]));
    }
    if (const int ti = g.find_tensor("identity"); ti >= 0) {
      const Tensor& t = g.tensors[size_t(ti)];
      std::vector<uint8_t> b;
      for (uint64_t r = 0; r < t.shape[0]; ++r)
        for (uint64_t c = 0; c < t.shape[1]; ++c) put_elem(b, t.dtype, r == c ? 1.0f : 0.0f);
      pk.section(t.addr, std::move(b));
    }
    pk.vec_f32("final_norm.w", 0, ck.read(weight_of(names.final_norm)));
    if (gpt2) pk.vec_f32("final_norm.b", 0, ck.read(bias_of(names.final_norm)));
    {
      Mat head;
      if (m.tie_word_embeddings) {
        head = Mat{H, m.vocab_size, Matrix(H * m.vocab_size)};
        for (uint64_t v = 0; v < m.vocab_size; ++v)
          for (uint64_t h = 0; h < H; ++h) head.at(h, v) = embed[v * H + h];
      } else {
        head = ck.linear(names.lm_head, false);
      }
      pk.linear(op_named(g, "lm_head"), 0, cols(head, chip * g.vocab, g.vocab), {});
    }
    for (uint64_t l = 0; l < m.num_layers; ++l) {
      if (l / g.layers_on_chip() != dev / g.tp) continue;
      const hf::LayerTensorNames p = hf::layer_tensor_names(m, l);
      if (gpt2) {
        pk.vec_f32("layer.attn_norm.w", l, ck.read(weight_of(p.attn_norm)));
        pk.vec_f32("layer.attn_norm.b", l, ck.read(bias_of(p.attn_norm)));
        pk.vec_f32("layer.mlp_norm.w", l, ck.read(weight_of(p.mlp_norm)));
        pk.vec_f32("layer.mlp_norm.b", l, ck.read(bias_of(p.mlp_norm)));
        const Mat qkv = ck.linear(weight_of(p.qkv), true);
        const std::vector<float> qkv_b = ck.read(bias_of(p.qkv));
        const Mat w = hcat({cols(qkv, chip * hq, hq), cols(qkv, H + chip * hk, hk), cols(qkv, 2 * H + chip * hk, hk)});
        std::vector<float> b = slice(qkv_b, chip * hq, hq);
        for (uint64_t part : {H + chip * hk, 2 * H + chip * hk}) {
          const std::vector<float> x = slice(qkv_b, part, hk);
          b.insert(b.end(), x.begin(), x.end());
        }
        pk.linear(op_named(g, "qkv"), l, w, b);
        const Mat o = ck.linear(weight_of(p.o), true);
        pk.linear(op_named(g, "o"), l, rows(o, chip * hq, hq), ck.read(bias_of(p.o)));
        const Mat fc = ck.linear(weight_of(p.up), true);
        pk.linear(op_named(g, "up"), l, cols(fc, chip * Ic, Ic), slice(ck.read(bias_of(p.up)), chip * Ic, Ic));
        const Mat pr = ck.linear(weight_of(p.down), true);
        pk.linear(op_named(g, "down"), l, rows(pr, chip * Ic, Ic), ck.read(bias_of(p.down)));
        continue;
      }
      pk.vec_f32("layer.attn_norm.w", l, ck.read(weight_of(p.attn_norm)));
      pk.vec_f32("layer.mlp_norm.w", l, ck.read(weight_of(p.mlp_norm)));
      const Mat q = ck.linear(weight_of(p.q), false), k = ck.linear(weight_of(p.k), false),
                v = ck.linear(weight_of(p.v), false);
      std::vector<float> qkv_b;
      if (m.qkv_bias) {
        for (auto [n, first, cnt] : {std::tuple{p.q, chip * hq, hq}, std::tuple{p.k, chip * hk, hk},
                                     std::tuple{p.v, chip * hk, hk}}) {
          const std::vector<float> x = slice(ck.read(bias_of(n)), first, cnt);
          qkv_b.insert(qkv_b.end(), x.begin(), x.end());
        }
      }
      pk.linear(op_named(g, "qkv"), l, hcat({cols(q, chip * hq, hq), cols(k, chip * hk, hk), cols(v, chip * hk, hk)}),
                qkv_b);
      const Mat o = ck.linear(weight_of(p.o), false);
      pk.linear(op_named(g, "o"), l, rows(o, chip * hq, hq), m.o_bias ? ck.read(bias_of(p.o)) : std::vector<float>{});
      if (m.is_moe()) {
        pk.linear(op_named(g, "router"), l, ck.linear(weight_of(p.router), false), {});
        std::vector<Mat> gates, ups, downs;
        for (uint64_t x = 0; x < m.num_experts; ++x) {
          gates.push_back(cols(ck.linear(weight_of(p.expert_gate[x]), false), chip * Ic, Ic));
          ups.push_back(cols(ck.linear(weight_of(p.expert_up[x]), false), chip * Ic, Ic));
          downs.push_back(rows(ck.linear(weight_of(p.expert_down[x]), false), chip * Ic, Ic));
        }
        std::vector<Mat> gu = gates;
        gu.insert(gu.end(), ups.begin(), ups.end());
        pk.linear(op_named(g, "experts.gate_up"), l, hcat(gu), {});
        pk.linear(op_named(g, "experts.down"), l, vcat(downs), {});
      } else {
        const Mat gt = ck.linear(weight_of(p.gate), false), up = ck.linear(weight_of(p.up), false);
        std::vector<float> gb;
        if (m.mlp_bias) {
          gb = slice(ck.read(bias_of(p.gate)), chip * Ic, Ic);
          const std::vector<float> ub = slice(ck.read(bias_of(p.up)), chip * Ic, Ic);
          gb.insert(gb.end(), ub.begin(), ub.end());
        }
        pk.linear(op_named(g, "gate_up"), l, hcat({cols(gt, chip * Ic, Ic), cols(up, chip * Ic, Ic)}), gb);
        const Mat dn = ck.linear(weight_of(p.down), false);
        pk.linear(op_named(g, "down"), l, rows(dn, chip * Ic, Ic),
                  m.mlp_bias ? ck.read(bias_of(p.down)) : std::vector<float>{});
      }
    }
  }
  (void)I;
  return out;
}

}  // namespace tessera::compiler
