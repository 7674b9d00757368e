// Splits |x| (finite, non-zero) into a significand m in [1, 2) and an exponent e with
// |x| = m * 2^e, subnormals included: the `normalise` step of v_recip and v_rsqrt.
module vec_normalise (
  /* verilator lint_off UNUSEDSIGNAL */  // the sign: callers pass the whole FP32 word
  input  logic [31:0]        x_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output logic [31:0]        m_o,
  output logic signed [31:0] e_o
);
  logic [30:0] a;
  logic [4:0]  p;      // position of the leading one of a subnormal fraction
  logic [22:0] frac;
  assign a = x_i[30:0];
  always_comb begin
    p = 5'd0;
    for (int i = 0; i < 23; i++) begin
      if (a[i]) p = 5'(i);  // the highest set bit is the last one seen
    end
    frac = 23'(a[22:0] << (5'd23 - p));
    if (a[30:23] != 8'd0) begin
      m_o = {9'h07F, a[22:0]};
      e_o = $signed({24'd0, a[30:23]}) - 32'sd127;
    end else begin
      m_o = {9'h07F, frac};
      e_o = $signed({27'd0, p}) - 32'sd149;
    end
  end
endmodule
