//! The weft compiler as a library: everything but the command line.
pub mod ir;
pub mod passes;
