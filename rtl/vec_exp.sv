// e^x exactly as tessera::num::v_exp (docs/numerics.md): range reduction with a
// two-part ln 2, a degree-6 polynomial, and scaling by 2^n in two steps so n down to
// -150 stays exact. Every add and multiply is one RNE FP32 unit. Combinational.
module vec_exp (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  localparam logic [31:0] NegRoundMagic = tessera_num_pkg::ROUND_MAGIC ^ 32'h8000_0000;

  logic [31:0] t0, k, nf, t1, t2, t3, r, h1, h2, h3, h4, h5, h6, h7, q, rr, rq, s, p, p1, p2;
  logic signed [31:0] n, n1, n2;

  fp32_mul u_t0 (.a_i(x_i), .b_i(tessera_num_pkg::LOG2E), .y_o(t0));
  fp32_add u_k  (.a_i(t0),  .b_i(tessera_num_pkg::ROUND_MAGIC), .y_o(k));
  fp32_add u_nf (.a_i(k),   .b_i(NegRoundMagic), .y_o(nf));
  fp32_mul u_t1 (.a_i(nf),  .b_i(tessera_num_pkg::LN2_HI), .y_o(t1));
  fp32_add u_t2 (.a_i(x_i), .b_i(t1 ^ 32'h8000_0000), .y_o(t2));
  fp32_mul u_t3 (.a_i(nf),  .b_i(tessera_num_pkg::LN2_LO), .y_o(t3));
  fp32_add u_r  (.a_i(t2),  .b_i(t3 ^ 32'h8000_0000), .y_o(r));
  fp32_mul u_h1 (.a_i(tessera_num_pkg::EXP_C6), .b_i(r), .y_o(h1));
  fp32_add u_h2 (.a_i(h1), .b_i(tessera_num_pkg::EXP_C5), .y_o(h2));
  fp32_mul u_h3 (.a_i(h2), .b_i(r), .y_o(h3));
  fp32_add u_h4 (.a_i(h3), .b_i(tessera_num_pkg::EXP_C4), .y_o(h4));
  fp32_mul u_h5 (.a_i(h4), .b_i(r), .y_o(h5));
  fp32_add u_h6 (.a_i(h5), .b_i(tessera_num_pkg::EXP_C3), .y_o(h6));
  fp32_mul u_h7 (.a_i(h6), .b_i(r), .y_o(h7));
  fp32_add u_q  (.a_i(h7), .b_i(tessera_num_pkg::EXP_C2), .y_o(q));
  fp32_mul u_rr (.a_i(r),  .b_i(r),  .y_o(rr));
  fp32_mul u_rq (.a_i(rr), .b_i(q),  .y_o(rq));
  fp32_add u_s  (.a_i(r),  .b_i(rq), .y_o(s));
  fp32_add u_p  (.a_i(tessera_num_pkg::ONE), .b_i(s), .y_o(p));

  // k holds n in its low mantissa bits: n = bits(k) - bits(RoundMagic).
  assign n  = $signed(k) - $signed(tessera_num_pkg::ROUND_MAGIC);
  assign n1 = n >>> 1;
  assign n2 = n - n1;
  assign p1 = f32_pow2(n1);
  assign p2 = f32_pow2(n2);
  logic [31:0] sc1, sc2;
  fp32_mul u_sc1 (.a_i(p),   .b_i(p1), .y_o(sc1));
  fp32_mul u_sc2 (.a_i(sc1), .b_i(p2), .y_o(sc2));

  always_comb begin
    if (f32_is_nan(x_i)) y_o = tessera_num_pkg::CANONICAL_NAN;
    else if (f32_key(x_i) > f32_key(tessera_num_pkg::EXP_HI)) y_o = 32'h7F80_0000;
    else if (f32_key(x_i) < f32_key(tessera_num_pkg::EXP_LO)) y_o = 32'h0000_0000;
    else y_o = sc2;
  end
endmodule
