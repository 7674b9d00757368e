#pragma once
// Helpers of the Hugging Face reader and reference Transformer tests: a scratch directory
// per test process (CTest runs test cases in parallel processes, so the name carries the
// test name and the process id), and an assertion that bad input is refused with an
// InputError whose message contains given words.
#include <gtest/gtest.h>
#include <unistd.h>

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

}  // namespace tessera::test
