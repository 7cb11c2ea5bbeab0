//! Differential tests: the kernel-IR interpreter against the graph
//! interpreter on every run case (its own data, every step) and every
//! `tests/check/ok` program (random data, small random sizes); see
//! [`super::testing`].

use super::testing::{check_ok_cases, compare_case, lower, root, run_cases, Case};

fn run_all(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut fails = Vec::new();
    for c in &cases {
        let prog = match super::schedule(&c.g) {
            Ok(p) => p,
            Err(e) if e.contains("not supported") => continue,
            Err(e) => {
                fails.push(format!("{}: schedule: {e}", c.name));
                continue;
            }
        };
        if let Err(e) = compare_case(c, &prog) {
            fails.push(format!("{}: {e}\n{}", c.name, super::print::program(&prog)));
        }
    }
    assert!(
        fails.is_empty(),
        "{} of {} cases disagree:\n{}",
        fails.len(),
        cases.len(),
        fails.join("\n")
    );
}

#[test]
fn kernels_agree_with_graph_interpreter_on_run_cases() {
    run_all(run_cases(3));
}

#[test]
fn kernels_agree_with_graph_interpreter_on_check_ok_programs() {
    for seed in [1, 2] {
        run_all(check_ok_cases(seed));
    }
}

#[test]
fn mlp_fuses_and_reuses_memory() {
    let g = lower(&root().join("examples/mlp.weft")).expect("mlp compiles");
    let p = super::schedule(&g).expect("schedules");
    let temps = p
        .buffers
        .iter()
        .filter(|b| matches!(b.kind, super::BufKind::Temp { .. }))
        .count();
    assert!(
        p.slots.len() < temps,
        "slots are reused:\n{}",
        super::print::program(&p)
    );
    assert!(
        p.kernels.len() < g.len() / 2,
        "fusion merges nodes:\n{}",
        super::print::program(&p)
    );
}

#[test]
fn long_chains_split_into_bounded_loops_in_linear_time() {
    let k = 6000;
    let mut text = String::from("dim N\ninput x: f32[N]\nlet v0 = x\n");
    for i in 0..k {
        let op = if i % 2 == 0 { "* 0.999" } else { "+ 0.001" };
        text.push_str(&format!("let v{} = v{i} {op}\n", i + 1));
    }
    text.push_str(&format!("output y = v{k}\n"));
    let dir = std::env::temp_dir().join(format!("weft-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("chain.weft");
    std::fs::write(&path, text).expect("write");
    let g = lower(&path).expect("chain compiles");
    let _ = std::fs::remove_dir_all(&dir);
    let t = std::time::Instant::now();
    let p = super::schedule(&g).expect("schedules");
    let maps: Vec<usize> = p
        .kernels
        .iter()
        .filter_map(|k| match k {
            super::Kernel::Map { expr, .. } => Some(expr.nodes()),
            _ => None,
        })
        .collect();
    // 2k + 1 nodes in all (each op and its literal, and x).
    assert!(maps.len() >= (2 * k + 1) / (super::schedule::MAX_FUSED_NODES + 1));
    assert!(maps.len() <= 2 * (2 * k + 1) / super::schedule::MAX_FUSED_NODES + 1);
    assert!(maps
        .iter()
        .all(|&n| n <= 2 * super::schedule::MAX_FUSED_NODES + 1));
    // Quadratic cloning took seconds here; linear takes milliseconds.
    assert!(t.elapsed().as_secs_f64() < 2.0, "{:?}", t.elapsed());
}

/// Every scalar op of the semantics table on NaN, ±0, ±inf, subnormals and
/// extreme integers (and edge literals): the kernel interpreter gives the
/// graph interpreter's bits.
#[test]
fn special_values_match_the_graph_interpreter_bit_for_bit() {
    let cases = super::specials::special_value_cases();
    assert!(cases.len() > 150, "{} cases", cases.len());
    let mut fails = Vec::new();
    for c in &cases {
        let r = super::schedule(&c.g).and_then(|p| super::testing::compare_case_bits(c, &p));
        if let Err(e) = r {
            fails.push(format!("{}: {e}", c.name));
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// Regression: reduction identities differed between engines (-0 in the
/// JIT, +0 in LLVM); the table's -0 makes a sum of negative zeros -0 in the
/// graph interpreter and the kernel interpreter alike.
#[test]
fn sums_of_negative_zeros_are_negative_zero_bit_for_bit() {
    let cases = run_cases(1);
    let c = cases
        .iter()
        .find(|c| c.name == "sum_identity_keeps_negative_zero")
        .expect("the run case");
    let prog = super::schedule(&c.g).expect("schedules");
    super::testing::compare_case_bits(c, &prog).expect("same bits");
    let (outs, _) = super::testing::graph_step(c, 0, &c.params).expect("runs");
    let bytes = super::testing::tensor_bytes(&outs[0]);
    assert_eq!(bytes[..4], (-0.0f32).to_le_bytes());
    assert_eq!(bytes[4..8], 0.0f32.to_le_bytes());
}

/// The memory plan treats a row group as one step: the temps its kernels
/// touch have distinct slots (a backend runs the group row by row, so they
/// are live together), on every run case and check_ok program.
#[test]
fn row_groups_never_share_arena_slots() {
    let mut cases = run_cases(3);
    cases.extend(check_ok_cases(1));
    let mut groups_seen = 0;
    for c in &cases {
        let Ok(p) = super::schedule(&c.g) else {
            continue;
        };
        for group in super::fusion::row_groups(&p) {
            if group.len() < 2 {
                continue;
            }
            groups_seen += 1;
            let mut touched: Vec<usize> = Vec::new();
            for &k in &group {
                let kern = &p.kernels[k];
                touched.extend(kern.inputs());
                touched.extend(kern.output());
            }
            touched.sort_unstable();
            touched.dedup();
            let slots: Vec<usize> = touched
                .iter()
                .filter_map(|&b| match p.buffers[b].kind {
                    super::BufKind::Temp { slot } => Some(slot),
                    _ => None,
                })
                .collect();
            let mut distinct = slots.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                slots.len(),
                "{}: group {group:?} shares a slot\n{}",
                c.name,
                super::print::program(&p)
            );
        }
    }
    assert!(
        groups_seen > 0,
        "no case has a row group of two kernels or more"
    );
}

/// Softmax over rows of a size name is one row group (max, exponentials,
/// sum, division), whose exponentials no other kernel reads.
#[test]
fn softmax_is_one_row_group() {
    let g = lower(&root().join("bench/workloads/w5_softmax.weft")).expect("compiles");
    let p = super::schedule(&g).expect("schedules");
    let groups = super::fusion::row_groups(&p);
    assert!(
        groups.iter().any(|gr| gr.len() == 4),
        "groups {groups:?}\n{}",
        super::print::program(&p)
    );
}

/// The gradients of a data-parallel step reach the runtime in one
/// collective: every `all_mean` of `tests/distributed/mlp.weft`'s gradient
/// record in one all-reduce kernel, emitted after the backward pass and
/// before the first update reads a result.
#[test]
fn all_sums_of_gradients_fuse_into_one_kernel() {
    let g = lower(&root().join("tests/distributed/mlp.weft")).expect("compiles");
    let p = super::schedule(&g).expect("schedules");
    let text = super::print::program(&p);
    let reduces: Vec<(usize, &Vec<(super::BufId, super::BufId)>)> = p
        .kernels
        .iter()
        .enumerate()
        .filter_map(|(k, kern)| match kern {
            super::Kernel::AllReduce { parts, .. } => Some((k, parts)),
            _ => None,
        })
        .collect();
    let grads = reduces
        .iter()
        .find(|(_, parts)| parts.len() >= 4)
        .unwrap_or_else(|| panic!("no all-reduce of the four gradients:\n{text}"));
    // `mean_loss` (f32) may join the gradients; `ranks` (i64) is its own.
    assert!(reduces.len() <= 3, "{text}");
    let first_update = p
        .kernels
        .iter()
        .position(|k| {
            k.outputs()
                .iter()
                .any(|&b| matches!(p.buffers[b].kind, super::BufKind::Update(_)))
        })
        .expect("updates");
    assert!(grads.0 < first_update, "{text}");
    let is_grad_input = |k: &super::Kernel| matches!(k, super::Kernel::MatMul { .. });
    let last_matmul = p.kernels.iter().rposition(is_grad_input).expect("matmuls");
    assert!(last_matmul < grads.0, "after the backward pass:\n{text}");
}
