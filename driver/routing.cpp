// Routing assumptions of timing runs (routing.h).
#include "driver/routing.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/util/error.h"
#include "compiler/ir.h"

namespace tessera::driver {

Routing load_routing(const std::string& spec, const hf::ModelConfig& m) {
  Routing r;
  if (spec.empty() || spec == "uniform") return r;
  const std::string where = "--routing " + spec;
  if (!m.is_moe()) throw InputError(where + ": " + m.source + " has no experts (num_local_experts is 0)");
  if (spec == "dense") {
    r.source = spec;
    r.dense = true;
    return r;
  }
  std::ifstream in(spec);
  if (!in) throw InputError(where + ": cannot read the file (expected uniform, dense or a routing trace JSON file)");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(where + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw InputError(where + ": expected a JSON object with num_experts, experts_per_token, steps");
  auto count = [&](const char* field, uint64_t want) {
    if (!j.contains(field) || !j[field].is_number_unsigned())
      throw InputError(where + ": field " + field + ": expected a non-negative integer");
    const uint64_t v = j[field].get<uint64_t>();
    if (v != want)
      throw InputError(where + ": field " + field + " = " + std::to_string(v) + ", but " + m.source + " has " +
                       std::to_string(want));
  };
  count("num_experts", m.num_experts);
  count("experts_per_token", m.experts_per_token);
  if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty())
    throw InputError(where + ": field steps: expected a non-empty array of steps (each an array of tokens)");
  const nlohmann::json& steps = j["steps"];
  for (size_t s = 0; s < steps.size(); ++s) {
    const std::string at = where + ": field steps[" + std::to_string(s) + "]";
    if (!steps[s].is_array() || steps[s].empty())
      throw InputError(at + ": expected a non-empty array of tokens (each an array of experts)");
    std::vector<std::vector<uint32_t>> step;
    for (size_t t = 0; t < steps[s].size(); ++t) {
      const nlohmann::json& tok = steps[s][t];
      const std::string tat = at + "[" + std::to_string(t) + "]";
      if (!tok.is_array() || tok.size() != m.experts_per_token)
        throw InputError(tat + ": expected an array of " + std::to_string(m.experts_per_token) + " experts");
      std::vector<uint32_t> choice;
      for (const nlohmann::json& e : tok) {
        if (!e.is_number_unsigned() || e.get<uint64_t>() >= m.num_experts)
          throw InputError(tat + ": expected expert indices 0 .. " + std::to_string(m.num_experts - 1) + ", got " +
                           e.dump());
        choice.push_back(e.get<uint32_t>());
      }
      if (std::set<uint32_t>(choice.begin(), choice.end()).size() != choice.size())
        throw InputError(tat + ": a token chooses distinct experts, got " + tok.dump());
      step.push_back(std::move(choice));
    }
    r.steps.push_back(std::move(step));
  }
  r.source = spec;
  return r;
}

double routed_experts(const Routing& r, const hf::ModelConfig& m, uint64_t rows) {
  if (!m.is_moe()) return 0;
  if (r.dense) return double(m.num_experts);
  if (r.uniform()) return compiler::uniform_routed_experts(m.num_experts, m.experts_per_token, rows);
  double sum = 0;
  for (size_t s = 0; s < r.steps.size(); ++s) {
    const auto& step = r.steps[s];
    if (step.size() < rows)
      throw InputError("--routing " + r.source + ": field steps[" + std::to_string(s) + "] has " +
                       std::to_string(step.size()) + " tokens, fewer than the " + std::to_string(rows) +
                       " rows of a decode step of this request");
    std::set<uint32_t> used;
    for (uint64_t t = 0; t < rows; ++t) used.insert(step[t].begin(), step[t].end());
    sum += double(used.size());
  }
  return sum / double(r.steps.size());
}

}  // namespace tessera::driver
