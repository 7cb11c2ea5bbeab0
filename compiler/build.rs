//! Links the `weft` executable as position-dependent code (`-no-pie`).
//!
//! LLVM is linked statically; as a PIE, the dynamic loader would apply
//! hundreds of thousands of relocations at every start (`weft check` took
//! 11 ms instead of 8.5 ms; with `libLLVM.so` it took 28 ms). A
//! position-dependent executable needs none. Test binaries stay PIE.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
