// One Tessera tensor core (docs/architecture.md §2): sequencer, matrix engine(s), vector
// engine, DMA engine(s), the banked L1 (sram) and an instruction memory. Every architectural
// parameter is read from the generated configuration package tessera_cfg_pkg (`tessera
// config sv`), so the core is the configuration the package was generated for; only the
// instruction memory's depth, which the configuration does not describe, is a parameter.
//
// Units and the sequencer follow docs/timing.md "Every unit": a DMA, vector or collective
// instruction starts at T = the first cycle with its tokens available and the unit idle
// (E_prev + 1); tpush/tpop on those units complete at T. The matrix engine takes a matmul
// when its queue head may start and the engine is ready (Q); its completions push the
// signals of the tiles in order. Every client has its own L1 port (docs/timing.md "SRAM
// accesses"): A and B of each matrix engine (one-cycle ports, as the matmul formulas
// assume), four read ports (src1, src2, and vrope's second element of each) and one write
// port per vector lane, one read and one write port per DMA engine. The vector engine's
// sources and the DMA engines' store sources may be a matrix engine's accumulator instead:
// those reads go to word ports of the accumulator, the vector's data delayed to L1's
// latency (vector.latency covers an acc read as it covers an L1 read), the DMA's by the
// accumulator's one cycle. Each DMA engine has its own channel of the outside port (L2/HBM
// side), as each has its own port into L2 in the model.
//
// Not implemented (core error 1): tpush/tpop on a matrix engine, collective instructions.
// The sequencer takes one completion per unit per cycle: matrix tiles completing in the same
// cycle push their tokens together when their signal masks are disjoint, and are counted as
// completed in consecutive cycles (late_done_o).
module core #(
  parameter int unsigned ImemWords = 1024
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // Program load (hold rst_ni low while writing; word i = instruction i).
  input  logic                 imem_we_i,
  input  logic [$clog2(ImemWords)-1:0] imem_waddr_i,
  input  logic [tessera_isa_pkg::WordBits-1:0] imem_wdata_i,
  // The outside memory, one channel per DMA engine (dma_engine.sv describes a channel).
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES-1:0]       ext_req_valid_o,
  input  logic [tessera_cfg_pkg::CORE_DMA_ENGINES-1:0]       ext_req_ready_i,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES-1:0]       ext_req_write_o,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES*2-1:0]     ext_req_space_o,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES*40-1:0]    ext_req_addr_o,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES*8-1:0]     ext_req_bytes_o,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES*tessera_cfg_pkg::DMA_BYTES_PER_CYCLE*8-1:0] ext_req_data_o,
  input  logic [tessera_cfg_pkg::CORE_DMA_ENGINES-1:0]       ext_rsp_valid_i,
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES-1:0]       ext_rsp_ready_o,
  input  logic [tessera_cfg_pkg::CORE_DMA_ENGINES*tessera_cfg_pkg::DMA_BYTES_PER_CYCLE*8-1:0] ext_rsp_data_i,
  // Barrier of scope chip/system (sequencer.sv).
  output logic                 bar_wait_o,
  output logic [1:0]           bar_scope_o,
  output logic [15:0]          bar_id_o,
  input  logic                 bar_release_i,
  // Accumulator read-back of every matrix engine (row address; data in the next cycle).
  input  logic [tessera_cfg_pkg::CORE_MATRIX_ENGINES
                * $clog2(tessera_cfg_pkg::ACCUMULATOR_BYTES / (4 * tessera_cfg_pkg::MATRIX_COLS))-1:0] acc_raddr_i,
  output logic [tessera_cfg_pkg::CORE_MATRIX_ENGINES*tessera_cfg_pkg::MATRIX_COLS*32-1:0] acc_rdata_o,
  // Status.
  output logic                 halt_o,      // the cycle H
  output logic                 halted_o,
  output logic                 err_o,       // sticky: any unit's or the sequencer's error
  output logic [2:0]           seq_err_code_o,
  output logic [1:0]           core_err_code_o,  // 1: an instruction the core does not implement
  output logic                 late_done_o,      // a matrix completion is counted one cycle late
  // Timeline probes (test benches): per unit slot, a start and the number of completions.
  output logic [tessera_cfg_pkg::CORE_DMA_ENGINES+tessera_cfg_pkg::CORE_MATRIX_ENGINES+1:0] trace_start_o,
  output logic [(tessera_cfg_pkg::CORE_DMA_ENGINES+tessera_cfg_pkg::CORE_MATRIX_ENGINES+2)*4-1:0] trace_done_o,
  // Fault injection for co-simulation's tests (docs/cosim.md): per matrix engine, hold its next
  // stream start for a cycle, and XOR into the values it writes to its accumulator this cycle
  // (matrix_engine.sv test_stall_i/test_flip_i). Tied to zero outside the tests.
  input  logic [tessera_cfg_pkg::CORE_MATRIX_ENGINES-1:0]    test_stall_i,
  input  logic [tessera_cfg_pkg::CORE_MATRIX_ENGINES*tessera_cfg_pkg::MATRIX_COLS*32-1:0] test_flip_i
);
  localparam int unsigned D = tessera_cfg_pkg::CORE_DMA_ENGINES;
  localparam int unsigned M = tessera_cfg_pkg::CORE_MATRIX_ENGINES;
  localparam int unsigned NU = D + M + 2;
  localparam int unsigned UVec = D + M;
  localparam int unsigned UColl = D + M + 1;
  localparam int unsigned WB = tessera_isa_pkg::WordBits;
  localparam int unsigned Rows = tessera_cfg_pkg::MATRIX_ROWS;
  localparam int unsigned Cols = tessera_cfg_pkg::MATRIX_COLS;
  localparam int unsigned Lanes = tessera_cfg_pkg::VECTOR_LANES;
  localparam int unsigned Bpc = tessera_cfg_pkg::DMA_BYTES_PER_CYCLE;
  localparam int unsigned L1Bytes = 32'(tessera_cfg_pkg::L1_BYTES);
  localparam int unsigned AccDepth = tessera_cfg_pkg::ACCUMULATOR_BYTES / (4 * Cols);
  localparam int unsigned PcBits = $clog2(ImemWords);
  localparam int unsigned AW = $clog2(AccDepth);
  // Input formats of the PEs: fp_decode's mask is indexed by ISA dtype code.
  localparam logic [3:0] Formats =
      (4'(tessera_cfg_pkg::MATRIX_PRECISIONS[tessera_cfg_pkg::MATRIX_PRECISION_INT8]) << tessera_isa_pkg::DTYPE_INT8)
    | (4'(tessera_cfg_pkg::MATRIX_PRECISIONS[tessera_cfg_pkg::MATRIX_PRECISION_FP8_E4M3]) << tessera_isa_pkg::DTYPE_FP8_E4M3)
    | (4'(tessera_cfg_pkg::MATRIX_PRECISIONS[tessera_cfg_pkg::MATRIX_PRECISION_FP8_E5M2]) << tessera_isa_pkg::DTYPE_FP8_E5M2)
    | (4'(tessera_cfg_pkg::MATRIX_PRECISIONS[tessera_cfg_pkg::MATRIX_PRECISION_BF16]) << tessera_isa_pkg::DTYPE_BF16);
  // L1 ports: every access of every client fits one window of lines (docs/timing.md: a
  // contiguous range of w bytes never conflicts when w + width - 1 <= banks * width), so
  // the clients that compute their own bank costs (vector, DMA) are never held by a port.
  localparam int unsigned MxBytes = (Rows > Cols ? Rows : Cols) * 2;
  localparam int unsigned PortBytes = MxBytes > Bpc ? MxBytes : Bpc;
  localparam int unsigned NumRd = 2 * M + 4 * Lanes + D;
  localparam int unsigned NumWr = Lanes + D;
  localparam int unsigned PB = PortBytes * 8;
  localparam int unsigned FastMask = (32'd1 << (2 * M)) - 32'd1;   // the matrix ports come first
  localparam int unsigned RdVec = 2 * M;                          // then s1, s2, s3, s4 of every lane
  localparam int unsigned RdDma = 2 * M + 4 * Lanes;               // then the DMA engines
  // Accumulator word ports of each matrix engine: s1..s4 of every lane, then for each DMA
  // engine the words one read of Bpc bytes at any byte address can touch.
  localparam int unsigned DmaWords = Bpc / 4 + 1;
  localparam int unsigned AccPorts = 4 * Lanes + D * DmaWords;
  localparam int unsigned AccBankBytes = tessera_cfg_pkg::ACCUMULATOR_BANK_WIDTH;
  localparam int unsigned AccLatency = tessera_cfg_pkg::ACCUMULATOR_LATENCY;

  // ---- instruction memory --------------------------------------------------------------------
  logic [WB-1:0]     imem [ImemWords];
  logic              imem_en;
  logic [PcBits-1:0] imem_addr;
  logic [WB-1:0]     imem_word_q;
  always_ff @(posedge clk_i) begin
    if (imem_we_i) imem[imem_waddr_i] <= imem_wdata_i;
    if (imem_en) imem_word_q <= imem[imem_addr];
  end

  // ---- sequencer ------------------------------------------------------------------------------
  logic [NU-1:0]      u_valid, u_may_start, u_start, u_done;
  logic [NU*WB-1:0]   u_word;
  logic [NU*16-1:0]   u_signal;
  logic               seq_err;
  /* verilator lint_off UNUSEDSIGNAL */
  // Dispatch and error details are for debugging only.
  logic               disp, bar_release;
  logic [PcBits-1:0]  disp_pc, err_pc;
  logic [7:0]         err_counter;
  /* verilator lint_on UNUSEDSIGNAL */

  sequencer #(
    .DmaEngines(D), .MatrixEngines(M), .QueueDepth(tessera_cfg_pkg::CORE_QUEUE_DEPTH),
    .TokenDepth(tessera_cfg_pkg::CORE_TOKEN_DEPTH), .FetchBytesPerCycle(tessera_cfg_pkg::CORE_FETCH_BYTES_PER_CYCLE),
    .PcBits(PcBits)
  ) u_seq (
    .clk_i, .rst_ni,
    .imem_en_o(imem_en), .imem_addr_o(imem_addr), .imem_word_i(imem_word_q),
    .u_valid_o(u_valid), .u_may_start_o(u_may_start), .u_word_o(u_word),
    .u_start_i(u_start), .u_done_i(u_done), .u_done_signal_i(u_signal),
    .bar_wait_o, .bar_scope_o, .bar_id_o, .bar_release_i,
    .disp_o(disp), .disp_pc_o(disp_pc), .bar_release_o(bar_release),
    .halt_o, .halted_o, .err_o(seq_err), .err_code_o(seq_err_code_o), .err_pc_o(err_pc),
    .err_counter_o(err_counter));

  // ---- L1 -------------------------------------------------------------------------------------
  logic [NumRd-1:0]    rd_req;
  logic [NumRd*32-1:0] rd_addr;
  logic [NumRd*8-1:0]  rd_bytes;
  /* verilator lint_off UNUSEDSIGNAL */
  // A vector lane uses 4 of a port's PortBytes bytes.
  logic [NumRd*PB-1:0] rd_data;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [NumWr-1:0]    wr_req;
  logic [NumWr*32-1:0] wr_addr;
  logic [NumWr*8-1:0]  wr_bytes;
  logic [NumWr*PB-1:0] wr_data;
  /* verilator lint_off UNUSEDSIGNAL */
  // No client access ever needs a second cycle (PortBytes above), so ready is always set,
  // and every client times its own reads (valid is not needed).
  logic [NumRd-1:0]    rd_ready, rd_valid;
  logic [NumWr-1:0]    wr_ready;
  /* verilator lint_on UNUSEDSIGNAL */

  sram #(
    .Bytes(L1Bytes), .Banks(tessera_cfg_pkg::L1_BANKS), .BankBytes(tessera_cfg_pkg::L1_BANK_WIDTH),
    .Latency(tessera_cfg_pkg::L1_LATENCY), .NumRd(NumRd), .NumWr(NumWr), .PortBytes(PortBytes), .RdFast(FastMask)
  ) u_l1 (
    .clk_i, .rst_ni,
    .rd_req_i(rd_req), .rd_ready_o(rd_ready), .rd_addr_i(rd_addr), .rd_bytes_i(rd_bytes),
    .rd_valid_o(rd_valid), .rd_data_o(rd_data),
    .wr_req_i(wr_req), .wr_ready_o(wr_ready), .wr_addr_i(wr_addr), .wr_bytes_i(wr_bytes), .wr_data_i(wr_data));

  // ---- one-at-a-time units: tpush/tpop complete at T, other words go to the engine ---------------
  // Header fields of every queue head, by the package's bit offsets.
  logic [NU*8-1:0]   op;
  logic [NU*16-1:0]  sigmask;
  logic [NU-1:0]     head_sync;       // the head is tpush or tpop
  always_comb begin
    for (int u = 0; u < NU; u++) begin
      op[u*8 +: 8] = u_word[u*WB + tessera_isa_pkg::HdrOpcodeLsb +: 8];
      sigmask[u*16 +: 16] = u_word[u*WB + tessera_isa_pkg::HdrSignalMaskLsb +: 16];
      head_sync[u] = op[u*8 +: 8] == tessera_isa_pkg::OpTpush || op[u*8 +: 8] == tessera_isa_pkg::OpTpop;
    end
  end

  logic [NU-1:0]     eng_ready, eng_start, eng_done, eng_err;
  logic [NU*16-1:0]  run_signal_q;    // signal mask of the instruction an engine runs
  logic [NU-1:0]     su_start, su_done;   // the one-at-a-time units' part of u_start, u_done
  logic [NU*16-1:0]  su_signal;
  logic [M-1:0]      mx_start, mx_done;
  logic [M*16-1:0]   mx_signal;
  assign u_start  = su_start | (NU'(mx_start) << D);
  assign u_done   = su_done | (NU'(mx_done) << D);
  assign u_signal = su_signal | ((NU*16)'(mx_signal) << (16 * D));

  logic [1:0] core_err_q;
  logic       unsupported, double_done;
  always_comb begin
    su_start = '0;
    su_done = '0;
    su_signal = '0;
    eng_start = '0;
    unsupported = 1'b0;
    for (int u = 0; u < NU; u++) begin
      if (u < D || u >= D + M) begin
        if (u_valid[u] && u_may_start[u] && eng_ready[u]) begin
          if (head_sync[u]) begin
            su_start[u] = 1'b1;
            su_done[u] = 1'b1;
            su_signal[u*16 +: 16] = sigmask[u*16 +: 16];
          end else if (u == UColl) begin
            unsupported = 1'b1;
          end else begin
            eng_start[u] = 1'b1;
            su_start[u] = !eng_err[u];
          end
        end
        if (eng_done[u]) begin
          su_done[u] = 1'b1;
          su_signal[u*16 +: 16] = run_signal_q[u*16 +: 16];
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      run_signal_q <= '0;
    end else begin
      for (int u = 0; u < NU; u++)
        if (eng_start[u] && su_start[u]) run_signal_q[u*16 +: 16] <= sigmask[u*16 +: 16];
    end
  end

  // ---- accumulator word reads ----------------------------------------------------------------------
  // Port p reads word acc_word[p] (byte address / 4) when acc_word_en[p]; its data are in
  // acc_word_data one cycle later. Every engine gets every address; the client's engine is
  // picked from the data.
  localparam int unsigned WA = AW + $clog2(Cols);
  localparam int unsigned BpcBits = Bpc * 8;
  logic [AccPorts*WA-1:0]   acc_word;
  logic [AccPorts-1:0]      acc_word_en;
  logic [M*AccPorts*32-1:0] acc_word_data;

  // ---- DMA engines ---------------------------------------------------------------------------------
  localparam int unsigned LW = $clog2(Bpc + 1);
  for (genvar e = 0; e < D; e++) begin : g_dma
    logic [LW-1:0] qbytes, rbytes, wbytes;
    logic [31:0]   raddr, waddr;
    logic [Bpc*8-1:0] wdata, racc_data;
    logic          ren, wen, racc;
    logic [2:0]    raccsel;
    dma_engine #(
      .BytesPerCycle(Bpc), .SetupCycles(tessera_cfg_pkg::DMA_SETUP_CYCLES),
      .MaxOutstanding(tessera_cfg_pkg::DMA_MAX_OUTSTANDING),
      .L1Latency(tessera_cfg_pkg::L1_LATENCY), .L1Banks(tessera_cfg_pkg::L1_BANKS),
      .L1BankBytes(tessera_cfg_pkg::L1_BANK_WIDTH),
      .L2Latency(tessera_cfg_pkg::L2_LATENCY), .L2Banks(tessera_cfg_pkg::L2_BANKS),
      .L2BankBytes(tessera_cfg_pkg::L2_BANK_WIDTH), .AccLatency(AccLatency),
      .AccBanks(tessera_cfg_pkg::ACCUMULATOR_BANKS), .AccBankBytes(AccBankBytes)
    ) u_dma (
      .clk_i, .rst_ni,
      .start_i(eng_start[e]), .ready_o(eng_ready[e]), .word_i(u_word[e*WB +: WB]),
      .done_o(eng_done[e]), .err_o(eng_err[e]),
      .ext_req_valid_o(ext_req_valid_o[e]), .ext_req_ready_i(ext_req_ready_i[e]),
      .ext_req_write_o(ext_req_write_o[e]), .ext_req_space_o(ext_req_space_o[e*2 +: 2]),
      .ext_req_addr_o(ext_req_addr_o[e*40 +: 40]), .ext_req_bytes_o(qbytes),
      .ext_req_data_o(ext_req_data_o[e*Bpc*8 +: Bpc*8]),
      .ext_rsp_valid_i(ext_rsp_valid_i[e]), .ext_rsp_ready_o(ext_rsp_ready_o[e]),
      .ext_rsp_data_i(ext_rsp_data_i[e*Bpc*8 +: Bpc*8]),
      .rd_acc_o(racc), .acc_engine_o(raccsel),
      .l1_rd_en_o(ren), .l1_rd_addr_o(raddr), .l1_rd_bytes_o(rbytes),
      .l1_rd_data_i(racc ? racc_data : rd_data[(RdDma+e)*PB +: Bpc*8]),
      .l1_wr_en_o(wen), .l1_wr_addr_o(waddr), .l1_wr_bytes_o(wbytes), .l1_wr_data_o(wdata));
    assign ext_req_bytes_o[e*8 +: 8] = 8'(qbytes);
    assign rd_req[RdDma+e] = ren && !racc;
    // A read of the accumulator: the DmaWords words from the one holding the first byte,
    // registered (AccLatency = 1), then the Bpc bytes from the first byte's offset.
    for (genvar i = 0; i < DmaWords; i++) begin : g_word
      assign acc_word[(4*Lanes + e*DmaWords + i)*WA +: WA] = WA'((raddr >> 2) + 32'(i));
      assign acc_word_en[4*Lanes + e*DmaWords + i] = ren && racc;
    end
    logic [1:0] off_q;
    logic [2:0] sel_q;
    always_ff @(posedge clk_i) begin
      if (ren && racc) begin
        off_q <= raddr[1:0];
        sel_q <= raccsel;
      end
    end
    assign racc_data = BpcBits'(acc_word_data[(32'(sel_q) * AccPorts + 4*Lanes + e*DmaWords)*32 +: DmaWords*32]
                                >> (8 * off_q));
    assign rd_addr[(RdDma+e)*32 +: 32] = raddr;
    assign rd_bytes[(RdDma+e)*8 +: 8] = 8'(rbytes);
    assign wr_req[Lanes+e] = wen;
    assign wr_addr[(Lanes+e)*32 +: 32] = waddr;
    assign wr_bytes[(Lanes+e)*8 +: 8] = 8'(wbytes);
    assign wr_data[(Lanes+e)*PB +: PB] = PB'(wdata);
  end

  // ---- vector engine -------------------------------------------------------------------------------
  logic [Lanes-1:0]    s1_en, s2_en, s3_en, s4_en, d_en;
  logic [Lanes*32-1:0] s1_addr, s2_addr, s3_addr, s4_addr, d_addr, d_data, s1_data, s2_data, s3_data, s4_data;
  logic [2:0]          s1_bytes, s2_bytes, d_bytes;   // element sizes of the operands' formats
  logic                s1_acc, s2_acc;
  logic [2:0]          vacc_sel;
  vector_engine #(
    .Lanes(Lanes), .Latency(tessera_cfg_pkg::VECTOR_LATENCY), .SpecialCycles(tessera_cfg_pkg::VECTOR_SPECIAL_CYCLES),
    .L1Latency(tessera_cfg_pkg::L1_LATENCY), .L1Banks(tessera_cfg_pkg::L1_BANKS),
    .L1BankBytes(tessera_cfg_pkg::L1_BANK_WIDTH), .AccBanks(tessera_cfg_pkg::ACCUMULATOR_BANKS),
    .AccBankBytes(AccBankBytes)
  ) u_vec (
    .clk_i, .rst_ni,
    .start_i(eng_start[UVec]), .ready_o(eng_ready[UVec]), .word_i(u_word[UVec*WB +: WB]),
    .done_o(eng_done[UVec]), .err_o(eng_err[UVec]),
    .s1_acc_o(s1_acc), .s2_acc_o(s2_acc), .acc_engine_o(vacc_sel),
    .s1_en_o(s1_en), .s1_addr_o(s1_addr), .s1_bytes_o(s1_bytes), .s1_data_i(s1_data),
    .s2_en_o(s2_en), .s2_addr_o(s2_addr), .s2_bytes_o(s2_bytes), .s2_data_i(s2_data),
    .s3_en_o(s3_en), .s3_addr_o(s3_addr), .s3_data_i(s3_data),
    .s4_en_o(s4_en), .s4_addr_o(s4_addr), .s4_data_i(s4_data),
    .d_en_o(d_en), .d_addr_o(d_addr), .d_bytes_o(d_bytes), .d_data_o(d_data));
  // Accumulator reads of the four source ports: the word ports' data (one cycle after the
  // read), moved on when a read was made, so they arrive l1.latency cycles after it as L1's.
  localparam int unsigned VPipe = tessera_cfg_pkg::L1_LATENCY - 1;   // stages after the word ports
  localparam int VPipeI = VPipe;
  logic [4*Lanes*32-1:0] vacc_arr;
  logic [2:0] vsel_q;
  logic vrd_q;
  always_ff @(posedge clk_i) begin
    vrd_q <= (s1_acc && |s1_en) || (s2_acc && |s2_en);
    if ((s1_acc && |s1_en) || (s2_acc && |s2_en)) vsel_q <= vacc_sel;
  end
  if (VPipe == 0) begin : g_vacc_now
    assign vacc_arr = acc_word_data[32'(vsel_q) * AccPorts * 32 +: 4*Lanes*32];
  end else begin : g_vacc_pipe
    logic [4*Lanes*32-1:0] pipe_q [VPipe];
    logic [VPipe-1:0] v_q;
    always_ff @(posedge clk_i) begin
      v_q[0] <= vrd_q;
      if (vrd_q) pipe_q[0] <= acc_word_data[32'(vsel_q) * AccPorts * 32 +: 4*Lanes*32];
      for (int i = 1; i < VPipeI; i++) begin
        v_q[i] <= v_q[i-1];
        if (v_q[i-1]) pipe_q[i] <= pipe_q[i-1];
      end
    end
    assign vacc_arr = pipe_q[VPipe-1];
  end
  for (genvar k = 0; k < Lanes; k++) begin : g_lane
    assign acc_word[k*WA +: WA] = WA'(s1_addr[k*32 +: 32] >> 2);
    assign acc_word[(Lanes+k)*WA +: WA] = WA'(s2_addr[k*32 +: 32] >> 2);
    assign acc_word[(2*Lanes+k)*WA +: WA] = WA'(s3_addr[k*32 +: 32] >> 2);
    assign acc_word[(3*Lanes+k)*WA +: WA] = WA'(s4_addr[k*32 +: 32] >> 2);
    assign acc_word_en[k] = s1_en[k] && s1_acc;
    assign acc_word_en[Lanes+k] = s2_en[k] && s2_acc;
    assign acc_word_en[2*Lanes+k] = s3_en[k] && s1_acc;
    assign acc_word_en[3*Lanes+k] = s4_en[k] && s2_acc;
    assign rd_req[RdVec+k] = s1_en[k] && !s1_acc;
    assign rd_addr[(RdVec+k)*32 +: 32] = s1_addr[k*32 +: 32];
    assign rd_bytes[(RdVec+k)*8 +: 8] = 8'(s1_bytes);
    assign s1_data[k*32 +: 32] = s1_acc ? vacc_arr[k*32 +: 32] : rd_data[(RdVec+k)*PB +: 32];
    assign rd_req[RdVec+Lanes+k] = s2_en[k] && !s2_acc;
    assign rd_addr[(RdVec+Lanes+k)*32 +: 32] = s2_addr[k*32 +: 32];
    assign rd_bytes[(RdVec+Lanes+k)*8 +: 8] = 8'(s2_bytes);
    assign s2_data[k*32 +: 32] = s2_acc ? vacc_arr[(Lanes+k)*32 +: 32] : rd_data[(RdVec+Lanes+k)*PB +: 32];
    assign rd_req[RdVec+2*Lanes+k] = s3_en[k] && !s1_acc;
    assign rd_addr[(RdVec+2*Lanes+k)*32 +: 32] = s3_addr[k*32 +: 32];
    assign rd_bytes[(RdVec+2*Lanes+k)*8 +: 8] = 8'(s1_bytes);
    assign s3_data[k*32 +: 32] = s1_acc ? vacc_arr[(2*Lanes+k)*32 +: 32] : rd_data[(RdVec+2*Lanes+k)*PB +: 32];
    assign rd_req[RdVec+3*Lanes+k] = s4_en[k] && !s2_acc;
    assign rd_addr[(RdVec+3*Lanes+k)*32 +: 32] = s4_addr[k*32 +: 32];
    assign rd_bytes[(RdVec+3*Lanes+k)*8 +: 8] = 8'(s2_bytes);
    assign s4_data[k*32 +: 32] = s2_acc ? vacc_arr[(3*Lanes+k)*32 +: 32] : rd_data[(RdVec+3*Lanes+k)*PB +: 32];
    assign wr_req[k] = d_en[k];
    assign wr_addr[k*32 +: 32] = d_addr[k*32 +: 32];
    assign wr_bytes[k*8 +: 8] = 8'(d_bytes);
    assign wr_data[k*PB +: PB] = PB'(d_data[k*32 +: 32]);
  end

  // The collective unit is absent: only tpush/tpop run on its queue.
  assign eng_ready[UColl] = 1'b1;
  assign eng_done[UColl] = 1'b0;
  assign eng_err[UColl] = 1'b0;

  // ---- matrix engines ----------------------------------------------------------------------------
  logic [M*4-1:0] done_cnt;
  logic [M-1:0]   mx_double;     // a completion reported late this cycle (statistics for the bench)
  for (genvar e = 0; e < M; e++) begin : g_mx
    localparam int unsigned U = D + e;
    localparam int unsigned SigDepth = 32;   // tiles accepted, not complete (the engine's limit is R + C + 4)
    logic cmd_valid, cmd_ready;
    logic [3:0] done;
    logic a_req, b_req;
    logic [31:0] a_addr, b_addr;
    logic [AW-1:0] raddr;
    // Signal masks of the accepted tiles, in order. The sequencer takes one completion per
    // unit per cycle: when tiles complete in the same cycle (E_i = E_{i-1}) their token pushes
    // are made at once if their masks are disjoint (one push per counter), and the completions
    // beyond the first are counted by the sequencer in the following cycles (docs/rtl.md, "Core").
    logic [15:0] sig_q [SigDepth];
    logic [4:0]  tail_q, mhead_q;
    logic [4:0]  late_q;           // completions not yet reported to the sequencer
    logic [4:0]  pend_q;           // completed tiles whose masks are not pushed yet
    logic [4:0]  avail, pend;
    logic [15:0] m0, m1;
    logic        take2;
    assign cmd_valid = u_valid[U] && u_may_start[U] && op[U*8 +: 8] == tessera_isa_pkg::OpMatmul;
    assign eng_ready[U] = 1'b1;
    assign eng_err[U] = 1'b0;
    assign eng_done[U] = 1'b0;
    assign mx_start[e] = cmd_valid && cmd_ready;
    assign avail = late_q + 5'(done);
    assign pend = pend_q + 5'(done);
    assign m0 = sig_q[mhead_q];
    assign m1 = sig_q[mhead_q + 5'd1];
    assign take2 = pend > 5'd1 && (m0 & m1) == 16'd0;
    assign mx_done[e] = avail != 5'd0;
    assign mx_signal[e*16 +: 16] = pend == 5'd0 ? 16'd0 : (take2 ? m0 | m1 : m0);
    assign mx_double[e] = avail > 5'd1;
    always_ff @(posedge clk_i) begin
      if (mx_start[e]) sig_q[tail_q] <= sigmask[U*16 +: 16];
    end
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        tail_q <= '0;
        mhead_q <= '0;
        late_q <= '0;
        pend_q <= '0;
      end else begin
        if (mx_start[e]) tail_q <= tail_q + 5'd1;
        if (avail != 5'd0) late_q <= avail - 5'd1;
        if (pend != 5'd0) begin
          mhead_q <= mhead_q + (take2 ? 5'd2 : 5'd1);
          pend_q <= pend - (take2 ? 5'd2 : 5'd1);
        end
      end
    end
    assign raddr = acc_raddr_i[e*AW +: AW];
    /* verilator lint_off UNUSEDSIGNAL */
    // The accumulator write probes are for the matrix-engine bench.
    logic [Cols-1:0]    acc_we;
    logic [Cols*AW-1:0] acc_waddr;
    logic [Cols*32-1:0] acc_wdata;
    /* verilator lint_on UNUSEDSIGNAL */
    matrix_engine #(
      .Rows(Rows), .Cols(Cols), .AccDepth(AccDepth),
      .DoubleBuffer(tessera_cfg_pkg::MATRIX_DOUBLE_BUFFER_WEIGHTS), .Formats(Formats), .WordPorts(AccPorts)
    ) u_mx (
      .clk_i, .rst_ni,
      .cmd_valid_i(cmd_valid), .cmd_ready_o(cmd_ready), .cmd_word_i(u_word[U*WB +: WB]),
      .done_o(done),
      .a_req_o(a_req), .a_addr_o(a_addr), .a_data_i(rd_data[(2*e)*PB +: Rows*16]),
      .b_req_o(b_req), .b_addr_o(b_addr), .b_data_i(rd_data[(2*e+1)*PB +: Cols*16]),
      .acc_raddr_i(raddr), .acc_rdata_o(acc_rdata_o[e*Cols*32 +: Cols*32]),
      .acc_word_en_i(acc_word_en), .acc_word_addr_i(acc_word),
      .acc_word_data_o(acc_word_data[e*AccPorts*32 +: AccPorts*32]),
      .acc_we_o(acc_we), .acc_waddr_o(acc_waddr), .acc_wdata_o(acc_wdata),
      .test_stall_i(test_stall_i[e]), .test_flip_i(test_flip_i[e*Cols*32 +: Cols*32]));
    assign rd_req[2*e] = a_req;
    assign rd_addr[(2*e)*32 +: 32] = a_addr;
    assign rd_bytes[(2*e)*8 +: 8] = 8'(Rows * 2);
    assign rd_req[2*e+1] = b_req;
    assign rd_addr[(2*e+1)*32 +: 32] = b_addr;
    assign rd_bytes[(2*e+1)*8 +: 8] = 8'(Cols * 2);
    assign done_cnt[e*4 +: 4] = done;
  end

  // Matrix-engine queue heads other than matmul (tpush, tpop) are not implemented.
  logic mx_sync;
  always_comb begin
    mx_sync = 1'b0;
    for (int u = D; u < D + M; u++) mx_sync = mx_sync || (u_valid[u] && head_sync[u]);
  end
  assign double_done = |mx_double;
  assign late_done_o = double_done;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) core_err_q <= '0;
    else if (core_err_q == '0 && (unsupported || mx_sync)) core_err_q <= 2'd1;
  end
  assign core_err_code_o = core_err_q;
  assign err_o = seq_err || core_err_q != '0 || |eng_err;

  always_comb begin
    trace_start_o = u_start;
    for (int u = 0; u < NU; u++) begin
      if (u >= D && u < D + M) trace_done_o[u*4 +: 4] = done_cnt[(u-D)*4 +: 4];
      else trace_done_o[u*4 +: 4] = {3'd0, u_done[u]};
    end
  end
endmodule
