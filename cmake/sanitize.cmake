# Instrumented builds (docs/errors.md, "Sanitizers and fuzzing"). Included by the top
# CMakeLists.txt before any target is defined, so the flags reach every library and
# executable of ours. Third-party libraries (yaml-cpp, SystemC, ...) come prebuilt from
# Debian and stay uninstrumented.
#
#   -DTESSERA_SANITIZE=address,undefined   AddressSanitizer + UBSan on everything (scripts/sanitize.sh)
#   -DTESSERA_FUZZ=ON                      libFuzzer targets in fuzz/, clang only (scripts/fuzz.sh)
set(TESSERA_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list for all targets, e.g. address,undefined")
option(TESSERA_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang); instruments all targets with ASan+UBSan" OFF)

if(TESSERA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TESSERA_FUZZ needs clang (libFuzzer): CC=clang CXX=clang++ cmake -DTESSERA_FUZZ=ON ...")
  endif()
  if(NOT TESSERA_SANITIZE)
    set(TESSERA_SANITIZE "address,undefined")
  endif()
  # Coverage feedback for the fuzzer in every library it drives; the fuzzer's main()
  # is linked into the fuzz targets only (fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(TESSERA_SANITIZE)
  # A sanitizer report is a failure, not a warning that scrolls by: no recovery.
  add_compile_options(-fsanitize=${TESSERA_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${TESSERA_SANITIZE} -fno-sanitize-recover=all)
  # GCC 12's flow analysis sees through the sanitizers' instrumentation poorly and reports
  # false maybe-uninitialized warnings in libstdc++ (<regex>), which -Werror would make fatal.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
