// `tessera compile`: a model and an architecture -> one step's program (.tbin), with the
// graph IR, the assembly listing and the memory map on request (docs/compiler.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "sim/command.h"

namespace {

using namespace tessera;

void write_text(const std::string& path, const std::string& text) {
  cli::write_file("--emit", path, [&](std::ostream& os) { os << text; });
}

int compile_main(int argc, char** argv) {
  CLI::App app{"Compile one forward step of a model to a program (.tbin)", argv[0]};
  std::string model, phase = "decode", output, emit, precision, prefix;
  uint64_t batch = 1, context = 0, max_context = 0;
  uint32_t chips = 0, tp = 0;
  std::string segment = "whole";
  app.add_option("--model", model, "configs/models name (llama3-8b, ...) or a directory with config.json")->required();
  const tessera::cli::ArchOption arch(app, "sohu-like");
  app.add_option("--phase", phase, "prefill (the prompt) or decode (one token)")
      ->check(CLI::IsMember({"prefill", "decode"}))
      ->capture_default_str();
  app.add_option("--batch", batch, "sequences in the step (over all replicas)")->capture_default_str();
  app.add_option("--context", context, "prefill: prompt tokens; decode: tokens in the KV cache after the step")
      ->required();
  app.add_option("--max-context", max_context, "tokens each sequence's KV cache holds (default: --context)");
  app.add_option("--chips", chips, "chips used (default: system.chips)");
  app.add_option("--tp", tp, "chips per tensor-parallel group (default: the fewest that hold the model)");
  app.add_option("--precision", precision, "bf16, fp8, fp8w or w=F,a=F,kv=F (default: fp8 where supported)");
  app.add_option("--segment", segment, "whole, embed, head or layer:N")->capture_default_str();
  app.add_option("-o,--output", output, "program file to write (.tbin)");
  app.add_option("--emit", emit, "comma-separated: ir, asm, memmap (printed, or written to PREFIX.{ir,s,map})");
  app.add_option("--emit-prefix", prefix, "write the --emit outputs to PREFIX.ir, PREFIX.s, PREFIX.map");
  if (auto status = cli::parse_args(app, argc, argv)) return *status;
  bool want_ir = false, want_asm = false, want_map = false;
  for (size_t start = 0; start < emit.size();) {
    const size_t end = std::min(emit.find(',', start), emit.size());
    const std::string item = emit.substr(start, end - start);
    if (item == "ir") {
      want_ir = true;
    } else if (item == "asm") {
      want_asm = true;
    } else if (item == "memmap") {
      want_map = true;
    } else {
      throw InputError("--emit: '" + item + "' is not one of ir, asm, memmap");
    }
    start = end + 1;
  }
  const config::Arch a = arch.load();
  const hf::ModelConfig m = compiler::load_model(model);
  compiler::CompileOptions opt;
  opt.phase = phase == "prefill" ? compiler::Phase::Prefill : compiler::Phase::Decode;
  opt.batch = batch;
  opt.context = context;
  opt.max_context = max_context;
  opt.chips = chips;
  opt.tp = tp;
  if (!precision.empty()) opt.precision = compiler::parse_precision(precision, *a);
  if (segment == "embed") {
    opt.segment.kind = compiler::Segment::Embed;
  } else if (segment == "head") {
    opt.segment.kind = compiler::Segment::Head;
  } else if (segment.rfind("layer:", 0) == 0) {
    opt.segment.kind = compiler::Segment::Layer;
    try {
      opt.segment.layer = std::stoull(segment.substr(6));
    } catch (const std::exception&) {
      throw InputError("--segment '" + segment + "': expected layer:N");
    }
    if (opt.segment.layer >= m.num_layers)
      throw InputError("--segment '" + segment + "': the model has " + std::to_string(m.num_layers) + " layers");
  } else if (segment != "whole") {
    throw InputError("--segment '" + segment + "': expected whole, embed, head or layer:N");
  }
  const compiler::Compiled c = compiler::compile(m, *a, opt);
  if (!output.empty()) {
    const std::vector<uint8_t> bytes = isa::write_tbin(c.program);
    cli::write_file("-o", output, [&](std::ostream& os) {
      os.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    });
  }
  size_t instrs = 0;
  for (const isa::TextSection& t : c.program.text) instrs += t.code.size();
  std::fprintf(stderr, "%s on %s: %s, batch %llu (%u replica(s) x %llu), tensor-parallel group of %u chip(s), %s; "
               "%zu instructions in %zu text sections%s%s\n",
               m.source.c_str(), a->name.c_str(), phase.c_str(), (unsigned long long)batch, c.replicas,
               (unsigned long long)c.batch_per_replica, c.tp, compiler::precision_name(c.precision).c_str(), instrs,
               c.program.text.size(), output.empty() ? "" : " -> ", output.c_str());
  auto put = [&](const std::string& ext, const std::string& text) {
    if (prefix.empty()) {
      std::cout << text;
    } else {
      write_text(prefix + ext, text);
    }
  };
  if (want_ir) put(".ir", c.ir_text);
  if (want_asm) put(".s", isa::disassemble(c.program));
  if (want_map) put(".map", compiler::memory_map_text(c));
  return 0;
}

}  // namespace

TESSERA_COMMAND("compile", "compile a model step (prefill or decode) to a program, with IR/asm/memory map", compile_main);
