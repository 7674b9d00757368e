// The vector-engine function units as functions: e^x (tessera::num::v_exp), 1/x (v_recip),
// 1/sqrt(x) (v_rsqrt) and the normalise step they share, bit-exact with the C++ algorithms
// (docs/numerics.md). Included inside a module body after vec_fn_common.svh and fp32_fn.svh;
// vec_exp.sv, vec_recip.sv, vec_rsqrt.sv and vec_normalise.sv are these functions as modules.
// Every local name carries the function's prefix so no module signal is hidden.

// {m, e}: |x| = m * 2^e with m in [1, 2) as FP32 bits, for finite non-zero x (subnormals too).
/* verilator lint_off UNUSEDSIGNAL */  // the sign: callers pass the whole FP32 word
function automatic logic [63:0] vec_normalise_fn(input logic [31:0] vn_x);
/* verilator lint_on UNUSEDSIGNAL */
  logic [30:0] vn_a;
  logic [4:0]  vn_p;      // position of the leading one of a subnormal fraction
  logic [22:0] vn_frac;
  logic [31:0] vn_m;
  logic signed [31:0] vn_e;
  vn_a = vn_x[30:0];
  vn_p = 5'd0;
  for (int i = 0; i < 23; i++) begin
    if (vn_a[i]) vn_p = 5'(i);  // the highest set bit is the last one seen
  end
  vn_frac = 23'(vn_a[22:0] << (5'd23 - vn_p));
  if (vn_a[30:23] != 8'd0) begin
    vn_m = {9'h07F, vn_a[22:0]};
    vn_e = $signed({24'd0, vn_a[30:23]}) - 32'sd127;
  end else begin
    vn_m = {9'h07F, vn_frac};
    vn_e = $signed({27'd0, vn_p}) - 32'sd149;
  end
  vec_normalise_fn = {vn_m, vn_e};
endfunction

// Range reduction with a two-part ln 2, a degree-6 polynomial, and scaling by 2^n in two
// steps so n down to -150 stays exact.
function automatic logic [31:0] vec_exp_fn(input logic [31:0] ve_x);
  logic [31:0] ve_k, ve_nf, ve_r, ve_q, ve_p;
  logic signed [31:0] ve_n, ve_n1;
  ve_k  = fp32_add_fn(fp32_mul_fn(ve_x, tessera_num_pkg::LOG2E), tessera_num_pkg::ROUND_MAGIC);
  ve_nf = fp32_add_fn(ve_k, tessera_num_pkg::ROUND_MAGIC ^ 32'h8000_0000);
  ve_r  = fp32_add_fn(fp32_add_fn(ve_x, fp32_mul_fn(ve_nf, tessera_num_pkg::LN2_HI) ^ 32'h8000_0000),
                      fp32_mul_fn(ve_nf, tessera_num_pkg::LN2_LO) ^ 32'h8000_0000);
  ve_q  = fp32_add_fn(fp32_mul_fn(tessera_num_pkg::EXP_C6, ve_r), tessera_num_pkg::EXP_C5);
  ve_q  = fp32_add_fn(fp32_mul_fn(ve_q, ve_r), tessera_num_pkg::EXP_C4);
  ve_q  = fp32_add_fn(fp32_mul_fn(ve_q, ve_r), tessera_num_pkg::EXP_C3);
  ve_q  = fp32_add_fn(fp32_mul_fn(ve_q, ve_r), tessera_num_pkg::EXP_C2);
  ve_p  = fp32_add_fn(tessera_num_pkg::ONE, fp32_add_fn(ve_r, fp32_mul_fn(fp32_mul_fn(ve_r, ve_r), ve_q)));
  // k holds n in its low mantissa bits: n = bits(k) - bits(RoundMagic).
  ve_n  = $signed(ve_k) - $signed(tessera_num_pkg::ROUND_MAGIC);
  ve_n1 = ve_n >>> 1;
  if (f32_is_nan(ve_x)) vec_exp_fn = tessera_num_pkg::CANONICAL_NAN;
  else if (f32_key(ve_x) > f32_key(tessera_num_pkg::EXP_HI)) vec_exp_fn = 32'h7F80_0000;
  else if (f32_key(ve_x) < f32_key(tessera_num_pkg::EXP_LO)) vec_exp_fn = 32'h0000_0000;
  else vec_exp_fn = fp32_mul_fn(fp32_mul_fn(ve_p, f32_pow2(ve_n1)), f32_pow2(ve_n - ve_n1));
endfunction

// A magic-constant seed on the normalised significand, RECIP_NEWTON_STEPS Newton steps
// y += y (1 - m y), then the exponent applied in two exact scalings.
function automatic logic [31:0] vec_recip_fn(input logic [31:0] vr_x);
  logic [63:0] vr_me;
  logic [31:0] vr_m, vr_y;
  logic signed [31:0] vr_n, vr_n1;
  vr_me = vec_normalise_fn(vr_x);
  vr_m = vr_me[63:32];
  vr_y = tessera_num_pkg::RECIP_MAGIC - vr_m;
  for (int i = 0; 32'(i) < tessera_num_pkg::RECIP_NEWTON_STEPS; i++)
    vr_y = fp32_add_fn(vr_y, fp32_mul_fn(vr_y, fp32_add_fn(tessera_num_pkg::ONE,
                                                           fp32_mul_fn(vr_m, vr_y) ^ 32'h8000_0000)));
  vr_n  = -$signed(vr_me[31:0]);
  vr_n1 = vr_n >>> 1;
  if (f32_is_nan(vr_x)) vec_recip_fn = tessera_num_pkg::CANONICAL_NAN;
  else if (vr_x[30:0] == 31'd0) vec_recip_fn = {vr_x[31], 31'h7F80_0000};
  else if (vr_x[30:0] == 31'h7F80_0000) vec_recip_fn = {vr_x[31], 31'd0};
  else vec_recip_fn = fp32_mul_fn(fp32_mul_fn(vr_y, f32_pow2(vr_n1)), f32_pow2(vr_n - vr_n1)) | {vr_x[31], 31'd0};
endfunction

// The significand is taken to [1, 4) so the exponent is even, a magic-constant seed,
// RSQRT_NEWTON_STEPS Newton steps y += (y/2)(1 - m y y), then 2^(-e/2).
function automatic logic [31:0] vec_rsqrt_fn(input logic [31:0] vq_x);
  logic [63:0] vq_me;
  logic [31:0] vq_m, vq_y;
  logic signed [31:0] vq_e;
  vq_me = vec_normalise_fn(vq_x);
  // Odd exponent: one factor 2 moves into the significand (exponent field + 1).
  vq_m = vq_me[0] ? vq_me[63:32] + 32'h0080_0000 : vq_me[63:32];
  vq_e = vq_me[0] ? $signed(vq_me[31:0]) - 32'sd1 : $signed(vq_me[31:0]);
  vq_y = tessera_num_pkg::RSQRT_MAGIC - {1'b0, vq_m[31:1]};
  for (int i = 0; 32'(i) < tessera_num_pkg::RSQRT_NEWTON_STEPS; i++)
    vq_y = fp32_add_fn(vq_y, fp32_mul_fn(fp32_mul_fn(tessera_num_pkg::HALF, vq_y),
                                         fp32_add_fn(tessera_num_pkg::ONE,
                                                     fp32_mul_fn(fp32_mul_fn(vq_m, vq_y), vq_y) ^ 32'h8000_0000)));
  if (f32_is_nan(vq_x)) vec_rsqrt_fn = tessera_num_pkg::CANONICAL_NAN;
  else if (vq_x[30:0] == 31'd0) vec_rsqrt_fn = {vq_x[31], 31'h7F80_0000};
  else if (vq_x[31]) vec_rsqrt_fn = tessera_num_pkg::CANONICAL_NAN;
  else if (vq_x[30:0] == 31'h7F80_0000) vec_rsqrt_fn = 32'd0;
  else vec_rsqrt_fn = fp32_mul_fn(vq_y, f32_pow2(-(vq_e >>> 1)));  // e is even: the shift is exact
endfunction
