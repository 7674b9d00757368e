// 1/sqrt(x) exactly as tessera::num::v_rsqrt: the significand is taken to [1, 4) so the
// exponent is even, a magic-constant seed, RSQRT_NEWTON_STEPS Newton steps
// y += (y/2)(1 - m y y), then 2^(-e/2). Combinational; the function
// (vec_fn.svh) is the definition.
module vec_rsqrt (
  input  logic [31:0] x_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  `include "fp32_fn.svh"
  `include "vec_fn.svh"
  assign y_o = vec_rsqrt_fn(x_i);
endmodule
