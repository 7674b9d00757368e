// IEEE 754 binary32 multiply, round-to-nearest-even, subnormal inputs and outputs.
// Every NaN result is the canonical quiet NaN 0x7FC00000 (docs/numerics.md): host
// NaN payload propagation depends on which operand the compiler puts first, so the
// contract does not carry payloads. Combinational; the
// function (fp32_fn.svh) is the definition.
module fp32_mul (
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  output logic [31:0] y_o
);
  `include "fp32_fn.svh"
  assign y_o = fp32_mul_fn(a_i, b_i);
endmodule
