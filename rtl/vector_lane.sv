// One lane of the vector engine: the elementwise functions of docs/numerics.md
// ("Vector-engine functions") on FP32 operands, bit-exact with tessera::num. The
// transcendental functions share one exp and one reciprocal unit: tanh (|x| >= 0.625),
// sigmoid, SiLU and GELU are all built from e = exp(z) and 1/(1 + e), as the C++
// algorithms are. Combinational; the engine registers around it. en_i: the lane has an
// element this cycle; without one the output is 0 and only the selected function is ever
// computed, so the simulator skips idle lanes (docs/validation.md, "RTL").
module vector_lane (
  input  logic        en_i,
  input  logic [3:0]  fn_i,     // FnAdd .. FnGelu below
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  input  logic [31:0] imm_i,
  input  logic [31:0] imm2_i,
  output logic [31:0] y_o
);
  `include "vec_fn_common.svh"
  `include "fp32_fn.svh"
  `include "vec_fn.svh"
  localparam logic [3:0] FnAdd = 4'd0, FnSub = 4'd1, FnMul = 4'd2, FnMax = 4'd3,
                         FnScale = 4'd4, FnSquare = 4'd5, FnExp = 4'd6, FnRecip = 4'd7,
                         FnRsqrt = 4'd8, FnTanh = 4'd9, FnSigmoid = 4'd10, FnSilu = 4'd11,
                         FnGelu = 4'd12, FnPass = 4'd13;
  localparam logic [31:0] Sign = 32'h8000_0000;
  localparam logic [31:0] One = tessera_num_pkg::ONE;

  // The shared units, each called once: z is the sigmoid's argument (x, or 2u for GELU),
  // e = exp(x) (vexp), exp(2|x|) (tanh) or exp(-|z|); r = 1/x (vrecip) or 1/(1 + e).
  logic        trans, use_exp, small_tanh;
  logic [31:0] ax, z, e, r, ty, tq, gu, sig, tanh_v;
  always_comb begin
    y_o = 32'd0;
    ax = {1'b0, a_i[30:0]};
    z = a_i; e = 32'd0; r = 32'd0; ty = 32'd0; tq = 32'd0; gu = 32'd0; sig = 32'd0; tanh_v = 32'd0;
    small_tanh = ax < tessera_num_pkg::TANH_SPLIT;
    trans = fn_i >= FnTanh && fn_i <= FnGelu;
    use_exp = fn_i == FnExp || (fn_i == FnTanh && !small_tanh) || fn_i == FnSigmoid || fn_i == FnSilu
              || fn_i == FnGelu;
    if (en_i) begin
      if (fn_i == FnGelu) begin
        // GELU's argument: z = 2u, u = K0 (x + K1 x^3), x^3 = (x x) x.
        gu = fp32_mul_fn(tessera_num_pkg::GELU_K0, fp32_add_fn(a_i, fp32_mul_fn(tessera_num_pkg::GELU_K1,
                                                                                 fp32_mul_fn(fp32_mul_fn(a_i, a_i), a_i))));
        z = fp32_add_fn(gu, gu);
      end
      if (use_exp) e = vec_exp_fn(fn_i == FnExp ? a_i : (fn_i == FnTanh ? fp32_add_fn(ax, ax) : (z | Sign)));
      if (fn_i == FnRecip || (use_exp && fn_i != FnExp)) r = vec_recip_fn(fn_i == FnRecip ? a_i : fp32_add_fn(One, e));
      // Sigmoid(z) = e r (z < 0) or r (z >= 0).
      sig = z[31] ? fp32_mul_fn(e, r) : r;
      // tanh(|x|): an odd polynomial for small |x|, 1 - 2/(e^2a + 1) for large.
      if (fn_i == FnTanh) begin
        if (small_tanh) begin
          ty = fp32_mul_fn(ax, ax);
          tq = fp32_add_fn(fp32_mul_fn(tessera_num_pkg::TANH_Q5, ty), tessera_num_pkg::TANH_Q4);
          tq = fp32_add_fn(fp32_mul_fn(tq, ty), tessera_num_pkg::TANH_Q3);
          tq = fp32_add_fn(fp32_mul_fn(tq, ty), tessera_num_pkg::TANH_Q2);
          tq = fp32_add_fn(fp32_mul_fn(tq, ty), tessera_num_pkg::TANH_Q1);
          tq = fp32_add_fn(fp32_mul_fn(tq, ty), tessera_num_pkg::TANH_Q0);
          tanh_v = fp32_add_fn(ax, fp32_mul_fn(fp32_mul_fn(ax, ty), tq));
        end else begin
          tanh_v = fp32_add_fn(One, fp32_add_fn(r, r) ^ Sign);
        end
      end
      unique case (fn_i)
        FnAdd:     y_o = fp32_add_fn(a_i, b_i);
        FnSub:     y_o = fp32_add_fn(a_i, b_i ^ Sign);
        FnMul:     y_o = fp32_mul_fn(a_i, b_i);
        FnMax:     y_o = (f32_is_nan(a_i) || f32_is_nan(b_i)) ? tessera_num_pkg::CANONICAL_NAN
                       : ((f32_key(b_i) > f32_key(a_i)) ? b_i : a_i);
        FnScale:   y_o = fp32_add_fn(fp32_mul_fn(a_i, imm_i), imm2_i);
        FnSquare:  y_o = fp32_mul_fn(a_i, a_i);
        FnExp:     y_o = e;
        FnRecip:   y_o = r;
        FnRsqrt:   y_o = vec_rsqrt_fn(a_i);
        FnTanh:    y_o = tanh_v | {a_i[31], 31'd0};
        FnSigmoid: y_o = sig;
        FnSilu, FnGelu: y_o = fp32_mul_fn(a_i, sig);
        FnPass:    y_o = a_i;
        default:   y_o = a_i;
      endcase
      // The special cases the C++ algorithms test before computing.
      if (trans && f32_is_nan(a_i)) y_o = tessera_num_pkg::CANONICAL_NAN;
      if ((fn_i == FnSilu || fn_i == FnGelu) && a_i == 32'hFF80_0000) y_o = 32'h8000_0000;
      if (fn_i == FnGelu && a_i == 32'h7F80_0000) y_o = 32'h7F80_0000;
    end
  end
endmodule
