#!/usr/bin/env bash
# Command-line tests of `tessera asm` and `tessera disasm`: exit codes and messages.
# usage: cli_test.sh TESSERA SAMPLE.s WORKDIR CASE
set -u
tessera=$1 sample=$2 work=$3 case=$4
mkdir -p "$work/$case" && cd "$work/$case" || exit 1

fail() { echo "FAIL ($case): $*"; exit 1; }
# expect_error STATUS NEEDLE CMD...: the command exits with STATUS and stderr contains NEEDLE.
expect_error() {
  local want=$1 needle=$2; shift 2
  "$@" >out.txt 2>err.txt
  local got=$?
  [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want; stderr: $(cat err.txt)"
  grep -qF -- "$needle" err.txt || fail "$* stderr lacks '$needle': $(cat err.txt)"
}
asm_ok() { "$tessera" asm "$@" >/dev/null 2>err.txt || fail "tessera asm $* failed: $(cat err.txt)"; }

case $case in
  roundtrip)
    asm_ok "$sample" -o a.tbin
    "$tessera" disasm a.tbin -o b.s || fail "disasm failed"
    asm_ok b.s -o b.tbin
    cmp a.tbin b.tbin || fail "asm -> disasm -> asm changed the bytes"
    "$tessera" disasm b.tbin --arch tiny > c.s || fail "disasm --arch tiny failed"
    cmp b.s c.s || fail "disasm to stdout differs from -o"
    ;;
  corrupted)
    asm_ok "$sample" -o a.tbin
    size=$(stat -c %s a.tbin)
    cp a.tbin bad.tbin
    # Flip one bit in the middle of the payload.
    byte=$(od -An -tu1 -j $((size / 2)) -N1 bad.tbin | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 16)))" | dd of=bad.tbin bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
    expect_error 2 "bad.tbin: corrupted: checksum mismatch" "$tessera" disasm bad.tbin
    ;;
  truncated)
    asm_ok "$sample" -o a.tbin
    size=$(stat -c %s a.tbin)
    head -c $((size - 100)) a.tbin > short.tbin
    expect_error 2 "short.tbin: truncated: expected $size bytes, file has $((size - 100))" "$tessera" disasm short.tbin
    ;;
  not_a_program)
    cp "$sample" prog.tbin
    expect_error 2 "prog.tbin: not a Tessera program" "$tessera" disasm prog.tbin
    expect_error 2 "missing.tbin: cannot read" "$tessera" disasm missing.tbin
    ;;
  wrong_version)
    asm_ok "$sample" -o a.tbin
    cp a.tbin v.tbin
    printf '\x07' | dd of=v.tbin bs=1 seek=8 conv=notrunc 2>/dev/null
    expect_error 2 "v.tbin: unsupported .tbin format version 7" "$tessera" disasm v.tbin
    ;;
  foreign_arch)
    asm_ok "$sample" -o a.tbin
    expect_error 2 "a.tbin: program built for architecture 'tiny'" "$tessera" disasm a.tbin --arch sohu-like
    ;;
  arch_directive)
    # The sample says .arch tiny: assembling it for another architecture is refused.
    expect_error 2 ":3: .arch tiny (fingerprint" "$tessera" asm "$sample" -o x.tbin --arch sohu-like
    # Without .arch and --arch the default is tiny.
    printf 'matmul mx0 m=1 k=1 n=1\nhalt\n' > plain.s
    "$tessera" asm plain.s -o plain.tbin > out.txt || fail "plain.s did not assemble"
    grep -q "for tiny" out.txt || fail "default architecture is not tiny: $(cat out.txt)"
    ;;
  bad_source)
    printf 'halt\nmatmul mx0 m=70000\n' > bad.s
    expect_error 2 "bad.s:2: field m: value 70000 does not fit 16 bits" "$tessera" asm bad.s -o x.tbin
    printf 'matmul mx0 m=1 k=9 n=1\nhalt\n' > invalid.s
    expect_error 2 "instruction #0 (matmul): ws: k = 9 exceeds matrix.rows = 8 [check: matmul_shape]" \
      "$tessera" asm invalid.s -o x.tbin
    [ ! -e x.tbin ] || fail "a rejected program was written"
    expect_error 2 "nothere.s: cannot read" "$tessera" asm nothere.s -o x.tbin
    expect_error 2 "output" "$tessera" asm bad.s
    ;;
  *) fail "unknown case" ;;
esac
echo "ok ($case)"
