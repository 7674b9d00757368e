// Whole programs as text: the assembler (directives, sections, data) and the disassembler
// that writes text assembling back to the same program.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/isa/text_util.h"
#include "common/util/error.h"

namespace tessera::isa {

namespace {

using detail::hex;

std::string directory_of(const std::string& filename) {
  const auto parent = std::filesystem::path(filename).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

bool looks_like_path(std::string_view s) {
  return s.find('/') != std::string_view::npos || s.ends_with(".yaml");
}

// key=value arguments of a directive (tokens[first] onward), each key at most once and
// from `allowed`.
std::map<std::string, std::string> directive_args(const std::vector<std::string_view>& tokens, size_t first,
                                                  const std::set<std::string>& allowed, const std::string& where) {
  std::map<std::string, std::string> out;
  for (size_t i = first; i < tokens.size(); ++i) {
    auto kv = detail::split_key_value(tokens[i]);
    if (!kv) throw InputError(where + ": " + std::string(tokens[0]) + ": expected key=value, got '" +
                              std::string(tokens[i]) + "'");
    const std::string key(kv->key);
    if (!allowed.contains(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw InputError(where + ": " + std::string(tokens[0]) + ": unknown argument '" + key + "' (expected " + list +
                       ")");
    }
    if (!out.emplace(key, std::string(kv->value)).second) {
      throw InputError(where + ": " + std::string(tokens[0]) + ": " + key + " given twice");
    }
  }
  return out;
}

uint64_t arg_uint(const std::map<std::string, std::string>& args, const std::string& key, uint64_t max,
                  const std::string& where) {
  auto it = args.find(key);
  if (it == args.end()) return 0;
  auto v = detail::parse_uint(it->second);
  if (!v || *v > max) {
    throw InputError(where + ": " + key + ": expected an unsigned integer up to " + std::to_string(max) + ", got '" +
                     it->second + "'");
  }
  return *v;
}

std::vector<uint8_t> parse_hex_bytes(std::string_view s, const std::string& where) {
  if (s.starts_with("0x")) s.remove_prefix(2);
  if (s.size() % 2 != 0) throw InputError(where + ": bytes: expected an even number of hex digits");
  std::vector<uint8_t> out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    auto v = detail::parse_uint("0x" + std::string(s.substr(i, 2)));
    if (!v) throw InputError(where + ": bytes: '" + std::string(s.substr(i, 2)) + "' is not a hex byte");
    out.push_back(static_cast<uint8_t>(*v));
  }
  return out;
}

}  // namespace

std::vector<uint8_t> read_program_file(const std::string& path, const std::string& where) {
  const std::string who = (where.empty() ? "" : where + ": ") + path;
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) throw InputError(who + ": cannot read the file (it does not exist)");
  // A pipe ends when its writer closes it, and the read below is bounded; a character device
  // (/dev/zero, /dev/urandom, a terminal) may never end, so it is refused unread.
  const bool pipe = std::filesystem::is_fifo(st);
  if (!std::filesystem::is_regular_file(st) && !pipe) {
    throw InputError(who + ": expected a program file, got " +
                     (std::filesystem::is_directory(st) ? std::string("a directory")
                                                        : std::string("a device or other special file (not read: it may never end)")));
  }
  const uint64_t size = pipe ? 0 : std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxProgramFileBytes) {
    throw InputError(who + ": " + std::to_string(size) + " bytes exceed the program file limit of " +
                     std::to_string(kMaxProgramFileBytes) + " bytes (1 GiB)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(who + ": cannot read the file (no permission?)");
  // Read at most one buffer past the limit: a pipe has no size, a file may grow after it was measured.
  std::vector<uint8_t> bytes;
  bytes.reserve(ec ? 0 : size);
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.insert(bytes.end(), buf, buf + in.gcount());
    if (bytes.size() > kMaxProgramFileBytes) {
      throw InputError(who + ": more than the program file limit of " + std::to_string(kMaxProgramFileBytes) +
                       " bytes (1 GiB)");
    }
  }
  if (in.bad()) throw InputError(who + ": reading the file failed");
  return bytes;
}

std::string arch_directive(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto tokens = detail::tokenize(text.substr(pos, end - pos));
    if (tokens.size() >= 2 && tokens[0] == ".arch") return std::string(tokens[1]);
    pos = end + 1;
  }
  return "";
}

Program assemble(const std::string& text, const std::string& filename, const config::ArchConfig& arch) {
  Program p;
  p.arch_name = arch.name;
  p.arch_fingerprint = config::fingerprint(arch);
  std::map<std::pair<uint32_t, uint32_t>, int> text_line;  // (chip, core) -> line of its .section
  // Index into p.text of the section instructions go to (pointers would dangle as it grows).
  std::optional<size_t> current;
  bool saw_arch = false;

  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = filename + ":" + std::to_string(line_no);
    const auto tokens = detail::tokenize(line);
    if (tokens.empty()) continue;

    if (tokens[0] == ".arch") {
      if (tokens.size() != 2) throw InputError(where + ": .arch: expected one architecture name");
      if (saw_arch) throw InputError(where + ": .arch given twice");
      saw_arch = true;
      const std::string named(tokens[1]);
      if (named == arch.name) continue;
      // A preset name or file that describes the same machine under another name is fine.
      std::string load = named;
      if (looks_like_path(named) && std::filesystem::path(named).is_relative()) {
        load = (std::filesystem::path(directory_of(filename)) / named).string();
      }
      uint64_t fp = 0;
      try {
        fp = config::fingerprint(*config::load_arch(load));
      } catch (const InputError& e) {
        throw InputError(where + ": .arch " + named + ": " + e.what());
      }
      if (fp != p.arch_fingerprint) {
        throw InputError(where + ": .arch " + named + " (fingerprint " + hex(fp) +
                         ") is not the architecture being assembled for, " + arch.name + " (fingerprint " +
                         hex(p.arch_fingerprint) + ")");
      }
    } else if (tokens[0] == ".section") {
      if (tokens.size() < 2 || tokens[1] != "text") {
        throw InputError(where + ": .section: expected 'text' (data goes in .data lines)");
      }
      const auto args = directive_args(tokens, 2, {"chip", "core"}, where);
      TextSection t;
      t.chip = static_cast<uint32_t>(arg_uint(args, "chip", UINT32_MAX, where));
      t.core = static_cast<uint32_t>(arg_uint(args, "core", UINT32_MAX, where));
      auto [it, fresh] = text_line.emplace(std::pair{t.chip, t.core}, line_no);
      if (!fresh) {
        throw InputError(where + ": .section text chip=" + std::to_string(t.chip) + " core=" +
                         std::to_string(t.core) + " already started at line " + std::to_string(it->second));
      }
      p.text.push_back(std::move(t));
      current = p.text.size() - 1;
    } else if (tokens[0] == ".data") {
      const auto args = directive_args(tokens, 1, {"chip", "space", "addr", "file", "bytes"}, where);
      DataSection d;
      d.chip = static_cast<uint32_t>(arg_uint(args, "chip", UINT32_MAX, where));
      auto sp = args.find("space");
      if (sp == args.end()) throw InputError(where + ": .data: space= is required (hbm or l2)");
      auto code = enum_code(EnumType::space, sp->second);
      if (!code) throw InputError(where + ": .data: space: expected hbm, l2, l1 or acc, got '" + sp->second + "'");
      d.space = static_cast<Space>(*code);
      if (!args.contains("addr")) throw InputError(where + ": .data: addr= is required");
      d.addr = arg_uint(args, "addr", UINT64_MAX, where);
      const bool has_file = args.contains("file"), has_bytes = args.contains("bytes");
      if (has_file == has_bytes) throw InputError(where + ": .data: give exactly one of file= and bytes=");
      if (has_file) {
        std::filesystem::path f(args.at("file"));
        if (f.is_relative()) f = std::filesystem::path(directory_of(filename)) / f;
        d.bytes = read_program_file(f.string(), where + ": file");
      } else {
        d.bytes = parse_hex_bytes(args.at("bytes"), where);
      }
      if (d.bytes.empty()) throw InputError(where + ": .data: no bytes");
      p.data.push_back(std::move(d));
    } else if (tokens[0].starts_with(".")) {
      throw InputError(where + ": unknown directive '" + std::string(tokens[0]) +
                       "' (expected .arch, .section, .data)");
    } else {
      if (!current) {
        // Code before any .section belongs to chip 0, core 0.
        auto [it, fresh] = text_line.emplace(std::pair{0u, 0u}, line_no);
        if (!fresh) throw InputError(where + ": instruction outside a .section");
        p.text.push_back(TextSection{});
        current = p.text.size() - 1;
      }
      p.text[*current].code.push_back(parse_instr(line, where));
    }
  }
  return p;
}

std::string disassemble(const Program& p) {
  std::string out = "# Tessera program for architecture " + p.arch_name + " (fingerprint " +
                    hex(p.arch_fingerprint) + ")\n";
  if (!p.arch_name.empty()) out += ".arch " + p.arch_name + "\n";
  for (const TextSection& t : p.text) {
    out += "\n.section text chip=" + std::to_string(t.chip) + " core=" + std::to_string(t.core) + "\n";
    for (const Instr& x : t.code) out += "  " + format_instr(x) + "\n";
  }
  if (!p.data.empty()) out += "\n";
  static const char* kHex = "0123456789abcdef";
  for (const DataSection& d : p.data) {
    out += ".data chip=" + std::to_string(d.chip) + " space=" + name(d.space) + " addr=" + hex(d.addr) + " bytes=";
    for (uint8_t b : d.bytes) {
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
    out += "\n";
  }
  return out;
}

}  // namespace tessera::isa
