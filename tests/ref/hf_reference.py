#!/usr/bin/env python3
"""An independent second implementation of the reference Transformer, for one test.

Written from the Hugging Face modeling code (transformers modeling_llama, modeling_mistral,
modeling_qwen2, modeling_mixtral, modeling_gpt2), not from ref/transformer.cpp: pure Python,
double precision, its own safetensors parser. For several fixed-seed tiny models it runs
`tessera gen-model` and `tessera ref --logits`, feeds the tokens tessera chose into its own
forward pass (teacher forcing) and checks

  * every logit agrees within 1e-4 (FP32 against double: the observed difference is ~1e-6),
  * each token tessera chose is the argmax here too, unless the top two logits here are
    within 1e-4 of each other (then either choice is right).

Usage: hf_reference.py --tessera build/bin/tessera --work DIR
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

TOL = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b: base + end]
        if e["dtype"] == "F32":
            vals = struct.unpack("<%df" % (len(raw) // 4), raw)
        elif e["dtype"] == "F16":
            vals = struct.unpack("<%de" % (len(raw) // 2), raw)
        elif e["dtype"] == "BF16":
            halves = struct.unpack("<%dH" % (len(raw) // 2), raw)
            vals = [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in halves]
        else:
            raise SystemExit("unsupported dtype " + e["dtype"])
        shape = e["shape"]
        if len(shape) == 2:
            rows, cols = shape
            out[name] = [list(vals[r * cols:(r + 1) * cols]) for r in range(rows)]
        else:
            out[name] = list(vals)
    return out


def matvec(w, x, b=None):
    """nn.Linear: w is [out][in]."""
    y = [sum(wi * xi for wi, xi in zip(row, x)) for row in w]
    return [yi + bi for yi, bi in zip(y, b)] if b is not None else y


def conv1d(w, x, b):
    """GPT-2 Conv1D: w is [in][out], y = x @ w + b."""
    out = len(w[0])
    return [sum(x[i] * w[i][o] for i in range(len(x))) + b[o] for o in range(out)]


def rms_norm(x, w, eps):
    r = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [w[i] * (x[i] * r) for i in range(len(x))]


def layer_norm(x, w, b, eps):
    m = sum(x) / len(x)
    var = sum((v - m) ** 2 for v in x) / len(x)
    r = 1.0 / math.sqrt(var + eps)
    return [(x[i] - m) * r * w[i] + b[i] for i in range(len(x))]


def softmax(s):
    m = max(s)
    e = [math.exp(v - m) for v in s]
    t = sum(e)
    return [v / t for v in e]


def silu(x):
    return x / (1.0 + math.exp(-x))


def gelu_new(x):
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def inv_freqs(cfg, hd):
    """LlamaRotaryEmbedding default and _compute_llama3_parameters."""
    theta = cfg.get("rope_theta", 10000.0)
    inv = [1.0 / theta ** (2 * i / hd) for i in range(hd // 2)]
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        res = []
        for f in inv:
            wl = 2 * math.pi / f
            if wl < hi_wl:
                res.append(f)
            elif wl > lo_wl:
                res.append(f / factor)
            else:
                s = (old / wl - lo) / (hi - lo)
                res.append((1 - s) * f / factor + s * f)
        inv = res
    return inv


def rotate(x, pos, inv):
    """q * cos + rotate_half(q) * sin, cos/sin = cat(freqs, freqs)."""
    half = len(inv)
    cos = [math.cos(pos * f) for f in inv] * 2
    sin = [math.sin(pos * f) for f in inv] * 2
    rot = [-v for v in x[half:]] + x[:half]
    return [x[i] * cos[i] + rot[i] * sin[i] for i in range(len(x))]


class Model:
    def __init__(self, d):
        self.cfg = json.load(open(os.path.join(d, "config.json")))
        self.t = read_safetensors(os.path.join(d, "model.safetensors"))
        c = self.cfg
        self.gpt2 = c["architectures"][0] == "GPT2LMHeadModel"
        self.arch = c["architectures"][0]
        if self.gpt2:
            self.H, self.L, self.nh = c["n_embd"], c["n_layer"], c["n_head"]
            self.nkv = self.nh
            self.hd = self.H // self.nh
            self.eps = c.get("layer_norm_epsilon", 1e-5)
        else:
            self.H, self.L, self.nh = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
            self.nkv = c["num_key_value_heads"]
            self.hd = c.get("head_dim") or self.H // self.nh
            self.eps = c["rms_norm_eps"]
            self.inv = inv_freqs(c, self.hd)
        self.window = c.get("sliding_window") if self.arch in ("MistralForCausalLM", "MixtralForCausalLM") else None
        self.k = [[] for _ in range(self.L)]
        self.v = [[] for _ in range(self.L)]

    def attention(self, layer, q, k, v, pos):
        self.k[layer].append(k)
        self.v[layer].append(v)
        hd, rep = self.hd, self.nh // self.nkv
        first = 0 if not self.window else max(0, pos - self.window + 1)  # mask j <= pos - window
        out = []
        for h in range(self.nh):
            g = h // rep  # repeat_kv
            qh = q[h * hd:(h + 1) * hd]
            s = [sum(a * b for a, b in zip(qh, self.k[layer][j][g * hd:(g + 1) * hd])) / math.sqrt(hd)
                 for j in range(first, pos + 1)]
            p = softmax(s)
            out += [sum(p[j - first] * self.v[layer][j][g * hd + d] for j in range(first, pos + 1)) for d in range(hd)]
        return out

    def step(self, token, pos):
        t = self.t
        if self.gpt2:
            x = [a + b for a, b in zip(t["transformer.wte.weight"][token], t["transformer.wpe.weight"][pos])]
            for l in range(self.L):
                p = "transformer.h.%d." % l
                xn = layer_norm(x, t[p + "ln_1.weight"], t[p + "ln_1.bias"], self.eps)
                qkv = conv1d(t[p + "attn.c_attn.weight"], xn, t[p + "attn.c_attn.bias"])
                H = self.H
                a = self.attention(l, qkv[:H], qkv[H:2 * H], qkv[2 * H:], pos)
                x = [xi + yi for xi, yi in zip(x, conv1d(t[p + "attn.c_proj.weight"], a, t[p + "attn.c_proj.bias"]))]
                xn = layer_norm(x, t[p + "ln_2.weight"], t[p + "ln_2.bias"], self.eps)
                hmid = [gelu_new(v) for v in conv1d(t[p + "mlp.c_fc.weight"], xn, t[p + "mlp.c_fc.bias"])]
                x = [xi + yi for xi, yi in zip(x, conv1d(t[p + "mlp.c_proj.weight"], hmid, t[p + "mlp.c_proj.bias"]))]
            h = layer_norm(x, t["transformer.ln_f.weight"], t["transformer.ln_f.bias"], self.eps)
            return matvec(t["transformer.wte.weight"], h)
        x = list(t["model.embed_tokens.weight"][token])
        for l in range(self.L):
            p = "model.layers.%d." % l
            xn = rms_norm(x, t[p + "input_layernorm.weight"], self.eps)
            proj = {}
            for n in "qkv":
                proj[n] = matvec(t[p + "self_attn.%s_proj.weight" % n], xn, t.get(p + "self_attn.%s_proj.bias" % n))
            q = sum((rotate(proj["q"][h * self.hd:(h + 1) * self.hd], pos, self.inv) for h in range(self.nh)), [])
            k = sum((rotate(proj["k"][h * self.hd:(h + 1) * self.hd], pos, self.inv) for h in range(self.nkv)), [])
            a = self.attention(l, q, k, proj["v"], pos)
            x = [xi + yi for xi, yi in zip(x, matvec(t[p + "self_attn.o_proj.weight"], a))]
            xn = rms_norm(x, t[p + "post_attention_layernorm.weight"], self.eps)
            if "num_local_experts" in self.cfg:
                probs = softmax(matvec(t[p + "block_sparse_moe.gate.weight"], xn))
                top = sorted(range(len(probs)), key=lambda e: (-probs[e], e))[:self.cfg["num_experts_per_tok"]]
                norm = sum(probs[e] for e in top)
                y = [0.0] * self.H
                for e in sorted(top):
                    q = p + "block_sparse_moe.experts.%d." % e
                    g = matvec(t[q + "w1.weight"], xn)
                    u = matvec(t[q + "w3.weight"], xn)
                    o = matvec(t[q + "w2.weight"], [silu(a) * b for a, b in zip(g, u)])
                    y = [yi + oi * probs[e] / norm for yi, oi in zip(y, o)]
            else:
                g = matvec(t[p + "mlp.gate_proj.weight"], xn)
                u = matvec(t[p + "mlp.up_proj.weight"], xn)
                y = matvec(t[p + "mlp.down_proj.weight"], [silu(a) * b for a, b in zip(g, u)])
            x = [xi + yi for xi, yi in zip(x, y)]
        h = rms_norm(x, t["model.norm.weight"], self.eps)
        head = t.get("lm_head.weight", t["model.embed_tokens.weight"])
        return matvec(head, h)


CASES = [
    ["--family", "llama", "--llama3-rope"],
    ["--family", "llama", "--tie", "--dtype", "bf16", "--seed", "7"],
    ["--family", "mistral", "--sliding-window", "5"],
    ["--family", "qwen2", "--dtype", "f16"],
    ["--family", "mixtral", "--seed", "3"],
    ["--family", "gpt2"],
]
PROMPT = [1, 10, 20, 30]
STEPS = 6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for i, case in enumerate(CASES):
        d = os.path.join(args.work, "m%d" % i)
        subprocess.run([args.tessera, "gen-model", "--out", d] + case, check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([args.tessera, "ref", "--model", d, "--prompt", ",".join(map(str, PROMPT)),
                              "--steps", str(STEPS), "--logits"], check=True, capture_output=True, text=True).stdout
        lines = out.splitlines()
        tokens = [int(v) for v in lines[0].split(",")]
        theirs = [[float(v) for v in l.split(" logits ")[1].split()] for l in lines[1:]]
        m = Model(d)
        seq = PROMPT + tokens
        worst = 0.0
        for pos in range(len(PROMPT) + STEPS - 1):
            logits = m.step(seq[pos], pos)
            s = pos - (len(PROMPT) - 1)
            if s < 0:
                continue
            worst = max(worst, max(abs(a - b) for a, b in zip(logits, theirs[s])))
            best = max(range(len(logits)), key=lambda j: (logits[j], -j))
            runner = max(v for j, v in enumerate(logits) if j != best)
            if tokens[s] != best and logits[best] - runner > TOL:
                print("FAIL %s step %d: tessera chose %d, argmax here %d" % (" ".join(case), s, tokens[s], best))
                failures += 1
        status = "ok" if worst <= TOL else "FAIL"
        failures += worst > TOL
        print("%-4s %-45s tokens %s  max |logit difference| %.3g" % (status, " ".join(case), lines[0], worst))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
