#pragma once
// Helpers of the Hugging Face reader and reference Transformer tests: a scratch directory
// per test process (CTest runs test cases in parallel processes, so the name carries the
// test name and the process id), and an assertion that bad input is refused with an
// InputError whose message contains given words.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/util/error.h"

namespace tessera::test {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "tessera";
    path_ = std::filesystem::temp_directory_path() / ("tessera-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// Runs fn; passes if it throws InputError whose message contains every one of words.
template <typename Fn>
void expect_input_error(Fn&& fn, const std::vector<std::string>& words) {
  try {
    fn();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const std::string& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "no InputError thrown (expected one mentioning " << (words.empty() ? "" : words[0]) << ")";
}

// Little-endian 64-bit length, and a safetensors file from a literal header and data
// region, for hand-made malformed files.
inline std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}
inline std::string file_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// A minimal valid Llama config.json; tests add lines (at line 8) or replace hidden_size (line 3).
inline std::string llama(const std::string& extra = "", const std::string& hidden = "64") {
  return "{\n"
         "  \"architectures\": [\"LlamaForCausalLM\"],\n"
         "  \"hidden_size\": " + hidden + ",\n"
         "  \"intermediate_size\": 128,\n"
         "  \"num_hidden_layers\": 2,\n"
         "  \"num_attention_heads\": 4,\n"
         "  \"max_position_embeddings\": 256,\n" +
         extra +
         "  \"vocab_size\": 512\n"
         "}\n";
}

}  // namespace tessera::test
