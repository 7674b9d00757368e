// 1/x exactly as tessera::num::v_recip: a magic-constant seed on the normalised
// significand, RECIP_NEWTON_STEPS Newton steps y += y (1 - m y), then the exponent
// applied in two exact scalings. Combinational; the function
// (vec_fn.svh) is the definition.
module vec_recip (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  `include "fp32_fn.svh"
  `include "vec_fn.svh"
  assign y_o = vec_recip_fn(x_i);
endmodule
