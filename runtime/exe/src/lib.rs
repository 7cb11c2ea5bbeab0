//! The runtime half of a built program (docs/abi.md): a static library that
//! `weft build` links with the program object.
//!
//! - `main` ([`entry`]): parses the run flags (those of `weft run`, but
//!   `--set`), reads the program's descriptor, binds the data through
//!   `weft_runtime::bind` (so messages and exit statuses are exactly those
//!   of `weft run`), runs `weft_step` once per step and prints or writes the
//!   outputs ([`driver`]);
//! - the functions the program object calls, from `weft-runtime-native`
//!   ([`rt`], [`par`]): `weft_rt_gemm_*` (the `gemm` crate),
//!   `weft_rt_fill_*` (`weft_runtime::rng`) and `weft_rt_parallel_for`
//!   (rayon's pool).
//!
//! `main` is a plain C `main` defined here with `#[no_mangle]`: the C
//! runtime's start files call it, and Rust's standard library works without
//! its own start-up code (stdout is flushed explicitly before returning).
//! It and the program object's symbols exist only outside `cfg(test)`, so
//! the unit tests link without a program object.

pub use weft_runtime::{buf, driver};
pub use weft_runtime_native::{collective, par, rt};

#[cfg(not(test))]
mod entry {
    use std::ffi::{c_char, c_int, CStr};

    use crate::driver;

    weft_runtime::linked_program!(
        Linked,
        weft_program_desc,
        weft_program_desc_len,
        weft_arena_bytes,
        weft_step
    );

    /// The process entry point.
    ///
    /// # Safety
    /// Called by the C start files with the process's `argc`/`argv`.
    #[no_mangle]
    pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
        let mut args = Vec::new();
        for i in 0..usize::try_from(argc).unwrap_or(0) {
            let p = *argv.add(i);
            if p.is_null() {
                break;
            }
            args.push(CStr::from_ptr(p).to_bytes().to_vec());
        }
        driver::main(&Linked, args, &crate::rt::set_threads)
    }
}
