// safetensors reader/writer: round trips in every dtype, deterministic bytes, sharded
// checkpoints, and one test per malformed-file diagnostic.
#include "common/hf/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/numerics/fp.h"
#include "tests/common/hf/test_util.h"

namespace tessera::hf {
namespace {

using test::expect_input_error;
using test::TempDir;

using test::file_bytes;
using test::le64;

// Values exactly representable in F32, F16 and BF16 alike: small integers, halves and
// quarters, powers of two (incl. an FP16 subnormal-free small one), signed zero.
const std::vector<float> kRepresentable = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -2.25f, 3.0f, 96.0f, -0.125f, 0x1p-10f, 448.0f, -7.5f};

TEST(Safetensors, RoundTripEveryDtypeLoadsIdentically) {
  TempDir dir;
  for (TensorDType dt : {TensorDType::F32, TensorDType::F16, TensorDType::BF16}) {
    const std::string path = dir.file(std::string(tensor_dtype_name(dt)) + ".safetensors");
    write_safetensors(path, {{"a", {3, 4}, kRepresentable, dt}, {"b", {}, {2.5f}, dt}}, {{"format", "pt"}});
    SafetensorsFile f(path);
    ASSERT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    const TensorInfo* a = f.find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->dtype, dt);
    EXPECT_EQ(a->shape, (Shape{3, 4}));
    const std::vector<float> got = f.read("a", {3, 4});
    ASSERT_EQ(got.size(), kRepresentable.size());
    for (size_t i = 0; i < got.size(); ++i) {
      // bit-identical, so -0.0 stays -0.0
      EXPECT_EQ(std::memcmp(&got[i], &kRepresentable[i], 4), 0) << tensor_dtype_name(dt) << " element " << i;
    }
    EXPECT_EQ(f.read("b", {}), std::vector<float>{2.5f});
  }
}

TEST(Safetensors, WriterRoundsToNearestEven) {
  TempDir dir;
  // 1 + 2^-8 is halfway between the BF16 values 1 and 1 + 2^-7: ties to even -> 1.
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even -> 1 + 2^-6.
  const std::vector<float> v = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 0.1f};
  const std::string path = dir.file("r.safetensors");
  write_safetensors(path, {{"x", {3}, v, TensorDType::BF16}, {"y", {3}, v, TensorDType::F16}});
  SafetensorsFile f(path);
  EXPECT_EQ(f.read("x", {3}), (std::vector<float>{1.0f, 1.0f + 0x1p-6f, num::bf16_to_f32(num::f32_to_bf16(0.1f))}));
  EXPECT_EQ(f.read("y", {3})[2], num::fp16_to_f32(num::f32_to_fp16(0.1f)));
}

TEST(Safetensors, EncodingIsDeterministicAndAligned) {
  const std::vector<TensorData> t = {{"z.weight", {2}, {1.0f, 2.0f}, TensorDType::F32},
                                     {"a.weight", {1}, {3.0f}, TensorDType::BF16}};
  const std::string a = encode_safetensors(t, {{"format", "pt"}});
  EXPECT_EQ(a, encode_safetensors(t, {{"format", "pt"}}));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(a[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(a[8], '{');
  // Data in the given order: z (8 bytes) then a (2 bytes), after the header.
  EXPECT_EQ(a.size(), 8 + n + 10);
  EXPECT_THROW(encode_safetensors({{"x", {2}, {1.0f}, TensorDType::F32}}), std::invalid_argument);
}

TEST(Safetensors, ZeroSizedTensorIsAccepted) {
  TempDir dir;
  const std::string path = dir.write("z.safetensors", file_bytes(
      R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      std::string(4, '\0')));
  SafetensorsFile f(path);
  EXPECT_TRUE(f.read("e", {0, 4}).empty());
  EXPECT_EQ(f.read("x", {1}), std::vector<float>{0.0f});
}

// ---- malformed files: each diagnostic names the file and, where there is one, the tensor

TEST(SafetensorsErrors, FileShorterThanHeaderLength) {
  TempDir dir;
  const std::string p = dir.write("short.safetensors", "abc");
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "too short for the 8-byte header length"});
}

TEST(SafetensorsErrors, HeaderLengthBeyondFile) {
  TempDir dir;
  const std::string p = dir.write("long.safetensors", le64(1000) + "{}");
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "header length 1000 is beyond the end of the file", "2 bytes"});
}

TEST(SafetensorsErrors, InvalidJson) {
  TempDir dir;
  const std::string p = dir.write("json.safetensors", file_bytes(R"({"a": {"dtype": "F32",)", ""));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "header is not valid JSON"});
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
  TempDir dir;
  const std::string p = dir.write("arr.safetensors", file_bytes("[1, 2]", ""));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "does not start with '{'"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  TempDir dir;
  const std::string p = dir.write("dt.safetensors", file_bytes(
      R"({"w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}})", "ab"));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'w'", "unknown dtype 'Q4_K'", "supported: F32, F16, BF16"});
}

TEST(SafetensorsErrors, UnsupportedFormatDtype) {
  TempDir dir;
  const std::string p = dir.write("i8.safetensors", file_bytes(
      R"({"w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", "ab"));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'w'", "dtype 'I8' is not supported"});
}

TEST(SafetensorsErrors, OffsetsDoNotMatchShapeAndDtype) {
  TempDir dir;
  const std::string p = dir.write("size.safetensors", file_bytes(
      R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(20, '\0')));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'w'", "span 20 bytes", "[2, 3]", "needs 24"});
}

TEST(SafetensorsErrors, OverlappingOffsets) {
  TempDir dir;
  const std::string p = dir.write("overlap.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0')));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'b'", "overlap tensor 'a'"});
}

TEST(SafetensorsErrors, HoleBetweenTensors) {
  TempDir dir;
  const std::string p = dir.write("hole.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      std::string(12, '\0')));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "[4, 8)", "'b'", "belong to no tensor"});
}

TEST(SafetensorsErrors, OffsetsOutOfRange) {
  TempDir dir;
  const std::string p = dir.write("range.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'a'", "end before they begin"});
}

TEST(SafetensorsErrors, TruncatedData) {
  TempDir dir;
  std::string bytes = encode_safetensors({{"layer.weight", {4, 4}, std::vector<float>(16, 1.0f), TensorDType::F32}});
  bytes.resize(bytes.size() - 10);
  const std::string p = dir.write("trunc.safetensors", bytes);
  expect_input_error([&] { SafetensorsFile f(p); },
                     {p, "truncated data", "'layer.weight'", "[0, 64)", "only 54 bytes"});
}

TEST(SafetensorsErrors, TrailingBytes) {
  TempDir dir;
  const std::string p = dir.write("tail.safetensors",
                                  encode_safetensors({{"x", {1}, {1.0f}, TensorDType::F32}}) + "junk");
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "4 bytes after the last tensor"});
}

TEST(SafetensorsErrors, DuplicateTensorName) {
  TempDir dir;
  const std::string p = dir.write("dup.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      std::string(8, '\0')));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'a' appears twice"});
}

TEST(SafetensorsErrors, BadEntries) {
  TempDir dir;
  const std::string neg = dir.write("neg.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')));
  expect_input_error([&] { SafetensorsFile f(neg); }, {neg, "'a'", "\"shape\" must hold non-negative integers"});
  const std::string missing = dir.write("nodtype.safetensors", file_bytes(
      R"({"a":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')));
  expect_input_error([&] { SafetensorsFile f(missing); }, {missing, "'a'", "missing \"dtype\""});
  const std::string extra = dir.write("extra.safetensors", file_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"stride":[1]}})", std::string(4, '\0')));
  expect_input_error([&] { SafetensorsFile f(extra); }, {extra, "unexpected key 'stride'"});
  const std::string meta = dir.write("meta.safetensors", file_bytes(R"({"__metadata__":{"n":1}})", ""));
  expect_input_error([&] { SafetensorsFile f(meta); }, {meta, "__metadata__", "'n' must be a string"});
}

TEST(SafetensorsErrors, MissingTensorAndWrongShape) {
  TempDir dir;
  const std::string p = dir.file("m.safetensors");
  write_safetensors(p, {{"model.norm.weight", {4}, {1, 2, 3, 4}, TensorDType::F32}});
  SafetensorsFile f(p);
  expect_input_error([&] { f.read("lm_head.weight", {4, 4}); }, {p, "missing tensor 'lm_head.weight'"});
  expect_input_error([&] { f.read("model.norm.weight", {8}); },
                     {p, "'model.norm.weight'", "wrong shape: expected [8], got [4]"});
}

TEST(SafetensorsErrors, MissingFile) {
  TempDir dir;
  const std::string p = dir.file("nope.safetensors");
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "cannot open"});
}

// ---- sharded checkpoints

void write_shards(const TempDir& dir) {
  write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                    {{"a", {2}, {1, 2}, TensorDType::F32}, {"b", {1}, {3}, TensorDType::BF16}});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"c", {2, 1}, {4, 5}, TensorDType::F16}});
}

TEST(SafetensorsIndex, ShardedCheckpointReadsAcrossShards) {
  TempDir dir;
  write_shards(dir);
  dir.write("model.safetensors.index.json", R"({"metadata": {"total_size": 14}, "weight_map": {
    "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
    "c": "model-00002-of-00002.safetensors"}})");
  // open_dir prefers the index even when a stray model.safetensors exists
  write_safetensors(dir.file("model.safetensors"), {{"zzz", {1}, {0}, TensorDType::F32}});
  const TensorStore s = TensorStore::open_dir(dir.path());
  EXPECT_EQ(s.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(s.read("c", {2, 1}), (std::vector<float>{4, 5}));
  EXPECT_EQ(s.read("b", {1}), (std::vector<float>{3}));
  EXPECT_NE(s.file_of("c").find("model-00002-of-00002.safetensors"), std::string::npos);
  expect_input_error([&] { s.read("d", {1}); }, {"model.safetensors.index.json", "missing tensor 'd'"});
}

TEST(SafetensorsIndex, Errors) {
  TempDir dir;
  write_shards(dir);
  const std::string idx = dir.write("bad1.json", R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
  expect_input_error([&] { TensorStore::open(idx); }, {idx, "lists tensor 'a'", "does not contain it"});
  const std::string unlisted = dir.write("bad2.json", R"({"weight_map": {"c": "model-00002-of-00002.safetensors",
    "a": "model-00001-of-00002.safetensors"}})");
  expect_input_error([&] { TensorStore::open(unlisted); }, {"'b'", "not listed"});
  const std::string traversal = dir.write("bad3.json", R"({"weight_map": {"a": "../x.safetensors"}})");
  expect_input_error([&] { TensorStore::open(traversal); }, {traversal, "not a file name in the index's directory"});
  const std::string nomap = dir.write("bad4.json", R"({"metadata": {}})");
  expect_input_error([&] { TensorStore::open(nomap); }, {nomap, "\"weight_map\""});
  const std::string missing = dir.write("bad5.json", R"({"weight_map": {"a": "model-00009.safetensors"}})");
  expect_input_error([&] { TensorStore::open(missing); }, {"model-00009.safetensors", "cannot open"});
  TempDir empty;
  expect_input_error([&] { TensorStore::open_dir(empty.path()); }, {empty.path(), "neither model.safetensors"});
}

}  // namespace
}  // namespace tessera::hf
