//! Tier 1 of `weft run`: a Cranelift JIT for the kernel IR.
//!
//! [`compile_kernel`] turns one [`Kernel`] of a [`Program`] into native code
//! in-process (its own `JITModule`): `Map` (a scalar loop nest, with an
//! `f32x4` innermost loop when every load is `f32` and contiguous or
//! broadcast along it), `Reduce` (scalar; `f32` sums accumulate in `f64`),
//! `MatMul` (loops; `f32x4` over the output row) and `Random` (the runtime's
//! generator). Every other kind is an `Err`, and the caller keeps it in the
//! interpreter. Compiled code follows the kernel-IR interpreter's numeric
//! rules operation by operation, in the same order; transcendental functions
//! and integer floor division and powers call host functions built on the
//! interpreter's own scalar code (see [`host`]), so compiled kernels give
//! bit-identical results to the interpreter.
//!
//! [`Tiered`] runs a program step by step, each kernel in the interpreter
//! until it becomes hot, then compiled on a background thread and swapped in
//! (see [`tiered`]).

mod codegen;
mod host;
pub mod program;
pub mod tiered;

#[cfg(any(test, feature = "testing"))]
pub mod difftest;
#[cfg(test)]
mod tests;

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};

use crate::ir::types::Dim;
use crate::kernel::{Kernel, Program};

pub use tiered::{JitMode, KernelStats, Tier, Tiered};
/// Sizes the runtime's thread pool (GEMM's threads), as `--threads` does
/// in a built executable.
pub use weft_runtime_native::rt::set_threads;

type KernelFn = unsafe extern "C" fn(*const u64, *const *mut u8) -> i32;

/// The module that owns a compiled kernel's code.
struct Code(Option<JITModule>);

// SAFETY: after `finalize_definitions` the module is never used again except
// to free its memory when dropped; the code it owns is immutable and may be
// called from any thread.
unsafe impl Send for Code {}
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            // SAFETY: the only pointer into this module's code is in the
            // `CompiledKernel` that owns this `Code`, which is being dropped.
            unsafe { m.free_memory() }
        }
    }
}

/// A size as the compiled code sees it: a literal or `dims[i]`.
#[derive(Clone, Copy, Debug)]
enum DimRef {
    Lit(u64),
    Idx(usize),
}

impl DimRef {
    fn of(prog: &Program, d: &Dim) -> DimRef {
        match d {
            Dim::Lit(n) => DimRef::Lit(*n),
            Dim::Sym(_) | Dim::Expr(_) => prog.dim_slot(d).map_or(DimRef::Lit(0), DimRef::Idx),
        }
    }

    fn get(self, dims: &[u64]) -> u64 {
        match self {
            DimRef::Lit(n) => n,
            DimRef::Idx(i) => dims.get(i).copied().unwrap_or(0),
        }
    }
}

/// The loop a compiled kernel lets its caller cut into parts: its length,
/// and the work of one index of it (the other axes' lengths times a cost).
#[derive(Clone, Debug)]
struct Split {
    len: DimRef,
    rest: Vec<DimRef>,
    cost: u64,
}

impl Split {
    /// The split of `k` along `axis`, the outermost loop of its nest, when
    /// the kernel layer's plan ([`crate::kernel::lower::parallel`]) allows it.
    fn of(prog: &Program, k: &Kernel, axis: usize) -> Option<Split> {
        let plan = crate::kernel::lower::parallel(prog, k)?;
        if !plan.may_split(axis) {
            return None;
        }
        Some(Split {
            len: DimRef::of(prog, plan.space.get(axis)?),
            rest: (0..plan.space.len())
                .filter(|&a| a != axis)
                .map(|a| DimRef::of(prog, &plan.space[a]))
                .collect(),
            cost: u64::from(plan.element_cost),
        })
    }
}

/// A kernel compiled to native code.
#[derive(Clone)]
pub struct CompiledKernel {
    func: KernelFn,
    _code: Arc<Code>,
    split: Option<Split>,
    /// Wall time of code generation and compilation.
    pub compile_time: Duration,
    /// Whether the innermost loop runs in `f32x4`.
    pub vectorized: bool,
}

/// What each part of a split call needs.
struct Part<'a> {
    func: KernelFn,
    dims: &'a [u64],
    bufs: *const *mut u8,
}

/// `weft_rt_parallel_for`'s task: the kernel over `[lo, hi)` of its split
/// loop.
unsafe extern "C" fn run_part(ctx: *mut c_void, lo: i64, hi: i64) {
    // SAFETY: `ctx` is the `Part` that `CompiledKernel::call` passed, alive
    // for the whole parallel loop.
    let part = &*(ctx as *const Part);
    let _ = with_range(part.dims, lo as u64, hi as u64, &mut |d| {
        (part.func)(d.as_ptr(), part.bufs)
    });
}

/// Calls `f` with `dims` followed by `lo` and `hi` (on the stack when short).
fn with_range(dims: &[u64], lo: u64, hi: u64, f: &mut dyn FnMut(&[u64]) -> i32) -> i32 {
    let n = dims.len();
    if n + 2 <= 8 {
        let mut d = [0u64; 8];
        d[..n].copy_from_slice(dims);
        d[n] = lo;
        d[n + 1] = hi;
        f(&d[..n + 2])
    } else {
        let mut d = dims.to_vec();
        d.extend([lo, hi]);
        f(&d)
    }
}

impl CompiledKernel {
    /// Runs the kernel. `dims` are the sizes in `Program::dims` order;
    /// `bufs[b]` is the address of buffer `b` of the program, as resolved for
    /// the step (see `kernel::interp::StepState::buffer_ptrs`). A kernel
    /// with a split loop runs it through the runtime's thread pool
    /// (`weft_rt_parallel_for`, which keeps small loops on this thread):
    /// every part computes the same elements as a whole call would.
    ///
    /// # Safety
    /// Every buffer the kernel reads or writes must be valid for its size at
    /// these dims, and the output must not overlap the inputs.
    pub unsafe fn call(&self, dims: &[u64], bufs: &[*mut u8]) -> Result<(), u32> {
        let Some(split) = &self.split else {
            let r = with_range(dims, 0, 0, &mut |d| (self.func)(d.as_ptr(), bufs.as_ptr()));
            return if r == 0 { Ok(()) } else { Err(r as u32) };
        };
        let n = split.len.get(dims);
        let unit = split
            .rest
            .iter()
            .fold(split.cost, |a, d| a.saturating_mul(d.get(dims)));
        let part = Part {
            func: self.func,
            dims,
            bufs: bufs.as_ptr(),
        };
        // Map and Reduce kernels cannot fail: every part returns 0.
        weft_runtime_native::par::weft_rt_parallel_for(
            i64::try_from(n).unwrap_or(i64::MAX),
            i64::try_from(unit).unwrap_or(i64::MAX),
            Some(run_part),
            &part as *const Part as *mut c_void,
        );
        Ok(())
    }
}

/// Whether [`compile_kernel`] handles this kind of kernel at all.
pub fn supports(k: &Kernel) -> bool {
    match k {
        Kernel::Map { .. }
        | Kernel::Reduce { .. }
        | Kernel::MatMul { .. }
        | Kernel::Conv { .. }
        | Kernel::ArgMax { .. }
        | Kernel::Random { .. } => true,
        Kernel::Gather { .. }
        | Kernel::ScatterAdd { .. }
        | Kernel::Concat { .. }
        | Kernel::SliceGrad { .. }
        | Kernel::Window { .. }
        | Kernel::WindowGrad { .. }
        | Kernel::Cumsum { .. } => true,
        // A host call either way: the kernel interpreter calls the
        // runtime's collective (`weft_rt_allreduce_v1`) itself.
        Kernel::Check { .. } | Kernel::AllReduce { .. } => false,
    }
}

fn isa() -> Result<OwnedTargetIsa, String> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut fb = settings::builder();
        let set = |fb: &mut settings::Builder, k: &str, v: &str| {
            fb.set(k, v).map_err(|e| format!("cranelift flag {k}: {e}"))
        };
        set(&mut fb, "use_colocated_libcalls", "false")?;
        set(&mut fb, "is_pic", "false")?;
        set(&mut fb, "opt_level", "speed")?;
        // The IR is checked by the tests (`WEFT_JIT_VERIFY=1` turns the
        // verifier back on); off, compiling takes about a fifth less time.
        let verify = cfg!(debug_assertions) || std::env::var_os("WEFT_JIT_VERIFY").is_some();
        set(
            &mut fb,
            "enable_verifier",
            if verify { "true" } else { "false" },
        )?;
        let ib = cranelift_native::builder().map_err(|e| format!("host ISA: {e}"))?;
        ib.finish(settings::Flags::new(fb))
            .map_err(|e| format!("host ISA: {e}"))
    })
    .clone()
}

/// Compiles kernel `k` of `prog` (which it must belong to). Never panics:
/// a Cranelift failure, even a panic inside it, is an `Err`.
pub fn compile_kernel(prog: &Program, k: &Kernel) -> Result<CompiledKernel, String> {
    if !supports(k) {
        return Err("this kernel kind runs in the interpreter".into());
    }
    let t0 = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| compile_inner(prog, k)));
    let mut ck = match r {
        Ok(r) => r?,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(format!("cranelift panicked: {msg}"));
        }
    };
    ck.compile_time = t0.elapsed();
    Ok(ck)
}

fn new_module() -> Result<JITModule, String> {
    let mut jb = JITBuilder::with_isa(isa()?, cranelift_module::default_libcall_names());
    for h in host::all() {
        jb.symbol(h.name, h.addr);
    }
    Ok(JITModule::new(jb))
}

/// Generates kernel `k` into `ctx` and defines it in `module` as function
/// `name`; returns the function and whether its loop is vectorised.
fn define(
    prog: &Program,
    k: &Kernel,
    module: &mut JITModule,
    ctx: &mut cranelift_codegen::Context,
    name: &str,
) -> Result<(cranelift_module::FuncId, bool, Option<Split>), String> {
    let ptr = I64;
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.returns.push(AbiParam::new(I32));
    let mut fctx = FunctionBuilderContext::new();
    let vectorized;
    let split;
    {
        let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let mut g = codegen::Gen::new(prog, b, module, k);
        g.kernel(k)?;
        vectorized = g.vectorized;
        split = g.split.and_then(|a| Split::of(prog, k, a));
        g.finish();
    }
    let sig = ctx.func.signature.clone();
    let id = module
        .declare_function(name, Linkage::Local, &sig)
        .map_err(|e| e.to_string())?;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    // `WEFT_JIT_DISASM=1`: print each kernel's machine code (debugging).
    let disasm = std::env::var_os("WEFT_JIT_DISASM").is_some();
    ctx.set_disasm(disasm);
    module
        .define_function(id, ctx)
        .map_err(|e| format!("cranelift: {e:?}"))?;
    if let Some(code) = ctx.compiled_code().and_then(|c| c.vcode.as_ref()) {
        eprintln!("{}\n{code}", crate::kernel::print::kernel(k));
    }
    Ok((id, vectorized, split))
}

fn compile_inner(prog: &Program, k: &Kernel) -> Result<CompiledKernel, String> {
    let mut module = new_module()?;
    let mut ctx = module.make_context();
    let (id, vectorized, split) = define(prog, k, &mut module, &mut ctx, "weft_kernel")?;
    module.clear_context(&mut ctx);
    module
        .finalize_definitions()
        .map_err(|e| format!("cranelift: {e}"))?;
    let addr = module.get_finalized_function(id);
    // SAFETY: the function was defined with exactly this signature.
    let func: KernelFn = unsafe { std::mem::transmute::<*const u8, KernelFn>(addr) };
    Ok(CompiledKernel {
        func,
        _code: Arc::new(Code(Some(module))),
        split,
        compile_time: Duration::ZERO,
        vectorized,
    })
}

/// Compiles kernels `ks` of `prog` into one module (one allocation of
/// code memory, one finalisation: about 0.15 ms a kernel less than
/// [`compile_kernel`] each). Results in the order of `ks`; a kernel that
/// fails is an `Err` and the others still compile. Never panics.
pub fn compile_kernels(prog: &Program, ks: &[usize]) -> Vec<Result<CompiledKernel, String>> {
    let one = |k: usize| match prog.kernels.get(k) {
        Some(kern) => compile_kernel(prog, kern),
        None => Err(format!("no kernel {k}")),
    };
    if ks.len() <= 1 {
        return ks.iter().map(|&k| one(k)).collect();
    }
    match catch_unwind(AssertUnwindSafe(|| compile_batch(prog, ks))) {
        Ok(Ok(v)) => v,
        // A failure of the module itself, or a panic: one module each.
        _ => ks.iter().map(|&k| one(k)).collect(),
    }
}

fn compile_batch(
    prog: &Program,
    ks: &[usize],
) -> Result<Vec<Result<CompiledKernel, String>>, String> {
    let t0 = Instant::now();
    let mut module = new_module()?;
    let mut ctx = module.make_context();
    let mut defined = Vec::with_capacity(ks.len());
    for &k in ks {
        let kern = prog
            .kernels
            .get(k)
            .ok_or_else(|| format!("no kernel {k}"))?;
        let t = Instant::now();
        let r = if supports(kern) {
            define(
                prog,
                kern,
                &mut module,
                &mut ctx,
                &format!("weft_kernel_{k}"),
            )
        } else {
            Err("this kernel kind runs in the interpreter".into())
        };
        module.clear_context(&mut ctx);
        defined.push((r, t.elapsed()));
    }
    module
        .finalize_definitions()
        .map_err(|e| format!("cranelift: {e}"))?;
    let mut fns = Vec::with_capacity(ks.len());
    for (r, t) in defined {
        fns.push(r.map(|(id, v, sp)| (module.get_finalized_function(id), v, sp, t)));
    }
    let code = Arc::new(Code(Some(module)));
    // The module's own work (allocation, finalisation) shared out evenly.
    let total = t0.elapsed();
    let own: Duration = fns.iter().flatten().map(|f| f.3).sum();
    let share = total.saturating_sub(own) / ks.len() as u32;
    let mut out = Vec::with_capacity(ks.len());
    for f in fns {
        out.push(f.map(|(addr, vectorized, split, t)| CompiledKernel {
            // SAFETY: every function was defined with this signature.
            func: unsafe { std::mem::transmute::<*const u8, KernelFn>(addr) },
            _code: code.clone(),
            split,
            compile_time: t + share,
            vectorized,
        }));
    }
    Ok(out)
}
