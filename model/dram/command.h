#pragma once
// Cmd: the DRAM commands the controller issues, as they appear in the command trace and
// the command counts the energy model reads (docs/dram.md).
#include <cstddef>
#include <cstdint>

namespace tessera::model::dram {

// RDA and WRA are RD and WR with auto-precharge; REFab refreshes every bank of a
// pseudo-channel, REFpb one bank.
enum class Cmd : uint8_t { ACT, RD, WR, RDA, WRA, PRE, REFab, REFpb };
constexpr size_t kCmdCount = 8;

inline const char* cmd_name(Cmd c) {
  static const char* const kNames[kCmdCount] = {"ACT", "RD", "WR", "RDA", "WRA", "PRE", "REFab", "REFpb"};
  return kNames[size_t(c)];
}

}  // namespace tessera::model::dram
