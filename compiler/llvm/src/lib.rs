//! The LLVM backend (LLVM 19 through inkwell): kernel IR to a relocatable
//! object defining the symbols of docs/abi.md (`weft_program_desc`,
//! `weft_program_desc_len`, `weft_arena_bytes`, `weft_step`).
//! LLVM is linked statically, and only the `weft-build` executable (weft-cli)
//! links this crate: `weft` stays free of it and starts fast.
//!
//! - One internal function per kernel ([`gen`]), its buffers `noalias`;
//!   `weft_step` computes the arena slot offsets, calls the kernels in order
//!   and returns the first non-zero error code.
//! - Optimised with the new pass manager's `default<O3>` for the target CPU
//!   (the host's by default, or [`LlvmOptions::target_cpu`], e.g.
//!   `x86-64-v3`), `RelocMode::PIC`; every function carries `target-cpu` and
//!   `target-features` so the vectoriser's cost model sees the real target.
//! - Bit for bit the kernel interpreter's results (language.md §14): no
//!   fast-math flags (no FMA contraction, no reassociation); FMAs only where
//!   the semantics table writes one; float reductions over the last axis in
//!   the table's sixteen interleaved partials, which the SLP vectoriser turns
//!   into vector operations; small matrix products by the runtime's
//!   small-product rule; C library calls `nobuiltin` (never folded at
//!   compile time).
//! - Parallel kernels ([`par`]): a `Map`, or a `Reduce`/`ArgMax` that keeps
//!   axis 0, is split along axis 0 across the runtime's threads through
//!   `weft_rt_parallel_for` (declared `extern_weak`: without it the kernel
//!   runs on the calling thread).
//! - A reduction keeping the last axis (a bias gradient) runs its reduced
//!   axes outside and the last axis inside, over a stack row of
//!   accumulators (`kernels::reduce_rows`), each output's order unchanged.
//! - Row fusion (`weft_compiler::kernel::fusion::row_groups`): consecutive parallel kernels over the
//!   same rows, each reading only row `r` of what the others write, run as
//!   one loop over rows (softmax's max, sum and division while the row is in
//!   cache: one pass over memory instead of three).
//! - Float matrix products of at most [`small::SMALL_GEMM_WORK`]
//!   multiply-adds loop inline ([`small`]); larger ones call
//!   `weft_rt_gemm_*`.
//! - Vector math ([`expr`]): `f32` exp/log/tanh/sigmoid are inline Cephes
//!   polynomials, vectorised with the loop. Measured maximum error against
//!   `f64` over sweeps of 2^20 points (test `vector_math_accuracy`, which
//!   asserts ≤ 1 ulp and ≤ 1.5e-7): exp 0.68 ulp (relative to the result,
//!   on [-87, 88]; overflow gives inf, underflow 0), log 0.65 ulp (on
//!   [1e-3, 1e3], plus 0, negatives, inf, NaN, subnormals), tanh 7.5e-8
//!   absolute on [-12, 12], sigmoid 8.9e-8 absolute on [-30, 30].
//!   `f64` versions call the C library (scalar, not vectorised).

mod desc;
mod expr;
mod gen;
mod kernels;
mod loops;
mod par;
mod small;
#[cfg(test)]
mod tests;

use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::types::IntType;
use inkwell::values::FunctionValue;
use inkwell::{IntPredicate, OptimizationLevel};
use weft_compiler::ir::types::DType;

use gen::{Gen, OrStr, R};
pub use weft_compiler::kernel::desc::descriptor;
use weft_compiler::kernel::Program;

/// How to generate code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlvmOptions {
    /// The CPU to generate code for (`x86-64`, `x86-64-v3`, `znver4`...);
    /// None: the host CPU with all its features (not portable).
    pub target_cpu: Option<String>,
    /// Run the `default<O3>` pipeline (else no optimisation at all).
    pub optimize: bool,
}

impl Default for LlvmOptions {
    fn default() -> LlvmOptions {
        LlvmOptions {
            target_cpu: None,
            optimize: true,
        }
    }
}

/// The CPU features that the code for `opts` may use and that an
/// executable checks before it runs (docs/abi.md, `requires`): the host's
/// (of those the runtime can check) by default, the x86-64 levels' by
/// definition; none for other named CPUs, which are not checked.
pub fn required_features(opts: &LlvmOptions) -> Vec<String> {
    const V2: &[&str] = &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"];
    const V3: &[&str] = &[
        "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe",
    ];
    const V4: &[&str] = &["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];
    let level = |ls: &[&[&str]]| ls.concat().iter().map(|s| s.to_string()).collect();
    match opts.target_cpu.as_deref() {
        None => {
            let host = TargetMachine::get_host_cpu_features().to_string();
            host.split(',')
                .filter_map(|f| f.strip_prefix('+'))
                .filter(|f| weft_runtime::cpu::has(f).is_some())
                .map(String::from)
                .collect()
        }
        Some("x86-64-v2") => level(&[V2]),
        Some("x86-64-v3") => level(&[V2, V3]),
        Some("x86-64-v4") => level(&[V2, V3, V4]),
        Some(_) => Vec::new(),
    }
}

fn target_machine(opts: &LlvmOptions) -> R<TargetMachine> {
    Target::initialize_x86(&InitializationConfig::default());
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| e.to_string())?;
    let (cpu, features) = match &opts.target_cpu {
        Some(c) => (c.clone(), String::new()),
        None => (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        ),
    };
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::Aggressive,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| {
            format!(
                "LLVM has no target machine for CPU `{cpu}` on {}",
                triple.as_str().to_string_lossy()
            )
        })
}

/// Builds (and optimises) the LLVM module of `prog`.
pub(crate) fn build<'c>(
    ctx: &'c Context,
    prog: &Program,
    opts: &LlvmOptions,
) -> R<(Module<'c>, TargetMachine)> {
    build_prefixed(ctx, prog, opts, "weft_")
}

/// [`build`] with the external symbols named `{prefix}step`,
/// `{prefix}arena_bytes`, `{prefix}program_desc` and
/// `{prefix}program_desc_len`.
fn build_prefixed<'c>(
    ctx: &'c Context,
    prog: &Program,
    opts: &LlvmOptions,
    prefix: &'static str,
) -> R<(Module<'c>, TargetMachine)> {
    for b in &prog.buffers {
        if matches!(b.dtype, DType::F16 | DType::BF16) {
            return Err(format!(
                "{} values are not supported by `weft build` yet",
                b.dtype
            ));
        }
    }
    let tm = target_machine(opts)?;
    let attrs = vec![
        ("target-cpu".to_string(), tm.get_cpu().to_string()),
        (
            "target-features".to_string(),
            tm.get_feature_string().to_string_lossy().into_owned(),
        ),
    ];
    let mut g = Gen::new(ctx, prog, attrs);
    g.prefix = prefix;
    g.module.set_triple(&tm.get_triple());
    g.module
        .set_data_layout(&tm.get_target_data().get_data_layout());
    let mut kernels = Vec::new();
    for group in weft_compiler::kernel::fusion::row_groups(prog) {
        let (f, bufs) = match group.as_slice() {
            [k] => g.kernel_fn(*k, &prog.kernels[*k])?,
            ks => g.row_group_fn(ks)?,
        };
        // A row-fused group is profiled as its first kernel.
        kernels.push((f, bufs, group.first().copied().unwrap_or(0)));
    }
    g.entry_points(&kernels)?;
    let mut text = descriptor(prog);
    let required = required_features(opts);
    if !required.is_empty() {
        text.push_str(&format!("requires {}\n", required.join(" ")));
    }
    desc::globals(&g, &text);
    let module = g.module;
    module
        .verify()
        .map_err(|e| format!("invalid LLVM IR (a compiler bug): {}", e.to_string()))?;
    if opts.optimize {
        module
            .run_passes("default<O3>", &tm, PassBuilderOptions::create())
            .map_err(|e| e.to_string())?;
    }
    Ok((module, tm))
}

/// The program object: an ELF relocatable for the target.
pub fn compile_object(prog: &Program, opts: &LlvmOptions) -> Result<Vec<u8>, String> {
    let ctx = Context::create();
    let (m, tm) = build(&ctx, prog, opts)?;
    let buf = tm
        .write_to_memory_buffer(&m, FileType::Object)
        .map_err(|e| e.to_string())?;
    Ok(buf.as_slice().to_vec())
}

/// The object of a library's vector-Jacobian product program: its symbols
/// are `weft_vjp_step`, `weft_vjp_arena_bytes`, `weft_vjp_program_desc` and
/// `weft_vjp_program_desc_len` (docs/embedding.md), so that it links beside
/// the program's own object.
pub fn compile_vjp_object(prog: &Program, opts: &LlvmOptions) -> Result<Vec<u8>, String> {
    let ctx = Context::create();
    let (m, tm) = build_prefixed(&ctx, prog, opts, "weft_vjp_")?;
    let buf = tm
        .write_to_memory_buffer(&m, FileType::Object)
        .map_err(|e| e.to_string())?;
    Ok(buf.as_slice().to_vec())
}

/// The optimised LLVM IR as text (`--emit llvm-ir`).
pub fn emit_llvm_ir(prog: &Program, opts: &LlvmOptions) -> Result<String, String> {
    let ctx = Context::create();
    let (m, _) = build(&ctx, prog, opts)?;
    Ok(m.print_to_string().to_string())
}

/// The target assembly (`--emit asm`).
pub fn emit_asm(prog: &Program, opts: &LlvmOptions) -> Result<String, String> {
    let ctx = Context::create();
    let (m, tm) = build(&ctx, prog, opts)?;
    let buf = tm
        .write_to_memory_buffer(&m, FileType::Assembly)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(buf.as_slice()).into_owned())
}

/// `weft_ipow_iN(base, exp)`: wrapping power; a negative exponent gives 0
/// unless the base is ±1 (the interpreters' rule).
fn ipow_fn<'c>(g: &Gen<'c, '_>, name: &str, t: IntType<'c>) -> R<FunctionValue<'c>> {
    let f = g.module.add_function(
        name,
        t.fn_type(&[t.into(), t.into()], false),
        Some(Linkage::Internal),
    );
    g.add_fn_attrs(f);
    let saved = g.b.get_insert_block();
    let b = &g.b;
    let bb = |n: &str| g.ctx.append_basic_block(f, n);
    let (entry, negb, head, body, done) =
        (bb("entry"), bb("neg"), bb("head"), bb("body"), bb("done"));
    let base = f.get_nth_param(0).ok_or("param")?.into_int_value();
    let e = f.get_nth_param(1).ok_or("param")?.into_int_value();
    let (zero, one) = (t.const_zero(), t.const_int(1, false));
    b.position_at_end(entry);
    let isneg = b.build_int_compare(IntPredicate::SLT, e, zero, "").s()?;
    b.build_conditional_branch(isneg, negb, head).s()?;
    b.position_at_end(negb);
    let is1 = b.build_int_compare(IntPredicate::EQ, base, one, "").s()?;
    let ism1 = b
        .build_int_compare(IntPredicate::EQ, base, t.const_all_ones(), "")
        .s()?;
    let odd = b
        .build_int_compare(IntPredicate::NE, b.build_and(e, one, "").s()?, zero, "")
        .s()?;
    let m1 = b.build_select(odd, t.const_all_ones(), one, "").s()?;
    let r = b.build_select(ism1, m1, zero.into(), "").s()?;
    let r = b.build_select(is1, one.into(), r, "").s()?;
    b.build_return(Some(&r)).s()?;
    b.position_at_end(head);
    let acc = b.build_phi(t, "acc").s()?;
    let bs = b.build_phi(t, "b").s()?;
    let ex = b.build_phi(t, "e").s()?;
    acc.add_incoming(&[(&one, entry)]);
    bs.add_incoming(&[(&base, entry)]);
    ex.add_incoming(&[(&e, entry)]);
    let (av, bv, ev) = (
        acc.as_basic_value().into_int_value(),
        bs.as_basic_value().into_int_value(),
        ex.as_basic_value().into_int_value(),
    );
    let more = b.build_int_compare(IntPredicate::SGT, ev, zero, "").s()?;
    b.build_conditional_branch(more, body, done).s()?;
    b.position_at_end(body);
    let bit = b
        .build_int_compare(IntPredicate::NE, b.build_and(ev, one, "").s()?, zero, "")
        .s()?;
    let na = b
        .build_select(bit, b.build_int_mul(av, bv, "").s()?, av, "")
        .s()?
        .into_int_value();
    let nb = b.build_int_mul(bv, bv, "").s()?;
    let ne = b.build_right_shift(ev, one, false, "").s()?;
    acc.add_incoming(&[(&na, body)]);
    bs.add_incoming(&[(&nb, body)]);
    ex.add_incoming(&[(&ne, body)]);
    b.build_unconditional_branch(head).s()?;
    b.position_at_end(done);
    b.build_return(Some(&av)).s()?;
    if let Some(s) = saved {
        b.position_at_end(s);
    }
    Ok(f)
}
