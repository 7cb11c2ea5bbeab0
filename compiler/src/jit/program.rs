//! `weft run`'s program: the kernel IR, executed by the tiered JIT, behind
//! the runtime's driver ([`weft_runtime::driver::Program`]). `weft run` and
//! built executables thus share binding, the step loop, updates, logging and
//! outputs; only the step itself differs (interpreted or Cranelift-compiled
//! kernels here, LLVM-compiled ones in an executable).

use std::ffi::c_void;
use std::sync::Mutex;

use weft_runtime::driver::Program as DriverProgram;

use super::tiered::{JitMode, Tiered};
use crate::kernel::interp::arena_bytes;
use crate::kernel::Program;

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
            desc: crate::kernel::desc::descriptor(prog),
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
        let Ok(mut tiered) = self.tiered.lock() else {
            return -1;
        };
        // The regions of `StepState::from_raw`: the driver sized each buffer
        // by its declared type at these dims, and the arena by
        // `arena_bytes`, which is what the layout requires (docs/abi.md).
        let Ok(layout) = tiered.layout(&dims) else {
            return -1;
        };
        let sizes = layout.region_bytes();
        let mut regions = Vec::with_capacity(sizes.len());
        let mut ptr = |p: *mut c_void| {
            let i = regions.len();
            regions.push((p.cast::<u8>(), sizes.get(i).copied().unwrap_or(0)));
        };
        ptr(arena);
        for i in 0..prog.inputs.len() {
            ptr((*inputs.add(i)).cast_mut());
        }
        for i in 0..prog.params.len() {
            ptr((*params.add(i)).cast_mut());
        }
        for i in 0..prog.step_outputs() {
            ptr(*outputs.add(i));
        }
        for i in 0..prog.updates.len() {
            ptr(*updates.add(i));
        }
        // SAFETY: the driver's buffers, one per region, of these sizes,
        // distinct, and only the arena, outputs and updates written.
        match tiered.step_raw(&dims, regions) {
            Ok(()) => 0,
            Err(code) => i32::try_from(code).unwrap_or(-1),
        }
    }
}
