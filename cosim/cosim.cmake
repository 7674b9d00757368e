# tessera-cosim (docs/cosim.md): the model and the Verilated core in lock-step. Included by
# tests/rtl/CMakeLists.txt after tessera_core_model() is defined. Its own build of the core
# makes the L1 write ports public (cosim/core_probes.vlt); the default `tessera` target does
# not depend on it.
# Its instruction memory holds a compiled tiny model's step (about 2,600 instructions for a
# Llama decode step, 3,561 for a GPT-2 FP8 prefill).
set(TESSERA_COSIM_IMEM_WORDS 4096)
tessera_core_model(rtl_core_model_cosim PREFIX Vcore RTL_DIR ${rtl_src} DEPENDS ${tessera_rtl_sources} ${PROJECT_SOURCE_DIR}/cosim/core_probes.vlt
                   ARGS -GImemWords=${TESSERA_COSIM_IMEM_WORDS} ${PROJECT_SOURCE_DIR}/cosim/core_probes.vlt)
add_library(tessera_cosim STATIC ${PROJECT_SOURCE_DIR}/cosim/cosim.cpp ${PROJECT_SOURCE_DIR}/cosim/rtl_core.cpp)
target_compile_definitions(tessera_cosim PUBLIC TESSERA_COSIM_IMEM_WORDS=${TESSERA_COSIM_IMEM_WORDS})
set_source_files_properties(${PROJECT_SOURCE_DIR}/cosim/cosim.cpp ${PROJECT_SOURCE_DIR}/cosim/rtl_core.cpp ${PROJECT_SOURCE_DIR}/cosim/main.cpp
  PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")
target_include_directories(tessera_cosim PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(tessera_cosim PUBLIC rtl_core_model_cosim tessera_cosim_gen tessera_model tessera_isa
                      tessera_config tessera_util)
add_dependencies(tessera_cosim rtl_core_model_cosim_build)
add_executable(tessera-cosim ${PROJECT_SOURCE_DIR}/cosim/main.cpp)
target_link_libraries(tessera-cosim PRIVATE tessera_cosim tessera_driver CLI11::CLI11)

# The soak of the default suite (200 generated programs), fault injection, refusals.
add_executable(rtl_cosim_test ${PROJECT_SOURCE_DIR}/tests/rtl/cosim_test.cpp)
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/rtl/cosim_test.cpp PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")
target_link_libraries(rtl_cosim_test PRIVATE tessera_cosim GTest::gtest GTest::gtest_main)
gtest_discover_tests(rtl_cosim_test DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "rtl" TIMEOUT 1200)
# The RTL core inside the system model (issue 14, item 3): compiled tiny models and generated
# programs give the same tokens, cycles and instruction timelines with cores in RTL.
add_executable(rtl_cosim_rtl_core_test ${PROJECT_SOURCE_DIR}/tests/rtl/cosim_rtl_core_test.cpp)
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/rtl/cosim_rtl_core_test.cpp PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")
target_compile_definitions(rtl_cosim_rtl_core_test PRIVATE TESSERA_BINARY_DIR="${CMAKE_BINARY_DIR}")
target_link_libraries(rtl_cosim_rtl_core_test PRIVATE tessera_cosim tessera_driver tessera_ref GTest::gtest GTest::gtest_main)
gtest_discover_tests(rtl_cosim_rtl_core_test DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "rtl" TIMEOUT 900)
# Bad input is exit status 2 with a message naming what was wrong.
add_test(NAME cosim_cli_needs_a_program
         COMMAND sh -c "\"$0\" --arch tiny 2> \"$1\"; s=$?; grep -qF 'give a PROGRAM.tbin or --random N' \"$1\" && test $s -eq 2"
                 $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_cli_needs_a_program.err)
add_test(NAME cosim_cli_refuses_other_architectures
         COMMAND sh -c "\"$0\" --arch tiny --set l2.latency=7 --random 1 2> \"$1\"; s=$?; grep -qF 'verilated for the tiny preset' \"$1\" && test $s -eq 2"
                 $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_cli_refuses_other_architectures.err)
set_tests_properties(cosim_cli_needs_a_program cosim_cli_refuses_other_architectures PROPERTIES LABELS "rtl" TIMEOUT 60)
# Compiled Transformer steps on the RTL (issue 14, items 2 and 8): a generated tiny Llama
# (GQA, RoPE, RMSNorm, SiLU, causal mask, argmax) and GPT-2 (LayerNorm, GELU, learned
# positions), each step `tessera compile` emits for them (decode and prefill, BF16 and FP8),
# run on the RTL core and the model in lock-step: no divergence.
add_test(NAME cosim_compiled_tiny_steps
         COMMAND sh -c "rm -rf \"$2\" && mkdir -p \"$2\" || exit 1; for fam in llama gpt2; do
                          \"$0\" gen-model --family $fam --dtype bf16 --out \"$2/$fam\" > /dev/null || exit 1;
                          for ph in decode prefill; do for pr in bf16 fp8; do
                            \"$0\" compile --model \"$2/$fam\" --arch tiny --phase $ph --context 8 --precision $pr -o \"$2/$fam-$ph-$pr.tbin\" > /dev/null || exit 1;
                            \"$1\" --arch tiny \"$2/$fam-$ph-$pr.tbin\" > \"$2/$fam-$ph-$pr.log\" 2>&1; s=$?;
                            echo \"$fam $ph $pr: $(head -1 \"$2/$fam-$ph-$pr.log\")\";
                            test $s -eq 0 || { cat \"$2/$fam-$ph-$pr.log\"; exit 1; };
                          done; done;
                        done"
                 $<TARGET_FILE:tessera> $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_compiled)
set_tests_properties(cosim_compiled_tiny_steps PROPERTIES LABELS "rtl" TIMEOUT 900)
# Issue 14's acceptance: a generated tiny Llama generates 8 tokens with every step compiled and
# run on the RTL core and the model in lock-step (no divergence, the RTL's tokens and KV cache
# carried between steps); the tokens equal the FP32 reference's.
add_test(NAME cosim_model_equals_ref
         COMMAND sh -c "rm -rf \"$1\" && \"$0\" gen-model --family llama --dtype bf16 --out \"$1\" > /dev/null &&
                        a=$(\"$0\" cosim --arch tiny --model \"$1\" --prompt 1,10,20,30 --steps 8 --precision bf16) &&
                        b=$(\"$0\" ref --model \"$1\" --prompt 1,10,20,30 --steps 8) && echo \"$a\" && test \"$a\" = \"$b\""
                 $<TARGET_FILE:tessera> ${CMAKE_CURRENT_BINARY_DIR}/cosim_model_llama)
set_tests_properties(cosim_model_equals_ref PROPERTIES LABELS "rtl" TIMEOUT 900)
# Issue 14's second acceptance: the same model with `tessera run --functional --rtl-cores 0` (the
# RTL core inside the modelled chip) prints the same tokens and the same cycle count as the
# all-model run.
add_test(NAME run_rtl_cores_equals_model
         COMMAND sh -c "rm -rf \"$1\" && \"$0\" gen-model --family llama --dtype bf16 --out \"$1\" > /dev/null &&
                        \"$0\" run --functional --arch tiny --model \"$1\" --prompt 1,10,20,30 --steps 8 --precision bf16 > \"$1.a\" 2> \"$1.ae\" &&
                        \"$0\" run --functional --arch tiny --model \"$1\" --prompt 1,10,20,30 --steps 8 --precision bf16 --rtl-cores 0 > \"$1.b\" 2> \"$1.be\" &&
                        cat \"$1.b\" \"$1.be\" && cmp \"$1.a\" \"$1.b\" && grep ' cycles, ' \"$1.ae\" > \"$1.ac\" &&
                        grep ' cycles, ' \"$1.be\" > \"$1.bc\" && cmp \"$1.ac\" \"$1.bc\" && grep -q 'RTL cores (chip 0 core 0)' \"$1.be\""
                 $<TARGET_FILE:tessera> ${CMAKE_CURRENT_BINARY_DIR}/run_rtl_cores_llama)
set_tests_properties(run_rtl_cores_equals_model PROPERTIES LABELS "rtl" TIMEOUT 900)
add_test(NAME cosim_cli_model_options_need_model
         COMMAND sh -c "\"$0\" --arch tiny --prompt 1,2 --random 1 2> \"$1\"; s=$?; grep -qF -- '--prompt, --steps, --precision and --rtl-cores go with --model DIR' \"$1\" && test $s -eq 2"
                 $<TARGET_FILE:tessera-cosim> ${CMAKE_CURRENT_BINARY_DIR}/cosim_cli_model_options.err)
set_tests_properties(cosim_cli_model_options_need_model PROPERTIES LABELS "rtl" TIMEOUT 60)
