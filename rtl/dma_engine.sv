// DMA engine: one `load`/`store` at a time between the core's L1 and the memory outside
// the core (L2 or HBM), or from a matrix engine's accumulator to L1 or the outside, with
// the issue schedule of docs/timing.md, "DMA": first beat at T + SetupCycles, one beat per
// row piece of at most BytesPerCycle bytes, each beat costing the larger bank cost of its
// two sides (an hbm side costs 1), and, when the outside is L2, beat b no earlier than
// t_{b-M} + L2Latency. A store from acc reads through the same read port (rd_acc_o tells
// the core to serve it from the accumulator, whose data return after AccLatency cycles);
// a store from acc to L1 writes L1 through the write port, each write complete L1Latency
// cycles later, instead of sending it outside. The outside is a valid/ready
// request port (one request per beat: address, byte count, write data) and a response
// port (read data, or a write acknowledgement), answered in order; its latency is the
// outside's. The engine completes when the last beat's data are written into L1
// (load: last response + L1Latency) or acknowledged (store: last response), so with an
// outside answering every request after exactly the tier latency, E = t_L + latency(src)
// + latency(dst) as docs/timing.md states.
module dma_engine #(
  parameter int unsigned BytesPerCycle = 16,   // dma.bytes_per_cycle
  parameter int unsigned SetupCycles = 4,      // dma.setup_cycles (>= 1)
  parameter int unsigned MaxOutstanding = 64,  // dma.max_outstanding
  parameter int unsigned L1Latency = 2,        // l1.latency
  parameter int unsigned L1Banks = 4,          // l1.banks (power of two)
  parameter int unsigned L1BankBytes = 16,     // l1.bank_width (power of two)
  parameter int unsigned L2Latency = 20,       // l2.latency (>= 2)
  parameter int unsigned L2Banks = 4,          // l2.banks (power of two)
  parameter int unsigned L2BankBytes = 16,     // l2.bank_width (power of two)
  parameter int unsigned AccLatency = 1,       // the accumulator's read latency (<= L1Latency)
  parameter int unsigned AccBanks = 8,         // accumulator.banks (power of two)
  parameter int unsigned AccBankBytes = 4      // max(4, 4 * matrix.cols / accumulator.banks)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,
  output logic                 ready_o,
  input  logic [tessera_isa_pkg::WordBits-1:0] word_i,
  output logic                 done_o,        // the cycle E
  output logic                 err_o,         // sticky: a refused word (not started)
  // Outside memory: requests (one per beat) ...
  output logic                 ext_req_valid_o,
  input  logic                 ext_req_ready_i,
  output logic                 ext_req_write_o,
  output logic [1:0]           ext_req_space_o,   // tessera_isa_pkg::SPACE_HBM or SPACE_L2
  output logic [39:0]          ext_req_addr_o,
  output logic [$clog2(BytesPerCycle+1)-1:0] ext_req_bytes_o,
  output logic [BytesPerCycle*8-1:0] ext_req_data_o,  // byte i = address + i
  // ... and responses in request order (read data; a write's acknowledgement).
  input  logic                 ext_rsp_valid_i,
  output logic                 ext_rsp_ready_o,
  input  logic [BytesPerCycle*8-1:0] ext_rsp_data_i,
  // L1: reads return L1Latency cycles after the request (AccLatency from the accumulator
  // of matrix engine acc_engine_o when rd_acc_o); every request is accepted.
  output logic                 rd_acc_o,
  output logic [2:0]           acc_engine_o,
  output logic                 l1_rd_en_o,
  output logic [31:0]          l1_rd_addr_o,
  output logic [$clog2(BytesPerCycle+1)-1:0] l1_rd_bytes_o,
  input  logic [BytesPerCycle*8-1:0] l1_rd_data_i,
  output logic                 l1_wr_en_o,
  output logic [31:0]          l1_wr_addr_o,
  output logic [$clog2(BytesPerCycle+1)-1:0] l1_wr_bytes_o,
  output logic [BytesPerCycle*8-1:0] l1_wr_data_o
);
  localparam int unsigned LW = $clog2(BytesPerCycle + 1);
  localparam int unsigned DW = BytesPerCycle * 8;
  localparam int unsigned CW = 16;                       // beat cost counter width
  localparam int unsigned SW = $clog2(SetupCycles + 1);
  localparam int unsigned HistLen = L2Latency - 1;       // beats issued in the last L2Latency - 1 cycles
  localparam int unsigned HW = $clog2(L2Latency + 1);
  localparam int unsigned FifoDepth = L1Latency + 2;     // store data waiting for the outside
  localparam int unsigned FW = $clog2(FifoDepth + 1);
  localparam int unsigned PW = $clog2(FifoDepth);
  localparam int FifoDepthI = FifoDepth;
  localparam int HistLenI = HistLen;

  // ---- the word ---------------------------------------------------------------------------
  /* verilator lint_off UNUSEDSIGNAL */
  // The header's tokens are the sequencer's; the reserved bits are checked by the ISA tools.
  tessera_isa_pkg::dma_instr_t w;
  /* verilator lint_on UNUSEDSIGNAL */
  assign w = word_i;

  logic is_load, ok, from_acc, to_l1;
  always_comb begin
    is_load = w.hdr.opcode == tessera_isa_pkg::OpLoad;
    from_acc = w.src_space == tessera_isa_pkg::SPACE_ACC;
    to_l1 = w.dst_space == tessera_isa_pkg::SPACE_L1;
    ok = w.len != '0 && w.n1 != '0 && w.n2 != '0;
    if (is_load) begin
      ok = ok && to_l1 && (w.src_space == tessera_isa_pkg::SPACE_HBM || w.src_space == tessera_isa_pkg::SPACE_L2);
    end else begin
      // L1 -> L2/HBM, acc -> L2/HBM/L1.
      ok = ok && w.hdr.opcode == tessera_isa_pkg::OpStore
              && (w.src_space == tessera_isa_pkg::SPACE_L1 || from_acc)
              && (w.dst_space == tessera_isa_pkg::SPACE_HBM || w.dst_space == tessera_isa_pkg::SPACE_L2
                  || (from_acc && to_l1));
    end
  end

  // ---- state ----------------------------------------------------------------------------------
  logic          busy_q, load_q, l2_q, err_q;
  logic          acc_q;            // store: the source is the accumulator
  logic          int_q;            // store: the destination is L1 (acc -> L1)
  logic [2:0]    eng_q;            // the accumulator's matrix engine
  logic [SW-1:0] setup_q;          // cycles left before the first beat may issue
  logic [CW-1:0] cost_q;           // cycles left of the previous beat's cost
  logic [HistLen-1:0] hist_q;      // bit k: a beat issued k + 1 cycles ago (L2 outstanding rule)
  logic [L1Latency-1:0] rdpipe_q;  // bit k: an L1 read issued k + 1 cycles ago (store)
  logic [L1Latency-1:0] finpipe_q; // bit k: the last L1 write issued k + 1 cycles ago (load)
  logic [L1Latency-1:0] ackpipe_q; // bit k: an L1 write of acc -> L1 issued k + 1 cycles ago
  logic [31:0]   pending_q;        // store: write requests sent, not acknowledged

  logic take;
  assign ready_o = !busy_q;
  assign take    = start_i && ready_o && ok;
  assign err_o   = err_q;

  // ---- walkers: issue side (both addresses), completion side (where data come back) ---------
  logic          is_step, is_valid;
  logic [39:0]   is_src;
  logic [LW-1:0] is_bytes;
  logic          cw_step, cw_valid, cw_last;
  logic [39:0]   cw_addr;
  logic [LW-1:0] cw_bytes;
  /* verilator lint_off UNUSEDSIGNAL */
  // The destination walker mirrors the source walker's counters; the completion walker tells the end.
  // Of the issue-side destination address only the low bits matter (its bank cost).
  logic [39:0]   is_dst;
  logic          is_last, is_valid_d, is_last_d;
  logic [LW-1:0] is_bytes_d;
  /* verilator lint_on UNUSEDSIGNAL */

  dma_walker #(.BytesPerCycle(BytesPerCycle), .AddrBits(40)) u_src (
    .clk_i, .rst_ni, .load_i(take), .base_i(w.src_addr), .stride1_i(w.src_stride1), .stride2_i(w.src_stride2),
    .len_i(w.len), .n1_i(w.n1), .n2_i(w.n2), .step_i(is_step),
    .valid_o(is_valid), .addr_o(is_src), .bytes_o(is_bytes), .last_o(is_last));
  dma_walker #(.BytesPerCycle(BytesPerCycle), .AddrBits(40)) u_dst (
    .clk_i, .rst_ni, .load_i(take), .base_i(w.dst_addr), .stride1_i(w.dst_stride1), .stride2_i(w.dst_stride2),
    .len_i(w.len), .n1_i(w.n1), .n2_i(w.n2), .step_i(is_step),
    .valid_o(is_valid_d), .addr_o(is_dst), .bytes_o(is_bytes_d), .last_o(is_last_d));
  // Loads write L1 at the destination addresses, stores send to the destination addresses.
  dma_walker #(.BytesPerCycle(BytesPerCycle), .AddrBits(40)) u_cpl (
    .clk_i, .rst_ni, .load_i(take), .base_i(w.dst_addr), .stride1_i(w.dst_stride1), .stride2_i(w.dst_stride2),
    .len_i(w.len), .n1_i(w.n1), .n2_i(w.n2), .step_i(cw_step),
    .valid_o(cw_valid), .addr_o(cw_addr), .bytes_o(cw_bytes), .last_o(cw_last));

  // ---- beat cost: docs/timing.md, "SRAM accesses and bank conflicts" ------------------------
  // ceil(lines / banks) with lines = floor(((a mod W) + bytes - 1) / W) + 1.
  function automatic logic [CW-1:0] piece_cost(input logic [31:0] a, input logic [LW-1:0] n,
                                               input int unsigned width, input int unsigned banks);
    logic [CW-1:0] lines;
    lines = CW'((a % width + 32'(n) - 32'd1) / width) + CW'(1);
    piece_cost = CW'((32'(lines) + banks - 32'd1) / banks);
  endfunction

  // The core's side: L1 (load: destination; store: source, or the accumulator) and, for a
  // store from acc to L1, the destination in L1; the outside: L2 or HBM (1).
  logic [CW-1:0] c_l1, c_ext, c_beat;
  always_comb begin
    c_l1  = acc_q ? piece_cost(is_src[31:0], is_bytes, AccBankBytes, AccBanks)
                  : piece_cost(load_q ? is_dst[31:0] : is_src[31:0], is_bytes, L1BankBytes, L1Banks);
    c_ext = int_q ? piece_cost(is_dst[31:0], is_bytes, L1BankBytes, L1Banks)
          : l2_q  ? piece_cost(load_q ? is_src[31:0] : is_dst[31:0], is_bytes, L2BankBytes, L2Banks) : CW'(1);
    c_beat = c_l1 > c_ext ? c_l1 : c_ext;
  end

  // ---- issue -------------------------------------------------------------------------------
  logic [HW-1:0] inflight;
  always_comb begin
    inflight = '0;
    for (int k = 0; k < HistLenI; k++) inflight = inflight + HW'(hist_q[k]);
  end
  logic [FW-1:0] rd_inflight;
  always_comb begin
    rd_inflight = '0;
    for (int k = 0; k < L1Latency; k++) rd_inflight = rd_inflight + FW'(rdpipe_q[k]);
  end

  logic [FW-1:0] fcnt_q;
  logic may_issue;
  assign may_issue = busy_q && is_valid && setup_q == '0 && cost_q == '0
                     && (!l2_q || 32'(inflight) < MaxOutstanding)
                     && (load_q || 32'(fcnt_q) + 32'(rd_inflight) < FifoDepth);
  // Load: the beat is the outside read request; store: the L1 read.
  assign is_step = may_issue && (load_q ? ext_req_ready_i : 1'b1);

  assign l1_rd_en_o    = may_issue && !load_q;
  assign l1_rd_addr_o  = is_src[31:0];
  assign l1_rd_bytes_o = is_bytes;

  // ---- store data: L1 data wait in a small queue for the outside (bypassed when it is empty) ---
  logic [DW-1:0] fifo_q [FifoDepth];
  logic [PW-1:0] rp_q, wp_q;
  logic arriving, wr_valid, wr_fire, push;
  logic [DW-1:0] st_data;
  assign arriving = acc_q ? rdpipe_q[AccLatency-1] : rdpipe_q[L1Latency-1];
  assign wr_valid = busy_q && !load_q && (fcnt_q != '0 || arriving);
  // L1 takes every write; the outside when it is ready.
  assign wr_fire  = wr_valid && (int_q || ext_req_ready_i);
  assign push     = arriving && !(fcnt_q == '0 && wr_fire);
  assign st_data  = fcnt_q != '0 ? fifo_q[rp_q] : l1_rd_data_i;

  always_comb begin
    if (load_q) begin
      ext_req_valid_o = may_issue;
      ext_req_write_o = 1'b0;
      ext_req_addr_o  = is_src;
      ext_req_bytes_o = is_bytes;
      ext_req_data_o  = '0;
    end else begin
      ext_req_valid_o = wr_valid && !int_q;
      ext_req_write_o = 1'b1;
      ext_req_addr_o  = cw_addr;
      ext_req_bytes_o = cw_bytes;
      ext_req_data_o  = st_data;
    end
  end
  assign ext_req_space_o = l2_q ? tessera_isa_pkg::SPACE_L2 : tessera_isa_pkg::SPACE_HBM;

  // ---- completion -----------------------------------------------------------------------------
  // Writes into L1 are always taken, so every response is accepted at once. A store's
  // acknowledgement comes from the outside, or (acc -> L1) when its L1 write is complete.
  assign ext_rsp_ready_o = 1'b1;
  logic rsp_fire, ack;
  assign rsp_fire = ext_rsp_valid_i && busy_q;
  assign ack      = int_q ? busy_q && ackpipe_q[L1Latency-1] : rsp_fire;
  assign cw_step  = load_q ? rsp_fire : wr_fire;

  assign l1_wr_en_o    = load_q ? rsp_fire : int_q && wr_fire;
  assign l1_wr_addr_o  = cw_addr[31:0];
  assign l1_wr_bytes_o = cw_bytes;
  assign l1_wr_data_o  = load_q ? ext_rsp_data_i : st_data;
  assign rd_acc_o      = acc_q;
  assign acc_engine_o  = eng_q;

  // A store is done with the acknowledgement that leaves no write outstanding once every
  // write has gone out; the outside may acknowledge a write in its own cycle (HBM, whose
  // DRAM time the outside accounts for, docs/cosim.md).
  logic store_done;
  assign store_done = !load_q && ack && pending_q + 32'(wr_fire) == 32'd1 && (wr_fire ? cw_last : !cw_valid);
  assign done_o = busy_q && (load_q ? finpipe_q[L1Latency-1] : store_done);

  // Storage without reset, so it is an inferred memory.
  always_ff @(posedge clk_i) begin
    if (push) fifo_q[wp_q] <= l1_rd_data_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0; load_q <= 1'b0; l2_q <= 1'b0; err_q <= 1'b0; acc_q <= 1'b0; int_q <= 1'b0; eng_q <= '0;
      setup_q <= '0; cost_q <= '0; hist_q <= '0; rdpipe_q <= '0; finpipe_q <= '0; ackpipe_q <= '0;
      pending_q <= '0; fcnt_q <= '0; rp_q <= '0; wp_q <= '0;
    end else begin
      if (start_i && ready_o && !ok) err_q <= 1'b1;
      if (take) begin
        busy_q  <= 1'b1;
        load_q  <= is_load;
        l2_q    <= is_load ? w.src_space == tessera_isa_pkg::SPACE_L2 : w.dst_space == tessera_isa_pkg::SPACE_L2;
        acc_q   <= !is_load && from_acc;
        int_q   <= !is_load && to_l1;
        eng_q   <= 3'(w.acc_engine);
        setup_q <= SW'(SetupCycles - 1);
        cost_q  <= '0;
        pending_q <= '0;
        fcnt_q  <= '0; rp_q <= '0; wp_q <= '0;
      end else begin
        if (setup_q != '0) setup_q <= setup_q - SW'(1);
        if (is_step) cost_q <= c_beat - CW'(1);
        else if (cost_q != '0) cost_q <= cost_q - CW'(1);
        if (done_o) busy_q <= 1'b0;
      end
      hist_q    <= (hist_q << 1) | HistLen'(is_step && l2_q);
      rdpipe_q  <= (rdpipe_q << 1) | L1Latency'(l1_rd_en_o);
      finpipe_q <= (finpipe_q << 1) | L1Latency'(load_q && l1_wr_en_o && cw_last);
      ackpipe_q <= (ackpipe_q << 1) | L1Latency'(int_q && wr_fire);
      if (!load_q && !take) pending_q <= pending_q + 32'(wr_fire) - 32'(ack);
      if (push) wp_q <= wp_q == PW'(FifoDepthI - 1) ? '0 : wp_q + PW'(1);
      if (wr_fire && fcnt_q != '0) rp_q <= rp_q == PW'(FifoDepthI - 1) ? '0 : rp_q + PW'(1);
      if (!take) fcnt_q <= fcnt_q + FW'(push) - FW'(wr_fire && fcnt_q != '0);
    end
  end
endmodule
