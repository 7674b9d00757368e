// One side of a DMA copy walked in the order of its semantics (plane, then row, then
// pieces of at most BytesPerCycle bytes from the row's start; a piece never spans two
// rows): the address and length of the current piece. The DMA engine runs one walker per
// side at the issue point and one where data come back, so neither needs a queue of
// addresses for the requests in flight.
module dma_walker #(
  parameter int unsigned BytesPerCycle = 16,
  parameter int unsigned AddrBits = 40
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 load_i,        // take a new pattern (the first piece is current next cycle)
  input  logic [AddrBits-1:0]  base_i,
  input  logic [31:0]          stride1_i,
  input  logic [39:0]          stride2_i,
  input  logic [23:0]          len_i,         // >= 1
  input  logic [19:0]          n1_i,          // >= 1
  input  logic [19:0]          n2_i,          // >= 1
  input  logic                 step_i,        // the current piece is done: move to the next
  output logic                 valid_o,       // a piece is current (pattern not finished)
  output logic [AddrBits-1:0]  addr_o,
  output logic [$clog2(BytesPerCycle+1)-1:0] bytes_o,
  output logic                 last_o         // the current piece is the pattern's last
);
  localparam int unsigned LW = $clog2(BytesPerCycle + 1);
  localparam logic [23:0] Bpc = 24'(BytesPerCycle);

  logic                valid_q;
  logic [AddrBits-1:0] plane_q, row_q;
  logic [31:0]         stride1_q;
  logic [39:0]         stride2_q;
  logic [23:0]         len_q, off_q;
  logic [19:0]         n1_q, n2_q, r_q, p_q;

  logic [23:0] rest;
  logic        row_end, plane_end;
  assign rest      = len_q - off_q;
  assign row_end   = rest <= Bpc;
  assign plane_end = r_q == n1_q - 20'd1;
  assign valid_o   = valid_q;
  assign addr_o    = row_q + AddrBits'(off_q);
  assign bytes_o   = row_end ? LW'(rest) : LW'(BytesPerCycle);
  assign last_o    = valid_q && row_end && plane_end && p_q == n2_q - 20'd1;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
      plane_q <= '0; row_q <= '0; stride1_q <= '0; stride2_q <= '0;
      len_q <= '0; off_q <= '0; n1_q <= '0; n2_q <= '0; r_q <= '0; p_q <= '0;
    end else if (load_i) begin
      valid_q   <= 1'b1;
      plane_q   <= base_i;
      row_q     <= base_i;
      stride1_q <= stride1_i;
      stride2_q <= stride2_i;
      len_q     <= len_i;
      n1_q      <= n1_i;
      n2_q      <= n2_i;
      off_q     <= '0;
      r_q       <= '0;
      p_q       <= '0;
    end else if (step_i && valid_q) begin
      if (!row_end) begin
        off_q <= off_q + Bpc;
      end else begin
        off_q <= '0;
        if (!plane_end) begin
          r_q   <= r_q + 20'd1;
          row_q <= row_q + AddrBits'(stride1_q);
        end else begin
          r_q     <= '0;
          p_q     <= p_q + 20'd1;
          plane_q <= plane_q + AddrBits'(stride2_q);
          row_q   <= plane_q + AddrBits'(stride2_q);
          if (last_o) valid_q <= 1'b0;
        end
      end
    end
  end
endmodule
