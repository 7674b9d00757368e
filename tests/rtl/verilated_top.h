#pragma once
// The part every Verilator bench of tests/rtl shares: a context and the model of top module
// V, an FST waveform `<name>.fst` in the working directory when TESSERA_WAVES=1, reset, and
// final() on destruction. Benches derive from it and drive top_ themselves.
#include <verilated.h>
#include <verilated_fst_c.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace tessera::rtl_bench {

template <class V>
class VerilatedTop {
 public:
  explicit VerilatedTop([[maybe_unused]] const std::string& name) : ctx_(std::make_unique<VerilatedContext>()) {
    top_ = std::make_unique<V>(ctx_.get());
    // Models verilated without tracing (the speed bench's) have no trace().
    if constexpr (requires(V& v, VerilatedFstC* t) { v.trace(t, 99); }) {
      if (const char* w = std::getenv("TESSERA_WAVES"); w && std::string(w) == "1") {
        ctx_->traceEverOn(true);
        trace_ = std::make_unique<VerilatedFstC>();
        top_->trace(trace_.get(), 99);
        trace_->open((name + ".fst").c_str());
      }
    }
  }
  ~VerilatedTop() {
    top_->final();
    if (trace_) trace_->close();
  }
  VerilatedTop(const VerilatedTop&) = delete;
  VerilatedTop& operator=(const VerilatedTop&) = delete;

 protected:
  // One clock edge with rst_ni low, then rst_ni high (from the next cycle on).
  void reset() {
    top_->rst_ni = 0;
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
    top_->rst_ni = 1;
  }
  void dump(uint64_t t) {
    if (trace_) trace_->dump(t);
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> trace_;
};

}  // namespace tessera::rtl_bench
