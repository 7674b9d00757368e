// Vector engine: Lanes copies of vector_lane behind the beat sequencer of docs/timing.md
// ("Vector engine"). One `vector` instruction at a time: its beats (rows packed into one
// lane group when cols < Lanes, else lane groups of one row) each cost
// max(special cycles, bank-conflict cost of every port) cycles; a beat's reads go out in
// the last cycle of the beat, its results are written vector.latency cycles after that
// (plus the lane tree, ceil(log2 Lanes) cycles, for the row reductions), so the last
// result is written, and done_o pulses, at X = T + I - 1 + latency + tail.
// Results are in L1 and sources in L1 or in a matrix engine's accumulator (acc, FP32 or
// INT32), in any of the ISA's formats (decoded to FP32 on arrival, results encoded as the
// model stores them; vargmax writes int32 indices); each port moves one element per lane,
// addressed per lane, so packed rows, per-row scalars and broadcast rows need no special
// port. vrope reads two more elements per lane (the partner element of rotate_half and the
// sine), on ports s3 and s4, with the bank cost docs/timing.md gives its two operands.
module vector_engine #(
  parameter int unsigned Lanes = 8,          // vector.lanes (even: lanes come in pairs)
  parameter int unsigned Latency = 8,        // vector.latency (> L1Latency)
  parameter int unsigned SpecialCycles = 1,  // vector.special_cycles
  parameter int unsigned L1Latency = 2,      // l1.latency (>= 1)
  parameter int unsigned L1Banks = 4,        // l1.banks (power of two)
  parameter int unsigned L1BankBytes = 16,   // l1.bank_width (power of two)
  parameter int unsigned AccBanks = 8,       // accumulator.banks (power of two)
  parameter int unsigned AccBankBytes = 4    // max(4, 4 * matrix.cols / accumulator.banks)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // One vector-format instruction word, taken when start_i && ready_o (cycle T).
  input  logic                 start_i,
  output logic                 ready_o,
  input  logic [tessera_isa_pkg::WordBits-1:0] word_i,
  output logic                 done_o,     // the instruction's last result is written (E)
  // Sticky: a word this engine does not execute was offered (it is not started):
  // an opcode outside the list below, a result outside l1 or a source outside l1 and acc,
  // a type the opcode does not take (vargmax writes int32, vtopk fp32), rows or cols of 0.
  output logic                 err_o,
  // Read ports: lane k reads the element of s*_bytes_o bytes (1, 2 or 4: its operand's
  // format) at addr[k] when en[k], in the low bytes of data L1Latency cycles later, from
  // L1, or from the accumulator of matrix engine acc_engine_o when s*_acc_o (s3 reads
  // src1's space, s4 src2's).
  output logic                 s1_acc_o,
  output logic                 s2_acc_o,
  output logic [2:0]           acc_engine_o,
  output logic [Lanes-1:0]     s1_en_o,
  output logic [Lanes*32-1:0]  s1_addr_o,
  output logic [2:0]           s1_bytes_o,
  input  logic [Lanes*32-1:0]  s1_data_i,
  output logic [Lanes-1:0]     s2_en_o,
  output logic [Lanes*32-1:0]  s2_addr_o,
  output logic [2:0]           s2_bytes_o,
  input  logic [Lanes*32-1:0]  s2_data_i,
  output logic [Lanes-1:0]     s3_en_o,
  output logic [Lanes*32-1:0]  s3_addr_o,
  input  logic [Lanes*32-1:0]  s3_data_i,
  output logic [Lanes-1:0]     s4_en_o,
  output logic [Lanes*32-1:0]  s4_addr_o,
  input  logic [Lanes*32-1:0]  s4_data_i,
  // Write port: lane k writes the low d_bytes_o bytes of data[k] at addr[k] when en[k].
  output logic [Lanes-1:0]     d_en_o,
  output logic [Lanes*32-1:0]  d_addr_o,
  output logic [2:0]           d_bytes_o,
  output logic [Lanes*32-1:0]  d_data_o
);
  `include "fp32_fn.svh"
  `include "vec_cvt.svh"
  localparam int unsigned Tail = $clog2(Lanes);
  localparam int unsigned DelayE = Latency - L1Latency;     // data arrival to write
  localparam int unsigned DelayR = DelayE + Tail;
  localparam int LanesI = Lanes;
  localparam int DelayRI = DelayR;
  localparam int DelayEI = DelayE;
  localparam int L1LatencyI = L1Latency;
  localparam logic [3:0] FnAdd = 4'd0, FnSub = 4'd1, FnMul = 4'd2, FnMax = 4'd3,
                         FnScale = 4'd4, FnSquare = 4'd5, FnExp = 4'd6, FnRecip = 4'd7,
                         FnRsqrt = 4'd8, FnTanh = 4'd9, FnSilu = 4'd11,
                         FnGelu = 4'd12, FnPass = 4'd13;
  // How src2 is addressed (docs/isa.md operand shapes).
  localparam logic [2:0] S2None = 3'd0, S2Block = 3'd1, S2Col0 = 3'd2, S2Row0 = 3'd3, S2Rope = 3'd4;
  localparam logic [31:0] NegInf = 32'hFF80_0000;

  // ---- the instruction: word_i in the start cycle, then the held copy ------------------
  logic busy_q, iss_q, err_q;
  logic [tessera_isa_pkg::WordBits-1:0] word_q;
  // Header masks and the reserved bits are the sequencer's business.
  /* verilator lint_off UNUSEDSIGNAL */
  tessera_isa_pkg::vector_instr_t vi;
  /* verilator lint_on UNUSEDSIGNAL */
  assign vi = busy_q ? word_q : word_i;

  logic [3:0] fn;
  logic [2:0] s2mode;
  logic known, use_s1, special, red, red_max, arg, topk, mask, cvt, rope;
  always_comb begin
    known = 1'b1; use_s1 = 1'b1; special = 1'b0; red = 1'b0; red_max = 1'b0; arg = 1'b0; topk = 1'b0;
    mask = 1'b0; cvt = 1'b0; rope = 1'b0;
    s2mode = S2None; fn = FnPass;
    unique case (vi.hdr.opcode)
      tessera_isa_pkg::OpVadd:    begin fn = FnAdd; s2mode = S2Block; end
      tessera_isa_pkg::OpVsub:    begin fn = FnSub; s2mode = S2Block; end
      tessera_isa_pkg::OpVmul:    begin fn = FnMul; s2mode = S2Block; end
      tessera_isa_pkg::OpVmax:    begin fn = FnMax; s2mode = S2Block; end
      tessera_isa_pkg::OpVsubRow: begin fn = FnSub; s2mode = S2Col0; end
      tessera_isa_pkg::OpVmulRow: begin fn = FnMul; s2mode = S2Col0; end
      tessera_isa_pkg::OpVaddCol: begin fn = FnAdd; s2mode = S2Row0; end
      tessera_isa_pkg::OpVmulCol: begin fn = FnMul; s2mode = S2Row0; end
      tessera_isa_pkg::OpVscale:  fn = FnScale;
      tessera_isa_pkg::OpVfill:   use_s1 = 1'b0;     // FnPass of imm
      tessera_isa_pkg::OpVexp:    begin fn = FnExp; special = 1'b1; end
      tessera_isa_pkg::OpVrecip:  begin fn = FnRecip; special = 1'b1; end
      tessera_isa_pkg::OpVrsqrt:  begin fn = FnRsqrt; special = 1'b1; end
      tessera_isa_pkg::OpVtanh:   begin fn = FnTanh; special = 1'b1; end
      tessera_isa_pkg::OpVsilu:   begin fn = FnSilu; special = 1'b1; end
      tessera_isa_pkg::OpVgelu:   begin fn = FnGelu; special = 1'b1; end
      tessera_isa_pkg::OpVrsum:   red = 1'b1;
      tessera_isa_pkg::OpVrmax:   begin red = 1'b1; red_max = 1'b1; end
      tessera_isa_pkg::OpVrsumsq: begin red = 1'b1; fn = FnSquare; end
      // The row's maximum like vrmax, carrying the column of each lane's best element.
      tessera_isa_pkg::OpVargmax: begin red = 1'b1; red_max = 1'b1; arg = 1'b1; end
      // One vargmax pass per selected element, each over the elements below the previous pick.
      tessera_isa_pkg::OpVtopk:   begin red = 1'b1; red_max = 1'b1; arg = 1'b1; topk = 1'b1; end
      tessera_isa_pkg::OpVmask:   mask = 1'b1;       // FnPass of src1, -inf where masked
      // The scale multiplies the decoded element; the destination's encoder converts.
      tessera_isa_pkg::OpVcvt:    begin fn = FnMul; cvt = 1'b1; end
      // Computed beside the lanes (g_rope): x*cos -/+ partner*sin.
      tessera_isa_pkg::OpVrope:   begin rope = 1'b1; s2mode = S2Rope; end
      default:                    known = 1'b0;
    endcase
  end

  // Element sizes of the operands' formats, as shifts (bytes 1, 2, 4).
  function automatic logic [1:0] size_shift(input logic [2:0] t);
    unique case (t)
      tessera_isa_pkg::DTYPE_INT8, tessera_isa_pkg::DTYPE_FP8_E4M3, tessera_isa_pkg::DTYPE_FP8_E5M2: size_shift = 2'd0;
      tessera_isa_pkg::DTYPE_BF16, tessera_isa_pkg::DTYPE_FP16: size_shift = 2'd1;
      default: size_shift = 2'd2;
    endcase
  endfunction
  logic [1:0] sh1, sh2, shd;
  assign sh1 = size_shift(vi.src1_type);
  assign sh2 = size_shift(vi.src2_type);
  assign shd = size_shift(vi.dst_type);
  assign s1_bytes_o = 3'd1 << sh1;
  assign s2_bytes_o = 3'd1 << sh2;

  logic supported;
  always_comb begin
    supported = known && vi.rows != '0 && vi.cols != '0 && vi.dst_space == tessera_isa_pkg::SPACE_L1;
    // vargmax's indices are int32 and vtopk's rows mix values and indices as fp32 words.
    if (arg && vi.dst_type != (topk ? tessera_isa_pkg::DTYPE_FP32 : tessera_isa_pkg::DTYPE_INT32)) supported = 1'b0;
    // vtopk's k: 1..cols, as the validator requires.
    if (topk && (vi.iarg == '0 || vi.iarg > 32'(vi.cols))) supported = 1'b0;
    if (use_s1 && vi.src1_space != tessera_isa_pkg::SPACE_L1 && vi.src1_space != tessera_isa_pkg::SPACE_ACC)
      supported = 1'b0;
    if (s2mode != S2None && vi.src2_space != tessera_isa_pkg::SPACE_L1 && vi.src2_space != tessera_isa_pkg::SPACE_ACC)
      supported = 1'b0;
    // vrope pairs the two halves of a row: cols is even (the validator's rule).
    if (rope && vi.cols[0]) supported = 1'b0;
  end
  logic acc1, acc2;
  assign acc1 = vi.src1_space == tessera_isa_pkg::SPACE_ACC;
  assign acc2 = vi.src2_space == tessera_isa_pkg::SPACE_ACC;
  assign s1_acc_o = acc1;
  assign s2_acc_o = acc2;
  assign acc_engine_o = 3'(vi.acc_engine);

  assign ready_o = !busy_q;
  assign err_o = err_q;
  logic accept, issuing;
  assign accept = start_i && !busy_q && supported;
  assign issuing = busy_q ? iss_q : accept;

  // ---- the current beat: rows cur_r.., columns cur_c.., cycle cur_k of its cost ---------
  logic [31:0] r_q, c_q, cur_r, cur_c;
  logic [15:0] p_q, cur_p;   // vtopk: the pass (which element of the row is being selected)
  logic [7:0]  k_q, cur_k;
  assign cur_r = busy_q ? r_q : '0;
  assign cur_c = busy_q ? c_q : '0;
  assign cur_p = busy_q ? p_q : '0;
  assign cur_k = busy_q ? k_q : '0;

  logic [31:0] rows, cols;
  assign rows = 32'(vi.rows);
  assign cols = 32'(vi.cols);
  logic packed_rows;
  logic [31:0] g;   // rows per beat when packed: floor(Lanes / cols)
  assign packed_rows = !red && cols < 32'(Lanes);
  always_comb begin
    g = 32'd1;
    for (int k = 1; k <= LanesI; k++)
      if (32'(k) * cols <= 32'(Lanes)) g = 32'(k);
  end

  logic [Lanes*32-1:0] lrow, lcol;
  logic [Lanes-1:0] lval;
  logic [31:0] rr, cc;   // row and column of lane k while walking the lanes
  always_comb begin
    rr = '0; cc = '0;
    for (int k = 0; k < LanesI; k++) begin
      if (packed_rows) begin
        lrow[32*k +: 32] = cur_r + rr;
        lcol[32*k +: 32] = cc;
        lval[k] = rr < g && cur_r + rr < rows;
        if (cc + 32'd1 == cols) begin
          cc = '0;
          rr = rr + 32'd1;
        end else begin
          cc = cc + 32'd1;
        end
      end else begin
        lrow[32*k +: 32] = cur_r;
        lcol[32*k +: 32] = cur_c + 32'(k);
        lval[k] = cur_c + 32'(k) < cols;
      end
    end
  end

  // vrope: data row r uses table row r / iarg. The engine keeps the table row t and r mod iarg
  // of its current row and steps them with the rows (at most Lanes per beat), so no lane
  // divides.
  logic [31:0] tq_q, mq_q, cur_t, cur_m, ia;
  assign cur_t = busy_q ? tq_q : '0;
  assign cur_m = busy_q ? mq_q : '0;
  assign ia = vi.iarg == '0 ? 32'd1 : vi.iarg;
  function automatic logic [63:0] table_step(input logic [31:0] t, input logic [31:0] m, input logic [31:0] add,
                                             input logic [31:0] div);
    logic [31:0] q, x;
    q = t;
    x = m + add;
    for (int i = 0; i <= LanesI; i++) begin
      if (x >= div) begin
        x = x - div;
        q = q + 32'd1;
      end
    end
    table_step = {q, x};
  endfunction

  logic row_first, row_last, last_beat, more_passes;
  logic [31:0] next_r, next_c;
  logic [15:0] next_p;
  always_comb begin
    row_first = packed_rows || cur_c == '0;
    row_last = packed_rows || cur_c + 32'(Lanes) >= cols;
    more_passes = topk && 32'(cur_p) + 32'd1 < vi.iarg;
    next_p = '0;
    if (packed_rows) begin
      next_r = cur_r + g;
      next_c = '0;
    end else if (row_last && more_passes) begin
      next_r = cur_r;
      next_c = '0;
      next_p = cur_p + 16'd1;
    end else if (row_last) begin
      next_r = cur_r + 32'd1;
      next_c = '0;
    end else begin
      next_r = cur_r;
      next_c = cur_c + 32'(Lanes);
      next_p = cur_p;
    end
    last_beat = row_last && !more_passes && next_r >= rows;
  end

  // vmask: lane k's element (r, c) becomes -inf when c > p0 + floor(r / g). With d = c - p0 that
  // is d > 0 && r < g * d (floor(r / g) < d for an integer d), a multiply instead of a divide;
  // rows, cols and both halves of iarg are 16 bits, so the product fits 32. g = 0 (refused by
  // the validator) counts as 1, as in the model.
  logic [Lanes-1:0] mk;
  logic [15:0] mg;
  assign mg = vi.iarg[15:0] == 16'd0 ? 16'd1 : vi.iarg[15:0];
  for (genvar k = 0; k < Lanes; k++) begin : g_mask
    logic [31:0] mc, md;
    logic m;
    assign mc = lcol[32*k +: 32];
    assign md = mc - 32'(vi.iarg[31:16]);
    // Only a vmask evaluates the multiply (the simulator skips it otherwise).
    always_comb begin
      m = 1'b0;
      if (mask) m = mc > 32'(vi.iarg[31:16]) && lrow[32*k +: 32] < 32'(mg) * md;
    end
    assign mk[k] = m;
  end

  // Port addresses and enables of the beat; dst for the bank cost (and, delayed, the write).
  // vrope's lane at column c of a row of h = cols / 2 pairs pairs c with c + h (c < h, the
  // product subtracted) or c - h, and reads cos and sin of column c mod h of its table row;
  // the src2 port's bank cost is that of the table row's columns of the beat (a2c).
  logic [Lanes*32-1:0] a1, a2, a2c, a3, a4, ad;
  logic [Lanes-1:0] e1, e2, e3, e4, ed, rneg;
  logic [Lanes*32-1:0] rj, rtrow;   // vrope: column c mod h, byte address of the table row
  logic [31:0] half;
  assign half = cols >> 1;
  for (genvar k = 0; k < Lanes; k++) begin : g_rope_addr
    logic [31:0] c, pc;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [63:0] ts;   // the row's {table row, row mod iarg}: the lane needs the table row
    /* verilator lint_on UNUSEDSIGNAL */
    assign c = lcol[32*k +: 32];
    assign rneg[k] = c < half;
    assign rj[32*k +: 32] = rneg[k] ? c : c - half;
    assign pc = rneg[k] ? c + half : c - half;
    // Only a vrope steps the table row (the simulator skips the loop otherwise).
    always_comb begin
      ts = '0;
      if (rope) ts = table_step(cur_t, cur_m, lrow[32*k +: 32] - cur_r, ia);
    end
    assign rtrow[32*k +: 32] = rope ? vi.src2_addr + ts[63:32] * vi.src2_stride : '0;
    assign a3[32*k +: 32] = rope ? vi.src1_addr + lrow[32*k +: 32] * vi.src1_stride + (pc << sh1) : '0;
    assign a4[32*k +: 32] = rope ? rtrow[32*k +: 32] + ((rj[32*k +: 32] + half) << sh2) : '0;
  end
  always_comb begin
    for (int k = 0; k < LanesI; k++) begin
      a1[32*k +: 32] = vi.src1_addr + lrow[32*k +: 32] * vi.src1_stride + (lcol[32*k +: 32] << sh1);
      unique case (s2mode)
        S2Col0:  a2[32*k +: 32] = vi.src2_addr + lrow[32*k +: 32] * vi.src2_stride;
        S2Row0:  a2[32*k +: 32] = vi.src2_addr + (lcol[32*k +: 32] << sh2);
        S2Rope:  a2[32*k +: 32] = rtrow[32*k +: 32] + (rj[32*k +: 32] << sh2);
        default: a2[32*k +: 32] = vi.src2_addr + lrow[32*k +: 32] * vi.src2_stride + (lcol[32*k +: 32] << sh2);
      endcase
      a2c[32*k +: 32] = rope ? rtrow[32*k +: 32] + (lcol[32*k +: 32] << sh2) : a2[32*k +: 32];
      ad[32*k +: 32] = vi.dst_addr + lrow[32*k +: 32] * vi.dst_stride + (red ? 32'd0 : (lcol[32*k +: 32] << shd));
      // vtopk pass p writes value p (lane 0) and index p (lane 1) of the row's 2k words.
      if (topk && k == 0) ad[32*k +: 32] = vi.dst_addr + lrow[0 +: 32] * vi.dst_stride + (32'(cur_p) << 2);
      if (topk && k == 1) ad[32*k +: 32] = vi.dst_addr + lrow[0 +: 32] * vi.dst_stride + ((vi.iarg + 32'(cur_p)) << 2);
      e1[k] = issuing && use_s1 && lval[k];
      // A per-row scalar is read with the row's first beat only.
      e2[k] = issuing && s2mode != S2None && lval[k] && (s2mode != S2Col0 || row_first);
      ed[k] = issuing && !red && lval[k];
      e3[k] = e1[k] && rope;
      e4[k] = e2[k] && rope;
    end
  end

  // Each source is costed in its own tier: L1's banks, or the accumulator's.
  logic [7:0] cost1, cost2, costd, cost, cost1l, cost1a, cost2l, cost2a;
  vec_bank_cost #(.Lanes(Lanes), .Banks(L1Banks), .BankBytes(L1BankBytes))
    u_cost1 (.addr_i(a1), .en_i(acc1 ? '0 : e1), .bytes_i(s1_bytes_o), .cost_o(cost1l));
  vec_bank_cost #(.Lanes(Lanes), .Banks(AccBanks), .BankBytes(AccBankBytes))
    u_cost1a (.addr_i(a1), .en_i(acc1 ? e1 : '0), .bytes_i(s1_bytes_o), .cost_o(cost1a));
  vec_bank_cost #(.Lanes(Lanes), .Banks(L1Banks), .BankBytes(L1BankBytes))
    u_cost2 (.addr_i(a2c), .en_i(acc2 ? '0 : e2), .bytes_i(s2_bytes_o), .cost_o(cost2l));
  vec_bank_cost #(.Lanes(Lanes), .Banks(AccBanks), .BankBytes(AccBankBytes))
    u_cost2a (.addr_i(a2c), .en_i(acc2 ? e2 : '0), .bytes_i(s2_bytes_o), .cost_o(cost2a));
  assign cost1 = acc1 ? cost1a : cost1l;
  assign cost2 = acc2 ? cost2a : cost2l;
  vec_bank_cost #(.Lanes(Lanes), .Banks(L1Banks), .BankBytes(L1BankBytes))
    u_costd (.addr_i(ad), .en_i(ed), .bytes_i(3'd1 << shd), .cost_o(costd));
  always_comb begin
    cost = special ? 8'(SpecialCycles) : 8'd1;
    if (cost1 > cost) cost = cost1;
    if (cost2 > cost) cost = cost2;
    if (costd > cost) cost = costd;
  end

  // The beat's reads go out in its last cycle.
  logic beat_end;
  assign beat_end = issuing && cur_k + 8'd1 >= cost;
  assign s1_en_o = beat_end ? e1 : '0;
  assign s2_en_o = beat_end ? e2 : '0;
  assign s3_en_o = beat_end ? e3 : '0;
  assign s4_en_o = beat_end ? e4 : '0;
  assign s1_addr_o = a1;
  assign s2_addr_o = a2;
  assign s3_addr_o = a3;
  assign s4_addr_o = a4;

  // ---- beat record from the read to the data's arrival (L1Latency cycles) --------------
  typedef struct packed {
    logic valid;
    logic last;
    logic row_first;
    logic row_last;
    logic [Lanes-1:0] lval;
    logic [Lanes-1:0] mask;     // vmask: lanes whose result is -inf
    logic [Lanes-1:0] rneg;     // vrope: lanes that subtract the partner's product
    logic [31:0] c0;            // column of lane 0 (vargmax indices; reduction beats hold one row)
    logic first_pass;           // vtopk: no earlier pick of the row to stay below
    logic [Lanes*32-1:0] daddr;
  } beat_t;
  localparam int unsigned BeatW = 5 + 3 * Lanes + 32 + Lanes * 32;
  beat_t issue_rec, arr;
  always_comb begin
    issue_rec.valid = beat_end;
    issue_rec.last = last_beat;
    issue_rec.row_first = row_first;
    issue_rec.row_last = row_last;
    issue_rec.lval = lval;
    issue_rec.mask = mk;
    issue_rec.rneg = rneg;
    issue_rec.c0 = cur_c;
    issue_rec.first_pass = cur_p == '0;
    issue_rec.daddr = ad;
  end
  logic [BeatW-1:0] bq [L1Latency];
  assign arr = bq[L1Latency-1];

  // ---- lanes: results of the arriving beat -----------------------------------------------
  logic [31:0] scal_q;   // the row's src2 scalar (col0), for the row's later beats
  logic [Lanes*32-1:0] y, yl, yr;   // results: the lanes', vrope's, the one of the opcode
  logic [Lanes*32-1:0] lane_a, lane_b;
  logic [Lanes-1:0]    lane_en;   // lanes with an element of the arriving beat
  assign lane_en = arr.valid ? arr.lval : '0;
  logic [31:0] s2d0;   // lane 0's src2 element as FP32 (a row's col0 scalar)
  for (genvar k = 0; k < Lanes; k++) begin : g_operands
    logic [31:0] d1, d2;
    // Operands in other formats are decoded to FP32 as they arrive; only an arriving
    // element is decoded (the simulator skips the decoders otherwise).
    always_comb begin
      d1 = s1_data_i[32*k +: 32];
      d2 = s2_data_i[32*k +: 32];
      if (lane_en[k] && vi.src1_type != tessera_isa_pkg::DTYPE_FP32) d1 = cv_decode(vi.src1_type, s1_data_i[32*k +: 32]);
      if (lane_en[k] && vi.src2_type != tessera_isa_pkg::DTYPE_FP32) d2 = cv_decode(vi.src2_type, s2_data_i[32*k +: 32]);
    end
    if (k == 0) begin : g_s2d0
      assign s2d0 = d2;
    end
    // vrope: x*cos + (-)partner*sin, each product rounded, as the model computes it (only
    // for an arriving vrope element, the simulator skips the units otherwise).
    logic [31:0] r, d3, d4, pr;
    always_comb begin
      r = 32'd0;
      d3 = 32'd0;
      d4 = 32'd0;
      pr = 32'd0;
      if (rope && lane_en[k]) begin
        d3 = s3_data_i[32*k +: 32];
        d4 = s4_data_i[32*k +: 32];
        if (vi.src1_type != tessera_isa_pkg::DTYPE_FP32) d3 = cv_decode(vi.src1_type, d3);
        if (vi.src2_type != tessera_isa_pkg::DTYPE_FP32) d4 = cv_decode(vi.src2_type, d4);
        pr = fp32_mul_fn(d3, d4);
        r = fp32_add_fn(fp32_mul_fn(d1, d2), {pr[31] ^ arr.rneg[k], pr[30:0]});
      end
    end
    assign yr[32*k +: 32] = r;
    assign lane_a[32*k +: 32] = use_s1 ? d1 : vi.imm;
    assign lane_b[32*k +: 32] = cvt ? vi.imm : (s2mode == S2Col0 && !packed_rows && !arr.row_first) ? scal_q : d2;
  end
  for (genvar p = 0; p < Lanes / 2; p++) begin : g_lanes
    vec_lane_pair u_pair (.en_i(lane_en[2*p +: 2]), .fn_i(fn), .a_i(lane_a[64*p +: 64]), .b_i(lane_b[64*p +: 64]), .imm_i(vi.imm),
                          .imm2_i(vi.imm2), .y_o(yl[64*p +: 64]));
  end
  assign y = rope ? yr : yl;

  // ---- reductions: lane k folds elements k, k+L, ... of the row; then the halving tree ---
  logic [Lanes*32-1:0] acc_q, acc_next;
  logic [Lanes*32-1:0] aix_q, aix_next;   // vargmax: the column of each lane's value
  logic signed [32:0] pk_q;               // vtopk: key and column of the row's previous pick
  logic [31:0] pix_q;
  // tv holds the values of every tree level (level lv at bits lv*Lanes*32..); slots at or
  // above a level's count are never read. split_var: each level feeds the next, which the
  // simulator would otherwise schedule as a combinational loop through one variable.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [(Tail+1)*Lanes*32-1:0] tv /* verilator split_var */;
  logic [(Tail+1)*Lanes*32-1:0] ti /* verilator split_var */;   // vargmax: columns of tv
  /* verilator lint_on UNUSEDSIGNAL */
  for (genvar k = 0; k < Lanes; k++) begin : g_fold
    logic [31:0] sum, mx, old;
    assign old = acc_q[32*k +: 32];
    // Only a reduction's arriving element is added (the simulator skips the adder otherwise).
    always_comb begin
      sum = 32'd0;
      if (red && lane_en[k]) sum = fp32_add_fn(old, y[32*k +: 32]);
    end
    logic [31:0] el;
    logic signed [32:0] ko, ke;   // max_f32 keys: sign-magnitude order, -0 < +0
    assign el = y[32*k +: 32];
    assign ko = old[31] ? -$signed({2'b00, old[30:0]}) - 33'sd1 : $signed({2'b00, old[30:0]});
    assign ke = el[31] ? -$signed({2'b00, el[30:0]}) - 33'sd1 : $signed({2'b00, el[30:0]});
    assign mx = ((old[30:23] == 8'hFF && old[22:0] != 23'd0) || (el[30:23] == 8'hFF && el[22:0] != 23'd0))
                ? tessera_num_pkg::CANONICAL_NAN : (ke > ko ? el : old);
    // vargmax orders by the same keys with NaN above everything and keeps the value as it
    // is: the greater key wins, the lower column on a tie (a lane's columns rise, so that is
    // its earlier element; an empty lane sits at column 2^32 - 1 and loses every tie).
    // vtopk's later passes see only the elements below the previous pick in that order.
    logic signed [32:0] ao, ae;
    logic [31:0] ixo, ixe;
    logic has, take;
    assign ao = (old[30:23] == 8'hFF && old[22:0] != 23'd0) ? 33'sh0_FFFF_FFFF : ko;
    assign ae = (el[30:23] == 8'hFF && el[22:0] != 23'd0) ? 33'sh0_FFFF_FFFF : ke;
    assign ixo = aix_q[32*k +: 32];
    assign ixe = arr.c0 + 32'(k);
    assign has = arr.lval[k] && (!topk || arr.first_pass || ae < pk_q || (ae == pk_q && ixe > pix_q));
    assign take = ae > ao || (ae == ao && ixe < ixo);
    // A lane without an element of the row holds the empty value of docs/numerics.md §8
    // (for vargmax -inf at a column above every real one, so a real -inf wins the tie).
    assign acc_next[32*k +: 32] =
        !has          ? (arr.row_first ? (red_max ? NegInf : 32'd0) : old) :
        arr.row_first ? y[32*k +: 32] :
        arg           ? (take ? el : old) :
        red_max       ? mx : sum;
    assign aix_next[32*k +: 32] =
        !has          ? (arr.row_first ? 32'hFFFF_FFFF : ixo) :
        arr.row_first ? ixe :
        take          ? ixe : ixo;
    assign tv[32*k +: 32] = acc_next[32*k +: 32];
    assign ti[32*k +: 32] = aix_next[32*k +: 32];
  end
  for (genvar lv = 0; lv < Tail; lv++) begin : g_level
    // Values at this level: each level keeps ceil(count / 2), so ceil(Lanes / 2^lv).
    localparam int unsigned Cnt = (Lanes + (1 << lv) - 1) >> lv;
    localparam int unsigned Half = Cnt / 2;
    for (genvar i = 0; i < Lanes; i++) begin : g_node
      localparam int unsigned Src = (lv * Lanes + i) * 32;
      localparam int unsigned Dst = ((lv + 1) * Lanes + i) * 32;
      if (i < Half) begin : g_op
        localparam int unsigned Hi = (lv * Lanes + i + Half) * 32;
        logic [31:0] sum, mx, lo, hi, ilo, ihi;
        logic signed [32:0] kl, kh, al, ah;
        logic pick_hi;
        assign lo = tv[Src +: 32];
        assign hi = tv[Hi +: 32];
        assign ilo = ti[Src +: 32];
        assign ihi = ti[Hi +: 32];
        // The tree's result is written only at the end of a reduction's row.
        always_comb begin
          sum = 32'd0;
          if (red && arr.valid && arr.row_last) sum = fp32_add_fn(lo, hi);
        end
        assign kl = lo[31] ? -$signed({2'b00, lo[30:0]}) - 33'sd1 : $signed({2'b00, lo[30:0]});
        assign kh = hi[31] ? -$signed({2'b00, hi[30:0]}) - 33'sd1 : $signed({2'b00, hi[30:0]});
        assign mx = ((lo[30:23] == 8'hFF && lo[22:0] != 23'd0) || (hi[30:23] == 8'hFF && hi[22:0] != 23'd0))
                    ? tessera_num_pkg::CANONICAL_NAN : (kh > kl ? hi : lo);
        // vargmax: the greater key, the lower column on a tie (the halves interleave columns).
        assign al = (lo[30:23] == 8'hFF && lo[22:0] != 23'd0) ? 33'sh0_FFFF_FFFF : kl;
        assign ah = (hi[30:23] == 8'hFF && hi[22:0] != 23'd0) ? 33'sh0_FFFF_FFFF : kh;
        assign pick_hi = ah > al || (ah == al && ihi < ilo);
        assign tv[Dst +: 32] = arg ? (pick_hi ? hi : lo) : red_max ? mx : sum;
        assign ti[Dst +: 32] = pick_hi ? ihi : ilo;
      end else if (i == Half && Cnt % 2 == 1) begin : g_carry
        assign tv[Dst +: 32] = tv[(lv * Lanes + Cnt - 1) * 32 +: 32];
        assign ti[Dst +: 32] = ti[(lv * Lanes + Cnt - 1) * 32 +: 32];
      end else begin : g_unused
        assign tv[Dst +: 32] = 32'd0;
        assign ti[Dst +: 32] = 32'd0;
      end
    end
  end

  // ---- write records: formed when the data arrive, delayed to the write cycle ------------
  logic [Lanes*32-1:0] ym;   // the lanes' results, -inf where vmask masks, in the dst format
  logic [31:0] top_val;      // the tree's value; vtopk's pick, NaN canonical
  logic top_nan;
  assign top_val = top_nan ? tessera_num_pkg::CANONICAL_NAN : tv[Tail*Lanes*32 +: 32];
  assign top_nan = tv[Tail*Lanes*32 + 23 +: 8] == 8'hFF && tv[Tail*Lanes*32 +: 23] != 23'd0;
  // The pick's key, for the row's next pass.
  logic signed [32:0] top_key;
  assign top_key = top_nan ? 33'sh0_FFFF_FFFF
                 : tv[Tail*Lanes*32 + 31] ? -$signed({2'b00, tv[Tail*Lanes*32 +: 31]}) - 33'sd1
                                           : $signed({2'b00, tv[Tail*Lanes*32 +: 31]});
  for (genvar k = 0; k < Lanes; k++) begin : g_masked
    logic [31:0] m;
    always_comb begin
      m = arr.mask[k] ? NegInf : y[32*k +: 32];
      if (lane_en[k] && vi.dst_type != tessera_isa_pkg::DTYPE_FP32) m = cv_encode(vi.dst_type, m);
    end
    assign ym[32*k +: 32] = m;
  end
  // A row reduction's result in the dst format (encoded only when it is written).
  logic [31:0] red_out;
  always_comb begin
    red_out = tv[Tail*Lanes*32 +: 32];
    if (arr.valid && arr.row_last && vi.dst_type != tessera_isa_pkg::DTYPE_FP32)
      red_out = cv_encode(vi.dst_type, tv[Tail*Lanes*32 +: 32]);
  end
  typedef struct packed {
    logic valid;
    logic last;
    logic [Lanes-1:0] en;
    logic [Lanes*32-1:0] addr;
    logic [Lanes*32-1:0] data;
  } wr_t;
  localparam int unsigned WrW = 2 + Lanes + Lanes * 64;
  wr_t wrec, wout;
  always_comb begin
    wrec.valid = arr.valid;
    wrec.last = arr.last;
    wrec.addr = arr.daddr;
    if (topk) begin
      // Value (NaN canonical, as the ISA's semantics store it) and column of this pass's pick.
      wrec.en = {{(Lanes-2){1'b0}}, {2{arr.valid && arr.row_last}}};
      wrec.data = {{((Lanes-2)*32){1'b0}}, ti[Tail*Lanes*32 +: 32], top_val};
    end else if (red) begin
      wrec.en = {{(Lanes-1){1'b0}}, arr.valid && arr.row_last};
      wrec.data = {{((Lanes-1)*32){1'b0}}, arg ? ti[Tail*Lanes*32 +: 32] : red_out};
    end else begin
      wrec.en = arr.valid ? arr.lval : '0;
      wrec.data = ym;
    end
  end
  logic [WrW-1:0] wq [DelayR];
  assign wout = red ? wq[DelayRI-1] : wq[DelayEI-1];
  assign done_o = wout.valid && wout.last;
  assign d_en_o = wout.valid ? wout.en : '0;
  assign d_addr_o = wout.addr;
  assign d_bytes_o = 3'd1 << shd;
  assign d_data_o = wout.data;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0; iss_q <= 1'b0; err_q <= 1'b0; word_q <= '0;
      r_q <= '0; c_q <= '0; p_q <= '0; k_q <= '0; scal_q <= '0; acc_q <= '0; aix_q <= '0;
      tq_q <= '0; mq_q <= '0;
      pk_q <= '0; pix_q <= '0;
      for (int i = 0; i < L1LatencyI; i++) bq[i] <= '0;
      for (int i = 0; i < DelayRI; i++) wq[i] <= '0;
    end else begin
      if (accept) begin
        busy_q <= 1'b1;
        word_q <= word_i;
      end
      if (start_i && !busy_q && !supported) err_q <= 1'b1;
      if (issuing) begin
        if (beat_end) begin
          r_q <= next_r; c_q <= next_c; p_q <= next_p; k_q <= '0; iss_q <= !last_beat;
          {tq_q, mq_q} <= rope ? table_step(cur_t, cur_m, next_r - cur_r, ia) : 64'd0;
        end else begin
          r_q <= cur_r; c_q <= cur_c; p_q <= cur_p; k_q <= cur_k + 8'd1; iss_q <= 1'b1;
          tq_q <= cur_t; mq_q <= cur_m;
        end
      end
      bq[0] <= issue_rec;
      for (int i = 1; i < L1LatencyI; i++) bq[i] <= bq[i-1];
      if (arr.valid && arr.row_first) scal_q <= s2d0;
      if (arr.valid && red) acc_q <= acc_next;
      if (arr.valid && arg) aix_q <= aix_next;
      if (arr.valid && topk && arr.row_last) begin
        pk_q <= top_key;
        pix_q <= ti[Tail*Lanes*32 +: 32];
      end
      // The records of a finished instruction are flushed: a reduction taps the line
      // later than an elementwise op, so leftovers would otherwise surface as writes.
      if (done_o) begin
        busy_q <= 1'b0;
        for (int i = 0; i < DelayRI; i++) wq[i] <= '0;
      end else begin
        wq[0] <= wrec;
        for (int i = 1; i < DelayRI; i++) wq[i] <= wq[i-1];
      end
    end
  end
endmodule
