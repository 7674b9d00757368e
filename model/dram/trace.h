#pragma once
// TraceWriter: the DRAM command trace (docs/dram.md, "Trace format"), one text line per
// command in issue order, read back by the independent timing checker. Lines are
// formatted into a fixed buffer with to_chars and flushed in large blocks, because a
// streaming run issues tens of millions of commands.
#include <charconv>
#include <cstdint>
#include <ostream>
#include <string>

#include "model/dram/command.h"
#include "model/dram/params.h"

namespace tessera::model::dram {

class TraceWriter {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;  // printed as '-'

  TraceWriter(std::ostream* os, const DramParams& p) : os_(os) {
    if (!os_) return;
    *os_ << "# tessera dram trace v1 arch=" << p.arch_name << " standard=" << p.standard
         << " stacks=" << p.stacks << " channels=" << p.channels << " pseudo_channels=" << p.pcs
         << " bank_groups=" << p.bank_groups << " banks_per_group=" << p.banks_per_group << " tck_fs=" << p.tck_fs
         << "\n# cycle command stack channel pc bg bank row col\n";
  }
  ~TraceWriter() { flush(); }
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  bool enabled() const { return os_ != nullptr; }

  void line(uint64_t cycle, Cmd cmd, uint32_t stack, uint32_t channel, uint32_t pc, uint32_t bg, uint32_t bank,
            uint32_t row, uint32_t col) {
    if (len_ > sizeof(buf_) - 160) flush();
    num(cycle);
    const char* n = cmd_name(cmd);
    while (*n) buf_[len_++] = *n++;
    buf_[len_++] = ' ';
    num(stack);
    num(channel);
    num(pc);
    opt(bg);
    opt(bank);
    opt(row);
    opt(col);
    buf_[len_ - 1] = '\n';
  }

  void flush() {
    if (os_ && len_) {
      os_->write(buf_, std::streamsize(len_));
      os_->flush();
    }
    len_ = 0;
  }

 private:
  void num(uint64_t v) {
    auto r = std::to_chars(buf_ + len_, buf_ + sizeof(buf_), v);
    len_ = size_t(r.ptr - buf_);
    buf_[len_++] = ' ';
  }
  void opt(uint32_t v) {
    if (v == kNone) {
      buf_[len_++] = '-';
      buf_[len_++] = ' ';
    } else {
      num(v);
    }
  }

  std::ostream* os_;
  size_t len_ = 0;
  char buf_[1 << 16];
};

}  // namespace tessera::model::dram
