// Sequencer of one tensor core (docs/architecture.md §2.1): fetches 512-bit instruction
// words in program order, decodes and checks their headers through the generated package
// (tessera_isa_pkg::header_t), dispatches at most one per cycle into the queue of its unit,
// keeps the dependency-token counters tokens[u][v] of every ordered pair of existing units,
// and executes `halt` and `barrier` itself. The cycle of every event is the contract of
// docs/timing.md ("Every unit: queues, start and tokens"; "Sequencer: fetch, dispatch,
// halt, barrier"):
//   d_0 = f - 1,  d_i = max(d_{i-1} + f, B, F_i),  f = max(1, ceil(64 / FetchBytesPerCycle));
//   an entry of a unit queue is held from d_i until the instruction starts;
//   pops at the start, pushes at completion, visible from the next cycle;
//   halt reached at h completes at H = max(h, max E + 1); barrier reached at b is released
//   at R (scope core: R = max(b, max E + 1)) and the next dispatch is at >= max(b + f, R + 1).
//
// Units are numbered by slot: dma0..dma{DmaEngines-1}, mx0..mx{MatrixEngines-1}, vec, coll.
// Each unit sees its queue head (`u_word_o`) and may start it in a cycle where
// `u_may_start_o` is set (head present and every token of its `wait` mask available); it
// reports the start (`u_start_i`) and, in the cycle the instruction completes, `u_done_i`
// with the instruction's `signal` mask. A unit completes at most one instruction per cycle.
//
// Program errors stop dispatch and raise a sticky `err_o` with `err_code_o` (Err* below),
// the instruction index for decode errors and the counter (ISA unit ids u, v) for a token
// overflow.
module sequencer #(
  parameter int unsigned DmaEngines = 2,
  parameter int unsigned MatrixEngines = 1,
  parameter int unsigned QueueDepth = 16,
  parameter int unsigned TokenDepth = 15,
  parameter int unsigned FetchBytesPerCycle = 64,
  parameter int unsigned PcBits = 16
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // Instruction memory, synchronous read with enable: the word at imem_addr_o appears on
  // imem_word_i in the cycle after a cycle with imem_en_o set and stays until the next read.
  output logic                 imem_en_o,
  output logic [PcBits-1:0]    imem_addr_o,
  input  logic [tessera_isa_pkg::WordBits-1:0] imem_word_i,
  // Units, one slot each (see above).
  output logic [DmaEngines+MatrixEngines+1:0]   u_valid_o,
  output logic [DmaEngines+MatrixEngines+1:0]   u_may_start_o,
  output logic [(DmaEngines+MatrixEngines+2)*tessera_isa_pkg::WordBits-1:0] u_word_o,
  input  logic [DmaEngines+MatrixEngines+1:0]   u_start_i,
  input  logic [DmaEngines+MatrixEngines+1:0]   u_done_i,
  input  logic [(DmaEngines+MatrixEngines+2)*16-1:0] u_done_signal_i,
  // Chip and system barriers: the core has drained at a barrier of scope bar_scope_o and
  // waits for bar_release_i (the release cycle R is a cycle with both set).
  output logic                 bar_wait_o,
  output logic [1:0]           bar_scope_o,
  output logic [15:0]          bar_id_o,
  input  logic                 bar_release_i,
  // Observation: an instruction dispatched this cycle, a barrier released, halt completed.
  output logic                 disp_o,
  output logic [PcBits-1:0]    disp_pc_o,
  output logic                 bar_release_o,
  output logic                 halt_o,        // the cycle H
  output logic                 halted_o,      // from H + 1 on
  output logic                 err_o,
  output logic [2:0]           err_code_o,
  output logic [PcBits-1:0]    err_pc_o,
  output logic [7:0]           err_counter_o  // {u, v} of an overflowing tokens[u][v]
);
  localparam int unsigned NU = DmaEngines + MatrixEngines + 2;
  localparam int unsigned WB = tessera_isa_pkg::WordBits;
  localparam int unsigned F = (64 + FetchBytesPerCycle - 1) / FetchBytesPerCycle;
  localparam int unsigned FW = $clog2(F + 1);
  localparam logic [15:0] DmaMask = (16'd1 << DmaEngines) - 16'd1;
  localparam logic [15:0] MxMask = (16'd1 << MatrixEngines) - 16'd1;
  // Units that exist in this configuration (token-mask bits and `unit` values allowed).
  localparam logic [15:0] ExistMask = (DmaMask << tessera_isa_pkg::UnitDma0) | (MxMask << tessera_isa_pkg::UnitMx0)
                                    | (16'd1 << tessera_isa_pkg::UnitVec) | (16'd1 << tessera_isa_pkg::UnitColl);

  localparam logic [2:0] ErrNone = 3'd0;
  localparam logic [2:0] ErrOpcode = 3'd1;     // undefined opcode
  localparam logic [2:0] ErrUnit = 3'd2;       // unit absent in this configuration or outside the opcode's class
  localparam logic [2:0] ErrMask = 3'd3;       // a token mask names no counter, or tpush/tpop with an empty one
  localparam logic [2:0] ErrReserved = 3'd4;   // nonzero reserved header bits
  localparam logic [2:0] ErrOverflow = 3'd5;   // a token counter beyond TokenDepth

  typedef enum logic [1:0] {StRun = 2'd0, StBarrier = 2'd1, StHaltWait = 2'd2, StHalted = 2'd3} state_e;

  // ---- fetch ---------------------------------------------------------------------------
  state_e          state_q, state_d;
  logic [PcBits-1:0] pc_q;
  logic [FW-1:0]   fcnt_q;          // cycles since the last dispatch slot, saturating at F
  logic            fetched;         // the word at pc_q has been fetched: at least F cycles since the last slot
  logic            err_q;
  logic [15:0]     outstanding_q;   // dispatched, not completed (both before this cycle)

  // Only the header and, for barrier, scope and id are the sequencer's; the rest goes to the unit.
  /* verilator lint_off UNUSEDSIGNAL */
  tessera_isa_pkg::header_t        hdr;
  tessera_isa_pkg::barrier_instr_t bar_word;
  /* verilator lint_on UNUSEDSIGNAL */
  assign hdr = imem_word_i[63:0];
  assign bar_word = imem_word_i;

  // ---- decode: the opcode's unit class, and the checks of docs/architecture.md §2.1 -------
  logic [15:0] class_mask;          // units the opcode may run on; 0: undefined opcode
  logic [15:0] unit_bit;
  logic        is_halt, is_barrier, is_seq;
  logic [2:0]  dec_err;

  always_comb begin
    // The opcode sets of each class come from spec/isa.yaml (`class`), so an opcode added to an
    // existing class needs no change here; an undefined opcode is in no set.
    class_mask = ({16{tessera_isa_pkg::UnitClassSeqOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassSeqMask)
               | ({16{tessera_isa_pkg::UnitClassAnyOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassAnyMask)
               | ({16{tessera_isa_pkg::UnitClassDmaOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassDmaMask)
               | ({16{tessera_isa_pkg::UnitClassMxOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassMxMask)
               | ({16{tessera_isa_pkg::UnitClassVecOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassVecMask)
               | ({16{tessera_isa_pkg::UnitClassCollOpcodes[hdr.opcode]}} & tessera_isa_pkg::UnitClassCollMask);
    unit_bit = 16'd1 << hdr.unit;
    is_halt = (hdr.opcode == tessera_isa_pkg::OpHalt);
    is_barrier = (hdr.opcode == tessera_isa_pkg::OpBarrier);
    is_seq = is_halt || is_barrier;

    dec_err = ErrNone;
    if (class_mask == 16'd0) begin
      dec_err = ErrOpcode;
    end else if ((class_mask & unit_bit) == 16'd0 || (!is_seq && (ExistMask & unit_bit) == 16'd0)) begin
      dec_err = ErrUnit;
    end else if ((is_seq && (hdr.wait_mask != 16'd0 || hdr.signal_mask != 16'd0))
                 || ((hdr.wait_mask | hdr.signal_mask) & ~ExistMask) != 16'd0
                 || (hdr.opcode == tessera_isa_pkg::OpTpush && hdr.signal_mask == 16'd0)
                 || (hdr.opcode == tessera_isa_pkg::OpTpop && hdr.wait_mask == 16'd0)) begin
      dec_err = ErrMask;
    end else if (hdr.rsvd0 != '0) begin
      dec_err = ErrReserved;
    end
  end

  // ---- per-unit queues and token counters ---------------------------------------------------
  logic [NU-1:0] unit_oh;           // slot of the decoded word
  logic [NU-1:0] q_push, q_full, q_valid;
  logic [NU-1:0] tok_ok;            // every token the head waits for is available
  logic [NU*NU-1:0] ovf;            // [u*NU + v]: tokens[u][v] overflows this cycle
  logic [NU*16-1:0] head_wait;      // wait mask of each head
  logic [NU*4-1:0] slot_ids;        // ISA unit id of each slot
  logic [NU*NU-1:0] tok_ok_m;       // [v*NU + u]: head of v does not wait on u, or u's token is there

  for (genvar s = 0; s < NU; s++) begin : g_unit
    localparam logic [3:0] Id = (s < DmaEngines) ? tessera_isa_pkg::UnitDma0 + 4'(s)
                              : (s < DmaEngines + MatrixEngines) ? tessera_isa_pkg::UnitMx0 + 4'(s - DmaEngines)
                              : (s == DmaEngines + MatrixEngines) ? tessera_isa_pkg::UnitVec
                              : tessera_isa_pkg::UnitColl;
    logic [WB-1:0] head;
    assign slot_ids[s*4 +: 4] = Id;
    assign unit_oh[s] = (hdr.unit == Id);

    unit_queue #(.Depth(QueueDepth), .Width(WB)) u_queue (
      .clk_i   (clk_i),
      .rst_ni  (rst_ni),
      .push_i  (q_push[s]),
      .data_i  (imem_word_i),
      .pop_i   (u_start_i[s]),
      .valid_o (q_valid[s]),
      .head_o  (head),
      .full_o  (q_full[s])
    );
    assign u_word_o[s*WB +: WB] = head;
    // Header wait mask: bits [HdrWaitMaskLsb +: 16] of the word (header_t.wait_mask).
    assign head_wait[s*16 +: 16] = head[tessera_isa_pkg::HdrWaitMaskLsb +: 16];
  end

  // tokens[u][v]: pushed by u's completions whose signal names v, popped by v's starts whose
  // wait names u.
  for (genvar u = 0; u < NU; u++) begin : g_from
    for (genvar v = 0; v < NU; v++) begin : g_to
      logic avail;
      token_counter #(.Depth(TokenDepth)) u_tok (
        .clk_i      (clk_i),
        .rst_ni     (rst_ni),
        .push_i     (u_done_i[u] && u_done_signal_i[u*16 + 32'(slot_ids[v*4 +: 4])]),
        .pop_i      (u_start_i[v] && head_wait[v*16 + 32'(slot_ids[u*4 +: 4])]),
        .avail_o    (avail),
        .overflow_o (ovf[u*NU + v])
      );
      assign tok_ok_m[v*NU + u] = !head_wait[v*16 + 32'(slot_ids[u*4 +: 4])] || avail;
    end
  end
  for (genvar v = 0; v < NU; v++) begin : g_ok
    assign tok_ok[v] = &tok_ok_m[v*NU +: NU];
  end

  assign u_valid_o = q_valid;
  assign u_may_start_o = q_valid & tok_ok;

  // ---- dispatch, halt, barrier -----------------------------------------------------------------
  logic        slot_ready;          // the sequencer may act on the word at pc_q this cycle
  logic        dispatch, reach_bar, bar_active, drained, release_now;
  logic [1:0]  bar_scope_q, cur_scope;
  logic [15:0] bar_id_q, cur_id;
  logic        raise_err;
  logic [2:0]  raise_code;
  logic [7:0]  raise_counter;
  logic [$clog2(NU+1)-1:0] n_done;

  assign fetched = (32'(fcnt_q) >= F);
  assign drained = (outstanding_q == 16'd0);

  always_comb begin
    slot_ready = !err_q && state_q == StRun && fetched;
    dispatch = 1'b0;
    reach_bar = 1'b0;
    q_push = '0;
    raise_err = 1'b0;
    raise_code = ErrNone;
    raise_counter = 8'd0;
    state_d = state_q;
    halt_o = 1'b0;

    if (slot_ready) begin
      if (dec_err != ErrNone) begin
        raise_err = 1'b1;
        raise_code = dec_err;
      end else if (is_halt) begin
        if (drained) begin
          halt_o = 1'b1;
          state_d = StHalted;
        end else begin
          state_d = StHaltWait;
        end
      end else if (is_barrier) begin
        reach_bar = 1'b1;
        state_d = StBarrier;
      end else if ((unit_oh & q_full) == '0) begin
        dispatch = 1'b1;
        q_push = unit_oh;
      end
    end
    if (!err_q && state_q == StHaltWait && drained) begin
      halt_o = 1'b1;
      state_d = StHalted;
    end

    // Barrier: drained at x, released at R (scope core: R = x; chip/system: the cycle the
    // peers' release arrives), dispatch resumes at R + 1 once the next word is fetched.
    bar_active = !err_q && (state_q == StBarrier || reach_bar);
    cur_scope = (state_q == StBarrier) ? bar_scope_q : bar_word.scope;
    cur_id = (state_q == StBarrier) ? bar_id_q : bar_word.id;
    release_now = bar_active && drained && (cur_scope == tessera_isa_pkg::SCOPE_CORE || bar_release_i);
    if (release_now) state_d = StRun;

    // The lowest-numbered overflowing counter is the one reported.
    for (int i = NU * NU - 1; i >= 0; i--) begin
      if (ovf[i]) begin
        raise_err = 1'b1;
        raise_code = ErrOverflow;
        raise_counter = {slot_ids[(i / NU) * 4 +: 4], slot_ids[(i % NU) * 4 +: 4]};
      end
    end
  end

  assign bar_wait_o = bar_active && drained && cur_scope != tessera_isa_pkg::SCOPE_CORE;
  assign bar_scope_o = cur_scope;
  assign bar_id_o = cur_id;
  assign bar_release_o = release_now;
  assign disp_o = dispatch;
  assign disp_pc_o = pc_q;
  assign halted_o = (state_q == StHalted);

  // The next word is read when this one leaves the fetch slot (dispatch or barrier); word 0 is
  // read during reset so that it is there at cycle 0 (d_0 = f - 1 = 0 at one word per cycle).
  assign imem_en_o = !rst_ni || dispatch || reach_bar;
  assign imem_addr_o = !rst_ni ? '0 : pc_q + 1'b1;

  always_comb begin
    n_done = '0;
    for (int s = 0; s < NU; s++) n_done = n_done + {{($clog2(NU+1)-1){1'b0}}, u_done_i[s]};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= StRun;
      pc_q <= '0;
      fcnt_q <= {{(FW-1){1'b0}}, 1'b1};   // as if the previous slot were cycle -1: word 0 is ready at f - 1
      err_q <= 1'b0;
      err_code_o <= ErrNone;
      err_pc_o <= '0;
      err_counter_o <= '0;
      outstanding_q <= '0;
      bar_scope_q <= '0;
      bar_id_q <= '0;
    end else begin
      state_q <= state_d;
      if (dispatch || reach_bar) begin
        pc_q <= pc_q + 1'b1;
        fcnt_q <= {{(FW-1){1'b0}}, 1'b1};
      end else if (32'(fcnt_q) < F) begin
        fcnt_q <= fcnt_q + 1'b1;
      end
      if (reach_bar) begin
        bar_scope_q <= bar_word.scope;
        bar_id_q <= bar_word.id;
      end
      outstanding_q <= outstanding_q + {15'd0, dispatch} - 16'(n_done);
      if (raise_err && !err_q) begin
        err_q <= 1'b1;
        err_code_o <= raise_code;
        err_pc_o <= pc_q;
        err_counter_o <= raise_counter;
      end
    end
  end
  assign err_o = err_q;
endmodule
