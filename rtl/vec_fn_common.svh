// Bit-level helpers shared by the vector-engine function units (vec_*.sv). Included
// inside a module body: Yosys 0.23 reads module-local functions but not `import pkg::*`.
// f32_key orders non-NaN FP32 values as integers (-0 just below +0), which is how the
// C++ reference's float comparisons behave for the constants the algorithms compare with.
function automatic logic signed [32:0] f32_key(input logic [31:0] v);
  f32_key = v[31] ? -$signed({2'b00, v[30:0]}) - 33'sd1 : $signed({2'b00, v[30:0]});
endfunction

function automatic logic f32_is_nan(input logic [31:0] v);
  /* verilator lint_off UNUSEDSIGNAL */  // the sign does not matter
  logic s;
  /* verilator lint_on UNUSEDSIGNAL */
  s = v[31];
  f32_is_nan = (v[30:23] == 8'hFF) && (v[22:0] != 23'd0);
endfunction

// 2^n for -126 <= n <= 127 (the algorithms only ask for that range).
function automatic logic [31:0] f32_pow2(input logic signed [31:0] n);
  logic [7:0] biased;
  biased = 8'(n + 32'sd127);
  f32_pow2 = {1'b0, biased, 23'd0};
endfunction
