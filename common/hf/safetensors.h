#pragma once
// Hugging Face safetensors files: the weights format the reference Transformer and the
// compiler read. A file is an 8-byte little-endian header length N, N bytes of JSON
// (per tensor: dtype, shape, data_offsets into the data region; optional "__metadata__"
// string map), then the little-endian data region. The reader validates the whole layout
// when a file is opened (header inside the file, offsets contiguous without overlap or
// holes, each tensor's byte size equal to shape x dtype size, data present) and reads
// tensor data only on request, so opening a multi-gigabyte checkpoint is cheap. Every
// error is an InputError naming the file and the tensor. docs/ref.md lists the checks.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::hf {

// Element types the reader decodes to FP32 (exactly) and the writer encodes (RNE).
enum class TensorDType { F32, F16, BF16 };

std::string_view tensor_dtype_name(TensorDType);  // "F32", "F16", "BF16" (safetensors spelling)
unsigned tensor_dtype_bytes(TensorDType);

using Shape = std::vector<uint64_t>;
std::string shape_string(const Shape&);  // "[64, 32]"
// Product of the dimensions (1 for a scalar); InputError-free: callers check sizes first.
uint64_t shape_numel(const Shape&);

struct TensorInfo {
  std::string name;
  TensorDType dtype = TensorDType::F32;
  Shape shape;
  uint64_t data_begin = 0;  // byte offsets relative to the start of the data region
  uint64_t data_end = 0;
  uint64_t numel() const { return shape_numel(shape); }
};

// One .safetensors file. Opening parses and validates the header; read() loads one tensor.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::string path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const TensorInfo* find(std::string_view name) const;

  // The tensor decoded to FP32 in row-major order. InputError if it is missing, or if
  // expected_shape is given and differs ("expected [..], got [..]").
  std::vector<float> read(std::string_view name) const;
  std::vector<float> read(std::string_view name, const Shape& expected_shape) const;

 private:
  std::vector<float> read_info(const TensorInfo& t) const;

  std::string path_;
  uint64_t data_start_ = 0;  // 8 + header length
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
};

// A checkpoint directory or file: one model.safetensors, or the shards listed by
// model.safetensors.index.json ("weight_map": tensor name -> shard file in the same
// directory). Every tensor of every shard must be listed for that shard, so names are
// unique across shards.
class TensorStore {
 public:
  // dir/model.safetensors.index.json if present, else dir/model.safetensors.
  static TensorStore open_dir(const std::string& dir);
  // A single .safetensors file, or an index .json file.
  static TensorStore open(const std::string& path);

  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const;
  const TensorInfo* find(std::string_view name) const;
  // The file holding a tensor (for messages); InputError if missing.
  const std::string& file_of(std::string_view name) const;
  std::vector<float> read(std::string_view name, const Shape& expected_shape) const;
  // What was opened, for messages: a file path or an index path.
  const std::string& source() const { return source_; }

 private:
  void add_file(SafetensorsFile file, const std::map<std::string, std::string>* listed);
  const SafetensorsFile& holder(std::string_view name) const;

  std::string source_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t, std::less<>> where_;  // tensor name -> index in files_
};

// A tensor to write: FP32 values, rounded to nearest-even into dtype.
struct TensorData {
  std::string name;
  Shape shape;
  std::vector<float> values;  // shape_numel(shape) values, row-major
  TensorDType dtype = TensorDType::F32;
};

// The bytes of a safetensors file. Data is laid out in the order given; the JSON header
// has sorted keys and is padded with spaces to a multiple of 8 bytes, so equal inputs give
// identical bytes. std::invalid_argument on a value-count/shape mismatch or a duplicate name.
std::string encode_safetensors(const std::vector<TensorData>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// encode_safetensors written to path; InputError if the file cannot be written.
void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace tessera::hf
