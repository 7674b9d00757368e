// IEEE 754 binary32 add, round-to-nearest-even, subnormals. Every NaN result is the
// canonical quiet NaN 0x7FC00000 (see fp32_mul.sv for why); an exact zero sum is +0
// unless both operands are -0. Combinational; the function (fp32_fn.svh) is the definition.
module fp32_add (
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  output logic [31:0] y_o
);
  `include "fp32_fn.svh"
  assign y_o = fp32_add_fn(a_i, b_i);
endmodule
