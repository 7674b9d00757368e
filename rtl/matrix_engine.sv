// Matrix engine: one systolic array, its accumulator memory and the controller that
// sequences matmul tiles with exactly the cycle formulas of docs/timing.md (weight
// load W, stream start S, output-stationary drain D, completion E). Operands come
// from two read ports with one cycle of latency (row reads of A or A^T, and of B);
// results are added into (or written over) the accumulator, which has one bank per
// array column so a whole skewed row can be written per cycle.
module matrix_engine #(
  parameter int unsigned Rows = 8,
  parameter int unsigned Cols = 8,
  parameter int unsigned AccDepth = 64,   // accumulator rows (Cols x 4 bytes each)
  parameter bit          DoubleBuffer = 1'b1,
  parameter logic [3:0]  Formats = 4'b1111      // supported input formats (fp_decode.sv)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // One matmul instruction: the 512-bit word of spec/isa.yaml, read through the generated
  // package's matmul_instr_t so no field position or width is restated here.
  input  logic                 cmd_valid_i,
  output logic                 cmd_ready_o,
  input  logic [tessera_isa_pkg::WordBits-1:0] cmd_word_i,
  // Number of instructions completing (E) this cycle, in order.
  output logic [3:0]           done_o,
  // Operand reads: data returns in the next cycle, bytes starting at the address.
  output logic                 a_req_o,
  output logic [31:0]          a_addr_o,
  input  logic [Rows*16-1:0]   a_data_i,
  output logic                 b_req_o,
  output logic [31:0]          b_addr_o,
  input  logic [Cols*16-1:0]   b_data_i,
  // Accumulator read-back (test benches and, later, the vector engine).
  input  logic [$clog2(AccDepth)-1:0] acc_raddr_i,
  output logic [Cols*32-1:0]   acc_rdata_o
);
  localparam int unsigned AW = $clog2(AccDepth);
  localparam logic [2:0] FmtInt8 = tessera_isa_pkg::DTYPE_INT8;
  localparam logic [2:0] FmtBf16 = tessera_isa_pkg::DTYPE_BF16;
  localparam int unsigned DelayWs = Rows + 1;   // A issue to the bottom of column 0
  // Tiles started but not complete: a weight-stationary tile can start every cycle (m = 1)
  // and completes about R + C cycles later.
  localparam int unsigned EqDepth = Rows + Cols + 4;
  localparam int unsigned EqW = $clog2(EqDepth + 1);
  // Signed copies for loop bounds (Yosys 0.23 reads no int'() casts).
  localparam int EqDepthI = EqDepth;
  localparam int WbDepthI = DelayWs + Cols;

  typedef logic [47:0] cycle_t;

  // ---- the tile type shared by the slot, the arriving command and the streamer --------
  typedef struct packed {
    logic [tessera_isa_pkg::MatmulATypeBits-1:0] a_type;
    logic [tessera_isa_pkg::MatmulBTypeBits-1:0] b_type;
    logic        os;
    logic        acc;
    logic [tessera_isa_pkg::MatmulAAddrBits-1:0] a_addr;
    logic [tessera_isa_pkg::MatmulBAddrBits-1:0] b_addr;
    logic [tessera_isa_pkg::MatmulCAddrBits-1:0] c_addr;
    logic [tessera_isa_pkg::MatmulAStrideBits-1:0] a_stride;
    logic [tessera_isa_pkg::MatmulBStrideBits-1:0] b_stride;
    logic [tessera_isa_pkg::MatmulCStrideBits-1:0] c_stride;
    logic [tessera_isa_pkg::MatmulMBits-1:0] m;
    logic [tessera_isa_pkg::MatmulKBits-1:0] k;
    logic [tessera_isa_pkg::MatmulNBits-1:0] n;
  } tile_t;

  tile_t incoming;
  // Field by field: Yosys 0.23 does not read assignment patterns.
  // The header (opcode, unit, tokens) is the sequencer's; reserved bits are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  tessera_isa_pkg::matmul_instr_t cmd;
  /* verilator lint_on UNUSEDSIGNAL */
  logic cmd_os;
  assign cmd = cmd_word_i;
  assign cmd_os = (cmd.dataflow == tessera_isa_pkg::DATAFLOW_OS);
  always_comb begin
    incoming.a_type   = cmd.a_type;
    incoming.b_type   = cmd.b_type;
    incoming.os       = cmd_os;
    incoming.acc      = cmd.accumulate;
    incoming.a_addr   = cmd.a_addr;
    incoming.b_addr   = cmd.b_addr;
    incoming.c_addr   = cmd.c_addr;
    incoming.a_stride = cmd.a_stride;
    incoming.b_stride = cmd.b_stride;
    incoming.c_stride = cmd.c_stride;
    incoming.m        = cmd.m;
    incoming.k        = cmd.k;
    incoming.n        = cmd.n;
  end

  // ---- slot: an accepted tile that has not started streaming (ws: loading weights) ----
  logic        slot_valid_q;
  tile_t       slot_q;
  logic        slot_loading_q;    // ws: weight load started
  logic [15:0] slot_row_q;        // ws: next B row to read
  cycle_t      slot_w_q;          // ws: W

  // ---- run state: the most recent tile that started streaming ---------------------------
  cycle_t      now_q;
  logic        have_prev_q;
  logic        prev_os_q;
  cycle_t      free_q;            // ws: S + m of it; os: S + k of it
  cycle_t      e_last_q, e_last2_q;
  logic        buf_q;             // buffer / register set the next tile of the same run uses

  // ---- streamer ---------------------------------------------------------------------------
  logic        st_active_q, st_buf_q;
  tile_t       st_q;
  logic [15:0] st_count_q, st_len_q;
  logic [31:0] st_c_row_q;        // ws: accumulator byte address of the next A row

  // ---- stream start (docs/timing.md) --------------------------------------------------------
  logic        sc_valid;          // the stream candidate: the slot, or an arriving os tile
  tile_t       sc;
  logic        sc_loaded;
  logic        start_stream, accept, stream_from_input;
  logic        st_busy;
  logic        sc_buf;
  cycle_t      e_new, d_new;

  always_comb begin
    sc_valid = slot_valid_q || (cmd_valid_i && cmd_os);
    sc = slot_valid_q ? slot_q : incoming;
    sc_loaded = slot_valid_q && slot_loading_q && (slot_row_q >= slot_q.k) && (now_q >= slot_w_q + 48'(slot_q.k));
    st_busy = st_active_q && (st_count_q < st_len_q);
    start_stream = 1'b0;
    if (sc_valid && !st_busy) begin
      if (!sc.os) begin
        start_stream = sc_loaded && (!have_prev_q || prev_os_q || !DoubleBuffer || now_q >= free_q);
      end else if (!have_prev_q) begin
        start_stream = 1'b1;
      end else if (!prev_os_q) begin
        start_stream = (now_q >= e_last_q + 48'd1);
      end else if (DoubleBuffer) begin
        start_stream = (now_q >= free_q) && (now_q >= e_last2_q);
      end else begin
        start_stream = (now_q >= e_last_q);
      end
    end
    stream_from_input = start_stream && !slot_valid_q;
    // The slot frees in the cycle its tile starts streaming, so the next tile is taken then.
    accept = cmd_valid_i && (!slot_valid_q || start_stream);
    cmd_ready_o = !slot_valid_q || start_stream;

    sc_buf = (have_prev_q && prev_os_q == sc.os && DoubleBuffer) ? buf_q : 1'b0;

    if (!sc.os) begin
      e_new = now_q + 48'(sc.m) + 48'(Rows) + 48'(sc.n) - 48'd1;
      d_new = '0;
    end else begin
      d_new = now_q + 48'(sc.k) + 48'(sc.m) + 48'(sc.n) - 48'd2;
      if (have_prev_q && e_last_q > d_new) d_new = e_last_q;
      e_new = d_new + 48'(Rows) + 48'd1;
    end
    if (have_prev_q && e_last_q > e_new) e_new = e_last_q;
  end

  // ---- weight load (ws): the slot's tile, or one arriving as the slot's tile leaves ------
  logic        lc_valid, lc_new;
  // The weight load reads only a tile's B fields; the whole tile is kept for clarity.
  /* verilator lint_off UNUSEDSIGNAL */
  tile_t       lc;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [15:0] lc_row;
  logic        lc_prev_exists, lc_prev_os;
  cycle_t      lc_e_prev;
  logic        load_ok, start_load, issue_w, lc_buf;
  logic [15:0] issue_w_row;
  logic [31:0] issue_w_addr;

  always_comb begin
    lc_new = !(slot_valid_q && !start_stream);
    lc = lc_new ? incoming : slot_q;
    lc_valid = lc_new ? (accept && !cmd_os && !stream_from_input) : (!slot_q.os);
    lc_row = lc_new ? 16'd0 : slot_row_q;
    // The predecessor of the loading tile is the tile streaming now or most recently.
    lc_prev_exists = have_prev_q || start_stream;
    lc_prev_os = start_stream ? sc.os : prev_os_q;
    lc_e_prev = start_stream ? e_new : e_last_q;
    load_ok = 1'b1;
    if (lc_prev_exists && lc_prev_os) load_ok = (now_q >= lc_e_prev + 48'd1);
    else if (lc_prev_exists && !DoubleBuffer) load_ok = (now_q >= lc_e_prev);
    start_load = lc_valid && (lc_new || !slot_loading_q) && load_ok;
    issue_w = start_load || (lc_valid && !lc_new && slot_loading_q && (slot_row_q < slot_q.k));
    issue_w_row = start_load ? 16'd0 : lc_row;
    issue_w_addr = lc.b_addr + 32'(issue_w_row) * lc.b_stride;
    // Its buffer: the one after the streaming tile's, when it continues a ws run.
    if (!DoubleBuffer || !lc_prev_exists || lc_prev_os) lc_buf = 1'b0;
    else if (start_stream) lc_buf = ~sc_buf;
    else lc_buf = buf_q;
  end

  // ---- operand reads: the first row of a tile is read in its start cycle -------------------
  logic        iss_a;
  // The read issue uses a tile's addresses, strides and formats, not its c fields.
  /* verilator lint_off UNUSEDSIGNAL */
  tile_t       iss_t;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [15:0] iss_idx;
  logic [31:0] iss_c_row;
  logic        iss_buf;
  always_comb begin
    iss_a     = start_stream || st_busy;
    iss_t     = start_stream ? sc : st_q;
    iss_idx   = start_stream ? 16'd0 : st_count_q;
    iss_c_row = start_stream ? sc.c_addr : st_c_row_q;
    iss_buf   = start_stream ? sc_buf : st_buf_q;
  end

  assign a_req_o  = iss_a;
  assign a_addr_o = iss_t.a_addr + 32'(iss_idx) * iss_t.a_stride;
  assign b_req_o  = issue_w || (iss_a && iss_t.os);
  assign b_addr_o = issue_w ? issue_w_addr : (iss_t.b_addr + 32'(iss_idx) * iss_t.b_stride);

  // ---- data presented to the array one cycle after the reads -----------------------
  logic               arr_a_valid_q, arr_os_q, arr_buf_q, arr_first_q;
  logic [2:0]         arr_a_fmt_q, arr_b_fmt_q;
  logic [15:0]        arr_k_q;
  logic               arr_ww_valid_q, arr_ww_buf_q;
  logic [15:0]        arr_ww_row_q;
  logic [2:0]         b_extract_fmt_q;   // element size of the B row arriving now
  logic [Rows*16-1:0] a_vec;
  logic [Cols*16-1:0] b_vec;
  logic [Cols*32-1:0] psum_bot, acc_bot;
  logic               drain, drain_set;

  // Element e of a row read sits at byte e (8-bit formats) or bytes 2e..2e+1 (BF16).
  function automatic logic [15:0] element(input logic [2:0] fmt, input logic [Rows*16-1:0] bytes_in, input integer e);
    element = (fmt == FmtBf16) ? bytes_in[16*e +: 16] : {8'd0, bytes_in[8*e +: 8]};
  endfunction
  function automatic logic [15:0] element_b(input logic [2:0] fmt, input logic [Cols*16-1:0] bytes_in, input integer e);
    element_b = (fmt == FmtBf16) ? bytes_in[16*e +: 16] : {8'd0, bytes_in[8*e +: 8]};
  endfunction

  always_comb begin
    for (int e = 0; e < Rows; e++) a_vec[16*e +: 16] = element(arr_a_fmt_q, a_data_i, e);
    for (int e = 0; e < Cols; e++) b_vec[16*e +: 16] = element_b(b_extract_fmt_q, b_data_i, e);
  end

  systolic_array #(.Rows(Rows), .Cols(Cols), .Formats(Formats)) u_array (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .a_valid_i   (arr_a_valid_q),
    .a_vec_i     (a_vec),
    .os_i        (arr_os_q),
    .buf_i       (arr_buf_q),
    .first_i     (arr_first_q),
    .a_fmt_i     (arr_a_fmt_q),
    .b_fmt_i     (arr_b_fmt_q),
    .k_i         (arr_k_q),
    .ww_valid_i  (arr_ww_valid_q),
    .ww_row_i    (arr_ww_row_q),
    .ww_buf_i    (arr_ww_buf_q),
    .b_vec_i     (b_vec),
    .drain_i     (drain),
    .drain_set_i (drain_set),
    .psum_bot_o  (psum_bot),
    .acc_bot_o   (acc_bot)
  );

  // ---- weight-stationary write-back control: R+1 cycles behind the A read, then c more
  typedef struct packed {
    logic          valid;
    logic          accumulate;
    logic          is_int;
    logic [15:0]   n;
    logic [AW-1:0] row;
  } wb_t;
  localparam int unsigned WbW = 3 + 16 + AW;
  wb_t wb_in;
  // Arrays hold plain vectors, not wb_t/drain_t: Yosys 0.23 silently drops the unpacked
  // dimension of a struct-typed array (a 17 x 25-bit pipe became one 25-bit wire, and
  // wb_pipe_q[i] a bit select), which left the accumulator without writes and let the
  // synthesis remove the accumulator and the array (docs/rtl.md, "Tool subset").
  logic [WbW-1:0] wb_pipe_q [DelayWs + Cols];

  // ---- output-stationary drain schedule (at most two tiles ahead) ---------------------
  typedef struct packed {
    logic [47:0]   d;
    logic          reg_set;
    logic          accumulate;
    logic          is_int;
    logic [15:0]   m;
    logic [15:0]   n;
    logic [31:0]   c_addr;
    logic [31:0]   c_stride;
  } drain_t;
  localparam int unsigned DrainW = 48 + 3 + 16 + 16 + 32 + 32;
  logic [DrainW-1:0] dq_q [2];
  drain_t      dq_head;             // dq_q[0] (Yosys 0.23 reads no member of an array element)
  assign dq_head = dq_q[0];
  logic [1:0]  dq_count_q;
  logic        dr_active_q;
  logic [15:0] dr_shift_q;          // shifts done
  // Row leaving the array in the previous cycle, written now.
  logic               dw_valid_q;
  logic [AW-1:0]      dw_row_q;
  logic [15:0]        dw_n_q;
  logic               dw_acc_q, dw_int_q;
  logic [Cols*32-1:0] dw_data_q;

  assign drain     = dr_active_q;
  assign drain_set = dq_head.reg_set;

  // ---- accumulator: one bank per column, combinational read, write at the clock edge --
  logic [31:0] acc_old [Cols];
  logic [31:0] acc_sum [Cols];
  logic [31:0] ws_in   [Cols];
  logic [AW-1:0] ws_row [Cols];
  logic        ws_we   [Cols];

  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    logic [31:0]   bank_q [AccDepth];   // this column's bank
    // The write-back entry reaching this column, unpacked into plain signals (Yosys 0.23
    // cannot resolve struct members declared inside a generate block).
    logic          wb_valid, wb_accumulate, wb_is_int;
    logic [15:0]   wb_n;
    logic [AW-1:0] wb_row;
    assign {wb_valid, wb_accumulate, wb_is_int, wb_n, wb_row} = wb_pipe_q[DelayWs + c - 1];
    assign ws_we[c]  = wb_valid && (16'(c) < wb_n);
    assign ws_row[c] = dw_valid_q ? dw_row_q : wb_row;
    assign ws_in[c]  = dw_valid_q ? dw_data_q[32*c +: 32] : psum_bot[32*c +: 32];
    assign acc_old[c] = bank_q[ws_row[c]];
    fp32_add u_acc_add (.a_i(acc_old[c]), .b_i(ws_in[c]), .y_o(acc_sum[c]));
    always_ff @(posedge clk_i) begin
      if (dw_valid_q && (16'(c) < dw_n_q)) begin
        bank_q[dw_row_q] <= !dw_acc_q ? ws_in[c] :
                            (dw_int_q ? acc_old[c] + ws_in[c] : acc_sum[c]);
      end else if (ws_we[c]) begin
        bank_q[wb_row] <= !wb_accumulate ? ws_in[c] :
                          (wb_is_int ? acc_old[c] + ws_in[c] : acc_sum[c]);
      end
    end
    assign acc_rdata_o[32*c +: 32] = bank_q[acc_raddr_i];
  end

  // ---- completion FIFO: E of each started tile, in order ------------------------------
  cycle_t      eq_q [EqDepth];
  logic [EqW-1:0] eq_count_q;
  logic [EqW-1:0] n_done;
  always_comb begin
    // E values are non-decreasing in start order, so those equal to now form a prefix.
    n_done = '0;
    for (int i = 0; i < EqDepthI; i++) begin
      if ((EqW'(i) < eq_count_q) && (eq_q[i] == now_q) && (EqW'(i) == n_done)) n_done = n_done + EqW'(1);
    end
  end
  assign done_o = 4'(n_done);

  logic dq_pop, dq_push;
  assign dq_pop  = dr_active_q && (dr_shift_q == 16'(Rows - 1));
  assign dq_push = start_stream && sc.os;

  always_comb begin
    wb_in = '0;
    if (iss_a && !iss_t.os) begin
      wb_in.valid      = 1'b1;
      wb_in.accumulate = iss_t.acc;
      wb_in.is_int     = (iss_t.a_type == FmtInt8);
      wb_in.n          = iss_t.n;
      wb_in.row        = AW'(iss_c_row / (32'(Cols) * 32'd4));
    end
  end

  // The drain entry of the tile starting now (field by field: Yosys 0.23 reads no
  // assignment patterns).
  drain_t dq_new;
  always_comb begin
    dq_new.d          = d_new;
    dq_new.reg_set    = sc_buf;
    dq_new.accumulate = sc.acc;
    dq_new.is_int     = (sc.a_type == FmtInt8);
    dq_new.m          = sc.m;
    dq_new.n          = sc.n;
    dq_new.c_addr     = sc.c_addr;
    dq_new.c_stride   = sc.c_stride;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      now_q <= '0;
      slot_valid_q <= 1'b0; slot_q <= '0; slot_loading_q <= 1'b0; slot_row_q <= '0; slot_w_q <= '0;
      have_prev_q <= 1'b0; prev_os_q <= 1'b0; free_q <= '0;
      e_last_q <= '0; e_last2_q <= '0; buf_q <= 1'b0;
      st_active_q <= 1'b0; st_buf_q <= 1'b0; st_q <= '0; st_count_q <= '0; st_len_q <= '0; st_c_row_q <= '0;
      arr_a_valid_q <= 1'b0; arr_os_q <= 1'b0; arr_buf_q <= 1'b0; arr_first_q <= 1'b0;
      arr_a_fmt_q <= '0; arr_b_fmt_q <= '0; arr_k_q <= '0;
      arr_ww_valid_q <= 1'b0; arr_ww_buf_q <= 1'b0; arr_ww_row_q <= '0; b_extract_fmt_q <= '0;
      for (int i = 0; i < WbDepthI; i++) wb_pipe_q[i] <= '0;
      dq_q[0] <= '0; dq_q[1] <= '0; dq_count_q <= '0; dr_active_q <= 1'b0; dr_shift_q <= '0;
      dw_valid_q <= 1'b0; dw_row_q <= '0; dw_n_q <= '0; dw_acc_q <= 1'b0; dw_int_q <= 1'b0; dw_data_q <= '0;
      for (int i = 0; i < EqDepthI; i++) eq_q[i] <= '0;
      eq_count_q <= '0;
    end else begin
      now_q <= now_q + 48'd1;

      // Slot.
      if (start_stream && slot_valid_q) slot_valid_q <= 1'b0;
      if (accept && !stream_from_input) begin
        slot_valid_q <= 1'b1;
        slot_q <= incoming;
        slot_loading_q <= 1'b0;
        slot_row_q <= 16'd0;
        slot_w_q <= now_q;
      end
      if (start_load) begin
        slot_loading_q <= 1'b1;
        slot_row_q <= 16'd1;
        slot_w_q <= now_q;
      end else if (issue_w) begin
        slot_row_q <= slot_row_q + 16'd1;
      end

      // Run state and streamer.
      if (start_stream) begin
        have_prev_q <= 1'b1;
        prev_os_q <= sc.os;
        free_q <= now_q + (sc.os ? 48'(sc.k) : 48'(sc.m));
        e_last2_q <= e_last_q;
        e_last_q <= e_new;
        buf_q <= DoubleBuffer ? ~sc_buf : 1'b0;
        st_active_q <= 1'b1;
        st_q <= sc;
        st_buf_q <= sc_buf;
        st_count_q <= 16'd1;
        st_len_q <= sc.os ? sc.k : sc.m;
        st_c_row_q <= sc.c_addr + sc.c_stride;
      end else if (st_busy) begin
        st_count_q <= st_count_q + 16'd1;
        st_c_row_q <= st_c_row_q + st_q.c_stride;
      end

      // Operands arrive next cycle, with the tile's control.
      arr_a_valid_q   <= iss_a;
      arr_os_q        <= iss_t.os;
      arr_buf_q       <= iss_buf;
      arr_first_q     <= (iss_idx == 16'd0);
      arr_a_fmt_q     <= iss_t.a_type;
      arr_b_fmt_q     <= iss_t.b_type;
      arr_k_q         <= iss_t.k;
      arr_ww_valid_q  <= issue_w;
      arr_ww_row_q    <= issue_w_row;
      arr_ww_buf_q    <= lc_buf;
      b_extract_fmt_q <= issue_w ? lc.b_type : iss_t.b_type;

      // Weight-stationary write-back pipeline.
      wb_pipe_q[0] <= wb_in;
      for (int i = 1; i < WbDepthI; i++) wb_pipe_q[i] <= wb_pipe_q[i-1];

      // Completion FIFO: drop the entries completing now, append the tile starting now.
      for (int i = 0; i < EqDepthI; i++) begin
        if (i + 32'(n_done) < EqDepthI) eq_q[i] <= eq_q[i + 32'(n_done)];
      end
      if (start_stream) eq_q[eq_count_q - n_done] <= e_new;
      eq_count_q <= eq_count_q - n_done + (start_stream ? EqW'(1) : EqW'(0));

      // Output-stationary drain: shift in cycles D+1 .. D+R; the row leaving in a cycle is
      // written in the next one.
      if (dq_push) begin
        dq_q[1'(dq_count_q - {1'b0, dq_pop})] <= dq_new;
      end
      dw_valid_q <= 1'b0;
      if (dr_active_q) begin
        dw_valid_q <= ((16'(Rows - 1) - dr_shift_q) < dq_head.m);
        dw_row_q   <= AW'((dq_head.c_addr + {16'd0, 16'(Rows - 1) - dr_shift_q} * dq_head.c_stride)
                          / (32'(Cols) * 32'd4));
        dw_n_q     <= dq_head.n;
        dw_acc_q   <= dq_head.accumulate;
        dw_int_q   <= dq_head.is_int;
        dw_data_q  <= acc_bot;
        dr_shift_q <= dq_pop ? 16'd0 : dr_shift_q + 16'd1;
        if (dq_pop) dr_active_q <= 1'b0;
      end else if (dq_count_q != 2'd0 && now_q == dq_head.d) begin
        dr_active_q <= 1'b1;
      end
      if (dq_pop) begin
        dq_q[0] <= dq_q[1];
        if (dq_push && dq_count_q == 2'd1) dq_q[0] <= dq_new;
      end
      dq_count_q <= dq_count_q - {1'b0, dq_pop} + {1'b0, dq_push};
    end
  end
endmodule
