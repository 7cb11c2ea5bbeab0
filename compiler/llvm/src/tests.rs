//! LLVM backend tests, without a C toolchain: the O3-optimised module runs
//! in LLVM's MCJIT inside the test process, linked to the runtime's own GEMM
//! and random fills (`weft_runtime_native::rt`; only `weft_rt_parallel_for`
//! is replaced, by one that always splits), and `weft_step` is compared with the
//! kernel-IR interpreter on every run case and every check/ok program.

use inkwell::context::Context;
use inkwell::OptimizationLevel;
use weft_runtime_native::rt;

use crate::{build, LlvmOptions};
use weft_compiler::kernel::interp as kinterp;
use weft_compiler::kernel::testing::{
    bytes_f64, check_ok_cases, close, compare_case, lower, lower_text, random_case, root,
    run_cases, same_bits, tensor_bytes, Case, Lcg,
};
use weft_compiler::kernel::{schedule, OutputSrc, Program};

type Task = extern "C" fn(*mut u8, i64, i64);

/// `weft_rt_parallel_for` for the tests: always splits `0..n` into up to
/// three parts run on their own threads, whatever the cost, so that every
/// parallel kernel's partition is exercised.
extern "C" fn parallel_for(n: i64, _unit_cost: i64, task: Task, ctx: *mut u8) {
    let parts = n.clamp(1, 3);
    let ctx = ctx as usize;
    std::thread::scope(|s| {
        for p in 0..parts {
            let (lo, hi) = (n * p / parts, n * (p + 1) / parts);
            s.spawn(move || task(ctx as *mut u8, lo, hi));
        }
    });
}

type StepFn = unsafe extern "C" fn(
    *const i64,
    *const *const u8,
    *const *const u8,
    *const *mut u8,
    *const *mut u8,
    *mut u8,
) -> i32;
type ArenaFn = unsafe extern "C" fn(*const i64) -> u64;

/// A 64-byte aligned byte buffer.
struct Aligned {
    v: Vec<u8>,
    off: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let v = vec![0xA5u8; len + 64];
        let off = (64 - (v.as_ptr() as usize % 64)) % 64;
        Aligned { v, off, len }
    }
    fn from(b: &[u8]) -> Aligned {
        let mut a = Aligned::new(b.len());
        a.v[a.off..a.off + b.len()].copy_from_slice(b);
        a
    }
    fn ptr(&mut self) -> *mut u8 {
        self.v[self.off..].as_mut_ptr()
    }
    fn bytes(&self) -> Vec<u8> {
        self.v[self.off..self.off + self.len].to_vec()
    }
}

/// Runs `steps` steps of `prog` compiled by LLVM (JIT) and of the kernel
/// interpreter, comparing outputs and updates after each.
/// `bits`: outputs must equal the interpreter's bit for bit (else within
/// the FMA tolerance).
fn jit_compare(c: &Case, prog: &Program, opts: &LlvmOptions, bits: bool) -> Result<(), String> {
    let ctx = Context::create();
    let (m, _) = build(&ctx, prog, opts)?;
    let ee = m
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(|e| e.to_string())?;
    let externs: [(&str, usize); 10] = [
        ("weft_rt_parallel_for", parallel_for as *const () as usize),
        // The runtime's own GEMM and random fills, as executables link them.
        (
            "weft_rt_gemm_v2_f32",
            rt::weft_rt_gemm_v2_f32 as *const () as usize,
        ),
        (
            "weft_rt_gemm_v2_f64",
            rt::weft_rt_gemm_v2_f64 as *const () as usize,
        ),
        (
            "weft_rt_conv2d_f32",
            weft_runtime_native::conv::weft_rt_conv2d_f32 as *const () as usize,
        ),
        (
            "weft_rt_conv2d_f64",
            weft_runtime_native::conv::weft_rt_conv2d_f64 as *const () as usize,
        ),
        (
            "weft_rt_fill_normal_f32",
            rt::weft_rt_fill_normal_f32 as *const () as usize,
        ),
        (
            "weft_rt_fill_uniform_f32",
            rt::weft_rt_fill_uniform_f32 as *const () as usize,
        ),
        (
            "weft_rt_fill_normal_f64",
            rt::weft_rt_fill_normal_f64 as *const () as usize,
        ),
        (
            "weft_rt_fill_uniform_f64",
            rt::weft_rt_fill_uniform_f64 as *const () as usize,
        ),
        // The collective: copies in a world of one, as outside a job.
        (
            "weft_rt_allreduce_v1",
            weft_runtime_native::collective::weft_rt_allreduce_v1 as *const () as usize,
        ),
    ];
    for (name, addr) in externs {
        if let Some(f) = m.get_function(name) {
            ee.add_global_mapping(&f, addr);
        }
    }
    // The profiling hooks (weak in the object): mapped to the runtime's, as
    // an executable links them (MCJIT resolves other C functions wrongly
    // once a weak symbol is left unresolved).
    let hooks: [(&str, usize); 2] = [
        (
            "weft_rt_prof_enter",
            weft_runtime::profile::weft_rt_prof_enter as *const () as usize,
        ),
        (
            "weft_rt_prof_exit",
            weft_runtime::profile::weft_rt_prof_exit as *const () as usize,
        ),
    ];
    for (name, addr) in hooks {
        if let Some(f) = m.get_function(name) {
            ee.add_global_mapping(&f, addr);
        }
    }
    if let Some(g) = m.get_global("weft_rt_profiling") {
        ee.add_global_mapping(
            &g,
            &weft_runtime::profile::weft_rt_profiling as *const _ as usize,
        );
    }
    // SAFETY: the signatures are those of docs/abi.md.
    let (step, arena): (StepFn, ArenaFn) = unsafe {
        (
            std::mem::transmute::<usize, StepFn>(
                ee.get_function_address("weft_step")
                    .map_err(|e| e.to_string())?,
            ),
            std::mem::transmute::<usize, ArenaFn>(
                ee.get_function_address("weft_arena_bytes")
                    .map_err(|e| e.to_string())?,
            ),
        )
    };
    let dims = c.dims(prog);
    let dims_i: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
    // SAFETY: dims has one entry per size name.
    let ab = unsafe { arena(dims_i.as_ptr()) };
    if ab != kinterp::arena_bytes(prog, &dims) {
        return Err(format!(
            "arena bytes {ab} against {}",
            kinterp::arena_bytes(prog, &dims)
        ));
    }
    let mut kparams: Vec<Vec<u8>> = c.params.iter().map(tensor_bytes).collect();
    // The feeds' values of the first step serve every step: both engines see them.
    let kin: Vec<Vec<u8>> = c.inputs_at(0)?.iter().map(tensor_bytes).collect();
    let mut inputs: Vec<Aligned> = kin.iter().map(|b| Aligned::from(b)).collect();
    let mut jparams: Vec<Aligned> = kparams.iter().map(|p| Aligned::from(p)).collect();
    let size_of = |b: usize| kinterp::buffer_bytes(prog, &dims, b);
    for s in 0..c.steps {
        let want = kinterp::step(prog, &dims, &kin, &kparams);
        let mut outs: Vec<Aligned> = Vec::new();
        let mut upds: Vec<Aligned> = Vec::new();
        for (b, buf) in prog.buffers.iter().enumerate() {
            match buf.kind {
                weft_compiler::kernel::BufKind::Output(_) => outs.push(Aligned::new(size_of(b))),
                weft_compiler::kernel::BufKind::Update(_) => upds.push(Aligned::new(size_of(b))),
                _ => {}
            }
        }
        let mut ar = Aligned::new(ab as usize);
        let ip: Vec<*const u8> = inputs.iter_mut().map(|a| a.ptr() as *const u8).collect();
        let pp: Vec<*const u8> = jparams.iter_mut().map(|a| a.ptr() as *const u8).collect();
        let op: Vec<*mut u8> = outs.iter_mut().map(|a| a.ptr()).collect();
        let up: Vec<*mut u8> = upds.iter_mut().map(|a| a.ptr()).collect();
        // SAFETY: every buffer has the size the program expects.
        let rc = unsafe {
            step(
                dims_i.as_ptr(),
                ip.as_ptr(),
                pp.as_ptr(),
                op.as_ptr(),
                up.as_ptr(),
                ar.ptr(),
            )
        };
        let want = match (want, rc) {
            (Err(k), rc) if rc as u32 == k => return Ok(()),
            (Ok(w), 0) => w,
            (w, rc) => {
                return Err(format!(
                    "step {s}: interpreter {:?}, compiled code returned {rc}",
                    w.err()
                ))
            }
        };
        for (name, t, src) in &prog.outputs {
            if let OutputSrc::Step(k) = src {
                let (got, w) = (outs[*k].bytes(), &want.outputs[*k]);
                if bits {
                    same_bits(&got, w, t.dtype)
                } else {
                    close(
                        &bytes_f64(&got, t.dtype),
                        &bytes_f64(w, t.dtype),
                        1e-4,
                        1e-5,
                    )
                }
                .map_err(|e| format!("step {s}: output {name}: {e}"))?;
            }
        }
        for (i, &p) in prog.updates.iter().enumerate() {
            let d = prog.params[p].ty.dtype;
            if bits {
                same_bits(&upds[i].bytes(), &want.updates[i], d)
            } else {
                close(
                    &bytes_f64(&upds[i].bytes(), d),
                    &bytes_f64(&want.updates[i], d),
                    1e-4,
                    1e-5,
                )
            }
            .map_err(|e| format!("step {s}: update {}: {e}", prog.params[p].name))?;
            kparams[p] = want.updates[i].clone();
            jparams[p] = Aligned::from(&upds[i].bytes());
        }
    }
    Ok(())
}

fn jit_all(cases: Vec<Case>, opts: &LlvmOptions) {
    let mut fails = Vec::new();
    let mut n = 0;
    for c in &cases {
        let Ok(prog) = schedule(&c.g) else { continue };
        if compare_case(c, &prog).is_err() {
            continue; // the kernel tests report it
        }
        n += 1;
        if let Err(e) = jit_compare(c, &prog, opts, true) {
            fails.push(format!("{}: {e}", c.name));
        }
    }
    assert!(n > 0);
    assert!(
        fails.is_empty(),
        "{} of {n} programs disagree:\n{}",
        fails.len(),
        fails.join("\n")
    );
}

/// A fraction of the random-program fuzzer's programs (`weft_compiler::fuzz`)
/// through LLVM (MCJIT) against the kernel interpreter, bit for bit; `WEFT_FUZZ_LLVM_PROGRAMS` sets how many.
#[test]
fn compiled_code_agrees_with_kernel_interpreter_on_fuzz_programs() {
    let n: u64 = std::env::var("WEFT_FUZZ_LLVM_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut cases = Vec::new();
    for seed in 0..n {
        let text = weft_compiler::fuzz::program(seed);
        let g = lower_text(&format!("fuzz{seed}"), &text)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        let mut rng = Lcg(seed ^ 0xD1B5_4A32_D192_ED03);
        cases.extend(random_case(format!("fuzz{seed}"), g, &mut rng, 2));
    }
    jit_all(cases, &LlvmOptions::default());
}

#[test]
fn compiled_code_agrees_with_kernel_interpreter_on_run_cases() {
    jit_all(run_cases(3), &LlvmOptions::default());
}

/// Regression: the float sum's identity was +0 here and -0 in the JIT; a sum
/// of negative zeros is -0 in every engine, bit for bit.
#[test]
fn sums_of_negative_zeros_keep_their_sign() {
    let cases = run_cases(1);
    let c = cases
        .iter()
        .find(|c| c.name == "sum_identity_keeps_negative_zero")
        .expect("the run case");
    let prog = schedule(&c.g).expect("schedules");
    jit_compare(c, &prog, &LlvmOptions::default(), true).expect("same bits");
    let got =
        kinterp::step(&prog, &c.dims(&prog), &[tensor_bytes(&c.inputs[0])], &[]).expect("runs");
    assert_eq!(got.outputs[0][..4], (-0.0f32).to_le_bytes());
}

/// The semantics table's special values through every op.
#[test]
fn compiled_code_agrees_with_kernel_interpreter_on_special_values() {
    jit_all(
        weft_compiler::kernel::specials::special_value_cases(),
        &LlvmOptions::default(),
    );
}

#[test]
fn compiled_code_agrees_with_kernel_interpreter_on_check_ok_programs() {
    jit_all(check_ok_cases(3), &LlvmOptions::default());
    jit_all(
        check_ok_cases(4),
        &LlvmOptions {
            target_cpu: Some("x86-64".into()),
            optimize: false,
        },
    );
}

#[test]
fn object_descriptor_and_vectorised_asm() {
    let g = lower(&root().join("examples/mlp.weft")).expect("mlp compiles");
    let prog = schedule(&g).expect("schedules");
    let obj = crate::compile_object(&prog, &LlvmOptions::default()).expect("object");
    assert_eq!(&obj[..4], b"\x7fELF");
    let d = crate::descriptor(&prog);
    assert!(
        d.starts_with("weft-program 1\ndims B\ninput x f32 2 $0 4\n"),
        "{d}"
    );
    assert!(d.contains("param w1 f32 2 4 16 normal 0.0 0.5 1\n"), "{d}");
    assert!(d.contains("output w1 f32 2 4 16 param 0\n"), "{d}");
    let asm = crate::emit_asm(
        &prog,
        &LlvmOptions {
            target_cpu: Some("x86-64-v3".into()),
            optimize: true,
        },
    )
    .expect("asm");
    assert!(asm.contains("ymm"), "no 256-bit vector code for x86-64-v3");
    let ir = crate::emit_llvm_ir(&prog, &LlvmOptions::default()).expect("ir");
    assert!(ir.contains("@weft_step(") && ir.contains("@weft_program_desc"));
}

/// Runs the one-output program `prog` (one input of `n` f32) compiled by LLVM.
fn jit_unary(prog: &Program, x: &[f32]) -> Vec<f32> {
    let ctx = Context::create();
    let (m, _) = build(&ctx, prog, &LlvmOptions::default()).expect("builds");
    let ee = m
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .expect("jit");
    // SAFETY: the signature of docs/abi.md.
    let step: StepFn = unsafe {
        std::mem::transmute::<usize, StepFn>(ee.get_function_address("weft_step").expect("step"))
    };
    let mut y = vec![0f32; x.len()];
    let dims = [x.len() as i64];
    let ip = [x.as_ptr() as *const u8];
    let op = [y.as_mut_ptr() as *mut u8];
    let mut arena = [0u8; 64];
    // SAFETY: buffers of the declared sizes.
    let rc = unsafe {
        step(
            dims.as_ptr(),
            ip.as_ptr(),
            std::ptr::null(),
            op.as_ptr(),
            std::ptr::null(),
            arena.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0);
    y
}

fn unary_program(op: weft_compiler::ir::op::UnaryOp) -> Program {
    use weft_compiler::ir::types::{DType, Dim, TensorType};
    use weft_compiler::kernel::{BufKind, Buffer, Expr, Kernel};
    let ty = TensorType::new(DType::F32, vec![Dim::sym("N")]);
    let buf = |name: &str, kind| Buffer {
        name: name.into(),
        dtype: DType::F32,
        shape: ty.shape.clone(),
        kind,
    };
    Program {
        dims: vec!["N".into()],
        derived: vec![],
        inputs: vec![("x".into(), ty.clone())],
        feeds: vec![],
        params: vec![],
        outputs: vec![("y".into(), ty.clone(), OutputSrc::Step(0))],
        until: vec![],
        updates: vec![],
        buffers: vec![buf("x", BufKind::Input(0)), buf("y", BufKind::Output(0))],
        kernels: vec![Kernel::Map {
            out: 1,
            expr: Expr::Unary {
                op,
                arg: Box::new(Expr::Load {
                    buf: 0,
                    view: ty.shape.clone(),
                }),
            },
        }],
        slots: vec![],
        errors: vec![],
        origins: Vec::new(),
    }
}

/// Max error in ulps (of the f32 result) and absolute, against f64.
fn max_errors(op: weft_compiler::ir::op::UnaryOp, xs: &[f32], f: fn(f64) -> f64) -> (f64, f64) {
    let ys = jit_unary(&unary_program(op), xs);
    let (mut ulp, mut abs) = (0f64, 0f64);
    for (&x, &y) in xs.iter().zip(&ys) {
        let want = f(x as f64);
        if want.is_nan() {
            assert!(y.is_nan(), "{op:?}({x}) = {y}, want NaN");
            continue;
        }
        if want.is_infinite() || (want as f32).is_infinite() {
            assert_eq!(y, want as f32, "{op:?}({x})");
            continue;
        }
        let w32 = want as f32;
        let u = (w32.abs().max(f32::MIN_POSITIVE) as f64) * f32::EPSILON as f64;
        ulp = ulp.max((y as f64 - want).abs() / u);
        abs = abs.max((y as f64 - want).abs());
    }
    (ulp, abs)
}

#[test]
fn vector_math_accuracy() {
    use weft_compiler::ir::op::UnaryOp;
    let sweep = |lo: f32, hi: f32| -> Vec<f32> {
        let n = 1 << 20;
        (0..n)
            .map(|i| lo + (hi - lo) * (i as f32 / n as f32))
            .collect()
    };
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let (exp_ulp, _) = max_errors(UnaryOp::Exp, &sweep(-87.0, 88.0), f64::exp);
    let mut logx = sweep(1e-3, 1e3);
    logx.extend([
        0.0,
        -1.0,
        f32::INFINITY,
        f32::NAN,
        1e-40,
        1e-30,
        3.4e38,
        1.0,
    ]);
    let (log_ulp, _) = max_errors(UnaryOp::Log, &logx, f64::ln);
    let (_, tanh_abs) = max_errors(UnaryOp::Tanh, &sweep(-12.0, 12.0), f64::tanh);
    let (_, sig_abs) = max_errors(UnaryOp::Sigmoid, &sweep(-30.0, 30.0), sigmoid);
    // Tails: overflow to inf, underflow to 0, NaN kept (checked inside).
    max_errors(
        UnaryOp::Exp,
        &[-200.0, -104.0, 89.0, 200.0, f32::NAN],
        f64::exp,
    );
    eprintln!("exp {exp_ulp:.2} ulp, log {log_ulp:.2} ulp, tanh {tanh_abs:.2e} abs, sigmoid {sig_abs:.2e} abs");
    assert!(
        exp_ulp <= 1.0 && log_ulp <= 1.0,
        "exp {exp_ulp} ulp, log {log_ulp} ulp"
    );
    assert!(
        tanh_abs <= 1.5e-7 && sig_abs <= 1.5e-7,
        "tanh {tanh_abs}, sigmoid {sig_abs}"
    );
    for op in [UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid] {
        let ir = crate::emit_llvm_ir(&unary_program(op), &LlvmOptions::default()).expect("ir");
        assert!(ir.contains(" x float>"), "{op:?} is not vectorised");
    }
}

/// The `requires` record: the x86-64 levels' features, the host's (which
/// this CPU has, so a default build runs here), none for other named CPUs.
#[test]
fn executables_record_the_cpu_features_they_need() {
    let with = |cpu: Option<&str>| {
        crate::required_features(&LlvmOptions {
            target_cpu: cpu.map(String::from),
            optimize: true,
        })
    };
    let v3 = with(Some("x86-64-v3"));
    assert!(v3.contains(&"avx2".to_string()) && v3.contains(&"fma".to_string()));
    assert!(!v3.iter().any(|f| f.starts_with("avx512")));
    assert!(with(Some("x86-64-v4")).contains(&"avx512f".to_string()));
    assert!(with(Some("znver4")).is_empty());
    let host = with(None);
    assert!(weft_runtime::cpu::check(&host, &weft_runtime::cpu::has).is_ok());
}
