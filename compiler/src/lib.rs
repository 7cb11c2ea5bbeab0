//! The weft compiler as a library: everything but the LLVM backend
//! (weft-llvm) and the command line (weft-cli).
pub mod front;
#[cfg(any(test, feature = "testing"))]
pub mod fuzz;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod kernel;
pub mod ops;
pub mod passes;
pub mod pipeline;
