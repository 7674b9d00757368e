// Decodes one matrix-engine input element (INT8, FP8 E4M3, FP8 E5M2 or BF16, raw
// little-endian bits in the low byte or both bytes) into FP32 bits exactly, per
// docs/numerics.md. INT8 is also returned sign-extended for the integer MAC path.
// Format codes are the ISA's dtype encodings (spec/isa.yaml). `Formats` is a mask of
// the formats this instance must support (bit = dtype code); the others decode to zero,
// so synthesis of a single-precision array drops the unused logic (docs/area.md).
module fp_decode #(
  parameter logic [3:0] Formats = 4'b1111
) (
  input  logic [2:0]  fmt_i,
  input  logic [15:0] raw_i,
  output logic [31:0] f32_o,
  output logic [31:0] int_o
);
  localparam logic [2:0] FmtInt8 = tessera_isa_pkg::DTYPE_INT8;
  localparam logic [2:0] FmtE4M3 = tessera_isa_pkg::DTYPE_FP8_E4M3;
  localparam logic [2:0] FmtE5M2 = tessera_isa_pkg::DTYPE_FP8_E5M2;
  localparam logic [31:0] CanonicalNaN = tessera_num_pkg::CANONICAL_NAN;

  logic       s;
  logic [4:0] e;
  logic [2:0] m3;
  logic [1:0] m2;
  logic [2:0] lz3;
  logic [1:0] lz2;

  always_comb begin
    s  = raw_i[7];
    e  = 5'd0;
    m3 = raw_i[2:0];
    m2 = raw_i[1:0];
    lz3 = 3'd0;
    lz2 = 2'd0;
    int_o = (fmt_i == FmtInt8) ? {{24{raw_i[7]}}, raw_i[7:0]} : 32'd0;
    f32_o = '0;
    unique case (fmt_i)
      FmtInt8: begin
        f32_o = '0;  // the integer path uses int_o
        if (!Formats[0]) int_o = '0;
      end
      FmtE4M3: if (Formats[1]) begin
        // bias 7, no infinities, S.1111.111 is NaN; subnormals m * 2^-9.
        e = {1'b0, raw_i[6:3]};
        if (raw_i[6:0] == 7'h7F) begin
          f32_o = CanonicalNaN;
        end else if (e == 5'd0) begin
          if (m3 == 3'd0) begin
            f32_o = {s, 31'd0};
          end else begin
            // Normalise: value = m3 * 2^-9 = 1.f * 2^(p-9), p = index of the leading one.
            if (m3[2]) lz3 = 3'd0; else if (m3[1]) lz3 = 3'd1; else lz3 = 3'd2;
            f32_o = {s, 8'(8'd127 - 8'd7 - {5'd0, lz3}), 23'(({20'd0, m3} << (lz3 + 3'd1)) & 23'h7) << 20};
          end
        end else begin
          f32_o = {s, 8'({3'd0, e} + 8'd120), m3, 20'd0};
        end
      end
      FmtE5M2: if (Formats[2]) begin
        // bias 15, IEEE-like: exponent 31 is Inf (m = 0) or NaN; subnormals m * 2^-16.
        e = raw_i[6:2];
        if (e == 5'd31) begin
          f32_o = (m2 == 2'd0) ? {s, 8'hFF, 23'd0} : CanonicalNaN;
        end else if (e == 5'd0) begin
          if (m2 == 2'd0) begin
            f32_o = {s, 31'd0};
          end else begin
            if (m2[1]) lz2 = 2'd0; else lz2 = 2'd1;
            f32_o = {s, 8'(8'd127 - 8'd15 - {6'd0, lz2}), 23'(({21'd0, m2} << (lz2 + 2'd1)) & 23'h3) << 21};
          end
        end else begin
          f32_o = {s, 8'({3'd0, e} + 8'd112), m2, 21'd0};
        end
      end
      default: if (Formats[3]) begin
        // BF16: the upper half of an FP32 word; NaNs become the canonical NaN.
        if (raw_i[14:7] == 8'hFF && raw_i[6:0] != 7'd0) f32_o = CanonicalNaN;
        else f32_o = {raw_i, 16'd0};
      end
    endcase
  end
endmodule
