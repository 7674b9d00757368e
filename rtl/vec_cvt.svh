// Element format conversions of the vector engine (`vcvt`, and the operands of any vector
// instruction in a format other than FP32), transcribing tessera::num::decode / encode
// (common/numerics/fp.cpp, docs/numerics.md §3–§4) bit for bit:
// - decode: INT8 and INT32 to FP32 (INT32 rounds to nearest, ties to even), FP8 E4M3/E5M2,
//   BF16 and FP16 exactly (subnormals become normal FP32 numbers, NaN the canonical NaN);
// - encode: FP32 to the narrower floats with round to nearest, ties to even and subnormal
//   results, overflow to the largest finite value (`sat`) or to Inf (NaN for E4M3, which has
//   none); to INT8 and INT32 round to nearest, ties to even, clamped, NaN to 0.
// Included inside a module body (Yosys 0.23 reads module-local functions, not package
// imports); every local carries the prefix cv_. Format codes are the ISA's dtype values.

// Index of the most significant set bit of a 32-bit value (0 for 0; callers exclude 0).
function automatic logic [4:0] cv_msb(input logic [31:0] cv_v);
  cv_msb = 5'd0;
  for (int cv_i = 0; cv_i < 32; cv_i++)
    if (cv_v[cv_i]) cv_msb = 5'(cv_i);
endfunction

// One small float code (exponent width e, fraction width m, bias, IEEE-like Inf when has_inf)
// to FP32 bits, exactly.
function automatic logic [31:0] cv_dec_small(input logic [15:0] cv_code, input int cv_e, input int cv_m,
                                             input int cv_bias, input logic cv_has_inf);
  logic [15:0] cv_mag, cv_mf, cv_mmask, cv_emax;
  logic cv_sign, cv_nan;
  logic [4:0] cv_p;
  int cv_exp;
  cv_mag = cv_code & 16'((1 << (cv_e + cv_m)) - 1);
  cv_sign = cv_code[cv_e + cv_m];
  cv_mmask = 16'((1 << cv_m) - 1);
  cv_emax = 16'((1 << cv_e) - 1);
  cv_mf = cv_mag & cv_mmask;
  // E4M3 has one NaN magnitude (all ones) and no Inf; the others are IEEE-like.
  cv_nan = cv_has_inf ? ((cv_mag >> cv_m) == cv_emax && cv_mf != 16'd0) : cv_mag == 16'((1 << (cv_e + cv_m)) - 1);
  cv_p = cv_msb({16'd0, cv_mf});
  cv_exp = 0;
  if (cv_nan) begin
    cv_dec_small = tessera_num_pkg::CANONICAL_NAN;
  end else if (cv_has_inf && (cv_mag >> cv_m) == cv_emax) begin
    cv_dec_small = {cv_sign, 31'h7F80_0000};
  end else if (cv_mag == 16'd0) begin
    cv_dec_small = {cv_sign, 31'd0};
  end else begin
    if ((cv_mag >> cv_m) == 16'd0) begin
      // Subnormal: value = mf * 2^(1 - bias - m); the leading one becomes the implied bit.
      cv_exp = $signed(32'(cv_p)) + 1 - cv_bias - cv_m;
      cv_mf = (cv_mf << (cv_m - $signed(32'(cv_p)))) & cv_mmask;
    end else begin
      cv_exp = $signed(32'(cv_mag) >> cv_m) - cv_bias;
    end
    cv_dec_small = {cv_sign, 8'(cv_exp + 127), 23'({7'd0, cv_mf} << (23 - cv_m))};
  end
endfunction

// INT32 to FP32, round to nearest, ties to even (the host's static_cast<float>).
function automatic logic [31:0] cv_dec_int32(input logic [31:0] cv_v);
  logic cv_neg, cv_up;
  logic [31:0] cv_a, cv_rem, cv_half;
  logic [24:0] cv_r;
  logic [4:0] cv_p;
  int cv_sh;
  cv_neg = cv_v[31];
  cv_a = cv_neg ? -cv_v : cv_v;   // INT32_MIN stays 2^31, its magnitude
  cv_p = cv_msb(cv_a);
  cv_r = '0; cv_rem = '0; cv_half = '0; cv_up = 1'b0;
  if (cv_a == 32'd0) begin
    cv_dec_int32 = 32'd0;
  end else begin
    cv_sh = $signed(32'(cv_p)) - 23;
    if (cv_sh <= 0) begin
      cv_r = 25'(cv_a << -cv_sh);
    end else begin
      cv_r = 25'(cv_a >> cv_sh);
      cv_rem = cv_a & ((32'd1 << cv_sh) - 32'd1);
      cv_half = 32'd1 << (cv_sh - 1);
      cv_up = cv_rem > cv_half || (cv_rem == cv_half && cv_r[0]);
      cv_r = cv_r + 25'(cv_up);
    end
    // A significand that rounded up to 2^24 is the next binade's 1.0.
    if (cv_r[24]) begin
      cv_r = cv_r >> 1;
      cv_p = cv_p + 5'd1;
    end
    cv_dec_int32 = {cv_neg, 8'($signed(32'(cv_p)) + 127), cv_r[22:0]};
  end
endfunction

// The element of format fmt in the low bytes of raw, as FP32 bits.
function automatic logic [31:0] cv_decode(input logic [2:0] cv_fmt, input logic [31:0] cv_raw);
  unique case (cv_fmt)
    tessera_isa_pkg::DTYPE_INT8: cv_decode = cv_dec_int32({{24{cv_raw[7]}}, cv_raw[7:0]});
    tessera_isa_pkg::DTYPE_FP8_E4M3: cv_decode = cv_dec_small({8'd0, cv_raw[7:0]}, tessera_num_pkg::E4M3_EXP_BITS, tessera_num_pkg::E4M3_MAN_BITS,
                                                          tessera_num_pkg::E4M3_BIAS, tessera_num_pkg::E4M3_HAS_INF);
    tessera_isa_pkg::DTYPE_FP8_E5M2: cv_decode = cv_dec_small({8'd0, cv_raw[7:0]}, tessera_num_pkg::E5M2_EXP_BITS, tessera_num_pkg::E5M2_MAN_BITS,
                                                          tessera_num_pkg::E5M2_BIAS, tessera_num_pkg::E5M2_HAS_INF);
    // BF16 is the upper half of an FP32 word (its subnormals too); NaN becomes canonical.
    tessera_isa_pkg::DTYPE_BF16:
      cv_decode = (cv_raw[14:7] == 8'hFF && cv_raw[6:0] != 7'd0) ? tessera_num_pkg::CANONICAL_NAN : {cv_raw[15:0], 16'd0};
    tessera_isa_pkg::DTYPE_FP16: cv_decode = cv_dec_small(cv_raw[15:0], tessera_num_pkg::FP16_EXP_BITS, tessera_num_pkg::FP16_MAN_BITS,
                                                   tessera_num_pkg::FP16_BIAS, tessera_num_pkg::FP16_HAS_INF);
    tessera_isa_pkg::DTYPE_INT32: cv_decode = cv_dec_int32(cv_raw);
    default: cv_decode = cv_raw;   // FP32
  endcase
endfunction

// FP32 to one small float code (see cv_dec_small), round to nearest, ties to even.
function automatic logic [15:0] cv_enc_small(input logic [31:0] cv_x, input int cv_e, input int cv_m, input int cv_bias,
                                             input logic cv_has_inf, input logic [15:0] cv_max_mag,
                                             input logic [15:0] cv_nan_code, input logic cv_sat);
  logic [30:0] cv_a;
  logic [15:0] cv_sign_out, cv_inf_mag;
  logic [23:0] cv_mant;
  logic [4:0] cv_p;
  logic [31:0] cv_rem, cv_half;
  logic [25:0] cv_r;
  logic [31:0] cv_mag;
  int cv_elsb, cv_ex, cv_emin, cv_te, cv_sh;
  cv_a = cv_x[30:0];
  cv_sign_out = 16'({15'd0, cv_x[31]} << (cv_e + cv_m));
  cv_inf_mag = 16'(((1 << cv_e) - 1) << cv_m);
  cv_mant = cv_a[30:23] == 8'd0 ? {1'b0, cv_a[22:0]} : {1'b1, cv_a[22:0]};
  cv_elsb = cv_a[30:23] == 8'd0 ? -149 : $signed(32'(cv_a[30:23])) - 150;
  cv_p = cv_msb({8'd0, cv_mant});
  cv_ex = cv_elsb + $signed(32'(cv_p));
  cv_emin = 1 - cv_bias;
  cv_te = cv_ex > cv_emin ? cv_ex : cv_emin;
  cv_sh = cv_te - cv_m - cv_elsb;   // >= 1 for these formats
  cv_r = '0; cv_rem = '0; cv_half = '0; cv_mag = '0;
  if (cv_sh > 25) begin
    cv_r = '0;   // below half of the smallest subnormal
  end else if (cv_sh >= 1) begin
    cv_r = 26'({8'd0, cv_mant} >> cv_sh);
    cv_rem = {8'd0, cv_mant} & ((32'd1 << cv_sh) - 32'd1);
    cv_half = 32'd1 << (cv_sh - 1);
    if (cv_rem > cv_half || (cv_rem == cv_half && cv_r[0])) cv_r = cv_r + 26'd1;
  end
  // The binade and the significand add into the code: a carry moves to the next binade.
  cv_mag = 32'(cv_te - cv_emin) << cv_m;
  cv_mag = cv_mag + 32'(cv_r);
  if (cv_a > 31'h7F80_0000) begin
    cv_enc_small = cv_nan_code;
  end else if (cv_a == 31'h7F80_0000) begin
    cv_enc_small = cv_sat ? (cv_sign_out | cv_max_mag) : cv_has_inf ? (cv_sign_out | cv_inf_mag) : cv_nan_code;
  end else if (cv_a == 31'd0 || cv_r == 26'd0) begin
    cv_enc_small = cv_sign_out;
  end else if (cv_mag > 32'(cv_max_mag)) begin
    cv_enc_small = cv_sat ? (cv_sign_out | cv_max_mag) : cv_has_inf ? (cv_sign_out | cv_inf_mag) : cv_nan_code;
  end else begin
    cv_enc_small = cv_sign_out | 16'(cv_mag);
  end
endfunction

// FP32 to a signed integer in [lo, hi] (INT8 or INT32): round to nearest, ties to even,
// clamped; NaN is 0.
function automatic logic [31:0] cv_enc_int(input logic [31:0] cv_x, input logic signed [63:0] cv_lo,
                                           input logic signed [63:0] cv_hi);
  logic [30:0] cv_a;
  logic [23:0] cv_mant;
  logic [63:0] cv_r;
  logic [31:0] cv_rem, cv_half;
  logic signed [63:0] cv_v;
  int cv_sh;
  cv_a = cv_x[30:0];
  cv_mant = cv_a[30:23] == 8'd0 ? {1'b0, cv_a[22:0]} : {1'b1, cv_a[22:0]};
  cv_sh = cv_a[30:23] == 8'd0 ? 149 : 150 - $signed(32'(cv_a[30:23]));
  cv_r = '0; cv_rem = '0; cv_half = '0;
  if (cv_sh <= 0) begin
    cv_r = {40'd0, cv_mant} << -cv_sh;
  end else if (cv_sh <= 25) begin
    cv_r = {40'd0, cv_mant} >> cv_sh;
    cv_rem = {8'd0, cv_mant} & ((32'd1 << cv_sh) - 32'd1);
    cv_half = 32'd1 << (cv_sh - 1);
    if (cv_rem > cv_half || (cv_rem == cv_half && cv_r[0])) cv_r = cv_r + 64'd1;
  end
  cv_v = cv_x[31] ? -$signed(cv_r) : $signed(cv_r);
  // |x| >= 2^54 (or Inf) is beyond every range here; the shift above would lose its bits.
  if (cv_a[30:23] >= 8'd181) cv_v = cv_x[31] ? cv_lo - 64'sd1 : cv_hi + 64'sd1;
  if (cv_a > 31'h7F80_0000) cv_enc_int = 32'd0;
  else if (cv_v < cv_lo) cv_enc_int = 32'(cv_lo);
  else if (cv_v > cv_hi) cv_enc_int = 32'(cv_hi);
  else cv_enc_int = 32'(cv_v);
endfunction

// FP32 bits to format fmt in the low bytes (the rest zero). As the model stores results
// (model/core/functional.cpp store_overflow): FP8 saturates, BF16 and FP16 overflow to Inf.
function automatic logic [31:0] cv_encode(input logic [2:0] cv_fmt, input logic [31:0] cv_x);
  unique case (cv_fmt)
    tessera_isa_pkg::DTYPE_INT8: cv_encode = {24'd0, 8'(cv_enc_int(cv_x, -64'sd128, 64'sd127))};
    tessera_isa_pkg::DTYPE_FP8_E4M3:
      cv_encode = {16'd0, cv_enc_small(cv_x, tessera_num_pkg::E4M3_EXP_BITS, tessera_num_pkg::E4M3_MAN_BITS, tessera_num_pkg::E4M3_BIAS,
                                           tessera_num_pkg::E4M3_HAS_INF, 16'(tessera_num_pkg::E4M3_MAX_FINITE),
                                       16'(tessera_num_pkg::E4M3_NAN), 1'b1)};
    tessera_isa_pkg::DTYPE_FP8_E5M2:
      cv_encode = {16'd0, cv_enc_small(cv_x, tessera_num_pkg::E5M2_EXP_BITS, tessera_num_pkg::E5M2_MAN_BITS, tessera_num_pkg::E5M2_BIAS,
                                           tessera_num_pkg::E5M2_HAS_INF, 16'(tessera_num_pkg::E5M2_MAX_FINITE),
                                       16'(tessera_num_pkg::E5M2_NAN), 1'b1)};
    tessera_isa_pkg::DTYPE_BF16:
      cv_encode = {16'd0, cv_enc_small(cv_x, tessera_num_pkg::BF16_EXP_BITS, tessera_num_pkg::BF16_MAN_BITS, tessera_num_pkg::BF16_BIAS,
                                           tessera_num_pkg::BF16_HAS_INF, tessera_num_pkg::BF16_MAX_FINITE,
                                       tessera_num_pkg::BF16_NAN, 1'b0)};
    tessera_isa_pkg::DTYPE_FP16:
      cv_encode = {16'd0, cv_enc_small(cv_x, tessera_num_pkg::FP16_EXP_BITS, tessera_num_pkg::FP16_MAN_BITS, tessera_num_pkg::FP16_BIAS,
                                           tessera_num_pkg::FP16_HAS_INF, tessera_num_pkg::FP16_MAX_FINITE,
                                       tessera_num_pkg::FP16_NAN, 1'b0)};
    tessera_isa_pkg::DTYPE_INT32: cv_encode = cv_enc_int(cv_x, -64'sd2147483648, 64'sd2147483647);
    default: cv_encode = cv_x;   // FP32
  endcase
endfunction
