// `tessera gen-model`: writes a fixed-seed tiny model (config.json + model.safetensors)
// in Hugging Face format for the reference Transformer, the compiler and the tests.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "common/hf/model_tensors.h"
#include "ref/tiny_model.h"
#include "sim/command.h"

namespace {

int gen_model_main(int argc, char** argv) {
  using tessera::hf::Architecture;
  using tessera::hf::TensorDType;
  CLI::App app{"Write a fixed-seed tiny Hugging Face model (config.json + model.safetensors)", argv[0]};
  tessera::ref::TinyModelOptions o;
  std::string family, out, dtype = "f32", init = "uniform";
  uint64_t kv_heads = 0, ffn = 0, sliding = 0;
  const std::map<std::string, Architecture> families = {{"llama", Architecture::Llama},
                                                        {"mistral", Architecture::Mistral},
                                                        {"qwen2", Architecture::Qwen2},
                                                        {"mixtral", Architecture::Mixtral},
                                                        {"gpt2", Architecture::GPT2}};
  const std::map<std::string, TensorDType> dtypes = {
      {"f32", TensorDType::F32}, {"f16", TensorDType::F16}, {"bf16", TensorDType::BF16}};
  app.add_option("--family", family, "llama | mistral | qwen2 | mixtral | gpt2")->required()
      ->check(CLI::IsMember({"llama", "mistral", "qwen2", "mixtral", "gpt2"}));
  app.add_option("--out", out, "output directory (created)")->required();
  app.add_option("--seed", o.seed, "weight seed")->capture_default_str();
  app.add_option("--dtype", dtype, "stored weight type: f32 | f16 | bf16 (rounded to nearest even)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  app.add_option("--dim", o.hidden, "hidden size")->capture_default_str();
  app.add_option("--layers", o.layers, "decoder layers")->capture_default_str();
  app.add_option("--heads", o.heads, "query heads")->capture_default_str();
  app.add_option("--kv-heads", kv_heads, "key/value heads (default 2; GPT-2: --heads)");
  app.add_option("--vocab", o.vocab, "vocabulary size")->capture_default_str();
  app.add_option("--ffn", ffn, "MLP width per expert (default 176; GPT-2: 4 x --dim)");
  app.add_option("--max-positions", o.max_positions, "max_position_embeddings")->capture_default_str();
  app.add_option("--experts", o.experts, "mixtral: experts per layer")->capture_default_str();
  app.add_option("--top-k", o.experts_per_token, "mixtral: experts per token")->capture_default_str();
  app.add_option("--rope-theta", o.rope_theta, "RoPE base")->capture_default_str();
  app.add_flag("--tie", o.tie_embeddings, "tie lm_head to the token embedding (GPT-2 always is)");
  app.add_flag("--llama3-rope", o.llama3_rope, "llama: rope_scaling llama3 (factor 8, low 1, high 4, original 32)");
  app.add_option("--sliding-window", sliding, "mistral/mixtral: attention window (mistral default 16; 0 = none)");
  app.add_option("--init", init,
                 "uniform (spreads chosen for varied greedy output) | normal (matrices N(0, s^2/fan_in), embeddings "
                 "N(0,1), norm gains 1 + 0.1 N(0,1))")
      ->check(CLI::IsMember({"uniform", "normal"}))->capture_default_str();
  app.add_option("--init-scale", o.init.scale, "--init normal: s of N(0, s^2/fan_in)")->capture_default_str();
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  if (init == "normal") o.init.kind = tessera::ref::WeightInit::Kind::Normal;
  o.architecture = families.at(family);
  o.dtype = dtypes.at(dtype);
  if (app.count("--kv-heads")) o.kv_heads = kv_heads;
  if (app.count("--ffn")) o.intermediate = ffn;
  if (app.count("--sliding-window")) o.sliding_window = sliding;
  const tessera::hf::ModelConfig c = tessera::ref::write_tiny_model(out, o);
  std::printf("wrote %s/config.json and %s/model.safetensors: %s, %llu parameters (%s), seed %llu\n", out.c_str(),
              out.c_str(), std::string(tessera::hf::architecture_name(c.architecture)).c_str(),
              static_cast<unsigned long long>(tessera::hf::parameter_count(c)), dtype.c_str(),
              static_cast<unsigned long long>(o.seed));
  return 0;
}

}  // namespace

TESSERA_COMMAND("gen-model", "write a fixed-seed tiny Hugging Face model (llama, mistral, qwen2, mixtral, gpt2)",
                gen_model_main);
