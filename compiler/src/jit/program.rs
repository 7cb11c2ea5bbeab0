//! `weft run`'s program: the kernel IR, executed by the tiered JIT, behind
//! the runtime's driver ([`weft_runtime::driver::Program`]). `weft run` and
//! built executables thus share binding, the step loop, updates, logging and
//! outputs; only the step itself differs (interpreted or Cranelift-compiled
//! kernels here, LLVM-compiled ones in an executable).

use std::ffi::c_void;
use std::sync::Mutex;

use weft_runtime::driver::Program as DriverProgram;

use super::tiered::{JitMode, Tiered};
use crate::ir::types::DType;
use crate::kernel::interp::{arena_bytes, dim_value};
use crate::kernel::{OutputSrc, Program};

pub struct JitProgram<'p> {
    prog: &'p Program,
    desc: String,
    tiered: Mutex<Tiered<'p>>,
}

impl<'p> JitProgram<'p> {
    pub fn new(prog: &'p Program, mode: JitMode) -> JitProgram<'p> {
        JitProgram {
            prog,
            desc: crate::llvm::descriptor(prog),
            tiered: Mutex::new(Tiered::new(prog, mode)),
        }
    }

    /// The per-kernel table of `--stats`.
    pub fn stats_table(&self) -> String {
        self.tiered
            .lock()
            .map(|t| t.stats_table())
            .unwrap_or_default()
    }

    /// Kernels the JIT could not compile (they ran in the interpreter).
    pub fn take_warnings(&self) -> Vec<String> {
        self.tiered
            .lock()
            .map(|mut t| t.take_warnings())
            .unwrap_or_default()
    }

    fn bytes_of(&self, dims: &[u64], ty: &crate::ir::types::TensorType) -> usize {
        let n: u64 = ty
            .shape
            .iter()
            .map(|d| dim_value(self.prog, dims, d))
            .product();
        let size = match ty.dtype {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Bool => 1,
        };
        n as usize * size
    }
}

/// Copies `len` bytes at `p` into a vector.
///
/// # Safety
/// `p` addresses at least `len` readable bytes.
unsafe fn copy_from(p: *const c_void, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec()
}

/// # Safety
/// `p` addresses at least `src.len()` writable bytes.
unsafe fn copy_to(p: *mut c_void, src: &[u8]) {
    if !src.is_empty() {
        std::ptr::copy_nonoverlapping(src.as_ptr(), p.cast::<u8>(), src.len());
    }
}

impl DriverProgram for JitProgram<'_> {
    fn descriptor(&self) -> &[u8] {
        self.desc.as_bytes()
    }

    fn arena_bytes(&self, dims: &[i64]) -> u64 {
        let dims: Vec<u64> = dims.iter().map(|&d| d.max(0) as u64).collect();
        arena_bytes(self.prog, &dims)
    }

    unsafe fn step(
        &self,
        dims: *const i64,
        inputs: *const *const c_void,
        params: *const *const c_void,
        outputs: *const *mut c_void,
        updates: *const *mut c_void,
        _arena: *mut c_void,
    ) -> i32 {
        let prog = self.prog;
        let dims: Vec<u64> = (0..prog.dims.len())
            .map(|i| (*dims.add(i)).max(0) as u64)
            .collect();
        let ins: Vec<Vec<u8>> = prog
            .inputs
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| copy_from(*inputs.add(i), self.bytes_of(&dims, ty)))
            .collect();
        let ps: Vec<Vec<u8>> = prog
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| copy_from(*params.add(i), self.bytes_of(&dims, &p.ty)))
            .collect();
        let Ok(mut tiered) = self.tiered.lock() else {
            return -1;
        };
        match tiered.step(&dims, &ins, &ps) {
            Ok(res) => {
                // Each buffer the driver allocated holds exactly the declared type.
                let mut out_bytes = vec![0usize; res.outputs.len()];
                for (_, ty, src) in &prog.outputs {
                    if let OutputSrc::Step(k) = src {
                        if let Some(b) = out_bytes.get_mut(*k) {
                            *b = self.bytes_of(&dims, ty);
                        }
                    }
                }
                for (i, o) in res.outputs.iter().enumerate() {
                    copy_to(*outputs.add(i), &o[..o.len().min(out_bytes[i])]);
                }
                for (i, u) in res.updates.iter().enumerate() {
                    let want = self.bytes_of(&dims, &prog.params[prog.updates[i]].ty);
                    copy_to(*updates.add(i), &u[..u.len().min(want)]);
                }
                0
            }
            Err(code) => i32::try_from(code).unwrap_or(-1),
        }
    }
}
