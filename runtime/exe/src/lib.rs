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
pub use weft_runtime_native::{par, rt};

#[cfg(not(test))]
mod entry {
    use std::ffi::{c_char, c_int, c_void, CStr};

    use crate::driver::{self, Program};

    extern "C" {
        static weft_program_desc: [u8; 0];
        static weft_program_desc_len: u64;
        fn weft_arena_bytes(dims: *const i64) -> u64;
        fn weft_step(
            dims: *const i64,
            inputs: *const *const c_void,
            params: *const *const c_void,
            outputs: *const *mut c_void,
            updates: *const *mut c_void,
            arena: *mut c_void,
        ) -> i32;
    }

    /// The program object linked into this executable.
    struct Linked;

    impl Program for Linked {
        fn descriptor(&self) -> &[u8] {
            // SAFETY: the program object defines both symbols (docs/abi.md):
            // `weft_program_desc_len` bytes of constant data.
            unsafe {
                let len = usize::try_from(weft_program_desc_len).unwrap_or(0);
                std::slice::from_raw_parts(std::ptr::addr_of!(weft_program_desc).cast::<u8>(), len)
            }
        }

        fn arena_bytes(&self, dims: &[i64]) -> u64 {
            // SAFETY: `dims` has one value per size name of the descriptor.
            unsafe { weft_arena_bytes(dims.as_ptr()) }
        }

        unsafe fn step(
            &self,
            dims: *const i64,
            inputs: *const *const c_void,
            params: *const *const c_void,
            outputs: *const *mut c_void,
            updates: *const *mut c_void,
            arena: *mut c_void,
        ) -> i32 {
            weft_step(dims, inputs, params, outputs, updates, arena)
        }
    }

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
