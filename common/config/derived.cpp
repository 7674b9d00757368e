#include "common/config/derived.h"

#include <algorithm>

#include <array>
#include <charconv>

namespace tessera::config {

int64_t macs_per_cycle_per_chip(const ArchConfig& c) {
  return c.chip.cores * c.core.matrix_engines * c.matrix.rows * c.matrix.cols;
}

double peak_ops_per_s(const ArchConfig& c) {
  return 2.0 * double(macs_per_cycle_per_chip(c)) * c.clock.core_mhz * 1e6;
}

int64_t element_bytes(MatrixPrecision p) { return p == MatrixPrecision::bf16 ? 2 : 1; }

int64_t dram_burst_bytes(const ArchConfig& c) { return c.dram.bus_bits / 8 * c.dram.burst_length; }

int64_t dram_pseudo_channels_per_chip(const ArchConfig& c) {
  return c.dram.stacks * c.dram.channels * c.dram.pseudo_channels;
}

uint64_t dram_stack_bytes(const ArchConfig& c) {
  const auto& d = c.dram;
  return uint64_t(d.channels) * uint64_t(d.pseudo_channels) * uint64_t(d.bank_groups) *
         uint64_t(d.banks_per_group) * uint64_t(d.rows) * uint64_t(d.row_bytes);
}

uint64_t dram_capacity_bytes(const ArchConfig& c) { return uint64_t(c.dram.stacks) * dram_stack_bytes(c); }

double dram_peak_bytes_per_s(const ArchConfig& c) {
  return double(dram_pseudo_channels_per_chip(c)) * double(c.dram.bus_bits) / 8.0 * c.dram.data_rate_mtps * 1e6;
}

uint64_t l1_bytes_per_chip(const ArchConfig& c) { return uint64_t(c.chip.cores) * uint64_t(c.l1.bytes); }

int64_t accumulator_bank_width(const ArchConfig& c) {
  return std::max<int64_t>(4, 4 * int64_t(c.matrix.cols) / int64_t(c.accumulator.banks));
}

int64_t accumulator_latency(const ArchConfig&) { return 1; }

uint64_t accumulator_bytes_per_chip(const ArchConfig& c) {
  return uint64_t(c.chip.cores) * uint64_t(c.core.matrix_engines) * uint64_t(c.accumulator.bytes);
}

uint64_t sram_bytes_per_chip(const ArchConfig& c) {
  return l1_bytes_per_chip(c) + accumulator_bytes_per_chip(c) + uint64_t(c.l2.bytes);
}

int64_t l1_bytes_per_cycle(const ArchConfig& c) { return c.l1.banks * c.l1.bank_width; }

int64_t matrix_l1_demand_bytes_per_cycle(const ArchConfig& c, MatrixPrecision p) {
  return c.core.matrix_engines * (c.matrix.rows + c.matrix.cols) * element_bytes(p);
}

double link_bytes_per_s_per_chip(const ArchConfig& c) { return double(c.link.count) * c.link.gbytes_per_s * 1e9; }

std::string format_double(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string exact_size_text(uint64_t b) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string s = std::to_string(b) + " B";
  uint64_t v = b;
  for (const char* unit : kUnits) {
    if (v < 1024 || v % 1024 != 0) break;
    v /= 1024;
    s = std::to_string(v) + " " + unit;
  }
  return s;
}

bool parse_address_map(const ArchConfig& c, std::vector<AddressPiece>& pieces, std::string& why) {
  const auto& d = c.dram;
  const int64_t burst = dram_burst_bytes(c);
  const std::array<uint64_t, 7> sizes = {uint64_t(d.rows),     uint64_t(d.banks_per_group), uint64_t(d.bank_groups),
                                         uint64_t(d.channels), uint64_t(d.pseudo_channels), uint64_t(d.stacks),
                                         burst > 0 ? uint64_t(d.row_bytes / burst) : 0};
  return parse_address_map(d.controller.address_map, sizes, pieces, why);
}

namespace {
constexpr std::array<const char*, 7> kFields = {"ro", "ba", "bg", "ch", "pc", "st", "co"};
}  // namespace

std::array<uint64_t, 7> decode_address(const std::vector<AddressPiece>& pieces, uint64_t burst_bytes, uint64_t addr) {
  std::array<uint64_t, 7> value{};
  uint64_t idx = addr / burst_bytes;
  for (const AddressPiece& p : pieces) {
    size_t f = 0;
    while (f + 1 < kFields.size() && p.field != kFields[f]) ++f;
    value[f] += idx % p.size * p.weight;
    idx /= p.size;
  }
  return value;
}

bool parse_address_map(const std::string& spec, const std::array<uint64_t, 7>& sizes, std::vector<AddressPiece>& pieces,
                       std::string& why) {
  struct Token {
    int field;
    int bits;  // 0 = the rest of the field
    std::string text;
  };
  std::vector<Token> tokens;
  size_t pos = 0;
  while (true) {
    const size_t end = std::min(spec.find('-', pos), spec.size());
    const std::string tok = spec.substr(pos, end - pos);
    if (tok.empty()) {
      why = "an empty piece at character " + std::to_string(pos + 1);
      return false;
    }
    const std::string name = tok.substr(0, tok.find(':'));
    int field = -1;
    for (size_t i = 0; i < kFields.size(); ++i) {
      if (name == kFields[i]) field = int(i);
    }
    if (field < 0) {
      why = "an unknown field '" + name + "'";
      return false;
    }
    int bits = 0;
    if (name.size() < tok.size()) {
      const std::string num = tok.substr(name.size() + 1);
      if (num.empty() || num.size() > 2 || num.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(num) < 1 || std::stoi(num) > 31) {
        why = "a bit count from 1 to 31 after ':' in '" + tok + "'";
        return false;
      }
      bits = std::stoi(num);
    }
    tokens.push_back(Token{field, bits, tok});
    if (end == spec.size()) break;
    pos = end + 1;
  }
  std::array<uint64_t, 7> sized{};
  std::array<int, 7> bare{}, count{};
  sized.fill(1);
  for (const Token& t : tokens) {
    ++count[size_t(t.field)];
    if (t.bits == 0) {
      ++bare[size_t(t.field)];
    } else {
      sized[size_t(t.field)] <<= t.bits;
      // Checked as it grows, so many wide pieces cannot overflow the product.
      if (sized[size_t(t.field)] > sizes[size_t(t.field)]) {
        why = "sized pieces of '" + std::string(kFields[size_t(t.field)]) + "' covering more than the field's " +
              std::to_string(sizes[size_t(t.field)]) + " values";
        return false;
      }
    }
  }
  for (size_t f = 0; f < kFields.size(); ++f) {
    const std::string nm = kFields[f];
    if (count[f] == 0) {
      why = "field '" + nm + "' missing";
      return false;
    }
    if (bare[f] > 1) {
      why = "field '" + nm + "' " + std::to_string(bare[f]) + " times without a bit count";
      return false;
    }
    if (bare[f] == 0 && sized[f] != sizes[f]) {
      why = "pieces of '" + nm + "' covering " + std::to_string(sized[f]) + " values where the field has " +
            std::to_string(sizes[f]);
      return false;
    }
    if (bare[f] == 1 && sizes[f] % sized[f] != 0) {
      why = "sized pieces of '" + nm + "' covering " + std::to_string(sized[f]) + " values, which does not divide " +
            std::to_string(sizes[f]);
      return false;
    }
  }
  pieces.clear();
  std::array<uint64_t, 7> weight{};
  weight.fill(1);
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    const size_t f = size_t(it->field);
    const uint64_t size = it->bits ? (uint64_t(1) << it->bits) : sizes[f] / sized[f];
    pieces.push_back(AddressPiece{kFields[f], size, weight[f]});
    weight[f] *= size;
  }
  return true;
}

}  // namespace tessera::config
