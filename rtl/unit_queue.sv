// Instruction queue of one unit: a FIFO of Depth instruction words between the sequencer's
// dispatch and the unit's start. An entry is held from the cycle its instruction is
// dispatched until the cycle the unit starts it, and is free for a new dispatch from the
// next cycle (docs/timing.md, "Queue entries"): `full_o` and `count_o` are registered, so a
// start in cycle c frees its entry for a dispatch in c + 1, never in c.
module unit_queue #(
  parameter int unsigned Depth = 16,
  parameter int unsigned Width = 512
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             push_i,
  input  logic [Width-1:0] data_i,
  input  logic             pop_i,
  output logic             valid_o,    // an instruction is at the head (it arrived before this cycle)
  output logic [Width-1:0] head_o,
  output logic             full_o
);
  localparam int unsigned PW = (Depth > 1) ? $clog2(Depth) : 1;
  localparam int unsigned CW = $clog2(Depth + 1);
  localparam logic [PW-1:0] LastPtr = PW'(Depth - 1);

  logic [Width-1:0] mem_q [Depth];
  logic [PW-1:0] rd_q, wr_q;
  logic [CW-1:0] count_q;

  assign valid_o = (count_q != '0);
  assign full_o  = (32'(count_q) == Depth);
  assign head_o  = mem_q[rd_q];

  always_ff @(posedge clk_i) begin
    if (push_i) mem_q[wr_q] <= data_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_q <= '0;
      wr_q <= '0;
      count_q <= '0;
    end else begin
      if (push_i) wr_q <= (wr_q == LastPtr) ? '0 : wr_q + 1'b1;
      if (pop_i) rd_q <= (rd_q == LastPtr) ? '0 : rd_q + 1'b1;
      if (push_i && !pop_i) count_q <= count_q + 1'b1;
      else if (pop_i && !push_i) count_q <= count_q - 1'b1;
    end
  end
endmodule
