//! The weft compiler as a library: everything but the command line.
pub mod front;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod kernel;
pub mod llvm;
pub mod passes;
