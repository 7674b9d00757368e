// R x C grid of processing elements with the input skew of docs/timing.md: array row r
// sees its activation r cycles after it is presented, column c sees its weight write
// and its B element c cycles later, so operand i of row r meets column c at
// (presented + r + c). Results leave at the bottom edge: the weight-stationary partial
// sum of each column with the valid bit of the activation that made it (the bottom PE's
// registered a_valid) and the row's write-back tag, which travels with the last row's
// skew and then along the bottom edge; and the output-stationary drain chain. The
// output-stationary last-row flags of every PE are visible, so the engine sees when a
// tile's last multiply-add has happened instead of computing the cycle.
module systolic_array #(
  parameter int unsigned Rows = 8,
  parameter int unsigned Cols = 8,
  parameter logic [3:0]  Formats = 4'b1111,  // supported input formats (fp_decode.sv)
  parameter int unsigned TagW = 1             // write-back tag of a weight-stationary row
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // One row of A (ws) or of A^T (os) per cycle, element r at bits [16r +: 16].
  input  logic                 a_valid_i,
  input  logic [Rows*16-1:0]   a_vec_i,
  input  logic                 os_i,
  input  logic                 buf_i,
  input  logic                 first_i,
  input  logic [2:0]           a_fmt_i,
  input  logic [2:0]           b_fmt_i,
  input  logic [15:0]          k_i,
  input  logic                 last_i,     // os: the tile's last A^T row
  input  logic [1:0]           tag_i,      // os: the tile's number mod 4
  input  logic [TagW-1:0]      wb_tag_i,   // ws: where the row's results go (opaque here)
  // One row of B per cycle: weight write (ws) or streamed operand (os), element c at [16c +: 16].
  input  logic                 ww_valid_i,
  input  logic [15:0]          ww_row_i,
  input  logic                 ww_buf_i,
  input  logic [Cols*16-1:0]   b_vec_i,
  // Output-stationary drain.
  input  logic                 drain_i,
  input  logic                 drain_set_i,
  output logic [Cols*32-1:0]   psum_bot_o,
  output logic [Cols-1:0]      psum_bot_valid_o,   // ws result of the column leaves now
  output logic [Cols*TagW-1:0] psum_bot_tag_o,
  output logic [Cols*32-1:0]   acc_bot_o,
  // The last-row flag and tile number each PE passed on this cycle (PE (r, c) at r*Cols + c).
  output logic [Rows*Cols-1:0]   os_last_o,
  output logic [Rows*Cols*2-1:0] os_tag_o
);
  localparam int unsigned AW = 45;  // {valid, os, buf, first, last, tag, a_fmt, b_fmt, k, data}
  localparam int unsigned WW = 34;  // {valid, buf, row, data}

  // Left-edge inputs of each row and top-edge inputs of each column, after the skew.
  logic [AW-1:0] row_in [Rows];
  logic [WW-1:0] col_ww [Cols];
  logic [15:0]   col_b  [Cols];

  // Mesh wires: horizontal bundles between columns, vertical sums/operands between rows.
  logic          h_valid [Rows][Cols+1];
  logic [15:0]   h_data  [Rows][Cols+1];
  logic          h_os    [Rows][Cols+1];
  logic          h_buf   [Rows][Cols+1];
  logic          h_first [Rows][Cols+1];
  logic [2:0]    h_afmt  [Rows][Cols+1];
  logic [2:0]    h_bfmt  [Rows][Cols+1];
  logic [15:0]   h_k     [Rows][Cols+1];
  logic          h_last  [Rows][Cols+1];
  logic [1:0]    h_tag   [Rows][Cols+1];
  logic [31:0]   v_psum  [Rows+1][Cols];
  logic [15:0]   v_b     [Rows+1][Cols];
  logic [31:0]   v_acc   [Rows+1][Cols];

  for (genvar r = 0; r < Rows; r++) begin : gen_row_skew
    logic [AW-1:0] bundle;
    assign bundle = {a_valid_i, os_i, buf_i, first_i, last_i, tag_i, a_fmt_i, b_fmt_i, k_i, a_vec_i[16*r +: 16]};
    if (r == 0) begin : gen_direct
      assign row_in[r] = bundle;
    end else begin : gen_delay
      logic [AW-1:0] pipe_q [r];
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (int i = 0; i < r; i++) pipe_q[i] <= '0;
        end else begin
          pipe_q[0] <= bundle;
          for (int i = 1; i < r; i++) pipe_q[i] <= pipe_q[i-1];
        end
      end
      assign row_in[r] = pipe_q[r-1];
    end
    assign {h_valid[r][0], h_os[r][0], h_buf[r][0], h_first[r][0], h_last[r][0], h_tag[r][0], h_afmt[r][0],
            h_bfmt[r][0], h_k[r][0], h_data[r][0]} = row_in[r];
  end

  // Write-back tags: skewed like the bottom row's activations, then one register per column
  // beside the bottom PEs, so column c's tag leaves with the partial sum that row made.
  logic [TagW-1:0] tag_left;          // the tag reaching the bottom row's left edge
  logic [TagW-1:0] bot_tag_q [Cols];   // the tag beside bottom PE c's registered outputs
  if (Rows == 1) begin : gen_tag_direct
    assign tag_left = wb_tag_i;
  end else begin : gen_tag_skew
    logic [TagW-1:0] tpipe_q [Rows-1];
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        for (int i = 0; i < Rows - 1; i++) tpipe_q[i] <= '0;
      end else begin
        tpipe_q[0] <= wb_tag_i;
        for (int i = 1; i < Rows - 1; i++) tpipe_q[i] <= tpipe_q[i-1];
      end
    end
    assign tag_left = tpipe_q[Rows-2];
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < Cols; c++) bot_tag_q[c] <= '0;
    end else begin
      bot_tag_q[0] <= tag_left;
      for (int c = 1; c < Cols; c++) bot_tag_q[c] <= bot_tag_q[c-1];
    end
  end
  for (genvar c = 0; c < Cols; c++) begin : gen_bot
    assign psum_bot_valid_o[c] = h_valid[Rows-1][c+1] && !h_os[Rows-1][c+1];
    assign psum_bot_tag_o[TagW*c +: TagW] = bot_tag_q[c];
  end

  for (genvar c = 0; c < Cols; c++) begin : gen_col_skew
    logic [WW-1:0] wbundle;
    logic [15:0]   bval;
    assign wbundle = {ww_valid_i, ww_buf_i, ww_row_i, b_vec_i[16*c +: 16]};
    assign bval = b_vec_i[16*c +: 16];
    if (c == 0) begin : gen_direct
      assign col_ww[c] = wbundle;
      assign col_b[c] = bval;
    end else begin : gen_delay
      logic [WW-1:0] wpipe_q [c];
      logic [15:0]   bpipe_q [c];
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (int i = 0; i < c; i++) begin
            wpipe_q[i] <= '0;
            bpipe_q[i] <= '0;
          end
        end else begin
          wpipe_q[0] <= wbundle;
          bpipe_q[0] <= bval;
          for (int i = 1; i < c; i++) begin
            wpipe_q[i] <= wpipe_q[i-1];
            bpipe_q[i] <= bpipe_q[i-1];
          end
        end
      end
      assign col_ww[c] = wpipe_q[c-1];
      assign col_b[c] = bpipe_q[c-1];
    end
    assign v_psum[0][c] = 32'd0;   // +0.0 and int 0: the start of every column sum
    assign v_b[0][c]    = col_b[c];
    assign v_acc[0][c]  = 32'd0;
    assign psum_bot_o[32*c +: 32] = v_psum[Rows][c];
    assign acc_bot_o[32*c +: 32]  = v_acc[Rows][c];
  end

  for (genvar r = 0; r < Rows; r++) begin : gen_pe_row
    for (genvar c = 0; c < Cols; c++) begin : gen_pe_col
      pe #(.Row(r), .Formats(Formats)) u_pe (
        .clk_i       (clk_i),
        .rst_ni      (rst_ni),
        .a_valid_i   (h_valid[r][c]),
        .a_i         (h_data[r][c]),
        .a_os_i      (h_os[r][c]),
        .a_buf_i     (h_buf[r][c]),
        .a_first_i   (h_first[r][c]),
        .a_fmt_i     (h_afmt[r][c]),
        .b_fmt_i     (h_bfmt[r][c]),
        .k_i         (h_k[r][c]),
        .a_last_i    (h_last[r][c]),
        .a_tag_i     (h_tag[r][c]),
        .a_valid_o   (h_valid[r][c+1]),
        .a_o         (h_data[r][c+1]),
        .a_os_o      (h_os[r][c+1]),
        .a_buf_o     (h_buf[r][c+1]),
        .a_first_o   (h_first[r][c+1]),
        .a_fmt_o     (h_afmt[r][c+1]),
        .b_fmt_o     (h_bfmt[r][c+1]),
        .k_o         (h_k[r][c+1]),
        .a_last_o    (h_last[r][c+1]),
        .a_tag_o     (h_tag[r][c+1]),
        .psum_i      (v_psum[r][c]),
        .psum_o      (v_psum[r+1][c]),
        .ww_valid_i  (col_ww[c][33]),
        .ww_buf_i    (col_ww[c][32]),
        .ww_row_i    (col_ww[c][31:16]),
        .ww_data_i   (col_ww[c][15:0]),
        .b_i         (v_b[r][c]),
        .b_o         (v_b[r+1][c]),
        .drain_i     (drain_i),
        .drain_set_i (drain_set_i),
        .acc_chain_i (v_acc[r][c]),
        .acc_chain_o (v_acc[r+1][c])
      );
      assign os_last_o[r*Cols + c] = h_last[r][c+1];
      assign os_tag_o[2*(r*Cols + c) +: 2] = h_tag[r][c+1];
    end
  end
endmodule
