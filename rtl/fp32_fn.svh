// FP32 add and multiply as functions (round-to-nearest-even, subnormals, canonical NaN; the
// contract of docs/numerics.md). Included inside a module body (Yosys 0.23 reads module-local
// functions, not package imports): fp32_add.sv and fp32_mul.sv are these functions as modules,
// and a processing element or lane that calls them under an enable is evaluated by Verilator only
// when it has work, which is most of the RTL's simulation speed (docs/validation.md, "RTL").
// Every local name carries the function's prefix so no module signal is hidden.

function automatic logic [31:0] fp32_add_fn(input logic [31:0] fpa_a_i, input logic [31:0] fpa_b_i);
  logic        fpa_a_nan, fpa_b_nan, fpa_a_inf, fpa_b_inf;
  logic        fpa_swap;
  logic [31:0] fpa_x, fpa_y;               // |x| >= |y|
  logic        fpa_sx, fpa_sy;
  logic [7:0]  fpa_ex, fpa_ey;             // effective exponents (1 for subnormals)
  logic [26:0] fpa_mx, fpa_my;             // 24-bit significand << 3 (guard, round, sticky)
  logic [7:0]  fpa_d;
  logic [26:0] fpa_my_s;
  logic        fpa_sticky_a;
  logic [27:0] fpa_sum;
  logic signed [10:0] fpa_e;
  logic [26:0] fpa_norm;
  logic [4:0]  fpa_lz;
  logic [4:0]  fpa_lshift;
  logic [23:0] fpa_mant;
  logic        fpa_guard, fpa_sticky, fpa_round_up;
  logic [30:0] fpa_mag;
  logic [31:0] fpa_y_o;
  fpa_mag = '0;
  fpa_a_nan = (fpa_a_i[30:23] == 8'hFF) && (fpa_a_i[22:0] != '0);
  fpa_b_nan = (fpa_b_i[30:23] == 8'hFF) && (fpa_b_i[22:0] != '0);
  fpa_a_inf = (fpa_a_i[30:23] == 8'hFF) && (fpa_a_i[22:0] == '0);
  fpa_b_inf = (fpa_b_i[30:23] == 8'hFF) && (fpa_b_i[22:0] == '0);

  fpa_swap = (fpa_b_i[30:0] > fpa_a_i[30:0]);
  fpa_x = fpa_swap ? fpa_b_i : fpa_a_i;
  fpa_y = fpa_swap ? fpa_a_i : fpa_b_i;
  fpa_sx = fpa_x[31]; fpa_sy = fpa_y[31];
  fpa_ex = (fpa_x[30:23] == 8'h00) ? 8'd1 : fpa_x[30:23];
  fpa_ey = (fpa_y[30:23] == 8'h00) ? 8'd1 : fpa_y[30:23];
  fpa_mx = {(fpa_x[30:23] != 8'h00), fpa_x[22:0], 3'b000};
  fpa_my = {(fpa_y[30:23] != 8'h00), fpa_y[22:0], 3'b000};

  // Align the smaller operand; bits shifted out fold into the sticky bit.
  fpa_d = fpa_ex - fpa_ey;
  if (fpa_d > 8'd27) begin
    fpa_my_s = '0;
    fpa_sticky_a = (fpa_my != '0);
  end else begin
    fpa_my_s = fpa_my >> fpa_d;
    fpa_sticky_a = 1'b0;
    for (int i = 0; i < 27; i++) begin
      if ((8'(i) < fpa_d) && fpa_my[i]) fpa_sticky_a = 1'b1;
    end
  end
  fpa_my_s[0] = fpa_my_s[0] | fpa_sticky_a;

  fpa_e = 11'(signed'({3'd0, fpa_ex}));
  if (fpa_sx == fpa_sy) begin
    fpa_sum = {1'b0, fpa_mx} + {1'b0, fpa_my_s};
  end else begin
    fpa_sum = {1'b0, fpa_mx} - {1'b0, fpa_my_s};
  end

  fpa_lshift = 5'd0;
  fpa_lz = 5'd0;
  if (fpa_sum[27]) begin
    // Carry out: shift right by one, keeping the lost bit sticky.
    fpa_norm = fpa_sum[27:1];
    fpa_norm[0] = fpa_norm[0] | fpa_sum[0];
    fpa_e = fpa_e + 11'sd1;
  end else begin
    // Leading-zero count: the highest set bit is the last one the loop sees.
    for (int i = 0; i < 27; i++) begin
      if (fpa_sum[i]) fpa_lz = 5'(26 - i);
    end
    // Normalise left, but never below the subnormal exponent 1.
    if (11'(signed'({6'd0, fpa_lz})) > fpa_e - 11'sd1) begin
      fpa_lshift = 5'(fpa_e - 11'sd1);
    end else begin
      fpa_lshift = fpa_lz;
    end
    fpa_norm = fpa_sum[26:0] << fpa_lshift;
    fpa_e = fpa_e - 11'(signed'({6'd0, fpa_lshift}));
  end

  fpa_mant   = fpa_norm[26:3];
  fpa_guard  = fpa_norm[2];
  fpa_sticky = fpa_norm[1] | fpa_norm[0];
  fpa_round_up = fpa_guard && (fpa_sticky || fpa_mant[0]);

  if (fpa_a_nan || fpa_b_nan) begin
    fpa_y_o = tessera_num_pkg::CANONICAL_NAN;
  end else if (fpa_a_inf && fpa_b_inf && (fpa_a_i[31] != fpa_b_i[31])) begin
    fpa_y_o = tessera_num_pkg::CANONICAL_NAN;
  end else if (fpa_a_inf) begin
    fpa_y_o = fpa_a_i;
  end else if (fpa_b_inf) begin
    fpa_y_o = fpa_b_i;
  end else if (fpa_sum == '0) begin
    fpa_y_o = {fpa_sx & fpa_sy, 31'd0};
  end else begin
    // mant[23] == 0 means a subnormal result (exponent field 0); a rounding carry
    // propagates into the exponent field, up to Inf.
    if (fpa_mant[23]) begin
      fpa_mag = {fpa_e[7:0], fpa_mant[22:0]} + {30'd0, fpa_round_up};
    end else begin
      fpa_mag = {8'd0, fpa_mant[22:0]} + {30'd0, fpa_round_up};
    end
    if (fpa_e > 11'sd254) begin
      fpa_y_o = {fpa_sx, 8'hFF, 23'd0};
    end else begin
      fpa_y_o = {fpa_sx, fpa_mag};
    end
  end
  fp32_add_fn = fpa_y_o;
endfunction

function automatic logic [31:0] fp32_mul_fn(input logic [31:0] fpm_a_i, input logic [31:0] fpm_b_i);
  logic        fpm_sa, fpm_sb, fpm_sy;
  logic [7:0]  fpm_ea, fpm_eb;
  logic [22:0] fpm_fa, fpm_fb;
  logic        fpm_a_nan, fpm_b_nan, fpm_a_inf, fpm_b_inf, fpm_a_zero, fpm_b_zero;
  logic [23:0] fpm_ma, fpm_mb;
  logic [47:0] fpm_prod, fpm_prod_n;
  logic [5:0]  fpm_lz;
  logic signed [11:0] fpm_exp_n;   // biased exponent of prod_n's leading bit
  logic [6:0]  fpm_rshift;
  logic [46:0] fpm_prod_s;       // below the leading-bit position (implied for normal results)
  logic        fpm_sticky_s;
  logic [22:0] fpm_mant;        // fraction; the leading bit is implied (normal) or 0 (subnormal)
  logic        fpm_guard, fpm_sticky, fpm_round_up;
  logic [7:0]  fpm_exp_field;
  logic [30:0] fpm_mag;
  logic [31:0] fpm_y_o;
  fpm_mag = '0;
  fpm_sa = fpm_a_i[31]; fpm_ea = fpm_a_i[30:23]; fpm_fa = fpm_a_i[22:0];
  fpm_sb = fpm_b_i[31]; fpm_eb = fpm_b_i[30:23]; fpm_fb = fpm_b_i[22:0];
  fpm_sy = fpm_sa ^ fpm_sb;
  fpm_a_nan  = (fpm_ea == 8'hFF) && (fpm_fa != '0);
  fpm_b_nan  = (fpm_eb == 8'hFF) && (fpm_fb != '0);
  fpm_a_inf  = (fpm_ea == 8'hFF) && (fpm_fa == '0);
  fpm_b_inf  = (fpm_eb == 8'hFF) && (fpm_fb == '0);
  fpm_a_zero = (fpm_ea == 8'h00) && (fpm_fa == '0);
  fpm_b_zero = (fpm_eb == 8'h00) && (fpm_fb == '0);
  fpm_ma = {(fpm_ea != 8'h00), fpm_fa};
  fpm_mb = {(fpm_eb != 8'h00), fpm_fb};
  fpm_prod = fpm_ma * fpm_mb;

  // Normalise so the leading one sits at bit 47.
  // Leading-zero count: the highest set bit is the last one the loop sees.
  fpm_lz = 6'd0;
  for (int i = 0; i < 48; i++) begin
    if (fpm_prod[i]) fpm_lz = 6'(47 - i);
  end
  fpm_prod_n = fpm_prod << fpm_lz;
  // Unbiased exponents of inputs: (e==0 ? 1 : e) - 127; the product's leading bit at 47
  // before normalisation has weight 2^(ea'+eb'-254+1) relative to bit 46 = 1.0.
  fpm_exp_n = 12'(signed'({4'd0, (fpm_ea == 8'h00) ? 8'd1 : fpm_ea})) +
          12'(signed'({4'd0, (fpm_eb == 8'h00) ? 8'd1 : fpm_eb})) - 12'sd126 - 12'(signed'({6'd0, fpm_lz}));

  // Subnormal result: shift right until the exponent is 1, collecting a sticky bit.
  if (fpm_exp_n < 12'sd1) begin
    fpm_rshift = ((12'sd1 - fpm_exp_n) > 12'sd49) ? 7'd49 : 7'(12'sd1 - fpm_exp_n);
  end else begin
    fpm_rshift = 7'd0;
  end
  fpm_prod_s = 47'(fpm_prod_n >> fpm_rshift);
  fpm_sticky_s = 1'b0;
  for (int i = 0; i < 48; i++) begin
    if ((7'(i) < fpm_rshift) && fpm_prod_n[i]) fpm_sticky_s = 1'b1;
  end

  fpm_mant   = fpm_prod_s[46:24];
  fpm_guard  = fpm_prod_s[23];
  fpm_sticky = (fpm_prod_s[22:0] != '0) || fpm_sticky_s;
  fpm_round_up = fpm_guard && (fpm_sticky || fpm_mant[0]);
  // Exponent field 0 for a subnormal result; the hidden bit is carried by the add below
  // (a mantissa that rounds up to 2^23 becomes the smallest normal).
  fpm_exp_field = (fpm_exp_n < 12'sd1) ? 8'd0 : fpm_exp_n[7:0];

  if (fpm_a_nan || fpm_b_nan) begin
    fpm_y_o = tessera_num_pkg::CANONICAL_NAN;
  end else if ((fpm_a_inf && fpm_b_zero) || (fpm_b_inf && fpm_a_zero)) begin
    fpm_y_o = tessera_num_pkg::CANONICAL_NAN;
  end else if (fpm_a_inf || fpm_b_inf) begin
    fpm_y_o = {fpm_sy, 8'hFF, 23'd0};
  end else if (fpm_a_zero || fpm_b_zero || (fpm_prod == '0)) begin
    fpm_y_o = {fpm_sy, 31'd0};
  end else if (fpm_exp_n > 12'sd254) begin
    fpm_y_o = {fpm_sy, 8'hFF, 23'd0};
  end else begin
    if (fpm_exp_n < 12'sd1) begin
      // After a right shift the leading bit is 0; a carry out of the fraction makes the smallest normal.
      fpm_mag = {8'd0, fpm_mant} + {30'd0, fpm_round_up};
    end else begin
      fpm_mag = {fpm_exp_field, fpm_mant} + {30'd0, fpm_round_up};
    end
    fpm_y_o = {fpm_sy, fpm_mag};  // an all-ones carry into the exponent gives Inf, as IEEE requires
  end
  fp32_mul_fn = fpm_y_o;
endfunction
