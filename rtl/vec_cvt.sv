// One element of `vcvt` (docs/isa.md): decode from src_fmt, multiply by the scale (one RNE
// FP32 multiply, NaN canonical), encode to dst_fmt as the model stores it. Combinational;
// the functions (vec_cvt.svh, fp32_fn.svh) are the definition, and the vector engine calls
// the same functions for its operands and results in other formats.
module vec_cvt (
  input  logic [2:0]  src_fmt_i,   // ISA dtype codes
  input  logic [2:0]  dst_fmt_i,
  input  logic [31:0] raw_i,       // the source element in the low bytes
  input  logic [31:0] scale_i,     // FP32
  output logic [31:0] raw_o        // the result in the low bytes, the rest zero
);
  `include "fp32_fn.svh"
  `include "vec_cvt.svh"
  assign raw_o = cv_encode(dst_fmt_i, fp32_mul_fn(cv_decode(src_fmt_i, raw_i), scale_i));
endmodule
