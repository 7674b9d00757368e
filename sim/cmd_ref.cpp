// `tessera ref`: greedy generation with the reference Transformer (docs/ref.md).
// Output: one line of generated token ids ("5,17,..."); with --logits, then one line per
// step "step S token T logits v0 v1 ..." with every logit printed as %.9g, which
// identifies the FP32 value exactly, so two runs can be compared with diff.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "ref/transformer.h"
#include "sim/command.h"

namespace {

// "1,10,20,30" -> ids; option names the flag in messages.
std::vector<int64_t> parse_ids(const std::string& text, const char* option) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || item[0] == '+' || item[0] == ' ') {
      throw tessera::InputError(std::string(option) + ": '" + item + "' in '" + text +
                                "' is not a token id (expected comma-separated non-negative integers, e.g. 1,10,20)");
    }
    ids.push_back(v);
    start = end + 1;
  }
  return ids;
}

int ref_main(int argc, char** argv) {
  CLI::App app{"Greedy generation with the FP32 reference Transformer", argv[0]};
  std::string model_dir, prompt_text, force_text;
  uint64_t steps = 16;
  bool print_logits = false, no_cache = false;
  app.add_option("--model", model_dir, "directory with config.json and model.safetensors")->required();
  app.add_option("--prompt", prompt_text, "prompt token ids, e.g. 1,10,20,30")->required();
  app.add_option("--steps", steps, "tokens to generate")->capture_default_str();
  app.add_flag("--logits", print_logits, "also print the logits of every step");
  app.add_flag("--no-kv-cache", no_cache, "recompute the whole sequence at every step (test path)");
  app.add_option("--force", force_text,
                 "teacher forcing: feed these ids (one per step) instead of the argmax; logits are still printed");
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  if (steps == 0) throw tessera::InputError("--steps must be at least 1");
  tessera::ref::GenerateOptions opt;
  opt.steps = steps;
  opt.kv_cache = !no_cache;
  const std::vector<int64_t> prompt = parse_ids(prompt_text, "--prompt");
  if (app.count("--force")) opt.forced = parse_ids(force_text, "--force");

  const tessera::ref::Model model = tessera::ref::Model::load(model_dir);
  const tessera::ref::Generation g = tessera::ref::generate(model, prompt, opt);
  std::string line;
  for (size_t i = 0; i < g.tokens.size(); ++i) line += (i ? "," : "") + std::to_string(g.tokens[i]);
  std::printf("%s\n", line.c_str());
  if (print_logits) {
    for (size_t s = 0; s < g.logits.size(); ++s) {
      std::printf("step %zu token %lld logits", s, static_cast<long long>(g.tokens[s]));
      for (float v : g.logits[s]) std::printf(" %.9g", static_cast<double>(v));
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace

TESSERA_COMMAND("ref", "greedy generation with the FP32 reference Transformer (tokens, --logits)", ref_main);
