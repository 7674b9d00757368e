#pragma once
// The Tessera instruction set as a library: the binary encoding of one instruction
// (encode/decode), its assembly text (format_instr/parse_instr), whole programs
// (assemble/disassemble), the .tbin program file (write_tbin/read_tbin) and the
// per-architecture rules a program must obey (check_arch/validate).
//
// Everything about opcodes, formats, fields and enumerations comes from the tables
// that scripts/gen_isa.py generates from spec/isa.yaml (isa_gen.h); this library
// never spells an opcode value or a field width. docs/isa.md describes the
// encoding, the assembly syntax, the .tbin layout and the validation rules.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/isa/isa_gen.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::isa {

// ---- One instruction ----

// Throws InputError if a value does not fit its field, an enum field holds an
// undefined code, or a field outside the opcode's format is nonzero.
Word encode(const Instr&);
// Throws InputError naming the instruction index: unknown opcode, undefined enum
// code, nonzero reserved bits.
Instr decode(const Word&, size_t index);
// One line of assembly: `opcode unit [wait=a|b] [signal=c] field=value ...`, every
// field of the format written out; parse_instr(format_instr(x)) == x.
std::string format_instr(const Instr&);
// Parses one instruction line (no comment, no directive). `where` prefixes every
// error message, e.g. "prog.s:12". Checks syntax and field ranges, not the
// architecture (that is validate()).
Instr parse_instr(std::string_view line, const std::string& where);

// ---- Operands ----

// One operand of an instruction and the bytes it touches: [addr, addr + bytes) of `space`
// (of matrix engine `acc_engine`'s accumulator when space is acc).
struct OperandExtent {
  const char* name;  // as validation errors name it: src, dst, A, B, C, src1, src2, send, recv
  Space space;
  uint32_t acc_engine;
  uint64_t addr, bytes;
  bool read, write;
};
// Every memory operand the opcode reads or writes, with its extent (vector operands from
// operand_rows, the shapes of spec/isa.yaml): dma dst, src; matmul A, B, C; vector dst, src1,
// src2 (operands of shape none left out); coll send, recv (those the opcode uses). The
// validator checks each against its space, the compiler's emitter tracks dependencies on them.
std::vector<OperandExtent> operand_extents(const Instr&);

// ---- Programs ----

struct TextSection {
  uint32_t chip = 0, core = 0;
  std::vector<Instr> code;
};
// Initial contents of a chip's shared memory (hbm or l2).
struct DataSection {
  uint32_t chip = 0;
  Space space = Space::hbm;
  uint64_t addr = 0;
  std::vector<uint8_t> bytes;
};
struct Program {
  std::string arch_name;
  uint64_t arch_fingerprint = 0;
  std::vector<TextSection> text;  // one per (chip, core) that runs code
  std::vector<DataSection> data;  // may be empty (timing-only programs)
};

// Assembles program text for `arch`; `filename` names the text in messages and is
// the directory `.data ... file=` paths are relative to. Errors: "FILE:LINE: ...".
// The result is not validated: call validate() (the `tessera asm` command does).
Program assemble(const std::string& text, const std::string& filename, const config::ArchConfig& arch);
// The NAME of the first `.arch NAME` line of program text, "" if there is none (the
// `tessera asm` command loads the architecture from it when --arch is not given).
std::string arch_directive(std::string_view text);
// Assembly text that assembles back to the same program (same .tbin bytes).
std::string disassemble(const Program&);

// ---- The .tbin file (layout in docs/isa.md) ----

inline constexpr uint32_t kTbinVersion = 1;
std::vector<uint8_t> write_tbin(const Program&);
// Refuses, each with its own message: not a Tessera program (magic), unsupported
// format version, truncated (expected N bytes, file has M), corrupted (checksum),
// malformed section table, undecodable instruction.
Program read_tbin(const std::vector<uint8_t>& bytes, const std::string& filename);
// The largest program file the readers take (a .tbin, an assembly source, a `.data file=`):
// 1 GiB, far above what the compiler writes (data sections hold initial memory contents, and a
// model's weights are loaded by `tessera run`, not through a program file).
inline constexpr uint64_t kMaxProgramFileBytes = uint64_t(1) << 30;
// Reads a whole program file for `read_tbin`, `assemble` and `.data file=`. Refuses, naming
// `path` after `where` (the option or directive that named it): a path that cannot be read, one
// that is neither a regular file nor a pipe (a directory; a device such as /dev/zero may never
// end), and a file above kMaxProgramFileBytes, before reading past the limit.
std::vector<uint8_t> read_program_file(const std::string& path, const std::string& where = "");
// The checksum the .tbin header uses: CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320).
uint32_t tbin_crc32(const uint8_t* data, size_t n);
// The program's architecture fingerprint must equal `arch`'s.
void check_arch(const Program&, const config::ArchConfig& arch, const std::string& filename);

// ---- Architecture rules ----

// Every rule of spec/isa.yaml `checks` that is not a decode rule. Throws InputError
// "text section chip C core K, instruction #I (opcode): ... [check: id]" for the first
// violation.
void validate(const Program&, const config::ArchConfig& arch);

}  // namespace tessera::isa
