// Splits |x| (finite, non-zero) into a significand m in [1, 2) and an exponent e with
// |x| = m * 2^e, subnormals included: the `normalise` step of v_recip and v_rsqrt.
module vec_normalise (
  /* verilator lint_off UNUSEDSIGNAL */  // the sign: callers pass the whole FP32 word
  input  logic [31:0]        x_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output logic [31:0]        m_o,
  output logic signed [31:0] e_o
);
  `include "vec_fn_common.svh"
  `include "fp32_fn.svh"
  `include "vec_fn.svh"
  assign {m_o, e_o} = vec_normalise_fn(x_i);
endmodule
