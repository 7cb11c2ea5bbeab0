//! The JIT's differential check, shared by its tests and the random-program
//! fuzzer (`crate::fuzz`): every kernel of a case's first step, once compiled
//! and once interpreted on the same memory, byte for byte.

use super::{compile_kernel, supports};
use crate::kernel::interp::{buffer_bytes, StepMemory, StepState};
use crate::kernel::testing::{identical_bits, tensor_bytes, Case};
use crate::kernel::Program;

pub struct Counts {
    pub compiled: usize,
    pub vectorized: usize,
    pub failed: Vec<String>,
}

/// Runs the first step kernel by kernel: each compiled kernel first writes
/// its output, which is read, then the interpreter overwrites it.
pub fn compare_kernels(c: &Case, prog: &Program, counts: &mut Counts) -> Result<(), String> {
    let dims = c.dims(prog);
    let inputs: Vec<Vec<u8>> = c
        .inputs_at(0)
        .unwrap_or_default()
        .iter()
        .map(tensor_bytes)
        .collect();
    let params: Vec<Vec<u8>> = c.params.iter().map(tensor_bytes).collect();
    let mut mem = StepMemory::new(prog, &dims, &inputs, &params);
    let mut st = StepState::new(prog, &dims, mem.regions())?;
    for (k, kern) in prog.kernels.iter().enumerate() {
        let ck = if supports(kern) {
            match compile_kernel(prog, kern) {
                Ok(ck) => {
                    counts.compiled += 1;
                    counts.vectorized += ck.vectorized as usize;
                    Some(ck)
                }
                Err(e) => {
                    counts.failed.push(format!("{} kernel {k}: {e}", c.name));
                    None
                }
            }
        } else {
            None
        };
        let out = kern.output();
        let mut got = None;
        if let (Some(ck), Some(o)) = (&ck, out) {
            let ptrs = st.buffer_ptrs();
            // SAFETY: the state's buffers, sized for these dims.
            let r = unsafe { ck.call(&dims, &ptrs) };
            if r.is_err() {
                return Err(format!("kernel {k}: compiled code failed"));
            }
            let n = buffer_bytes(prog, &dims, o);
            // SAFETY: buffer `o` holds `n` bytes.
            got = Some(unsafe { std::slice::from_raw_parts(ptrs[o], n) }.to_vec());
        }
        if st.run_kernel(k).is_err() {
            return Ok(()); // a failing step (bad data): nothing more to compare
        }
        if let (Some(got), Some(o)) = (got, out) {
            let ptrs = st.buffer_ptrs();
            let n = buffer_bytes(prog, &dims, o);
            // SAFETY: as above.
            let want = unsafe { std::slice::from_raw_parts(ptrs[o], n) };
            identical_bits(&got, want).map_err(|e| {
                format!(
                    "kernel {k} ({}): {e}",
                    crate::kernel::print::program(prog)
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("k{k}")))
                        .unwrap_or("")
                )
            })?;
        }
    }
    Ok(())
}
