// The .tbin program file (layout: docs/isa.md, "Program file"). Every integer is little-endian.
// The reader trusts nothing: each way a file can be wrong has its own message, checked in an
// order where an earlier check never needs a field a later one vouches for.
#include <array>
#include <cstring>
#include <limits>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/isa/text_util.h"
#include "common/util/error.h"

namespace tessera::isa {

namespace {

using detail::hex;

constexpr char kMagic[8] = {'T', 'S', 'R', 'A', 'P', 'R', 'O', 'G'};
constexpr size_t kHeaderBytes = 48;
constexpr size_t kEntryBytes = 40;
constexpr uint32_t kKindText = 1;
constexpr uint32_t kKindData = 2;
constexpr size_t kMaxNameBytes = 4096;

// Header field offsets.
constexpr size_t kOffVersion = 8, kOffFlags = 12, kOffFileBytes = 16, kOffFingerprint = 24, kOffSections = 32,
                 kOffNameBytes = 36, kOffBodyCrc = 40, kOffHeaderCrc = 44;

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib and PNG use).
uint32_t crc32(const uint8_t* data, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[at + i]) << (8 * i);
  return v;
}
uint64_t get64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

}  // namespace

uint32_t tbin_crc32(const uint8_t* data, size_t n) { return crc32(data, n); }

std::vector<uint8_t> write_tbin(const Program& p) {
  if (p.arch_name.size() > kMaxNameBytes) throw InputError("write_tbin: architecture name longer than 4096 bytes");
  const size_t sections = p.text.size() + p.data.size();
  const size_t table = kHeaderBytes + p.arch_name.size();
  size_t payload = table + sections * kEntryBytes;
  std::vector<uint8_t> b(payload);
  std::memcpy(b.data(), kMagic, sizeof kMagic);
  put32(b, kOffVersion, kTbinVersion);
  put32(b, kOffFlags, 0);
  put64(b, kOffFingerprint, p.arch_fingerprint);
  put32(b, kOffSections, static_cast<uint32_t>(sections));
  put32(b, kOffNameBytes, static_cast<uint32_t>(p.arch_name.size()));
  std::memcpy(b.data() + kHeaderBytes, p.arch_name.data(), p.arch_name.size());

  size_t entry = table;
  auto add_entry = [&](uint32_t kind, uint32_t chip, uint32_t core_or_space, uint64_t addr, size_t bytes) {
    put32(b, entry, kind);
    put32(b, entry + 4, chip);
    put32(b, entry + 8, core_or_space);
    put32(b, entry + 12, 0);
    put64(b, entry + 16, addr);
    put64(b, entry + 24, payload);
    put64(b, entry + 32, bytes);
    entry += kEntryBytes;
    payload += bytes;
  };
  for (const TextSection& t : p.text) {
    const size_t start = payload;
    add_entry(kKindText, t.chip, t.core, 0, t.code.size() * kWordBytes);
    b.resize(payload);
    for (size_t i = 0; i < t.code.size(); ++i) {
      const Word w = encode(t.code[i]);
      std::memcpy(b.data() + start + i * kWordBytes, w.data(), kWordBytes);
    }
  }
  for (const DataSection& d : p.data) {
    const size_t start = payload;
    add_entry(kKindData, d.chip, static_cast<uint32_t>(d.space), d.addr, d.bytes.size());
    b.resize(payload);
    std::memcpy(b.data() + start, d.bytes.data(), d.bytes.size());
  }
  put64(b, kOffFileBytes, b.size());
  put32(b, kOffBodyCrc, crc32(b.data() + kHeaderBytes, b.size() - kHeaderBytes));
  put32(b, kOffHeaderCrc, crc32(b.data(), kOffHeaderCrc));
  return b;
}

Program read_tbin(const std::vector<uint8_t>& b, const std::string& filename) {
  const std::string f = filename + ": ";
  if (b.size() < sizeof kMagic || std::memcmp(b.data(), kMagic, sizeof kMagic) != 0) {
    throw InputError(f + "not a Tessera program (the file does not start with \"TSRAPROG\")");
  }
  if (b.size() < kHeaderBytes) {
    throw InputError(f + "truncated: expected at least " + std::to_string(kHeaderBytes) +
                     " bytes of header, file has " + std::to_string(b.size()));
  }
  const uint32_t version = get32(b, kOffVersion);
  if (version != kTbinVersion) {
    throw InputError(f + "unsupported .tbin format version " + std::to_string(version) + " (this tessera reads version " +
                     std::to_string(kTbinVersion) + ")");
  }
  const uint32_t header_crc = crc32(b.data(), kOffHeaderCrc);
  if (header_crc != get32(b, kOffHeaderCrc)) {
    throw InputError(f + "corrupted: header checksum mismatch (stored " + hex(get32(b, kOffHeaderCrc)) +
                     ", computed " + hex(header_crc) + ")");
  }
  const uint64_t file_bytes = get64(b, kOffFileBytes);
  if (b.size() < file_bytes) {
    throw InputError(f + "truncated: expected " + std::to_string(file_bytes) + " bytes, file has " +
                     std::to_string(b.size()));
  }
  if (b.size() > file_bytes) {
    throw InputError(f + "corrupted: expected " + std::to_string(file_bytes) + " bytes, file has " +
                     std::to_string(b.size()) + " (trailing data)");
  }
  const uint32_t body_crc = crc32(b.data() + kHeaderBytes, b.size() - kHeaderBytes);
  if (body_crc != get32(b, kOffBodyCrc)) {
    throw InputError(f + "corrupted: checksum mismatch over bytes " + std::to_string(kHeaderBytes) + ".." +
                     std::to_string(b.size() - 1) + " (stored " + hex(get32(b, kOffBodyCrc)) + ", computed " +
                     hex(body_crc) + ")");
  }

  // From here the bytes are what a writer wrote; what is wrong now is the writer's doing.
  const std::string bad = f + "malformed program: ";
  if (get32(b, kOffFlags) != 0) throw InputError(bad + "flags " + hex(get32(b, kOffFlags)) + " are not zero");
  const uint64_t name_bytes = get32(b, kOffNameBytes);
  const uint64_t sections = get32(b, kOffSections);
  if (name_bytes > kMaxNameBytes) throw InputError(bad + "architecture name of " + std::to_string(name_bytes) + " bytes");
  const uint64_t table = kHeaderBytes + name_bytes;
  if (table + sections * kEntryBytes > b.size()) {
    throw InputError(bad + std::to_string(sections) + " section entries do not fit in the file");
  }
  Program p;
  p.arch_fingerprint = get64(b, kOffFingerprint);
  p.arch_name.assign(reinterpret_cast<const char*>(b.data() + kHeaderBytes), name_bytes);
  uint64_t expect_offset = table + sections * kEntryBytes;
  for (uint64_t s = 0; s < sections; ++s) {
    const size_t e = table + s * kEntryBytes;
    const uint32_t kind = get32(b, e), chip = get32(b, e + 4), sub = get32(b, e + 8);
    const uint64_t addr = get64(b, e + 16), offset = get64(b, e + 24), size = get64(b, e + 32);
    const std::string which = "section " + std::to_string(s) + ": ";
    if (get32(b, e + 12) != 0) throw InputError(bad + which + "reserved word is not zero");
    if (offset != expect_offset || size > b.size() - offset) {
      throw InputError(bad + which + "payload at " + std::to_string(offset) + " of " + std::to_string(size) +
                       " bytes is not where the previous section ends (" + std::to_string(expect_offset) + ")");
    }
    expect_offset += size;
    if (kind == kKindText) {
      if (addr != 0 || size % kWordBytes != 0) {
        throw InputError(bad + which + "text section with address " + hex(addr) + " or a size of " +
                         std::to_string(size) + " bytes, not a whole number of instructions");
      }
      TextSection t;
      t.chip = chip;
      t.core = sub;
      t.code.reserve(size / kWordBytes);
      for (uint64_t i = 0; i < size / kWordBytes; ++i) {
        Word w;
        std::memcpy(w.data(), b.data() + offset + i * kWordBytes, kWordBytes);
        try {
          t.code.push_back(decode(w, i));
        } catch (const InputError& err) {
          throw InputError(f + "text section chip " + std::to_string(chip) + " core " + std::to_string(sub) + ", " +
                           err.what());
        }
      }
      p.text.push_back(std::move(t));
    } else if (kind == kKindData) {
      if (enum_name(EnumType::space, sub) == nullptr) {
        throw InputError(bad + which + "space code " + std::to_string(sub) + " is undefined");
      }
      DataSection d;
      d.chip = chip;
      d.space = static_cast<Space>(sub);
      d.addr = addr;
      d.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(offset),
                     b.begin() + static_cast<std::ptrdiff_t>(offset + size));
      p.data.push_back(std::move(d));
    } else {
      throw InputError(bad + which + "unknown kind " + std::to_string(kind));
    }
  }
  if (expect_offset != b.size()) {
    throw InputError(bad + std::to_string(b.size() - expect_offset) + " bytes after the last section");
  }
  return p;
}

void check_arch(const Program& p, const config::ArchConfig& arch, const std::string& filename) {
  const uint64_t fp = config::fingerprint(arch);
  if (p.arch_fingerprint != fp) {
    throw InputError(filename + ": program built for architecture '" + p.arch_name + "' (fingerprint " +
                     hex(p.arch_fingerprint) + "), this is '" + arch.name + "' (fingerprint " + hex(fp) +
                     "); reassemble the source with --arch " + arch.name);
  }
}

}  // namespace tessera::isa
