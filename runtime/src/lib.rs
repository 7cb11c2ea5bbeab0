//! The weft runtime: everything a running weft program needs that is not the
//! program itself.  It is linked into every executable `weft build` makes and
//! used by `weft run`, so both behave the same.  It depends on no other crate.
//!
//! - [`npy`]: reading and writing NumPy `.npy` files;
//! - [`flags`]: the RUN FLAGS (`--input`, `--steps`, ...) and their messages;
//! - [`rng`]: counter-based random numbers, identical on every backend;
//! - [`print`](mod@print): printing outputs the way NumPy prints arrays;
//! - [`half`]: IEEE half-precision conversions;
//! - [`error`]: [`RunError`], an error with its process exit status;
//! - [`program`]: the descriptor of a built program (docs/abi.md) and its parser;
//! - [`feed`]: the values a run supplies at each step (`step`, `batch` rows,
//!   per-step random values);
//! - [`dist`]: distributed runs on Open MPI, loaded at run time (section 13);
//! - [`bind`]: binding `--input`/`--param` data to a program's declared types,
//!   with the run-time data checks shared by `weft run` and built programs.

pub mod atomic;
pub mod bind;
pub mod buf;
pub mod checkpoint;
pub mod cpu;
pub mod dist;
pub mod driver;
pub mod error;
pub mod feed;
pub mod flags;
pub mod half;
pub mod logcsv;
pub mod manifest;
pub mod mmap;
pub mod npy;
pub mod print;
pub mod profile;
pub mod program;
pub mod rng;
pub mod session;
pub mod stepper;

/// The largest `batch * m * k * n` of a float matrix product computed by
/// the small-product rule (docs/abi.md): each output element starts at 0 and
/// accumulates `fma(a[i, p], b[p, j], acc)` for `p` in order. Larger ones
/// call the `gemm` crate. Compiled code inlines the rule and the runtime's
/// GEMM entry points apply it, so every engine gives the same bits.
pub const SMALL_GEMM_WORK: u64 = 1 << 15;

pub use error::{Exit, RunError};
pub use flags::{parse_run_flags, usage_text, FlagSpec, InputArg, RunArgs, ScalarLit, UsageError};
pub use npy::{
    read_npy, read_npy_file, write_npy, write_npy_file, DType, Data, NpyArray, NpyError,
};
pub use print::{format_array, format_output};
