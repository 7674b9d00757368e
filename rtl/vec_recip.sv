// 1/x exactly as tessera::num::v_recip: a magic-constant seed on the normalised
// significand, RECIP_NEWTON_STEPS Newton steps y += y (1 - m y), then the exponent
// applied in two exact scalings. Combinational.
module vec_recip (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  localparam logic [31:0] Steps = tessera_num_pkg::RECIP_NEWTON_STEPS;

  logic [31:0]        m;
  logic signed [31:0] e, n, n1, n2;
  logic [31:0]        y [Steps+1];

  vec_normalise u_norm (.x_i(x_i), .m_o(m), .e_o(e));
  assign y[0] = tessera_num_pkg::RECIP_MAGIC - m;

  for (genvar i = 0; i < Steps; i++) begin : gen_newton
    logic [31:0] my, err, yerr;
    fp32_mul u_my   (.a_i(m),    .b_i(y[i]), .y_o(my));
    fp32_add u_err  (.a_i(tessera_num_pkg::ONE), .b_i(my ^ 32'h8000_0000), .y_o(err));
    fp32_mul u_yerr (.a_i(y[i]), .b_i(err), .y_o(yerr));
    fp32_add u_next (.a_i(y[i]), .b_i(yerr), .y_o(y[i+1]));
  end

  assign n  = -e;
  assign n1 = n >>> 1;
  assign n2 = n - n1;
  logic [31:0] sc1, sc2;
  fp32_mul u_sc1 (.a_i(y[Steps]), .b_i(f32_pow2(n1)), .y_o(sc1));
  fp32_mul u_sc2 (.a_i(sc1),      .b_i(f32_pow2(n2)), .y_o(sc2));

  always_comb begin
    if (f32_is_nan(x_i)) y_o = tessera_num_pkg::CANONICAL_NAN;
    else if (x_i[30:0] == 31'd0) y_o = {x_i[31], 31'h7F80_0000};
    else if (x_i[30:0] == 31'h7F80_0000) y_o = {x_i[31], 31'd0};
    else y_o = sc2 | {x_i[31], 31'd0};
  end
endmodule
