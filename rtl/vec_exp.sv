// e^x exactly as tessera::num::v_exp (docs/numerics.md): range reduction with a
// two-part ln 2, a degree-6 polynomial, and scaling by 2^n in two steps so n down to
// -150 stays exact. Every add and multiply is one RNE FP32 unit. Combinational; the function
// (vec_fn.svh) is the definition.
module vec_exp (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  `include "fp32_fn.svh"
  `include "vec_fn.svh"
  assign y_o = vec_exp_fn(x_i);
endmodule
