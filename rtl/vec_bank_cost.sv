// Cycles one beat of one vector-engine port takes in a banked SRAM (docs/timing.md, "SRAM
// accesses and bank conflicts"): the largest number of distinct lines the beat needs from
// one bank. The beat is given as the byte address of each enabled lane's element, all of
// `bytes_i` bytes (1, 2 or 4); the lines of the beat's byte ranges are exactly the lines of
// their elements' first and last bytes (an element never skips a line), and a line two
// lanes share is counted once.
// Banks and BankBytes are powers of two. 0 when no lane is enabled.
module vec_bank_cost #(
  parameter int unsigned Lanes = 8,
  parameter int unsigned Banks = 4,
  parameter int unsigned BankBytes = 16
) (
  input  logic [Lanes*32-1:0] addr_i,
  input  logic [Lanes-1:0]    en_i,
  input  logic [2:0]          bytes_i,
  output logic [7:0]          cost_o
);
  localparam int unsigned N = 2 * Lanes;
  localparam int unsigned LineShift = $clog2(BankBytes);
  localparam logic [31:0] BankMask = 32'(Banks - 1);
  // Signed copies for loop bounds (Yosys 0.23 reads no int'() casts).
  localparam int LanesI = Lanes;
  localparam int NI = N;
  localparam int BanksI = Banks;

  logic [N*32-1:0] line;
  logic [N-1:0]    val, first;
  logic [Banks*8-1:0] cnt;

  // Only a beat with an enabled lane is costed (the simulator skips idle ports).
  always_comb begin
    line = '0;
    val = '0;
    first = '0;
    cnt = '0;
    cost_o = 8'd0;
    if (|en_i) begin
      for (int i = 0; i < LanesI; i++) begin
        line[64*i +: 32] = addr_i[32*i +: 32] >> LineShift;
        line[64*i + 32 +: 32] = (addr_i[32*i +: 32] + 32'(bytes_i) - 32'd1) >> LineShift;
        val[2*i] = en_i[i];
        val[2*i+1] = en_i[i];
      end
      for (int i = 0; i < NI; i++) begin
        first[i] = val[i];
        for (int j = 0; j < NI; j++)
          if (j < i && val[j] && line[32*j +: 32] == line[32*i +: 32]) first[i] = 1'b0;
      end
      for (int b = 0; b < BanksI; b++)
        for (int i = 0; i < NI; i++)
          if (first[i] && (line[32*i +: 32] & BankMask) == 32'(b)) cnt[8*b +: 8] = cnt[8*b +: 8] + 8'd1;
      for (int b = 0; b < BanksI; b++)
        if (cnt[8*b +: 8] > cost_o) cost_o = cnt[8*b +: 8];
    end
  end
endmodule
