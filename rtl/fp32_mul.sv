// IEEE 754 binary32 multiply, round-to-nearest-even, subnormal inputs and outputs.
// Every NaN result is the canonical quiet NaN 0x7FC00000 (docs/numerics.md): host
// NaN payload propagation depends on which operand the compiler puts first, so the
// contract does not carry payloads. Combinational; the processing element and the
// vector engine register around it.
module fp32_mul (
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  output logic [31:0] y_o
);
  localparam logic [31:0] CanonicalNaN = tessera_num_pkg::CANONICAL_NAN;

  logic        sa, sb, sy;
  logic [7:0]  ea, eb;
  logic [22:0] fa, fb;
  logic        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero;
  logic [23:0] ma, mb;
  logic [47:0] prod, prod_n;
  logic [5:0]  lz;
  logic signed [11:0] exp_n;   // biased exponent of prod_n's leading bit
  logic [6:0]  rshift;
  logic [46:0] prod_s;       // below the leading-bit position (implied for normal results)
  logic        sticky_s;
  logic [22:0] mant;        // fraction; the leading bit is implied (normal) or 0 (subnormal)
  logic        guard, sticky, round_up;
  logic [7:0]  exp_field;
  logic [30:0] mag;

  always_comb begin
    mag = '0;
    sa = a_i[31]; ea = a_i[30:23]; fa = a_i[22:0];
    sb = b_i[31]; eb = b_i[30:23]; fb = b_i[22:0];
    sy = sa ^ sb;
    a_nan  = (ea == 8'hFF) && (fa != '0);
    b_nan  = (eb == 8'hFF) && (fb != '0);
    a_inf  = (ea == 8'hFF) && (fa == '0);
    b_inf  = (eb == 8'hFF) && (fb == '0);
    a_zero = (ea == 8'h00) && (fa == '0);
    b_zero = (eb == 8'h00) && (fb == '0);
    ma = {(ea != 8'h00), fa};
    mb = {(eb != 8'h00), fb};
    prod = ma * mb;

    // Normalise so the leading one sits at bit 47.
    // Leading-zero count: the highest set bit is the last one the loop sees.
    lz = 6'd0;
    for (int i = 0; i < 48; i++) begin
      if (prod[i]) lz = 6'(47 - i);
    end
    prod_n = prod << lz;
    // Unbiased exponents of inputs: (e==0 ? 1 : e) - 127; the product's leading bit at 47
    // before normalisation has weight 2^(ea'+eb'-254+1) relative to bit 46 = 1.0.
    exp_n = 12'(signed'({4'd0, (ea == 8'h00) ? 8'd1 : ea})) +
            12'(signed'({4'd0, (eb == 8'h00) ? 8'd1 : eb})) - 12'sd126 - 12'(signed'({6'd0, lz}));

    // Subnormal result: shift right until the exponent is 1, collecting a sticky bit.
    if (exp_n < 12'sd1) begin
      rshift = ((12'sd1 - exp_n) > 12'sd49) ? 7'd49 : 7'(12'sd1 - exp_n);
    end else begin
      rshift = 7'd0;
    end
    prod_s = 47'(prod_n >> rshift);
    sticky_s = 1'b0;
    for (int i = 0; i < 48; i++) begin
      if ((7'(i) < rshift) && prod_n[i]) sticky_s = 1'b1;
    end

    mant   = prod_s[46:24];
    guard  = prod_s[23];
    sticky = (prod_s[22:0] != '0) || sticky_s;
    round_up = guard && (sticky || mant[0]);
    // Exponent field 0 for a subnormal result; the hidden bit is carried by the add below
    // (a mantissa that rounds up to 2^23 becomes the smallest normal).
    exp_field = (exp_n < 12'sd1) ? 8'd0 : exp_n[7:0];

    if (a_nan || b_nan) begin
      y_o = CanonicalNaN;
    end else if ((a_inf && b_zero) || (b_inf && a_zero)) begin
      y_o = CanonicalNaN;
    end else if (a_inf || b_inf) begin
      y_o = {sy, 8'hFF, 23'd0};
    end else if (a_zero || b_zero || (prod == '0)) begin
      y_o = {sy, 31'd0};
    end else if (exp_n > 12'sd254) begin
      y_o = {sy, 8'hFF, 23'd0};
    end else begin
      if (exp_n < 12'sd1) begin
        // After a right shift the leading bit is 0; a carry out of the fraction makes the smallest normal.
        mag = {8'd0, mant} + {30'd0, round_up};
      end else begin
        mag = {exp_field, mant} + {30'd0, round_up};
      end
      y_o = {sy, mag};  // an all-ones carry into the exponent gives Inf, as IEEE requires
    end
  end
endmodule
