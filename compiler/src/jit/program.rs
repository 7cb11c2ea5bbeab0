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
    /// `steps`: how many steps the run will take, when known (it makes
    /// kernels worth compiling sooner, see `Tiered`); `timing`: time every
    /// kernel call for [`JitProgram::stats_table`].
    pub fn new(
        prog: &'p Program,
        mode: JitMode,
        steps: Option<u64>,
        timing: bool,
    ) -> JitProgram<'p> {
        let mut t = Tiered::new(prog, mode);
        t.expected_calls = steps;
        t.timing = timing;
        JitProgram {
            prog,
            desc: crate::llvm::descriptor(prog),
            tiered: Mutex::new(t),
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
        arena: *mut c_void,
    ) -> i32 {
        let prog = self.prog;
        let dims: Vec<u64> = (0..prog.dims.len())
            .map(|i| (*dims.add(i)).max(0) as u64)
            .collect();
        // The regions of `StepState::from_raw`, sized as the driver sized
        // them (the declared types at these dims).
        let mut regions = Vec::with_capacity(
            1 + prog.inputs.len() + prog.params.len() + prog.step_outputs() + prog.updates.len(),
        );
        regions.push((arena.cast::<u8>(), arena_bytes(prog, &dims) as usize));
        for (i, (_, ty)) in prog.inputs.iter().enumerate() {
            regions.push((
                (*inputs.add(i)).cast_mut().cast::<u8>(),
                self.bytes_of(&dims, ty),
            ));
        }
        for (i, p) in prog.params.iter().enumerate() {
            regions.push((
                (*params.add(i)).cast_mut().cast::<u8>(),
                self.bytes_of(&dims, &p.ty),
            ));
        }
        let mut out_bytes = vec![0usize; prog.step_outputs()];
        for (_, ty, src) in &prog.outputs {
            if let OutputSrc::Step(k) = src {
                if let Some(b) = out_bytes.get_mut(*k) {
                    *b = self.bytes_of(&dims, ty);
                }
            }
        }
        for (i, &n) in out_bytes.iter().enumerate() {
            regions.push(((*outputs.add(i)).cast::<u8>(), n));
        }
        for (i, &p) in prog.updates.iter().enumerate() {
            regions.push((
                (*updates.add(i)).cast::<u8>(),
                self.bytes_of(&dims, &prog.params[p].ty),
            ));
        }
        let Ok(mut tiered) = self.tiered.lock() else {
            return -1;
        };
        // SAFETY: the driver's buffers, one per region, of these sizes,
        // distinct, and only the arena, outputs and updates written.
        match tiered.step_raw(&dims, regions) {
            Ok(()) => 0,
            Err(code) => i32::try_from(code).unwrap_or(-1),
        }
    }
}
