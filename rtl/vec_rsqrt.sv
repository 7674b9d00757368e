// 1/sqrt(x) exactly as tessera::num::v_rsqrt: the significand is taken to [1, 4) so the
// exponent is even, a magic-constant seed, RSQRT_NEWTON_STEPS Newton steps
// y += (y/2)(1 - m y y), then 2^(-e/2). Combinational.
module vec_rsqrt (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  localparam logic [31:0] Steps = tessera_num_pkg::RSQRT_NEWTON_STEPS;

  logic [31:0]        m0, m;
  logic signed [31:0] e0, e;
  logic [31:0]        y [Steps+1];

  vec_normalise u_norm (.x_i(x_i), .m_o(m0), .e_o(e0));
  // Odd exponent: one factor 2 moves into the significand (exponent field + 1).
  assign m = e0[0] ? m0 + 32'h0080_0000 : m0;
  assign e = e0[0] ? e0 - 32'sd1 : e0;
  assign y[0] = tessera_num_pkg::RSQRT_MAGIC - {1'b0, m[31:1]};

  for (genvar i = 0; i < Steps; i++) begin : gen_newton
    logic [31:0] my, t, err, hy, corr;
    fp32_mul u_my   (.a_i(m),    .b_i(y[i]), .y_o(my));
    fp32_mul u_t    (.a_i(my),   .b_i(y[i]), .y_o(t));
    fp32_add u_err  (.a_i(tessera_num_pkg::ONE), .b_i(t ^ 32'h8000_0000), .y_o(err));
    fp32_mul u_hy   (.a_i(tessera_num_pkg::HALF), .b_i(y[i]), .y_o(hy));
    fp32_mul u_corr (.a_i(hy),   .b_i(err), .y_o(corr));
    fp32_add u_next (.a_i(y[i]), .b_i(corr), .y_o(y[i+1]));
  end

  logic signed [31:0] half_e;
  logic [31:0] scaled;
  assign half_e = e >>> 1;  // e is even here, so the shift is exact division
  fp32_mul u_scale (.a_i(y[Steps]), .b_i(f32_pow2(-half_e)), .y_o(scaled));

  always_comb begin
    if (f32_is_nan(x_i)) y_o = tessera_num_pkg::CANONICAL_NAN;
    else if (x_i[30:0] == 31'd0) y_o = {x_i[31], 31'h7F80_0000};
    else if (x_i[31]) y_o = tessera_num_pkg::CANONICAL_NAN;
    else if (x_i[30:0] == 31'h7F80_0000) y_o = 32'd0;
    else y_o = scaled;
  end
endmodule
