// One dependency-token counter tokens[u][v] (docs/architecture.md §2.1): unit u pushes when
// an instruction whose `signal` mask names v completes, unit v pops when an instruction
// whose `wait` mask names u starts. A push in cycle E is usable from E + 1 (docs/timing.md,
// "Tokens"), so availability looks at the registered count only. A count beyond Depth after
// a cycle is the program error the sequencer reports (`overflow_o`, in that cycle).
module token_counter #(
  parameter int unsigned Depth = 15
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic push_i,
  input  logic pop_i,
  output logic avail_o,
  output logic overflow_o
);
  // One code above Depth, so the overflowing value itself is representable.
  localparam int unsigned W = $clog2(Depth + 2);

  logic [W-1:0] cnt_q, cnt_d;

  always_comb begin
    cnt_d = cnt_q;
    if (push_i && !pop_i) cnt_d = cnt_q + 1'b1;
    else if (pop_i && !push_i) cnt_d = cnt_q - 1'b1;
  end
  assign avail_o = (cnt_q != '0);
  assign overflow_o = (32'(cnt_d) > Depth);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) cnt_q <= '0;
    else cnt_q <= cnt_d;
  end
endmodule
