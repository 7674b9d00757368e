# A legal vfill of 65535 x 65535 elements (issue 17): its functional semantics buffer 16 GiB of
# results, which `tessera sim --mode functional` must refuse up front instead of dying in
# std::bad_alloc. Every row lands on the same HBM row (stride 0), so the program itself is small.
.arch tiny
.section text chip=0 core=0
  vfill vec dst_space=hbm dst_type=fp8_e4m3 dst_addr=0x0 dst_stride=0 acc_engine=0 rows=65535 cols=65535 imm=0.125
  halt
