// The DRAM address map: mixed-radix decomposition (so six stacks and non-power-of-two row
// counts work), split fields, the inverse, and the errors of a bad map string.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "common/config/derived.h"
#include "common/util/error.h"
#include "tests/model/dram/dram_test_util.h"

namespace tessera::model::dram::test {
namespace {

DramParams device(uint32_t stacks, uint32_t rows, const std::string& map) {
  DramParams p = test_device();
  p.stacks = stacks;
  p.rows = rows;
  p.address_map = map;
  p.derive();
  return p;
}

// Reference decomposition written straight from the definition: split the map at '-',
// take pieces least significant first, digit = index mod size, index /= size.
Location reference(const DramParams& p, const std::string& map, uint64_t addr) {
  const std::map<std::string, uint32_t> size = {{"ro", p.rows},     {"ba", p.banks_per_group}, {"bg", p.bank_groups},
                                                {"ch", p.channels}, {"pc", p.pcs},             {"st", p.stacks},
                                                {"co", p.cols()}};
  std::vector<std::pair<std::string, uint32_t>> pieces;  // most significant first; bits 0 = rest
  size_t pos = 0;
  while (pos <= map.size()) {
    size_t end = map.find('-', pos);
    if (end == std::string::npos) end = map.size();
    const std::string tok = map.substr(pos, end - pos);
    const size_t colon = tok.find(':');
    pieces.emplace_back(tok.substr(0, colon), colon == std::string::npos ? 0 : std::stoul(tok.substr(colon + 1)));
    pos = end + 1;
  }
  std::map<std::string, uint64_t> sized;
  for (const auto& [f, bits] : pieces) sized[f] = (sized.count(f) ? sized[f] : 1) << bits;
  std::map<std::string, uint64_t> value, weight;
  uint64_t index = addr / p.burst_bytes;
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    const uint64_t n = it->second ? (uint64_t(1) << it->second) : size.at(it->first) / sized[it->first];
    const uint64_t w = weight.count(it->first) ? weight[it->first] : 1;
    value[it->first] += (index % n) * w;
    weight[it->first] = w * n;
    index /= n;
  }
  Location l;
  l.row = uint32_t(value["ro"]);
  l.bank = uint32_t(value["ba"]);
  l.bg = uint32_t(value["bg"]);
  l.channel = uint32_t(value["ch"]);
  l.pc = uint32_t(value["pc"]);
  l.stack = uint32_t(value["st"]);
  l.col = uint32_t(value["co"]);
  return l;
}

void expect_same(const Location& a, const Location& b, uint64_t addr) {
  EXPECT_EQ(std::vector<uint32_t>({a.stack, a.channel, a.pc, a.bg, a.bank, a.row, a.col}),
            std::vector<uint32_t>({b.stack, b.channel, b.pc, b.bg, b.bank, b.row, b.col}))
      << "address " << addr;
}

TEST(DramAddressMap, DefaultMapFillsARowThenMovesToTheNextStackAndPseudoChannel) {
  const DramParams p = device(1, 64, "ro-ba-bg-ch-pc-st-co");
  const AddressMap m(p.address_map, p);
  // 32 B bursts, 8 per 256 B row; 2 pseudo-channels, 2 channels, 4 bank groups, 2 banks.
  expect_same(m.decode(0), Location{}, 0);
  EXPECT_EQ(m.decode(31).col, 0u);
  EXPECT_EQ(m.decode(32).col, 1u);
  EXPECT_EQ(m.decode(7 * 32).col, 7u);
  EXPECT_EQ(m.decode(256).pc, 1u);
  EXPECT_EQ(m.decode(512).channel, 1u);
  EXPECT_EQ(m.decode(1024).bg, 1u);
  EXPECT_EQ(m.decode(4096).bank, 1u);
  EXPECT_EQ(m.decode(8192).row, 1u);
}

TEST(DramAddressMap, SixStacksAndNonPowerOfTwoRowsDecomposeByDivision) {
  const uint32_t seed = 7;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const std::string map : {"ro-ba-bg-ch-pc-st-co", "ro-ba-co-bg-ch-pc-st-co:1", "st-ro-co:2-ba-bg-ch-pc-co:1",
                                "co-ro-ba-bg-ch-pc-st"}) {
    SCOPED_TRACE(map);
    const DramParams p = device(6, 48, map);
    const AddressMap m(p.address_map, p);
    // The configuration library's decode (the compiler's placement uses it) against the same
    // reference: ro ba bg ch pc st co.
    std::vector<config::AddressPiece> pieces;
    std::string why;
    ASSERT_TRUE(config::parse_address_map(map, {p.rows, p.banks_per_group, p.bank_groups, p.channels, p.pcs, p.stacks,
                                                p.cols()},
                                          pieces, why))
        << why;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t addr = rng() % p.capacity_bytes();
      const Location l = m.decode(addr);
      expect_same(l, reference(p, map, addr), addr);
      EXPECT_EQ(m.encode(l), addr / p.burst_bytes * p.burst_bytes);
      const auto f = config::decode_address(pieces, p.burst_bytes, addr);
      Location c;
      c.row = uint32_t(f[0]);
      c.bank = uint32_t(f[1]);
      c.bg = uint32_t(f[2]);
      c.channel = uint32_t(f[3]);
      c.pc = uint32_t(f[4]);
      c.stack = uint32_t(f[5]);
      c.col = uint32_t(f[6]);
      expect_same(c, reference(p, map, addr), addr);
    }
  }
  // With the default map, consecutive rows' worth of bytes walk the six stacks in turn.
  const DramParams p = device(6, 48, "ro-ba-bg-ch-pc-st-co");
  const AddressMap m(p.address_map, p);
  for (uint32_t k = 0; k < 12; ++k) EXPECT_EQ(m.decode(uint64_t(k) * 256).stack, k % 6);
  EXPECT_EQ(m.decode(6 * 256).pc, 1u);
  EXPECT_EQ(m.decode(p.capacity_bytes() - 1).row, 47u);
}

TEST(DramAddressMap, SplitColumnKeepsSmallBlocksTogetherAndInterleavesBankGroups) {
  const DramParams p = device(1, 64, "ro-ba-co-bg-ch-pc-st-co:1");
  const AddressMap m(p.address_map, p);
  // Two bursts (64 B) per pseudo-channel, then the next pseudo-channel, channel, bank group.
  EXPECT_EQ(m.decode(32).col, 1u);
  EXPECT_EQ(m.decode(64).pc, 1u);
  EXPECT_EQ(m.decode(128).channel, 1u);
  EXPECT_EQ(m.decode(256).bg, 1u);
  EXPECT_EQ(m.decode(1024).col, 2u);
  EXPECT_EQ(m.decode(1024).bg, 0u);
}

TEST(DramAddressMap, CursorStepsMatchDecode) {
  for (const std::string map : {"ro-ba-bg-ch-pc-st-co", "ro-ba-co-bg-ch-pc-st-co:1", "st-ro-co:2-ba-bg-ch-pc-co:1"}) {
    SCOPED_TRACE(map);
    const DramParams p = device(6, 48, map);
    const AddressMap m(p.address_map, p);
    AddressMap::Cursor c;
    m.seek(0, c);
    const uint64_t bursts = p.capacity_bytes() / p.burst_bytes;
    for (uint64_t b = 0; b + 1 < bursts; ++b) {
      m.step(c);
      ASSERT_EQ(c.burst, b + 1);
      const Location l = m.decode((b + 1) * p.burst_bytes);
      ASSERT_EQ(std::vector<uint32_t>({c.loc.stack, c.loc.channel, c.loc.pc, c.loc.bg, c.loc.bank, c.loc.row, c.loc.col}),
                std::vector<uint32_t>({l.stack, l.channel, l.pc, l.bg, l.bank, l.row, l.col}))
          << "burst " << b + 1;
    }
  }
}

TEST(DramAddressMap, BadMapsAreInputErrors) {
  DramParams p = test_device();
  p.derive();
  for (const std::string bad : {"", "ro-ba-bg-ch-pc-st", "ro-ba-bg-ch-pc-st-co-co", "ro-ba-bg-ch-pc-st-xx",
                                "ro-ba-bg-ch-pc-st--co", "ro-ba-bg-ch-pc-st-co:0", "ro-ba-bg-ch-pc-st-co:40",
                                "ro-ba-bg-ch-pc-st-co:2-co:2", "ro-ba-bg:4-ch-pc-st-co"}) {
    SCOPED_TRACE("'" + bad + "'");
    try {
      AddressMap m(bad, p);
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("dram.controller.address_map"), std::string::npos) << e.what();
    }
  }
  // A sized piece must divide the field: 3 bank groups cannot take a 1-bit piece.
  p.bank_groups = 3;
  p.derive();
  EXPECT_THROW(AddressMap("ro-ba-bg-ch-pc-st-co-bg:1", p), InputError);
}

}  // namespace
}  // namespace tessera::model::dram::test
