// Banked SRAM (the model's Sram; the core's L1): Banks banks interleaved every BankBytes
// bytes, byte a in line floor(a / BankBytes) and bank (line mod Banks), with client ports as
// docs/timing.md "SRAM accesses and bank conflicts" describes: one access of a port (a
// contiguous range of 1..PortBytes bytes) needs `lines` lines and takes c = ceil(lines / Banks)
// windows, one per cycle in which the port is granted its banks; a window reads or writes
// Banks consecutive lines (one per bank). The port takes no new request (ready low) until its
// last window. PortKind is the tier's `ports` key (docs/timing.md "SRAM ports and arbitration"):
// per_client (0), every client its own port, every window granted; single_port (1), each bank
// one read or one write per cycle; two_port (2), one read and one write; dual_port (3), two of
// either. Clients arbitrate round-robin: read ports 0..NumRd-1 then write ports 0..NumWr-1 are
// clients 0..N-1, and in the cycle k after reset client (k mod N) has priority, then the next
// ones in turn; a client is granted when every bank its window touches has a port left, else
// it keeps its window for the next cycle. Read data return Latency cycles after the access's last cycle (ports marked
// in RdFast: one cycle, the operand ports of a matrix engine, whose formulas in docs/timing.md
// have operands "arrive one cycle after they are read"). Writes take effect in their cycle.
// Each bank is one inferred memory (`logic [W-1:0] mem [Depth]`, no reset) with one read
// port per client read port and one write port per client write port. Addresses wrap
// modulo Bytes.
module sram #(
  parameter int unsigned Bytes = 65536,       // l1.bytes (Banks * BankBytes * a power of two)
  parameter int unsigned Banks = 4,           // l1.banks (power of two)
  parameter int unsigned BankBytes = 16,      // l1.bank_width (power of two)
  parameter int unsigned Latency = 2,         // l1.latency (>= 1)
  parameter int unsigned NumRd = 1,
  parameter int unsigned NumWr = 1,
  parameter int unsigned PortBytes = 16,      // widest access of a port
  parameter int unsigned RdFast = 0,          // bit p set: read port p has one cycle of latency
  parameter int unsigned PortKind = 0         // 0 per_client, 1 single_port, 2 two_port, 3 dual_port
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic [NumRd-1:0]             rd_req_i,
  output logic [NumRd-1:0]             rd_ready_o,
  input  logic [NumRd*32-1:0]          rd_addr_i,
  input  logic [NumRd*8-1:0]           rd_bytes_i,     // 1..PortBytes
  output logic [NumRd-1:0]             rd_valid_o,
  output logic [NumRd*PortBytes*8-1:0] rd_data_o,      // byte i = address + i (i < bytes)
  input  logic [NumWr-1:0]             wr_req_i,
  output logic [NumWr-1:0]             wr_ready_o,
  input  logic [NumWr*32-1:0]          wr_addr_i,
  input  logic [NumWr*8-1:0]           wr_bytes_i,
  input  logic [NumWr*PortBytes*8-1:0] wr_data_i
);
  localparam int unsigned W = BankBytes;
  localparam int unsigned WB = W * 8;
  localparam int unsigned Depth = Bytes / (Banks * W);
  localparam int unsigned RowW = $clog2(Depth);
  localparam int unsigned LineW = $clog2(Bytes / W);
  localparam int unsigned OffW = $clog2(W);
  localparam int unsigned BankW = Banks > 1 ? $clog2(Banks) : 1;
  localparam int unsigned MaxLines = (W - 1 + PortBytes - 1) / W + 1;  // of one range of PortBytes bytes
  localparam int unsigned MaxCost = (MaxLines + Banks - 1) / Banks;
  localparam int unsigned BufLines = MaxCost * Banks;
  localparam int unsigned CW = $clog2(MaxCost + 1);
  localparam int unsigned NW = $clog2(MaxLines + 1);
  localparam int unsigned PB = PortBytes * 8;
  localparam int BanksI = Banks;
  localparam int WI = W;
  localparam int PortBytesI = PortBytes;
  localparam int unsigned BufBits = BufLines * WB;
  localparam int unsigned LIW = CW + BankW + 1;

  // ---- one access: its first line, line count, cost ---------------------------------------
  function automatic logic [LineW-1:0] first_line(input logic [31:0] a);
    first_line = LineW'(a / W);
  endfunction
  function automatic logic [NW-1:0] lines_of(input logic [31:0] a, input logic [7:0] n);
    lines_of = NW'((a % W + 32'(n) - 32'd1) / W + 32'd1);
  endfunction
  function automatic logic [CW-1:0] cost_of(input logic [NW-1:0] lines);
    cost_of = CW'((32'(lines) + Banks - 32'd1) / Banks);
  endfunction
  // Row (index within its bank) of line i of an access starting at line l0, and whether
  // bank b serves a line of window j: line i = j * Banks + ((b - l0) mod Banks).
  function automatic logic [CW+BankW:0] line_index(input logic [LineW-1:0] l0, input int unsigned b,
                                                   input logic [CW-1:0] j);
    line_index = LIW'(32'(j) * Banks + ((b + Banks - 32'(l0) % Banks) % Banks));
  endfunction

  // ---- per-port access state (accepted request, windows left) ----------------------------
  logic [NumRd-1:0]            ra_q;      // an access with windows left after this cycle's
  logic [LineW-1:0]            rl0_q [NumRd];
  logic [NW-1:0]               rlines_q [NumRd];
  logic [CW-1:0]               rc_q [NumRd], rj_q [NumRd];
  logic [OffW-1:0]             roff_q [NumRd];
  logic [NumWr-1:0]            wa_q;
  logic [LineW-1:0]            wl0_q [NumWr];
  logic [NW-1:0]               wlines_q [NumWr];
  logic [CW-1:0]               wc_q [NumWr], wj_q [NumWr];
  logic [BufLines*WB-1:0]      wbuf_q [NumWr];   // write data shifted to line alignment
  logic [BufLines*W-1:0]       wen_q [NumWr];

  // The window each port works on this cycle: a new request's first, or the held access's next
  // (r_act); r_go when the port is granted its banks for it.
  logic [NumRd-1:0]            r_act, r_go, r_gnt, r_last;
  // The banks each window touches: the arbiter's input (unused with per-client ports).
  /* verilator lint_off UNUSEDSIGNAL */
  logic [Banks-1:0]            r_mask [NumRd];
  logic [Banks-1:0]            w_mask [NumWr];
  /* verilator lint_on UNUSEDSIGNAL */
  logic [LineW-1:0]            r_l0 [NumRd];
  logic [NW-1:0]               r_lines [NumRd];
  logic [CW-1:0]               r_j [NumRd], r_c [NumRd];
  logic [OffW-1:0]             r_off [NumRd];
  logic [NumWr-1:0]            w_act, w_go, w_gnt;
  logic [LineW-1:0]            w_l0 [NumWr];
  logic [NW-1:0]               w_lines [NumWr];
  logic [CW-1:0]               w_j [NumWr], w_c [NumWr];
  logic [BufLines*WB-1:0]      w_buf [NumWr];
  logic [BufLines*W-1:0]       w_en [NumWr];

  always_comb begin
    for (int p = 0; p < NumRd; p++) begin
      rd_ready_o[p] = !ra_q[p];
      if (ra_q[p]) begin
        r_act[p] = 1'b1;
        r_l0[p] = rl0_q[p]; r_lines[p] = rlines_q[p]; r_c[p] = rc_q[p]; r_j[p] = rj_q[p]; r_off[p] = roff_q[p];
      end else if (rd_req_i[p]) begin
        r_act[p] = 1'b1;
        r_l0[p] = first_line(rd_addr_i[p*32 +: 32]);
        r_lines[p] = lines_of(rd_addr_i[p*32 +: 32], rd_bytes_i[p*8 +: 8]);
        r_c[p] = cost_of(r_lines[p]);
        r_j[p] = '0;
        r_off[p] = OffW'(rd_addr_i[p*32 +: 32] % W);
      end else begin
        // An idle port (most of them, most cycles): nothing to compute.
        r_act[p] = 1'b0;
        r_l0[p] = '0; r_lines[p] = '0; r_c[p] = CW'(1); r_j[p] = '0; r_off[p] = '0;
      end
      r_last[p] = r_j[p] == r_c[p] - CW'(1);
      for (int b = 0; b < BanksI; b++)
        r_mask[p][b] = r_act[p] && 32'(line_index(r_l0[p], 32'(b), r_j[p])) < 32'(r_lines[p]);
    end
    for (int p = 0; p < NumWr; p++) begin
      wr_ready_o[p] = !wa_q[p];
      if (wa_q[p]) begin
        w_act[p] = 1'b1;
        w_l0[p] = wl0_q[p]; w_lines[p] = wlines_q[p]; w_c[p] = wc_q[p]; w_j[p] = wj_q[p];
        w_buf[p] = wbuf_q[p]; w_en[p] = wen_q[p];
      end else if (!wr_req_i[p]) begin
        w_act[p] = 1'b0;
        w_l0[p] = '0; w_lines[p] = '0; w_c[p] = CW'(1); w_j[p] = '0; w_buf[p] = '0; w_en[p] = '0;
      end else begin
        w_act[p] = 1'b1;
        w_l0[p] = first_line(wr_addr_i[p*32 +: 32]);
        w_lines[p] = lines_of(wr_addr_i[p*32 +: 32], wr_bytes_i[p*8 +: 8]);
        w_c[p] = cost_of(w_lines[p]);
        w_j[p] = '0;
        w_buf[p] = BufBits'(wr_data_i[p*PB +: PB]) << (8 * (wr_addr_i[p*32 +: 32] % W));
        w_en[p] = '0;
        for (int k = 0; k < PortBytesI; k++)
          if (k < 32'(wr_bytes_i[p*8 +: 8])) w_en[p][32'(k) + wr_addr_i[p*32 +: 32] % W] = 1'b1;
      end
      for (int b = 0; b < BanksI; b++)
        w_mask[p][b] = w_act[p] && 32'(line_index(w_l0[p], 32'(b), w_j[p])) < 32'(w_lines[p]);
    end
  end

  // ---- arbitration --------------------------------------------------------------------------
  if (PortKind == 0) begin : g_per_client
    assign r_gnt = '1;
    assign w_gnt = '1;
  end else begin : g_arbiter
    localparam int NC = NumRd + NumWr;
    localparam int unsigned RrW = NC > 1 ? $clog2(NC) : 1;
    logic [RrW-1:0] rr_q;
    logic [Banks-1:0] used1, used2, used_r, used_w;
    always_comb begin
      used1 = '0; used2 = '0; used_r = '0; used_w = '0;
      r_gnt = '0;
      w_gnt = '0;
      // Clients in priority order k = 0..NC-1: client c has rank (c - rr_q) mod NC.
      for (int k = 0; k < NC; k++) begin
        for (int c = 0; c < NC; c++) begin
          if ((c + NC - 32'(rr_q)) % NC == k) begin
            if (c < NumRd) begin
              if (r_act[c % NumRd]) begin
                if (PortKind == 2) begin
                  if ((r_mask[c % NumRd] & used_r) == '0) begin
                    r_gnt[c % NumRd] = 1'b1;
                    used_r = used_r | r_mask[c % NumRd];
                  end
                end else if (PortKind == 3) begin
                  if ((r_mask[c % NumRd] & used2) == '0) begin
                    r_gnt[c % NumRd] = 1'b1;
                    used2 = used2 | (used1 & r_mask[c % NumRd]);
                    used1 = used1 | r_mask[c % NumRd];
                  end
                end else if ((r_mask[c % NumRd] & used1) == '0) begin
                  r_gnt[c % NumRd] = 1'b1;
                  used1 = used1 | r_mask[c % NumRd];
                end
              end
            end else if (w_act[(c - NumRd) % NumWr]) begin
              if (PortKind == 2) begin
                if ((w_mask[(c - NumRd) % NumWr] & used_w) == '0) begin
                  w_gnt[(c - NumRd) % NumWr] = 1'b1;
                  used_w = used_w | w_mask[(c - NumRd) % NumWr];
                end
              end else if (PortKind == 3) begin
                if ((w_mask[(c - NumRd) % NumWr] & used2) == '0) begin
                  w_gnt[(c - NumRd) % NumWr] = 1'b1;
                  used2 = used2 | (used1 & w_mask[(c - NumRd) % NumWr]);
                  used1 = used1 | w_mask[(c - NumRd) % NumWr];
                end
              end else if ((w_mask[(c - NumRd) % NumWr] & used1) == '0) begin
                w_gnt[(c - NumRd) % NumWr] = 1'b1;
                used1 = used1 | w_mask[(c - NumRd) % NumWr];
              end
            end
          end
        end
      end
    end
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) rr_q <= '0;
      else rr_q <= 32'(rr_q) == NC - 1 ? '0 : rr_q + RrW'(1);
    end
  end
  assign r_go = r_act & r_gnt;
  assign w_go = w_act & w_gnt;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ra_q <= '0;
      wa_q <= '0;
      for (int p = 0; p < NumRd; p++) begin
        rl0_q[p] <= '0; rlines_q[p] <= '0; rc_q[p] <= '0; rj_q[p] <= '0; roff_q[p] <= '0;
      end
      for (int p = 0; p < NumWr; p++) begin
        wl0_q[p] <= '0; wlines_q[p] <= '0; wc_q[p] <= '0; wj_q[p] <= '0; wbuf_q[p] <= '0; wen_q[p] <= '0;
      end
    end else begin
      for (int p = 0; p < NumRd; p++) begin
        ra_q[p] <= r_act[p] && !(r_gnt[p] && r_last[p]);
        rl0_q[p] <= r_l0[p]; rlines_q[p] <= r_lines[p]; rc_q[p] <= r_c[p]; roff_q[p] <= r_off[p];
        rj_q[p] <= r_gnt[p] ? r_j[p] + CW'(1) : r_j[p];
      end
      for (int p = 0; p < NumWr; p++) begin
        wa_q[p] <= w_act[p] && !(w_gnt[p] && w_j[p] == w_c[p] - CW'(1));
        wl0_q[p] <= w_l0[p]; wlines_q[p] <= w_lines[p]; wc_q[p] <= w_c[p];
        wbuf_q[p] <= w_buf[p]; wen_q[p] <= w_en[p];
        wj_q[p] <= w_gnt[p] ? w_j[p] + CW'(1) : w_j[p];
      end
    end
  end

  // ---- banks ------------------------------------------------------------------------------------
  // Bank b, window j: line index i = line_index(l0, b, j) of the access, row (l0 + i) / Banks.
  // Registered read data: bank b, read port p at bits (b * NumRd + p) * WB.
  logic [Banks*NumRd*WB-1:0] q;
  for (genvar b = 0; b < Banks; b++) begin : g_bank
    logic [WB-1:0] mem [Depth];
    logic [NumRd*WB-1:0] qb;
    logic [RowW-1:0] rrow [NumRd];
    logic [RowW-1:0] wrow [NumWr];
    logic [NumWr-1:0] wsel;
    logic [W-1:0] wbe [NumWr];
    logic [WB-1:0] wdat [NumWr];
    // Only ports with an access this cycle are addressed and read.
    always_comb begin
      for (int p = 0; p < NumRd; p++)
        rrow[p] = r_go[p] ? RowW'((32'(r_l0[p]) + 32'(line_index(r_l0[p], b, r_j[p]))) / Banks) : '0;
      for (int p = 0; p < NumWr; p++) begin
        wrow[p] = '0;
        wsel[p] = 1'b0;
        wbe[p] = '0;
        wdat[p] = '0;
        if (w_go[p]) begin
          wrow[p] = RowW'((32'(w_l0[p]) + 32'(line_index(w_l0[p], b, w_j[p]))) / Banks);
          wsel[p] = 32'(line_index(w_l0[p], b, w_j[p])) < 32'(w_lines[p]);
          wbe[p] = w_en[p][32'(line_index(w_l0[p], b, w_j[p])) % BufLines * W +: W];
          wdat[p] = w_buf[p][32'(line_index(w_l0[p], b, w_j[p])) % BufLines * WB +: WB];
        end
      end
    end
    always_ff @(posedge clk_i) begin
      for (int p = 0; p < NumWr; p++)
        for (int k = 0; k < WI; k++)
          if (wsel[p] && wbe[p][k]) mem[wrow[p]][8*k +: 8] <= wdat[p][8*k +: 8];
      for (int p = 0; p < NumRd; p++)
        if (r_go[p]) qb[p*WB +: WB] <= mem[rrow[p]];
    end
    assign q[b*NumRd*WB +: NumRd*WB] = qb;
  end

  // ---- read assembly: the lines of an access in order, then shifted to its first byte ------
  logic [NumRd-1:0]       m_valid_q, m_last_q;    // a window was read last cycle
  logic [CW-1:0]          m_j_q [NumRd];
  logic [LineW-1:0]       m_l0_q [NumRd];
  logic [OffW-1:0]        m_off_q [NumRd];
  logic [BufLines*WB-1:0] rbuf_q [NumRd];
  logic [BufLines*WB-1:0] merged [NumRd];
  logic [PB-1:0]          result [NumRd];
  always_comb begin
    for (int p = 0; p < NumRd; p++) begin
      merged[p] = rbuf_q[p];
      result[p] = '0;
      if (m_valid_q[p]) begin
        for (int b = 0; b < BanksI; b++)
          merged[p][32'(line_index(m_l0_q[p], 32'(b), m_j_q[p])) % BufLines * WB +: WB] = q[(b * NumRd + p) * WB +: WB];
        result[p] = PB'(merged[p] >> (8 * 32'(m_off_q[p])));
      end
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_valid_q <= '0; m_last_q <= '0;
      for (int p = 0; p < NumRd; p++) begin
        m_j_q[p] <= '0; m_l0_q[p] <= '0; m_off_q[p] <= '0; rbuf_q[p] <= '0;
      end
    end else begin
      m_valid_q <= r_go;
      m_last_q <= r_go & r_last;
      for (int p = 0; p < NumRd; p++) begin
        m_j_q[p] <= r_j[p]; m_l0_q[p] <= r_l0[p]; m_off_q[p] <= r_off[p];
        if (m_valid_q[p]) rbuf_q[p] <= merged[p];
      end
    end
  end

  // ---- Latency - 1 more stages (none for RdFast ports) --------------------------------------
  for (genvar p = 0; p < NumRd; p++) begin : g_rd_out
    if (((RdFast >> p) & 1) != 0 || Latency == 1) begin : g_fast
      assign rd_valid_o[p] = m_last_q[p];
      assign rd_data_o[p*PB +: PB] = result[p];
    end else begin : g_pipe
      logic [Latency-2:0] v_q;
      logic [PB-1:0]      d_q [Latency-1];
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          v_q <= '0;
          for (int s = 0; s < Latency - 1; s++) d_q[s] <= '0;
        end else begin
          v_q[0] <= m_last_q[p];
          if (m_last_q[p]) d_q[0] <= result[p];
          for (int s = 1; s < Latency - 1; s++) begin
            v_q[s] <= v_q[s-1];
            if (v_q[s-1]) d_q[s] <= d_q[s-1];
          end
        end
      end
      assign rd_valid_o[p] = v_q[Latency-2];
      assign rd_data_o[p*PB +: PB] = d_q[Latency-2];
    end
  end
endmodule
