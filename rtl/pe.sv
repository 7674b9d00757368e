// Processing element of the systolic array (docs/architecture.md, matrix engine).
// Weight-stationary: holds two weight registers (double buffering: the tile's buffer
// bit travels with its activations), multiplies the activation passing left to right
// and adds the product to the partial sum passing top to bottom; rows at or below the
// tile's k pass the sum through untouched, so the sum is exactly the ascending-k fold of
// docs/numerics.md. Output-stationary: the activation (from A^T) passes left to right,
// B passes top to bottom and the product accumulates in one of two output registers;
// a drain shifts a register set down the column. INT8 uses an int32 path that wraps.
module pe #(
  parameter int unsigned Row = 0,
  parameter logic [3:0]  Formats = 4'b1111   // supported input formats (fp_decode.sv)
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // Activation and the tile's control, left to right.
  input  logic        a_valid_i,
  input  logic [15:0] a_i,
  input  logic        a_os_i,
  input  logic        a_buf_i,
  input  logic        a_first_i,
  input  logic [2:0]  a_fmt_i,
  input  logic [2:0]  b_fmt_i,
  input  logic [15:0] k_i,
  // Output-stationary: the tile's last A^T row and the tile's number (mod 4), so the engine
  // sees when the tile's last multiply-add has passed a PE (its drain may start).
  input  logic        a_last_i,
  input  logic [1:0]  a_tag_i,
  output logic        a_valid_o,
  output logic [15:0] a_o,
  output logic        a_os_o,
  output logic        a_buf_o,
  output logic        a_first_o,
  output logic [2:0]  a_fmt_o,
  output logic [2:0]  b_fmt_o,
  output logic [15:0] k_o,
  output logic        a_last_o,
  output logic [1:0]  a_tag_o,
  // Weight-stationary partial sum, top to bottom.
  input  logic [31:0] psum_i,
  output logic [31:0] psum_o,
  // Weight write for this PE's column (already skewed by the array).
  input  logic        ww_valid_i,
  input  logic [15:0] ww_row_i,
  input  logic        ww_buf_i,
  input  logic [15:0] ww_data_i,
  // Output-stationary B operand, top to bottom.
  input  logic [15:0] b_i,
  output logic [15:0] b_o,
  // Output-stationary drain chain: shift register set drain_set_i down one row.
  input  logic        drain_i,
  input  logic        drain_set_i,
  input  logic [31:0] acc_chain_i,
  output logic [31:0] acc_chain_o
);
  localparam logic [2:0] FmtInt8 = tessera_isa_pkg::DTYPE_INT8;

  logic [15:0] w_q [2];
  logic [31:0] acc_q [2];

  `include "fp32_fn.svh"

  logic [15:0] b_operand;
  logic [31:0] a_f32, b_f32, a_int, b_int;
  logic [31:0] prod_int;
  logic [31:0] sum_in, mac;
  logic        is_int, row_active, mac_en;

  assign b_operand = a_os_i ? b_i : w_q[a_buf_i];
  fp_decode #(.Formats(Formats)) u_dec_a (.fmt_i(a_fmt_i), .raw_i(a_i),       .f32_o(a_f32), .int_o(a_int));
  fp_decode #(.Formats(Formats)) u_dec_b (.fmt_i(b_fmt_i), .raw_i(b_operand), .f32_o(b_f32), .int_o(b_int));
  assign prod_int = a_int * b_int;
  // Constant when the instance supports only integer or only floating-point formats, so
  // synthesis drops the unused multiplier and adder (docs/area.md).
  assign is_int = (Formats == 4'b0001) || (Formats[0] && (a_fmt_i == FmtInt8));
  assign row_active = (16'(Row) < k_i);

  // The sum this product is added to: the incoming partial sum (ws) or the output
  // register, restarted from +0.0 at a tile's first k (os).
  assign sum_in = a_os_i ? (a_first_i ? 32'd0 : acc_q[a_buf_i]) : psum_i;
  // One multiply-add, computed only when a valid activation meets an active row (a PE that
  // has no work is not evaluated by the simulator: docs/validation.md, "RTL").
  assign mac_en = a_valid_i && (a_os_i || row_active);
  always_comb begin
    mac = 32'd0;
    if (mac_en) mac = is_int ? (sum_in + prod_int) : fp32_add_fn(sum_in, fp32_mul_fn(a_f32, b_f32));
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_valid_o <= 1'b0;
      a_o       <= '0;
      a_os_o    <= 1'b0;
      a_buf_o   <= 1'b0;
      a_first_o <= 1'b0;
      a_fmt_o   <= '0;
      b_fmt_o   <= '0;
      k_o       <= '0;
      a_last_o  <= 1'b0;
      a_tag_o   <= '0;
      psum_o    <= '0;
      b_o       <= '0;
      w_q[0]    <= '0;
      w_q[1]    <= '0;
      acc_q[0]  <= '0;
      acc_q[1]  <= '0;
    end else begin
      a_valid_o <= a_valid_i;
      a_o       <= a_i;
      a_os_o    <= a_os_i;
      a_buf_o   <= a_buf_i;
      a_first_o <= a_first_i;
      a_fmt_o   <= a_fmt_i;
      b_fmt_o   <= b_fmt_i;
      k_o       <= k_i;
      a_last_o  <= a_last_i;
      a_tag_o   <= a_tag_i;
      b_o       <= b_i;
      if (ww_valid_i && (ww_row_i == 16'(Row))) begin
        w_q[ww_buf_i] <= ww_data_i;
      end
      if (a_valid_i && !a_os_i && row_active) begin
        psum_o <= mac;
      end else begin
        psum_o <= psum_i;
      end
      if (a_valid_i && a_os_i) begin
        acc_q[a_buf_i] <= mac;
      end
      // A drain never touches the set the current tile accumulates into (timing.md).
      if (drain_i) begin
        acc_q[drain_set_i] <= acc_chain_i;
      end
    end
  end

  assign acc_chain_o = acc_q[drain_set_i];
endmodule
