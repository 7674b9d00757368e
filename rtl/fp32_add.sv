// IEEE 754 binary32 add, round-to-nearest-even, subnormals. Every NaN result is the
// canonical quiet NaN 0x7FC00000 (see fp32_mul.sv for why); an exact zero sum is +0
// unless both operands are -0. Combinational.
module fp32_add (
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  output logic [31:0] y_o
);
  localparam logic [31:0] CanonicalNaN = tessera_num_pkg::CANONICAL_NAN;

  logic        a_nan, b_nan, a_inf, b_inf;
  logic        swap;
  logic [31:0] x, y;               // |x| >= |y|
  logic        sx, sy;
  logic [7:0]  ex, ey;             // effective exponents (1 for subnormals)
  logic [26:0] mx, my;             // 24-bit significand << 3 (guard, round, sticky)
  logic [7:0]  d;
  logic [26:0] my_s;
  logic        sticky_a;
  logic [27:0] sum;
  logic signed [10:0] e;
  logic [26:0] norm;
  logic [4:0]  lz;
  logic [4:0]  lshift;
  logic [23:0] mant;
  logic        guard, sticky, round_up;
  logic [30:0] mag;

  always_comb begin
    mag = '0;
    a_nan = (a_i[30:23] == 8'hFF) && (a_i[22:0] != '0);
    b_nan = (b_i[30:23] == 8'hFF) && (b_i[22:0] != '0);
    a_inf = (a_i[30:23] == 8'hFF) && (a_i[22:0] == '0);
    b_inf = (b_i[30:23] == 8'hFF) && (b_i[22:0] == '0);

    swap = (b_i[30:0] > a_i[30:0]);
    x = swap ? b_i : a_i;
    y = swap ? a_i : b_i;
    sx = x[31]; sy = y[31];
    ex = (x[30:23] == 8'h00) ? 8'd1 : x[30:23];
    ey = (y[30:23] == 8'h00) ? 8'd1 : y[30:23];
    mx = {(x[30:23] != 8'h00), x[22:0], 3'b000};
    my = {(y[30:23] != 8'h00), y[22:0], 3'b000};

    // Align the smaller operand; bits shifted out fold into the sticky bit.
    d = ex - ey;
    if (d > 8'd27) begin
      my_s = '0;
      sticky_a = (my != '0);
    end else begin
      my_s = my >> d;
      sticky_a = 1'b0;
      for (int i = 0; i < 27; i++) begin
        if ((8'(i) < d) && my[i]) sticky_a = 1'b1;
      end
    end
    my_s[0] = my_s[0] | sticky_a;

    e = 11'(signed'({3'd0, ex}));
    if (sx == sy) begin
      sum = {1'b0, mx} + {1'b0, my_s};
    end else begin
      sum = {1'b0, mx} - {1'b0, my_s};
    end

    lshift = 5'd0;
    lz = 5'd0;
    if (sum[27]) begin
      // Carry out: shift right by one, keeping the lost bit sticky.
      norm = sum[27:1];
      norm[0] = norm[0] | sum[0];
      e = e + 11'sd1;
    end else begin
      // Leading-zero count: the highest set bit is the last one the loop sees.
      for (int i = 0; i < 27; i++) begin
        if (sum[i]) lz = 5'(26 - i);
      end
      // Normalise left, but never below the subnormal exponent 1.
      if (11'(signed'({6'd0, lz})) > e - 11'sd1) begin
        lshift = 5'(e - 11'sd1);
      end else begin
        lshift = lz;
      end
      norm = sum[26:0] << lshift;
      e = e - 11'(signed'({6'd0, lshift}));
    end

    mant   = norm[26:3];
    guard  = norm[2];
    sticky = norm[1] | norm[0];
    round_up = guard && (sticky || mant[0]);

    if (a_nan || b_nan) begin
      y_o = CanonicalNaN;
    end else if (a_inf && b_inf && (a_i[31] != b_i[31])) begin
      y_o = CanonicalNaN;
    end else if (a_inf) begin
      y_o = a_i;
    end else if (b_inf) begin
      y_o = b_i;
    end else if (sum == '0) begin
      y_o = {sx & sy, 31'd0};
    end else begin
      // mant[23] == 0 means a subnormal result (exponent field 0); a rounding carry
      // propagates into the exponent field, up to Inf.
      if (mant[23]) begin
        mag = {e[7:0], mant[22:0]} + {30'd0, round_up};
      end else begin
        mag = {8'd0, mant[22:0]} + {30'd0, round_up};
      end
      if (e > 11'sd254) begin
        y_o = {sx, 8'hFF, 23'd0};
      end else begin
        y_o = {sx, mag};
      end
    end
  end
endmodule
