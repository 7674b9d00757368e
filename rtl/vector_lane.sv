// One lane of the vector engine: the elementwise functions of docs/numerics.md
// ("Vector-engine functions") on FP32 operands, bit-exact with tessera::num. The
// transcendental functions share one exp and one reciprocal unit: tanh (|x| >= 0.625),
// sigmoid, SiLU and GELU are all built from e = exp(z) and 1/(1 + e), as the C++
// algorithms are. Combinational; the engine registers around it.
module vector_lane (
  input  logic [3:0]  fn_i,     // FnAdd .. FnGelu below
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  input  logic [31:0] imm_i,
  input  logic [31:0] imm2_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  localparam logic [3:0] FnAdd = 4'd0, FnSub = 4'd1, FnMul = 4'd2, FnMax = 4'd3,
                         FnScale = 4'd4, FnSquare = 4'd5, FnExp = 4'd6, FnRecip = 4'd7,
                         FnRsqrt = 4'd8, FnTanh = 4'd9, FnSigmoid = 4'd10, FnSilu = 4'd11,
                         FnGelu = 4'd12, FnPass = 4'd13;
  localparam logic [31:0] Sign = 32'h8000_0000;
  localparam logic [31:0] One = tessera_num_pkg::ONE;

  // Two-operand arithmetic.
  logic [31:0] sum, diff, prod, sq, scaled, affine;
  fp32_add u_add  (.a_i(a_i), .b_i(b_i), .y_o(sum));
  fp32_add u_sub  (.a_i(a_i), .b_i(b_i ^ Sign), .y_o(diff));
  fp32_mul u_mul  (.a_i(a_i), .b_i(b_i), .y_o(prod));
  fp32_mul u_sq   (.a_i(a_i), .b_i(a_i), .y_o(sq));
  fp32_mul u_scl  (.a_i(a_i), .b_i(imm_i), .y_o(scaled));
  fp32_add u_aff  (.a_i(scaled), .b_i(imm2_i), .y_o(affine));

  logic [31:0] maxv;
  always_comb begin
    if (f32_is_nan(a_i) || f32_is_nan(b_i)) maxv = tessera_num_pkg::CANONICAL_NAN;
    else maxv = (f32_key(b_i) > f32_key(a_i)) ? b_i : a_i;
  end

  // GELU's argument: z = 2u, u = K0 (x + K1 x^3), x^3 = (x x) x.
  logic [31:0] x3, k1x3, inner, u, gz;
  fp32_mul u_x3    (.a_i(sq), .b_i(a_i), .y_o(x3));
  fp32_mul u_k1x3  (.a_i(tessera_num_pkg::GELU_K1), .b_i(x3), .y_o(k1x3));
  fp32_add u_inner (.a_i(a_i), .b_i(k1x3), .y_o(inner));
  fp32_mul u_u     (.a_i(tessera_num_pkg::GELU_K0), .b_i(inner), .y_o(u));
  fp32_add u_gz    (.a_i(u), .b_i(u), .y_o(gz));

  // tanh's operands: a = |x|; small |x| uses an odd polynomial, large |x| 1 - 2/(e^2a + 1).
  logic [31:0] ax, a2, ty, tq1, tq2, tq3, tq4, tq5, tq6, tq7, tq8, tq9, tq, ay, ayq, tsmall;
  assign ax = {1'b0, a_i[30:0]};
  fp32_add u_a2  (.a_i(ax), .b_i(ax), .y_o(a2));
  fp32_mul u_ty  (.a_i(ax), .b_i(ax), .y_o(ty));
  fp32_mul u_tq1 (.a_i(tessera_num_pkg::TANH_Q5), .b_i(ty), .y_o(tq1));
  fp32_add u_tq2 (.a_i(tq1), .b_i(tessera_num_pkg::TANH_Q4), .y_o(tq2));
  fp32_mul u_tq3 (.a_i(tq2), .b_i(ty), .y_o(tq3));
  fp32_add u_tq4 (.a_i(tq3), .b_i(tessera_num_pkg::TANH_Q3), .y_o(tq4));
  fp32_mul u_tq5 (.a_i(tq4), .b_i(ty), .y_o(tq5));
  fp32_add u_tq6 (.a_i(tq5), .b_i(tessera_num_pkg::TANH_Q2), .y_o(tq6));
  fp32_mul u_tq7 (.a_i(tq6), .b_i(ty), .y_o(tq7));
  fp32_add u_tq8 (.a_i(tq7), .b_i(tessera_num_pkg::TANH_Q1), .y_o(tq8));
  fp32_mul u_tq9 (.a_i(tq8), .b_i(ty), .y_o(tq9));
  fp32_add u_tq  (.a_i(tq9), .b_i(tessera_num_pkg::TANH_Q0), .y_o(tq));
  fp32_mul u_ay  (.a_i(ax), .b_i(ty), .y_o(ay));
  fp32_mul u_ayq (.a_i(ay), .b_i(tq), .y_o(ayq));
  fp32_add u_tsm (.a_i(ax), .b_i(ayq), .y_o(tsmall));

  // The shared exp and reciprocal. Sigmoid(z) = e r (z < 0) or r (z >= 0) with
  // e = exp(-|z|), r = 1/(1 + e); tanh(large a) = 1 - (r + r) with e = exp(2a).
  logic [31:0] z, exp_in, e, one_e, recip_in, r, er, sig, rr, tlarge, tanh_v;
  always_comb begin
    z = a_i;
    if (fn_i == FnGelu) z = gz;
    if (fn_i == FnExp) exp_in = a_i;
    else if (fn_i == FnTanh) exp_in = a2;
    else exp_in = z | Sign;
  end
  vec_exp   u_exp   (.x_i(exp_in), .y_o(e));
  fp32_add  u_one_e (.a_i(One), .b_i(e), .y_o(one_e));
  assign recip_in = (fn_i == FnRecip) ? a_i : one_e;
  vec_recip u_recip (.x_i(recip_in), .y_o(r));
  fp32_mul  u_er    (.a_i(e), .b_i(r), .y_o(er));
  assign sig = z[31] ? er : r;
  fp32_add  u_rr    (.a_i(r), .b_i(r), .y_o(rr));
  fp32_add  u_tl    (.a_i(One), .b_i(rr ^ Sign), .y_o(tlarge));
  assign tanh_v = ((ax < tessera_num_pkg::TANH_SPLIT) ? tsmall : tlarge) | {a_i[31], 31'd0};

  logic [31:0] rs, xsig;
  vec_rsqrt u_rsqrt (.x_i(a_i), .y_o(rs));
  fp32_mul  u_xsig  (.a_i(a_i), .b_i(sig), .y_o(xsig));

  always_comb begin
    unique case (fn_i)
      FnAdd:     y_o = sum;
      FnSub:     y_o = diff;
      FnMul:     y_o = prod;
      FnMax:     y_o = maxv;
      FnScale:   y_o = affine;
      FnSquare:  y_o = sq;
      FnExp:     y_o = e;
      FnRecip:   y_o = r;
      FnRsqrt:   y_o = rs;
      FnTanh:    y_o = tanh_v;
      FnSigmoid: y_o = sig;
      FnSilu, FnGelu: y_o = xsig;
      FnPass:    y_o = a_i;
      default:   y_o = a_i;
    endcase
    // The special cases the C++ algorithms test before computing.
    if (fn_i >= FnTanh && fn_i <= FnGelu && f32_is_nan(a_i)) y_o = tessera_num_pkg::CANONICAL_NAN;
    if ((fn_i == FnSilu || fn_i == FnGelu) && a_i == 32'hFF80_0000) y_o = 32'h8000_0000;
    if (fn_i == FnGelu && a_i == 32'h7F80_0000) y_o = 32'h7F80_0000;
  end
endmodule
