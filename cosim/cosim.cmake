# tessera-cosim (docs/cosim.md): the model and the Verilated core in lock-step. Included by
# tests/rtl/CMakeLists.txt after tessera_core_model() is defined. Its own build of the core
# makes the L1 write ports public (cosim/core_probes.vlt); the default `tessera` target does
# not depend on it.
tessera_core_model(rtl_core_model_cosim PREFIX Vcore RTL_DIR ${rtl_src} DEPENDS ${tessera_rtl_sources}
                   ARGS ${PROJECT_SOURCE_DIR}/cosim/core_probes.vlt)
add_library(tessera_cosim STATIC ${PROJECT_SOURCE_DIR}/cosim/cosim.cpp)
set_source_files_properties(${PROJECT_SOURCE_DIR}/cosim/cosim.cpp ${PROJECT_SOURCE_DIR}/cosim/main.cpp
  PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")
target_include_directories(tessera_cosim PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(tessera_cosim PUBLIC rtl_core_model_cosim tessera_cosim_gen tessera_model tessera_isa
                      tessera_config tessera_util)
add_dependencies(tessera_cosim rtl_core_model_cosim_build)
add_executable(tessera-cosim ${PROJECT_SOURCE_DIR}/cosim/main.cpp)
target_link_libraries(tessera-cosim PRIVATE tessera_cosim CLI11::CLI11)

# The soak of the default suite (200 generated programs), fault injection, refusals.
add_executable(rtl_cosim_test ${PROJECT_SOURCE_DIR}/tests/rtl/cosim_test.cpp)
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/rtl/cosim_test.cpp PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")
target_link_libraries(rtl_cosim_test PRIVATE tessera_cosim GTest::gtest GTest::gtest_main)
gtest_discover_tests(rtl_cosim_test DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "rtl" TIMEOUT 1200)
# Bad input is exit status 2 with a message naming what was wrong.
add_test(NAME cosim_cli_needs_a_program
         COMMAND sh -c "\"$0\" --arch tiny 2> \"$1\"; s=$?; grep -qF 'give a PROGRAM.tbin or --random N' \"$1\" && test $s -eq 2"
                 $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_cli_needs_a_program.err)
add_test(NAME cosim_cli_refuses_other_architectures
         COMMAND sh -c "\"$0\" --arch tiny --set l2.latency=7 --random 1 2> \"$1\"; s=$?; grep -qF 'verilated for the tiny preset' \"$1\" && test $s -eq 2"
                 $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_cli_refuses_other_architectures.err)
set_tests_properties(cosim_cli_needs_a_program cosim_cli_refuses_other_architectures PROPERTIES LABELS "rtl" TIMEOUT 60)
