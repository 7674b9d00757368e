// safetensors reader and writer (format: github.com/huggingface/safetensors, README
// "Format"). Validation follows the format's own rules: the header must fit in the file,
// be a JSON object starting with '{', and the tensors' data_offsets must tile the data
// region exactly (no overlap, no hole, nothing after the last tensor).
#include "common/hf/safetensors.h"

#include "common/hf/json_input.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "common/util/error.h"

namespace tessera::hf {

namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB (safetensors crate,
// MAX_HEADER_SIZE); a real header is a few hundred kB even for 70B models.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Every dtype name the format defines; the ones we cannot decode get a specific message.
constexpr std::array<std::string_view, 12> kOtherFormatDTypes = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "I32", "U32", "F64", "I64", "U64"};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError("safetensors file " + path + ": " + what);
}

std::string in_quotes(std::string_view s) { return "'" + printable(s) + "'"; }

// A JSON text refused by parse_json_input, in this reader's message form.
std::string problem_text(const JsonInputProblem& p, const char* what_text) {
  if (p.syntax) return std::string(what_text) + " is not valid JSON: " + p.what();
  return std::string(what_text) + (p.field.empty() ? "" : " field " + in_quotes(p.field)) + " (line " +
         std::to_string(p.line) + "): " + p.what();
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

TensorDType parse_dtype(const std::string& path, const std::string& tensor, const json& j) {
  if (!j.is_string()) fail(path, "tensor " + in_quotes(tensor) + ": \"dtype\" must be a string");
  const std::string s = j.get<std::string>();
  if (s == "F32") return TensorDType::F32;
  if (s == "F16") return TensorDType::F16;
  if (s == "BF16") return TensorDType::BF16;
  const bool known = std::find(kOtherFormatDTypes.begin(), kOtherFormatDTypes.end(), s) != kOtherFormatDTypes.end();
  fail(path, "tensor " + in_quotes(tensor) + ": " + (known ? "dtype " : "unknown dtype ") + in_quotes(s) +
                 (known ? " is not supported" : "") + " (supported: F32, F16, BF16)");
}

uint64_t parse_u64(const std::string& path, const std::string& tensor, const char* field, const json& j) {
  if (!j.is_number_unsigned()) {
    fail(path, "tensor " + in_quotes(tensor) + ": \"" + field + "\" must hold non-negative integers, got " + json_excerpt(j));
  }
  return j.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& e) {
  if (!e.is_object()) fail(path, "tensor " + in_quotes(name) + ": entry must be a JSON object, got " + json_excerpt(e));
  for (const auto& [key, value] : e.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail(path, "tensor " + in_quotes(name) + ": unexpected key " + in_quotes(key) +
                     " (an entry has dtype, shape, data_offsets)");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!e.contains(key)) fail(path, "tensor " + in_quotes(name) + ": missing \"" + key + "\"");
  }
  TensorInfo t;
  t.name = name;
  t.dtype = parse_dtype(path, name, e["dtype"]);
  if (!e["shape"].is_array()) fail(path, "tensor " + in_quotes(name) + ": \"shape\" must be an array");
  for (const json& d : e["shape"]) t.shape.push_back(parse_u64(path, name, "shape", d));
  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2) {
    fail(path, "tensor " + in_quotes(name) + ": \"data_offsets\" must be [begin, end], got " + json_excerpt(off));
  }
  t.data_begin = parse_u64(path, name, "data_offsets", off[0]);
  t.data_end = parse_u64(path, name, "data_offsets", off[1]);
  if (t.data_end < t.data_begin) {
    fail(path, "tensor " + in_quotes(name) + ": data_offsets [" + std::to_string(t.data_begin) + ", " +
                   std::to_string(t.data_end) + "] end before they begin");
  }
  // Size = product of dims x element size, refusing any overflow of 64 bits.
  uint64_t bytes = tensor_dtype_bytes(t.dtype);
  for (uint64_t d : t.shape) {
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / d) {
      fail(path, "tensor " + in_quotes(name) + ": shape " + shape_string(t.shape) + " overflows 64-bit byte size");
    }
    bytes *= d;
  }
  if (t.data_end - t.data_begin != bytes) {
    fail(path, "tensor " + in_quotes(name) + ": data_offsets [" + std::to_string(t.data_begin) + ", " +
                   std::to_string(t.data_end) + "] span " + std::to_string(t.data_end - t.data_begin) +
                   " bytes, but shape " + shape_string(t.shape) + " of " +
                   std::string(tensor_dtype_name(t.dtype)) + " needs " + std::to_string(bytes));
  }
  return t;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void append_le(std::string& out, uint64_t v, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

std::string_view tensor_dtype_name(TensorDType d) {
  switch (d) {
    case TensorDType::F32: return "F32";
    case TensorDType::F16: return "F16";
    case TensorDType::BF16: return "BF16";
  }
  return "?";
}

unsigned tensor_dtype_bytes(TensorDType d) { return d == TensorDType::F32 ? 4 : 2; }

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

uint64_t shape_numel(const Shape& s) {
  uint64_t n = 1;
  for (uint64_t d : s) n *= d;
  return n;
}

// ---------------------------------------------------------------- SafetensorsFile

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path_, ec)) fail(path_, "cannot open the file");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8) {
    fail(path_, "file is " + std::to_string(file_size) + " bytes, too short for the 8-byte header length");
  }
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  const uint64_t header_len = read_le64(len_bytes);
  if (header_len > file_size - 8) {
    fail(path_, "header length " + std::to_string(header_len) + " is beyond the end of the file (" +
                    std::to_string(file_size - 8) + " bytes follow the 8-byte length)");
  }
  if (header_len > kMaxHeaderBytes) {
    fail(path_, "header length " + std::to_string(header_len) + " exceeds the format's limit of " +
                    std::to_string(kMaxHeaderBytes) + " bytes");
  }
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<uint64_t>(in.gcount()) != header_len) fail(path_, "could not read the header");
  if (header.empty() || header[0] != '{') fail(path_, "header is not a JSON object (does not start with '{')");

  // nlohmann keeps the last of duplicate keys; a duplicated tensor name is an error here.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t check_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && !seen.insert(parsed.get<std::string>()).second &&
        duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json j;
  try {
    j = parse_json_input(header, check_duplicates);
  } catch (const JsonInputProblem& p) {
    fail(path_, problem_text(p, "header"));
  }
  if (!duplicate.empty()) fail(path_, "tensor " + in_quotes(duplicate) + " appears twice in the header");
  if (!j.is_object()) fail(path_, "header is not a JSON object");

  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path_, "\"__metadata__\" must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(path_, "\"__metadata__\" value of " + in_quotes(k) + " must be a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    tensors_.push_back(parse_entry(path_, name, entry));
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });

  // The data region must be tiled exactly by the tensors, in offset order.
  data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - data_start_;
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : tensors_) by_offset.push_back(&t);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->data_begin != b->data_begin ? a->data_begin < b->data_begin : a->data_end < b->data_end;
  });
  uint64_t covered = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->data_begin < covered) {
      fail(path_, "tensor " + in_quotes(t->name) + " data_offsets [" + std::to_string(t->data_begin) + ", " +
                      std::to_string(t->data_end) + "] overlap tensor " + in_quotes(prev->name) + " [" +
                      std::to_string(prev->data_begin) + ", " + std::to_string(prev->data_end) + "]");
    }
    if (t->data_begin > covered) {
      fail(path_, "data bytes [" + std::to_string(covered) + ", " + std::to_string(t->data_begin) +
                      ") before tensor " + in_quotes(t->name) + " belong to no tensor (the format allows no holes)");
    }
    if (t->data_end > data_size) {
      fail(path_, "truncated data: tensor " + in_quotes(t->name) + " needs data bytes [" +
                      std::to_string(t->data_begin) + ", " + std::to_string(t->data_end) +
                      ") but the data region has only " + std::to_string(data_size) + " bytes");
    }
    covered = t->data_end;
    prev = t;
  }
  if (covered != data_size) {
    fail(path_, std::to_string(data_size - covered) + " bytes after the last tensor belong to no tensor");
  }
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::vector<float> SafetensorsFile::read(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (!t) fail(path_, "missing tensor " + in_quotes(name));
  return read_info(*t);
}

std::vector<float> SafetensorsFile::read(std::string_view name, const Shape& expected_shape) const {
  const TensorInfo* t = find(name);
  if (!t) fail(path_, "missing tensor " + in_quotes(name));
  if (t->shape != expected_shape) {
    fail(path_, "tensor " + in_quotes(name) + " has the wrong shape: expected " + shape_string(expected_shape) +
                    ", got " + shape_string(t->shape));
  }
  return read_info(*t);
}

std::vector<float> SafetensorsFile::read_info(const TensorInfo& t) const {
  const uint64_t bytes = t.data_end - t.data_begin;
  std::string raw(bytes, '\0');
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(data_start_ + t.data_begin));
  in.read(raw.data(), static_cast<std::streamsize>(bytes));
  if (!in || static_cast<uint64_t>(in.gcount()) != bytes) {
    fail(path_, "could not read the data of tensor " + in_quotes(t.name) + " (file changed or truncated?)");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::vector<float> out(t.numel());
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype) {
      case TensorDType::F32: {
        const uint32_t bits = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                              uint32_t(p[4 * i + 3]) << 24;
        out[i] = std::bit_cast<float>(bits);
        break;
      }
      case TensorDType::F16:
        out[i] = num::fp16_to_f32(static_cast<uint16_t>(p[2 * i] | p[2 * i + 1] << 8));
        break;
      case TensorDType::BF16:
        out[i] = num::bf16_to_f32(static_cast<uint16_t>(p[2 * i] | p[2 * i + 1] << 8));
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- TensorStore

TensorStore TensorStore::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError("model directory " + dir + " does not exist");
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(index, ec)) return open(index.string());
  if (fs::exists(single, ec)) return open(single.string());
  throw InputError("model directory " + dir + " has neither model.safetensors nor model.safetensors.index.json");
}

TensorStore TensorStore::open(const std::string& path) {
  namespace fs = std::filesystem;
  TensorStore store;
  store.source_ = path;
  if (!ends_with(path, ".json")) {
    store.add_file(SafetensorsFile(path), nullptr);
    return store;
  }
  std::ifstream in(path);
  if (!in) throw InputError("safetensors index " + path + ": cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = parse_json_input(text.str());
  } catch (const JsonInputProblem& p) {
    throw InputError("safetensors index " + path + ": " + problem_text(p, "index"));
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    throw InputError("safetensors index " + path + ": missing object \"weight_map\" (tensor name -> shard file)");
  }
  // shard file -> the tensors the index says it holds. Every tensor of a shard must be
  // listed for it, so no name can come from two shards.
  std::map<std::string, std::map<std::string, std::string>> shards;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) {
      throw InputError("safetensors index " + path + ": weight_map entry " + in_quotes(name) + " must be a file name");
    }
    const std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..") {
      throw InputError("safetensors index " + path + ": weight_map entry " + in_quotes(name) + " names " + in_quotes(f) +
                       ", which is not a file name in the index's directory");
    }
    shards[f][name] = f;
  }
  if (shards.empty()) throw InputError("safetensors index " + path + ": weight_map is empty");
  const fs::path dir = fs::path(path).parent_path();
  for (const auto& [file, listed] : shards) {
    SafetensorsFile shard((dir / file).string());
    for (const auto& [name, f] : listed) {
      (void)f;
      if (!shard.find(name)) {
        throw InputError("safetensors index " + path + " lists tensor " + in_quotes(name) + " in " + file +
                         ", but that shard does not contain it");
      }
    }
    store.add_file(std::move(shard), &listed);
  }
  return store;
}

void TensorStore::add_file(SafetensorsFile file, const std::map<std::string, std::string>* listed) {
  for (const TensorInfo& t : file.tensors()) {
    if (listed && !listed->count(t.name)) {
      throw InputError("safetensors index " + source_ + ": tensor " + in_quotes(t.name) + " in shard " + file.path() +
                       " is not listed for that shard in weight_map");
    }
    where_.emplace(t.name, files_.size());
  }
  files_.push_back(std::move(file));
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, i] : where_) out.push_back(name);
  return out;
}

bool TensorStore::contains(std::string_view name) const { return where_.find(name) != where_.end(); }

const TensorInfo* TensorStore::find(std::string_view name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second].find(name);
}

const SafetensorsFile& TensorStore::holder(std::string_view name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw InputError(source_ + ": missing tensor " + in_quotes(name));
  return files_[it->second];
}

const std::string& TensorStore::file_of(std::string_view name) const { return holder(name).path(); }

std::vector<float> TensorStore::read(std::string_view name, const Shape& expected_shape) const {
  return holder(name).read(name, expected_shape);
}

// ---------------------------------------------------------------- writer

std::string encode_safetensors(const std::vector<TensorData>& tensors, const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  for (const TensorData& t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name)) {
      throw std::invalid_argument("encode_safetensors: duplicate or reserved tensor name " + t.name);
    }
    if (t.values.size() != shape_numel(t.shape)) {
      throw std::invalid_argument("encode_safetensors: tensor " + t.name + " has " + std::to_string(t.values.size()) +
                                  " values for shape " + shape_string(t.shape));
    }
    const uint64_t begin = data.size();
    for (float v : t.values) {
      switch (t.dtype) {
        case TensorDType::F32: append_le(data, std::bit_cast<uint32_t>(v), 4); break;
        case TensorDType::F16: append_le(data, num::f32_to_fp16(v), 2); break;
        case TensorDType::BF16: append_le(data, num::f32_to_bf16(v), 2); break;
      }
    }
    header[t.name] = {{"dtype", tensor_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  append_le(out, text.size(), 8);
  return out + text + data;
}

void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string bytes = encode_safetensors(tensors, metadata);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw InputError("cannot write safetensors file " + path);
}

}  // namespace tessera::hf
