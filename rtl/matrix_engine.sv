// Matrix engine: one systolic array, its accumulator memory and the controller that
// sequences matmul tiles (docs/timing.md: weight load W, stream start S, output-stationary
// drain D, completion E). No cycle is computed from those formulas: a tile's results are
// written when the valid bit of the row that made them leaves the array (weight-stationary)
// or when the drain, started by the tile's last A^T row passing PE (m-1, n-1), shifts them
// out (output-stationary); a tile completes when its last accumulator write happens and its
// predecessors have completed. Operands come from two read ports with one cycle of latency
// (row reads of A or A^T, and of B); results are added into (or written over) the
// accumulator, which has one bank per array column so a whole skewed row can be written
// per cycle. test_stall_i and test_flip_i are fault-injection inputs for the test benches
// (tie them to zero): the first holds back a stream start for one cycle, the second flips
// bits of the words written to the accumulator in that cycle.
module matrix_engine #(
  parameter int unsigned Rows = 8,
  parameter int unsigned Cols = 8,
  parameter int unsigned AccDepth = 64,   // accumulator rows (Cols x 4 bytes each)
  parameter bit          DoubleBuffer = 1'b1,
  parameter logic [3:0]  Formats = 4'b1111,     // supported input formats (fp_decode.sv)
  parameter int unsigned WordPorts = 1           // word read ports into the accumulator
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
  // Accumulator read-back of a whole row (test benches).
  input  logic [$clog2(AccDepth)-1:0] acc_raddr_i,
  output logic [Cols*32-1:0]   acc_rdata_o,
  // Word reads of the accumulator's other clients (vector-engine operands, DMA sources):
  // port p reads word addr (row * Cols + column, i.e. byte address / 4) when en, its data
  // in the next cycle (held until the port's next read). The clients time their reads
  // themselves (bank costs, docs/timing.md), so every port is always served.
  input  logic [WordPorts-1:0]                           acc_word_en_i,
  input  logic [WordPorts*$clog2(AccDepth*Cols)-1:0]     acc_word_addr_i,
  output logic [WordPorts*32-1:0]                        acc_word_data_o,
  // Accumulator writes of this cycle, per bank (column): row and the value written.
  output logic [Cols-1:0]      acc_we_o,
  output logic [Cols*$clog2(AccDepth)-1:0] acc_waddr_o,
  output logic [Cols*32-1:0]   acc_wdata_o,
  // Fault injection (test benches only).
  input  logic                 test_stall_i,
  input  logic [Cols*32-1:0]   test_flip_i
);
  `include "fp32_fn.svh"
  localparam int unsigned AW = $clog2(AccDepth);
  localparam logic [2:0] FmtInt8 = tessera_isa_pkg::DTYPE_INT8;
  localparam logic [2:0] FmtBf16 = tessera_isa_pkg::DTYPE_BF16;
  // Tiles started but not complete: a weight-stationary tile can start every cycle (m = 1)
  // and completes about R + C cycles later. Tiles are numbered modulo 2^IdW.
  localparam int unsigned IdW = $clog2(Rows + Cols + 4);
  localparam int unsigned IdDepth = 1 << IdW;
  localparam int unsigned NW = $clog2(Cols + 1);   // a tile's n (<= Cols)
  // Write-back tag of a weight-stationary row: {last row, accumulate, int, n, row, tile}.
  localparam int unsigned TagW = 3 + NW + AW + IdW;
  // Signed copies for loop bounds (Yosys 0.23 reads no int'() casts).
  localparam int IdDepthI = IdDepth;
  localparam int ColsI = Cols;
  localparam int WordPortsI = WordPorts;

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

  // ---- run state: the most recent tile that started streaming ---------------------------
  logic        have_prev_q;
  logic        prev_os_q;
  logic        buf_q;             // buffer / register set the next tile of the same run uses
  logic [IdW-1:0] next_id_q;      // number of the next tile to start
  logic [1:0]  os_seq_q;          // number (mod 4) of the next output-stationary tile

  // ---- streamer ---------------------------------------------------------------------------
  logic        st_active_q, st_buf_q;
  tile_t       st_q;
  logic [15:0] st_count_q, st_len_q;
  logic [31:0] st_c_row_q;        // ws: accumulator byte address of the next A row
  logic [IdW-1:0] st_id_q;
  logic [1:0]  st_ostag_q;

  // ---- completion: tiles retire in order once their own last write has happened -----------
  logic [IdDepth-1:0] fin_q;      // tiles whose last write happened, not yet retired
  logic [IdDepth-1:0] fin_now;    // tiles whose last write happens this cycle
  logic [IdDepth-1:0] fin_all;
  logic [IdDepth-1:0] fin_keep;   // fin_all without the tiles retiring now
  logic [IdW-1:0] head_id_q;      // oldest tile not retired
  logic [IdW:0]   outst_q;        // tiles started, not retired
  logic [IdW:0]   n_done;         // tiles retiring this cycle
  logic [IdW:0]   outst_left;     // not retired after this cycle

  // ---- stream start -----------------------------------------------------------------------
  logic        sc_valid;          // the stream candidate: the slot, or an arriving os tile
  tile_t       sc;
  logic        sc_loaded;
  logic        start_stream, accept, stream_from_input;
  logic        st_busy;
  logic        sc_buf;

  always_comb begin
    sc_valid = slot_valid_q || (cmd_valid_i && cmd_os);
    sc = slot_valid_q ? slot_q : incoming;
    // The stream starts in the cycle after the last B row was read.
    sc_loaded = slot_valid_q && slot_loading_q && (slot_row_q >= slot_q.k);
    st_busy = st_active_q && (st_count_q < st_len_q);
    start_stream = 1'b0;
    // ws after ws (double-buffered): the streamer is free. ws after os: the weight load
    // waited for the predecessors. os: the register set it uses must have drained.
    if (sc_valid && !st_busy && !test_stall_i) begin
      if (!sc.os) begin
        start_stream = sc_loaded;
      end else if (!have_prev_q) begin
        start_stream = 1'b1;
      end else if (!prev_os_q) begin
        start_stream = (outst_q == '0);            // every ws tile completed before this cycle
      end else if (DoubleBuffer) begin
        start_stream = (outst_left <= (IdW+1)'(1)); // the tile before the streaming one has drained
      end else begin
        start_stream = (outst_left == '0);
      end
    end
    stream_from_input = start_stream && !slot_valid_q;
    // The slot frees in the cycle its tile starts streaming, so the next tile is taken then.
    accept = cmd_valid_i && (!slot_valid_q || start_stream);
    cmd_ready_o = !slot_valid_q || start_stream;

    sc_buf = (have_prev_q && prev_os_q == sc.os && DoubleBuffer) ? buf_q : 1'b0;
  end

  // ---- weight load (ws): the slot's tile, or one arriving as the slot's tile leaves ------
  logic        lc_valid, lc_new;
  // The weight load reads only a tile's B fields; the whole tile is kept for clarity.
  /* verilator lint_off UNUSEDSIGNAL */
  tile_t       lc;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [15:0] lc_row;
  logic        lc_prev_exists, lc_prev_os;
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
    load_ok = 1'b1;
    // After an os tile the array is free once every tile has completed (the cycle after
    // the last completion); single-buffered weights are free in the completion cycle.
    if (lc_prev_exists && lc_prev_os) load_ok = !start_stream && (outst_q == '0);
    else if (lc_prev_exists && !DoubleBuffer) load_ok = !start_stream && (outst_left == '0);
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
  logic        iss_buf, iss_last;
  logic [IdW-1:0] iss_id;
  logic [1:0]  iss_ostag;
  always_comb begin
    iss_a     = start_stream || st_busy;
    iss_t     = start_stream ? sc : st_q;
    iss_idx   = start_stream ? 16'd0 : st_count_q;
    iss_c_row = start_stream ? sc.c_addr : st_c_row_q;
    iss_buf   = start_stream ? sc_buf : st_buf_q;
    iss_id    = start_stream ? next_id_q : st_id_q;
    iss_ostag = start_stream ? os_seq_q : st_ostag_q;
    iss_last  = (iss_idx + 16'd1) == (iss_t.os ? iss_t.k : iss_t.m);
  end

  assign a_req_o  = iss_a;
  assign a_addr_o = iss_t.a_addr + 32'(iss_idx) * iss_t.a_stride;
  assign b_req_o  = issue_w || (iss_a && iss_t.os);
  assign b_addr_o = issue_w ? issue_w_addr : (iss_t.b_addr + 32'(iss_idx) * iss_t.b_stride);

  // ---- data presented to the array one cycle after the reads -----------------------
  logic               arr_a_valid_q, arr_os_q, arr_buf_q, arr_first_q, arr_last_q;
  logic [1:0]         arr_tag_q;
  logic [TagW-1:0]    arr_wb_q;
  logic [2:0]         arr_a_fmt_q, arr_b_fmt_q;
  logic [15:0]        arr_k_q;
  logic               arr_ww_valid_q, arr_ww_buf_q;
  logic [15:0]        arr_ww_row_q;
  logic [2:0]         b_extract_fmt_q;   // element size of the B row arriving now
  logic [Rows*16-1:0] a_vec;
  logic [Cols*16-1:0] b_vec;
  logic [Cols*32-1:0] psum_bot, acc_bot;
  logic [Cols-1:0]    psum_bot_valid;
  logic [Cols*TagW-1:0] psum_bot_tag;
  logic [Rows*Cols-1:0]   os_last;
  logic [Rows*Cols*2-1:0] os_tag;
  logic               drain, drain_set;
  logic [TagW-1:0]    wb_in;

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

  systolic_array #(.Rows(Rows), .Cols(Cols), .Formats(Formats), .TagW(TagW)) u_array (
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
    .last_i      (arr_last_q),
    .tag_i       (arr_tag_q),
    .wb_tag_i    (arr_wb_q),
    .ww_valid_i  (arr_ww_valid_q),
    .ww_row_i    (arr_ww_row_q),
    .ww_buf_i    (arr_ww_buf_q),
    .b_vec_i     (b_vec),
    .drain_i     (drain),
    .drain_set_i (drain_set),
    .psum_bot_o  (psum_bot),
    .psum_bot_valid_o (psum_bot_valid),
    .psum_bot_tag_o   (psum_bot_tag),
    .acc_bot_o   (acc_bot),
    .os_last_o   (os_last),
    .os_tag_o    (os_tag)
  );

  // The write-back tag of the ws row read now (field by field: Yosys 0.23 reads no
  // assignment patterns). Rows of an os tile carry none.
  always_comb begin
    wb_in = '0;
    if (!iss_t.os) begin
      wb_in = {iss_last, iss_t.acc, iss_t.a_type == FmtInt8, NW'(iss_t.n), AW'(iss_c_row / (32'(Cols) * 32'd4)),
               iss_id};
    end
  end

  // ---- output-stationary drain queue (at most two tiles ahead) ---------------------------
  typedef struct packed {
    logic          reg_set;
    logic          accumulate;
    logic          is_int;
    logic [1:0]    tag;
    logic [IdW-1:0] id;
    logic [15:0]   m;
    logic [15:0]   n;
    logic [31:0]   c_addr;
    logic [31:0]   c_stride;
  } drain_t;
  localparam int unsigned DrainW = 5 + IdW + 16 + 16 + 32 + 32;
  // Arrays hold plain vectors, not drain_t: Yosys 0.23 silently drops the unpacked
  // dimension of a struct-typed array (docs/rtl.md, "Tool subset").
  logic [DrainW-1:0] dq_q [2];
  drain_t      dq_head;             // dq_q[0] (Yosys 0.23 reads no member of an array element)
  // Only the second entry's corner is watched (m, n, tag).
  /* verilator lint_off UNUSEDSIGNAL */
  drain_t      dq_next;             // dq_q[1]
  /* verilator lint_on UNUSEDSIGNAL */
  assign dq_head = dq_q[0];
  assign dq_next = dq_q[1];
  logic [1:0]  dq_count_q;
  logic [1:0]  dq_seen_q;           // the entry's last multiply-add has happened
  logic [1:0]  dq_hit;              // ... happens now (its last row leaves PE (m-1, n-1))
  logic        dr_active_q, dr_start;
  logic [15:0] dr_shift_q;          // shifts done
  logic [15:0] dr_sh;               // this cycle's shift
  logic        dq_pop, dq_push;
  // Row leaving the array in the previous cycle, written now.
  logic               dw_valid_q, dw_last_q;
  logic [AW-1:0]      dw_row_q;
  logic [15:0]        dw_n_q;
  logic               dw_acc_q, dw_int_q;
  logic [IdW-1:0]     dw_id_q;
  logic [Cols*32-1:0] dw_data_q;

  // PE (m-1, n-1) passed on the last row of tile number `tag`.
  function automatic logic corner(input logic [15:0] m, input logic [15:0] n, input logic [1:0] tag,
                                  input logic [Rows*Cols-1:0] last, input logic [Rows*Cols*2-1:0] tags);
    logic [31:0] pos;
    pos = (32'(m) - 32'd1) * 32'(Cols) + 32'(n) - 32'd1;
    corner = last[pos] && (tags[2*pos +: 2] == tag);
  endfunction

  always_comb begin
    dq_hit[0] = (dq_count_q != 2'd0) && corner(dq_head.m, dq_head.n, dq_head.tag, os_last, os_tag);
    dq_hit[1] = (dq_count_q == 2'd2) && corner(dq_next.m, dq_next.n, dq_next.tag, os_last, os_tag);
    // A drain starts once the tile's last multiply-add is done and the previous drain has
    // written its last row (not in the cycle of that write).
    dr_start = !dr_active_q && (dq_count_q != 2'd0) && (dq_seen_q[0] || dq_hit[0]) && !(dw_valid_q && dw_last_q);
    drain = dr_active_q || dr_start;
    dr_sh = dr_active_q ? dr_shift_q : 16'd0;
    dq_pop = drain && (dr_sh == 16'(Rows - 1));
    dq_push = start_stream && sc.os;
  end
  assign drain_set = dq_head.reg_set;

  drain_t dq_new;
  always_comb begin
    dq_new.reg_set    = sc_buf;
    dq_new.accumulate = sc.acc;
    dq_new.is_int     = (sc.a_type == FmtInt8);
    dq_new.tag        = os_seq_q;
    dq_new.id         = next_id_q;
    dq_new.m          = sc.m;
    dq_new.n          = sc.n;
    dq_new.c_addr     = sc.c_addr;
    dq_new.c_stride   = sc.c_stride;
  end

  // ---- accumulator: one bank per column, combinational read, write at the clock edge --
  // The banks are one array of words interleaved by column (word row * Cols + c is bank c's
  // row), written by one process, so the word ports read it directly; a column's writes and
  // reads only ever touch its own words.
  localparam int unsigned CW = $clog2(Cols);
  localparam int unsigned WA = AW + CW;
  logic [31:0] acc_q [AccDepth * Cols];
  logic [31:0] acc_old [Cols];
  logic [31:0] ws_in   [Cols];
  logic [AW-1:0] w_row [Cols];
  logic [31:0] w_val   [Cols];
  logic        w_en    [Cols];
  logic [Cols-1:0] ws_fin;          // column c writes the last result of a ws tile
  logic [Cols*IdW-1:0] ws_fin_id;

  always_ff @(posedge clk_i) begin
    for (int c = 0; c < ColsI; c++)
      if (w_en[c]) acc_q[{w_row[c], CW'(c)}] <= w_val[c];
  end
  // Word reads only when asked for (the simulator skips idle ports).
  logic [WordPorts*32-1:0] word_q;
  always_ff @(posedge clk_i) begin
    for (int p = 0; p < WordPortsI; p++)
      if (acc_word_en_i[p]) word_q[32*p +: 32] <= acc_q[acc_word_addr_i[WA*p +: WA]];
  end
  assign acc_word_data_o = word_q;
  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    // The ws write-back tag leaving this column, unpacked into plain signals (Yosys 0.23
    // cannot resolve struct members declared inside a generate block).
    logic          wb_last, wb_accumulate, wb_is_int, ws_we, os_we, w_acc, w_int;
    logic [31:0]   fsum;
    logic [NW-1:0] wb_n;
    logic [AW-1:0] wb_row;
    logic [IdW-1:0] wb_id;
    assign {wb_last, wb_accumulate, wb_is_int, wb_n, wb_row, wb_id} = psum_bot_tag[TagW*c +: TagW];
    assign ws_we = psum_bot_valid[c] && (NW'(c) < wb_n);
    assign os_we = dw_valid_q && (16'(c) < dw_n_q);
    assign ws_fin[c] = psum_bot_valid[c] && wb_last && (NW'(c + 1) == wb_n);
    assign ws_fin_id[IdW*c +: IdW] = wb_id;
    // A dataflow change waits for completion, so ws and os writes never meet.
    assign w_row[c] = os_we ? dw_row_q : wb_row;
    assign ws_in[c] = os_we ? dw_data_q[32*c +: 32] : psum_bot[32*c +: 32];
    assign w_acc = os_we ? dw_acc_q : wb_accumulate;
    assign w_int = os_we ? dw_int_q : wb_is_int;
    assign w_en[c] = os_we || ws_we;
    assign acc_old[c] = acc_q[{w_row[c], CW'(c)}];
    // The FP32 add only when a write accumulates floats (the simulator skips it otherwise).
    always_comb begin
      fsum = 32'd0;
      if (w_en[c] && w_acc && !w_int) fsum = fp32_add_fn(acc_old[c], ws_in[c]);
    end
    assign w_val[c] = (!w_acc ? ws_in[c] : (w_int ? acc_old[c] + ws_in[c] : fsum)) ^ test_flip_i[32*c +: 32];
    assign acc_rdata_o[32*c +: 32] = acc_q[{acc_raddr_i, CW'(c)}];
    assign acc_we_o[c] = w_en[c];
    assign acc_waddr_o[AW*c +: AW] = w_row[c];
    assign acc_wdata_o[32*c +: 32] = w_val[c];
  end

  // ---- completion ---------------------------------------------------------------------------
  always_comb begin
    fin_now = '0;
    for (int c = 0; c < ColsI; c++)
      if (ws_fin[c]) fin_now[ws_fin_id[IdW*c +: IdW]] = 1'b1;
    if (dw_valid_q && dw_last_q) fin_now[dw_id_q] = 1'b1;
    fin_all = fin_q | fin_now;
    // The finished tiles from the oldest on retire; done_o reports at most 15 per cycle.
    n_done = '0;
    for (int i = 0; i < 15 && i < IdDepthI; i++) begin
      if (((IdW+1)'(i) < outst_q) && fin_all[IdW'(head_id_q + IdW'(i))] && ((IdW+1)'(i) == n_done))
        n_done = n_done + (IdW+1)'(1);
    end
    outst_left = outst_q - n_done;
    fin_keep = fin_all;
    for (int i = 0; i < 15 && i < IdDepthI; i++)
      if ((IdW+1)'(i) < n_done) fin_keep[IdW'(head_id_q + IdW'(i))] = 1'b0;
  end
  assign done_o = 4'(n_done);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      slot_valid_q <= 1'b0; slot_q <= '0; slot_loading_q <= 1'b0; slot_row_q <= '0;
      have_prev_q <= 1'b0; prev_os_q <= 1'b0; buf_q <= 1'b0; next_id_q <= '0; os_seq_q <= '0;
      st_active_q <= 1'b0; st_buf_q <= 1'b0; st_q <= '0; st_count_q <= '0; st_len_q <= '0; st_c_row_q <= '0;
      st_id_q <= '0; st_ostag_q <= '0;
      fin_q <= '0; head_id_q <= '0; outst_q <= '0;
      arr_a_valid_q <= 1'b0; arr_os_q <= 1'b0; arr_buf_q <= 1'b0; arr_first_q <= 1'b0; arr_last_q <= 1'b0;
      arr_tag_q <= '0; arr_wb_q <= '0;
      arr_a_fmt_q <= '0; arr_b_fmt_q <= '0; arr_k_q <= '0;
      arr_ww_valid_q <= 1'b0; arr_ww_buf_q <= 1'b0; arr_ww_row_q <= '0; b_extract_fmt_q <= '0;
      dq_q[0] <= '0; dq_q[1] <= '0; dq_count_q <= '0; dq_seen_q <= '0; dr_active_q <= 1'b0; dr_shift_q <= '0;
      dw_valid_q <= 1'b0; dw_last_q <= 1'b0; dw_row_q <= '0; dw_n_q <= '0; dw_acc_q <= 1'b0; dw_int_q <= 1'b0;
      dw_id_q <= '0; dw_data_q <= '0;
    end else begin
      // Slot.
      if (start_stream && slot_valid_q) slot_valid_q <= 1'b0;
      if (accept && !stream_from_input) begin
        slot_valid_q <= 1'b1;
        slot_q <= incoming;
        slot_loading_q <= 1'b0;
        slot_row_q <= 16'd0;
      end
      if (start_load) begin
        slot_loading_q <= 1'b1;
        slot_row_q <= 16'd1;
      end else if (issue_w) begin
        slot_row_q <= slot_row_q + 16'd1;
      end

      // Run state and streamer.
      if (start_stream) begin
        have_prev_q <= 1'b1;
        prev_os_q <= sc.os;
        buf_q <= DoubleBuffer ? ~sc_buf : 1'b0;
        next_id_q <= next_id_q + IdW'(1);
        if (sc.os) os_seq_q <= os_seq_q + 2'd1;
        st_active_q <= 1'b1;
        st_q <= sc;
        st_buf_q <= sc_buf;
        st_id_q <= next_id_q;
        st_ostag_q <= os_seq_q;
        st_count_q <= 16'd1;
        st_len_q <= sc.os ? sc.k : sc.m;
        st_c_row_q <= sc.c_addr + sc.c_stride;
      end else if (st_busy) begin
        st_count_q <= st_count_q + 16'd1;
        st_c_row_q <= st_c_row_q + st_q.c_stride;
      end

      // Completion.
      fin_q <= fin_keep;
      head_id_q <= head_id_q + IdW'(n_done);
      outst_q <= outst_left + (start_stream ? (IdW+1)'(1) : (IdW+1)'(0));

      // Operands arrive next cycle, with the tile's control.
      arr_a_valid_q   <= iss_a;
      arr_os_q        <= iss_t.os;
      arr_buf_q       <= iss_buf;
      arr_first_q     <= (iss_idx == 16'd0);
      arr_last_q      <= iss_a && iss_t.os && iss_last;
      arr_tag_q       <= iss_ostag;
      arr_wb_q        <= wb_in;
      arr_a_fmt_q     <= iss_t.a_type;
      arr_b_fmt_q     <= iss_t.b_type;
      arr_k_q         <= iss_t.k;
      arr_ww_valid_q  <= issue_w;
      arr_ww_row_q    <= issue_w_row;
      arr_ww_buf_q    <= lc_buf;
      b_extract_fmt_q <= issue_w ? lc.b_type : iss_t.b_type;

      // Output-stationary drain: R shifts from the start; the row leaving in a cycle is
      // written in the next one.
      dw_valid_q <= drain && ((16'(Rows - 1) - dr_sh) < dq_head.m);
      dw_last_q  <= drain && (dr_sh == 16'(Rows - 1));
      dw_row_q   <= AW'((dq_head.c_addr + {16'd0, 16'(Rows - 1) - dr_sh} * dq_head.c_stride) / (32'(Cols) * 32'd4));
      dw_n_q     <= dq_head.n;
      dw_acc_q   <= dq_head.accumulate;
      dw_int_q   <= dq_head.is_int;
      dw_id_q    <= dq_head.id;
      dw_data_q  <= acc_bot;
      if (dq_pop) begin
        dr_active_q <= 1'b0;
        dr_shift_q <= 16'd0;
      end else if (drain) begin
        dr_active_q <= 1'b1;
        dr_shift_q <= dr_sh + 16'd1;
      end
      // Queue: pop the drained head, append the tile starting now.
      if (dq_pop) begin
        dq_q[0] <= dq_q[1];
        dq_seen_q <= {1'b0, dq_seen_q[1] | dq_hit[1]};
        if (dq_push && dq_count_q == 2'd1) dq_q[0] <= dq_new;
      end else begin
        dq_seen_q <= dq_seen_q | dq_hit;
      end
      if (dq_push) dq_q[1'(dq_count_q - {1'b0, dq_pop})] <= dq_new;
      dq_count_q <= dq_count_q - {1'b0, dq_pop} + {1'b0, dq_push};
    end
  end
endmodule
