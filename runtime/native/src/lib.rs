//! The runtime functions compiled kernels call (docs/abi.md, "Symbols the
//! runtime provides"): `weft_rt_gemm_*` and `weft_rt_fill_*` ([`rt`]),
//! `weft_rt_conv2d_*` ([`conv`]), `weft_rt_parallel_for` ([`par`]) and
//! `weft_rt_allreduce_v1` ([`collective`]).
//!
//! One crate for every engine: built executables link it (through
//! `weft-runtime-exe`'s static library), and `weft run`'s kernel
//! interpreter and Cranelift JIT call the very same functions, so a matrix
//! product gives the same bits whichever tier runs it.

pub mod collective;
pub mod conv;
pub mod gemm;
pub mod par;
pub mod rt;
