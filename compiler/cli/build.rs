//! Links both executables, `weft` and `weft-build`, as position-dependent
//! code (`-no-pie`): the dynamic loader then applies almost no relocations
//! at start. Test binaries stay PIE.
//!
//! - `weft-build` links LLVM statically: as a PIE, the loader would apply
//!   hundreds of thousands of relocations at every start (when `weft` still
//!   held LLVM, `weft check` took 11 ms as a PIE against 8.5 ms without;
//!   with `libLLVM.so` 28 ms).
//! - `weft`, without LLVM, matters less but still gains: 134 relocations
//!   instead of 10,000 and 113 page faults instead of 145; `weft explain
//!   E0302` took 2.6 ms instead of 3.0 ms, `weft check examples/mlp.weft`
//!   4.0 ms instead of 4.3 ms (release build, 500 runs each).

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
