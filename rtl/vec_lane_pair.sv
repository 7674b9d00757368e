// Two vector lanes (vector_lane.sv) sharing the function code and immediates; the vector
// engine instantiates Lanes / 2 of them. The grouping exists for Verilator 5.006's lint:
// three or more vector_lane instances in one module make it inline the lanes' function units
// (vec_exp, vec_recip, vec_rsqrt) so that their copies of the shared helper functions
// (vec_fn_common.svh) report VARHIDDEN; instantiated in pairs they do not.
module vec_lane_pair (
  input  logic [1:0]  en_i,
  input  logic [3:0]  fn_i,
  input  logic [63:0] a_i,
  input  logic [63:0] b_i,
  input  logic [31:0] imm_i,
  input  logic [31:0] imm2_i,
  output logic [63:0] y_o
);
  vector_lane u_lane0 (.en_i(en_i[0]), .fn_i(fn_i), .a_i(a_i[31:0]), .b_i(b_i[31:0]), .imm_i(imm_i), .imm2_i(imm2_i),
                       .y_o(y_o[31:0]));
  vector_lane u_lane1 (.en_i(en_i[1]), .fn_i(fn_i), .a_i(a_i[63:32]), .b_i(b_i[63:32]), .imm_i(imm_i), .imm2_i(imm2_i),
                       .y_o(y_o[63:32]));
endmodule
