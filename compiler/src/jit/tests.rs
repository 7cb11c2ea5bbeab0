//! Differential tests: every kernel of every run case and every
//! `tests/check/ok` program (random data), once interpreted and once
//! compiled, on the same memory; and whole runs through [`Tiered`] with
//! `--jit always` against `--jit never`.
//!
//! Tolerance: none. Compiled kernels perform the interpreter's operations in
//! its order (transcendentals through the same host code), so every output
//! must be bit-identical (NaNs compare equal to NaNs).

use super::difftest::{compare_kernels, Counts};
use super::{compile_kernel, supports, JitMode, Tier, Tiered};
use crate::ir::types::DType;
use crate::kernel::interp::step;
use crate::kernel::specials::special_value_cases;
use crate::kernel::testing::{check_ok_cases, identical_bits, run_cases, tensor_bytes, Case};
use crate::kernel::{schedule, Kernel, Program};

/// Every step of the case through `Tiered` in `mode` against the interpreter.
fn compare_tiered(c: &Case, prog: &Program, mode: JitMode) -> Result<(), String> {
    let dims = c.dims(prog);
    let inputs: Vec<Vec<u8>> = c
        .inputs_at(0)
        .unwrap_or_default()
        .iter()
        .map(tensor_bytes)
        .collect();
    let mut p1: Vec<Vec<u8>> = c.params.iter().map(tensor_bytes).collect();
    let mut p2 = p1.clone();
    let mut t = Tiered::new(prog, mode);
    t.hot_calls = 1;
    for s in 0..c.steps.max(3) {
        let want = step(prog, &dims, &inputs, &p1);
        let got = t.step_owned(&dims, &inputs, &p2);
        if mode == JitMode::Auto {
            t.wait_compiled();
        }
        let (want, got) = match (want, got) {
            (Ok(w), Ok(g)) => (w, g),
            (Err(a), Err(b)) if a == b => return Ok(()),
            (w, g) => return Err(format!("step {s}: {:?} against {:?}", w.err(), g.err())),
        };
        for (i, (name, _, src)) in prog.outputs.iter().enumerate() {
            if let crate::kernel::OutputSrc::Step(k) = src {
                identical_bits(&got.outputs[*k], &want.outputs[*k])
                    .map_err(|e| format!("step {s}: output {i} {name}: {e}"))?;
            }
        }
        for (i, &p) in prog.updates.iter().enumerate() {
            identical_bits(&got.updates[i], &want.updates[i])
                .map_err(|e| format!("step {s}: update {i}: {e}"))?;
            p1[p] = want.updates[i].clone();
            p2[p] = got.updates[i].clone();
        }
    }
    if mode != JitMode::Never {
        for (k, st) in t.stats().iter().enumerate() {
            let want_jit = supports(&prog.kernels[k]);
            if want_jit && st.tier != Tier::Jit {
                return Err(format!("kernel {k} is {:?}", st.tier));
            }
        }
    }
    Ok(())
}

fn programs(cases: &[Case]) -> Vec<(&Case, Program)> {
    cases
        .iter()
        .filter_map(|c| schedule(&c.g).ok().map(|p| (c, p)))
        .collect()
}

fn check_all(cases: Vec<Case>, min_vectorized: usize) {
    let progs = programs(&cases);
    assert!(!progs.is_empty());
    let mut counts = Counts {
        compiled: 0,
        vectorized: 0,
        failed: Vec::new(),
    };
    let mut fails = Vec::new();
    for (c, p) in &progs {
        if let Err(e) = compare_kernels(c, p, &mut counts) {
            fails.push(format!("{}: {e}", c.name));
        }
    }
    assert!(
        fails.is_empty() && counts.failed.is_empty(),
        "{} disagreements, {} compile failures:\n{}\n{}",
        fails.len(),
        counts.failed.len(),
        fails.join("\n"),
        counts.failed.join("\n")
    );
    assert!(counts.compiled > 0);
    eprintln!(
        "{} programs: {} kernels compiled, {} vectorised",
        progs.len(),
        counts.compiled,
        counts.vectorized
    );
    assert!(
        counts.vectorized >= min_vectorized,
        "only {} of {} kernels vectorised",
        counts.vectorized,
        counts.compiled
    );
}

// The vectorised counts guard coverage: 305 of 458 run-case kernels and
// 173 of 260 check/ok kernels ran in f32x4 when these bounds were set.
#[test]
fn compiled_kernels_match_interpreter_on_run_cases() {
    check_all(run_cases(3), 280);
}

/// The semantics table's special values through every op: compiled code
/// (scalar and `f32x4` loops) gives the interpreter's bits.
#[test]
fn compiled_kernels_match_interpreter_on_special_values() {
    check_all(special_value_cases(), 20);
}

#[test]
fn compiled_kernels_match_interpreter_on_check_ok_programs() {
    for seed in [1, 2] {
        check_all(check_ok_cases(seed), 150);
    }
}

/// Every `f32` map and reduction of the MLP example's training step runs in
/// `f32x4` (short `[B, 3]` axes, one-hot labels, strided reads included),
/// and its matrix products call the runtime's GEMM.
#[test]
fn mlp_example_kernels_all_vectorise() {
    let cases = run_cases(1);
    let case = cases
        .iter()
        .find(|c| c.name == "example_mlp")
        .expect("the run cases include the MLP example");
    let prog = schedule(&case.g).expect("schedules");
    let mut scalar = Vec::new();
    for kern in &prog.kernels {
        let ck = compile_kernel(&prog, kern).expect("compiles");
        let f32_loop = match kern {
            Kernel::Map { out, .. } | Kernel::Reduce { out, .. } => {
                let b = &prog.buffers[*out];
                b.dtype == DType::F32 && !b.shape.is_empty()
            }
            _ => false,
        };
        if f32_loop && !ck.vectorized {
            scalar.push(crate::kernel::print::kernel(kern));
        }
    }
    // The loss's mean over B is a sum of one lane into a scalar.
    assert!(scalar.len() <= 1, "scalar kernels:\n{}", scalar.join("\n"));
}

#[test]
fn tiered_runs_match_interpreter_in_every_mode() {
    let cases = run_cases(3);
    let mut fails = Vec::new();
    for (c, p) in programs(&cases) {
        for mode in [JitMode::Always, JitMode::Never, JitMode::Auto] {
            if let Err(e) = compare_tiered(c, &p, mode) {
                fails.push(format!("{} ({mode:?}): {e}", c.name));
            }
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn unsupported_kinds_are_errors_not_panics() {
    let cases = run_cases(1);
    let mut seen = 0;
    for (_, p) in programs(&cases) {
        for k in &p.kernels {
            if !supports(k) {
                assert!(compile_kernel(&p, k).is_err());
                seen += 1;
            }
            if matches!(k, Kernel::Check { .. }) {
                assert!(compile_kernel(&p, k).is_err());
            }
        }
    }
    assert!(seen > 0);
}

#[test]
fn jit_mode_parses() {
    assert_eq!("auto".parse::<JitMode>(), Ok(JitMode::Auto));
    assert_eq!("always".parse::<JitMode>(), Ok(JitMode::Always));
    assert_eq!("never".parse::<JitMode>(), Ok(JitMode::Never));
    assert!("sometimes".parse::<JitMode>().is_err());
}

/// Timing of an elementwise-heavy program, interpreter against JIT:
/// `cargo test -p weft-compiler --release --lib jit::tests::bench_elementwise -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_elementwise() {
    use std::time::Instant;
    let dir = std::env::temp_dir().join(format!("weft-jit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bench.weft");
    std::fs::write(
        &path,
        "dim N\ninput x: f32[N, 256]\ninput b: f32[256]\n\
         let h = relu(x * 2.0 + b) * x - x / 3.0\n\
         let g = tanh(h) + h * h\n\
         output y = sum(g * x, axis=1)\n",
    )
    .expect("write");
    let g = crate::kernel::testing::lower(&path).expect("bench program compiles");
    let prog = schedule(&g).expect("schedules");
    eprintln!("{}", crate::kernel::print::program(&prog));
    let n = 2048u64;
    let dims = vec![n];
    let x: Vec<u8> = (0..n * 256)
        .flat_map(|i| (((i * 7919) % 1000) as f32 / 250.0 - 2.0).to_le_bytes())
        .collect();
    let b: Vec<u8> = (0..256)
        .flat_map(|i| (i as f32 / 128.0 - 1.0).to_le_bytes())
        .collect();
    let inputs = vec![x, b];
    for k in &prog.kernels {
        if let Ok(ck) = compile_kernel(&prog, k) {
            eprintln!(
                "compile {:?}: {:.3} ms (f32x4: {})",
                std::mem::discriminant(k),
                ck.compile_time.as_secs_f64() * 1e3,
                ck.vectorized
            );
        }
    }
    let mut results = Vec::new();
    for mode in [JitMode::Never, JitMode::Always] {
        let t0 = Instant::now();
        let mut t = Tiered::new(&prog, mode);
        let setup = t0.elapsed();
        let reps = 5;
        let t1 = Instant::now();
        let mut out = None;
        for _ in 0..reps {
            out = Some(t.step_owned(&dims, &inputs, &[]).expect("step"));
        }
        let per = t1.elapsed().as_secs_f64() * 1e3 / reps as f64;
        eprintln!(
            "{mode:?}: setup {:.3} ms, {per:.3} ms per step\n{}",
            setup.as_secs_f64() * 1e3,
            t.stats_table()
        );
        results.push(out.expect("ran").outputs);
    }
    assert_eq!(results[0], results[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kernel measured expensive at the run's sizes is compiled before its
/// first call, even in a one-step run; a cheap one stays interpreted. The
/// results are the interpreter's either way, the big one computed in two
/// parts on two threads.
#[test]
fn expensive_kernels_compile_before_their_first_call() {
    let dir = std::env::temp_dir().join(format!("weft-jit-estimate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("big.weft");
    std::fs::write(
        &src,
        "dim N\ninput x: f32[N]\noutput y = exp(x) * 2.0 + 1.0\n",
    )
    .expect("write");
    let g = crate::kernel::testing::lower(&src).expect("compiles");
    let _ = std::fs::remove_dir_all(&dir);
    let prog = schedule(&g).expect("schedules");
    // Two threads: the big map's loop is cut in parts (same bits).
    super::set_threads(2);
    for (n, compiled) in [(10u64, false), (200_000, true)] {
        let dims = vec![n];
        let x: Vec<u8> = (0..n)
            .flat_map(|i| ((i % 97) as f32 * 0.01 - 0.5).to_le_bytes())
            .collect();
        let inputs = vec![x];
        let mut t = Tiered::new(&prog, JitMode::Auto);
        t.expected_calls = Some(1);
        let got = t.step_owned(&dims, &inputs, &[]).expect("steps");
        let want = step(&prog, &dims, &inputs, &[]).expect("steps");
        assert_eq!(got.outputs, want.outputs, "N = {n}");
        let jit: u64 = t.stats().iter().map(|s| s.jit_calls).sum();
        assert_eq!(jit > 0, compiled, "N = {n}: {}", t.stats_table());
    }
}
