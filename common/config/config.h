#pragma once
// The architecture configuration: one immutable ArchConfig per loaded file, read by the model,
// the compiler, the RTL parameter package and the reports. Its structs, enums and key tables are
// generated from spec/arch.schema.yaml (scripts/gen_config.py); this header adds loading (presets
// embedded in the library, `base:` inheritance, section presets such as `dram: {preset: hbm3e}`),
// the canonical YAML form, the fingerprint and the time base. docs/config.md describes the file
// format, every key and every consistency check.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "tessera/config/arch_config.h"

namespace tessera::config {

using Arch = std::shared_ptr<const ArchConfig>;

// "tiny", "sohu-like", "tpu-v1", ...: presets compiled into the library, so they load from any
// working directory. Anything containing '/' or ending in ".yaml" is a file path instead.
// `overrides` are --set options, "KEY.PATH=VALUE" with VALUE written as in the file (64MiB,
// [bf16, int8]): applied in order after the file, its base and its presets, then converted and
// checked like the file's own values; a problem in the N-th is reported at `--set:N`. The loaded
// configuration keeps them in ArchConfig::overrides.
Arch load_arch(const std::string& name_or_path, const std::vector<std::string>& overrides = {});
// Loads configuration text as if it were the file `filename` (a relative `base:` path is
// resolved against the directory of `filename`).
Arch load_arch_text(const std::string& yaml, const std::string& filename,
                    const std::vector<std::string>& overrides = {});

// Names of the embedded architecture presets (configs/arch/*.yaml), sorted.
std::vector<std::string> preset_names();
// Names of the embedded presets of a section's preset_dir, e.g. "dram" -> hbm2e, hbm3, ...
std::vector<std::string> section_preset_names(const std::string& preset_dir);
// The embedded text of configs/<dir>/<name>.yaml, for `tessera config show`; InputError if absent.
std::string embedded_text(const std::string& dir, const std::string& name);

// 64-bit FNV-1a over to_yaml() of the configuration with every key marked `fingerprint: false`
// in the schema (name, description, base, dram.preset) reset to its default: two files that
// describe the same machine get the same fingerprint however they were written.
uint64_t fingerprint(const ArchConfig&);
// Canonical YAML: every key in schema order, fully resolved (base and presets applied).
// Loading it back gives an equal configuration.
std::string to_yaml(const ArchConfig&);

// "dram.stacks=8, l2.bytes=64MiB": the --set overrides of a loaded configuration for a report's
// header; empty when there are none.
std::string overrides_text(const ArchConfig&);

// Time base: the model never uses floating-point time. Periods in femtoseconds, rounded once.
int64_t core_period_fs(const ArchConfig&);  // llround(1e9 / core_mhz)
int64_t dram_tck_fs(const ArchConfig&);     // llround(tck_ps * 1000)
bool supports(const ArchConfig&, MatrixPrecision);
bool supports(const ArchConfig&, Dataflow);

// One problem found in a configuration: FILE:LINE: key.path: expected WHAT, got WHAT.
struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when no line applies (a file that cannot be read)
  std::string path;
  std::string expected;
  std::string got;
  std::string message() const;
};

// Thrown by the loaders with every problem found in one configuration (what() is the messages
// joined by newlines), so `tessera config check` reports them all at once.
class ConfigError : public InputError {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace tessera::config
