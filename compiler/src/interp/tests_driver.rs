//! Tests of the driver: step/update semantics, logging, input and param
//! binding, and the exit status and message of every bad-data case. Data
//! files are written with the runtime's `.npy` writer into a fresh folder
//! under the system temp dir.

use std::path::PathBuf;

use weft_runtime::npy::{Data, NpyArray};
use weft_runtime::{write_npy_file, InputArg, RunError, ScalarLit};

use super::{run, RunOptions, Tensor};
use crate::ir::graph::{Graph, Init, NodeId, ParamDecl};
use crate::ir::op::{BinaryOp, Distribution, Op, ReduceOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};

/// A fresh, empty folder for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weft-interp-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir is writable");
    d
}

fn npy(dir: &std::path::Path, name: &str, shape: &[usize], data: Data) -> InputArg {
    let p = dir.join(name);
    write_npy_file(
        &p,
        &NpyArray {
            shape: shape.to_vec(),
            data,
        },
    )
    .expect("writes");
    InputArg::File(p)
}

fn f32s(n: usize) -> Data {
    Data::F32((0..n).map(|i| i as f32).collect())
}

fn ty(dtype: DType, dims: &[&str]) -> TensorType {
    let shape = dims
        .iter()
        .map(|d| {
            d.parse::<u64>()
                .map(Dim::Lit)
                .unwrap_or_else(|_| Dim::sym(d))
        })
        .collect();
    TensorType::new(dtype, shape)
}

fn input(g: &mut Graph, name: &str, t: TensorType) -> NodeId {
    let id = g.add(
        Op::Input {
            name: name.into(),
            ty: t,
        },
        &[],
        None,
    );
    g.inputs.push((name.into(), id));
    id
}

fn param(g: &mut Graph, name: &str, t: TensorType, init: Init) -> NodeId {
    let id = g.add(
        Op::Param {
            name: name.into(),
            ty: t.clone(),
        },
        &[],
        None,
    );
    g.params.push(ParamDecl {
        name: name.into(),
        ty: t,
        init,
        node: id,
    });
    id
}

fn run_simple(g: &Graph, inputs: &[(String, InputArg)]) -> Result<Vec<(String, Tensor)>, RunError> {
    run(g, inputs, &[], &RunOptions::default(), &mut |_, _, _| {})
}

fn vals(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec()
}

/// The conformance sample's p03_steps: `param c: f32[2] = ones()`,
/// `update c = c * 2.0`, `output c`, `output before = c + 0.0`.
fn steps_program() -> Graph {
    let mut g = Graph::new();
    let c = param(
        &mut g,
        "c",
        ty(DType::F32, &["2"]),
        Init::Full(Scalar::Float(1.0)),
    );
    let twice = g.binary_scalar(BinaryOp::Mul, c, 2.0, None);
    g.updates.push(("c".into(), twice));
    let before = g.binary_scalar(BinaryOp::Add, c, 0.0, None);
    g.outputs.push(("c".into(), c));
    g.outputs.push(("before".into(), before));
    g
}

#[test]
fn param_output_is_after_the_last_update() {
    let g = steps_program();
    let opts = RunOptions {
        steps: 3,
        ..RunOptions::default()
    };
    let out = run(&g, &[], &[], &opts, &mut |_, _, _| {}).expect("runs");
    assert_eq!(out[0].0, "c");
    assert_eq!(vals(&out[0].1), vec![8.0, 8.0]);
    assert_eq!(out[1].0, "before");
    assert_eq!(vals(&out[1].1), vec![4.0, 4.0]);
}

#[test]
fn logging_follows_log_every_and_the_last_step() {
    let g = steps_program();
    let opts = RunOptions {
        steps: 5,
        log: vec!["before".into(), "c".into()],
        log_every: 2,
        progress: true,
    };
    let mut seen = Vec::new();
    run(&g, &[], &[], &opts, &mut |k, name, t| {
        seen.push((k, name.to_string(), vals(t)[0]))
    })
    .expect("runs");
    let want = [
        (2, "before", 2.0),
        (2, "c", 4.0),
        (4, "before", 8.0),
        (4, "c", 16.0),
        (5, "before", 16.0),
        (5, "c", 32.0),
    ];
    let want: Vec<(u64, String, f64)> = want
        .iter()
        .map(|&(k, n, v)| (k, n.to_string(), v))
        .collect();
    assert_eq!(seen, want);

    let bad = RunOptions {
        log: vec!["nope".into()],
        ..RunOptions::default()
    };
    let e = run(&g, &[], &[], &bad, &mut |_, _, _| {}).expect_err("unknown log name");
    assert_eq!(e.exit_code, 2);
    assert!(
        e.message
            .contains("no output named `nope`; the outputs are: c, before"),
        "{}",
        e.message
    );
}

#[test]
fn a_program_without_updates_runs_one_step() {
    let mut g = Graph::new();
    let x = input(&mut g, "x", ty(DType::I64, &[]));
    let y = g.binary_scalar(BinaryOp::Add, x, 1.0, None);
    g.outputs.push(("y".into(), y));
    let opts = RunOptions {
        steps: 10,
        log: vec!["y".into()],
        ..RunOptions::default()
    };
    let mut steps = Vec::new();
    let out = run(
        &g,
        &[("x".into(), InputArg::Scalar(ScalarLit::Int(41)))],
        &[],
        &opts,
        &mut |k, _, _| steps.push(k),
    )
    .expect("runs");
    assert_eq!(vals(&out[0].1), vec![42.0]);
    assert_eq!(steps, vec![1]);
}

#[test]
fn param_independent_values_are_reused_across_steps() {
    // p: f32[3] = zeros; r = uniform(seed 7) (static); update p = p + r + x.
    let mut g = Graph::new();
    let t3 = ty(DType::F32, &["3"]);
    let p = param(&mut g, "p", t3.clone(), Init::Full(Scalar::Float(0.0)));
    let x = input(&mut g, "x", t3.clone());
    let r = g.add(
        Op::Random {
            ty: t3.clone(),
            dist: Distribution::Uniform { lo: 0.0, hi: 1.0 },
            seed: 7,
        },
        &[],
        None,
    );
    let rx = g.binary(BinaryOp::Add, r, x, None);
    let next = g.binary(BinaryOp::Add, p, rx, None);
    g.updates.push(("p".into(), next));
    g.outputs.push(("p".into(), p));
    g.outputs.push(("rx".into(), rx));
    let dir = temp_dir("reuse");
    let xs = npy(&dir, "x.npy", &[3], Data::F32(vec![1.0, 2.0, 3.0]));
    let opts = RunOptions {
        steps: 4,
        ..RunOptions::default()
    };
    let out = run(&g, &[("x".into(), xs)], &[], &opts, &mut |_, _, _| {}).expect("runs");
    let rx = vals(&out[1].1);
    for (i, &v) in rx.iter().enumerate() {
        let r = weft_runtime::rng::uniform(7, i as u64) as f32;
        assert_eq!(v, f64::from(r + (i + 1) as f32));
    }
    let mut acc = [0f32; 3];
    for _ in 0..4 {
        for (a, &v) in acc.iter_mut().zip(&rx) {
            *a += v as f32;
        }
    }
    assert_eq!(
        vals(&out[0].1),
        acc.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()
    );
}

/// `input x: f32[B, 4]`, `input y: i32[B]`, outputs `s = sum(x)` and `y`.
fn two_inputs() -> Graph {
    let mut g = Graph::new();
    let x = input(&mut g, "x", ty(DType::F32, &["B", "4"]));
    let y = input(&mut g, "y", ty(DType::I32, &["B"]));
    let s = g.reduce(ReduceOp::Sum, x, &[0, 1], None);
    g.outputs.push(("s".into(), s));
    g.outputs.push(("y".into(), y));
    g
}

fn expect_err(r: Result<Vec<(String, Tensor)>, RunError>, code: i32, parts: &[&str]) {
    let e = r.expect_err("must fail");
    assert_eq!(e.exit_code, code, "{}", e.message);
    for p in parts {
        assert!(e.message.contains(p), "message {:?} lacks {p:?}", e.message);
    }
}

#[test]
fn inputs_bind_sizes_and_are_checked() {
    let g = two_inputs();
    let dir = temp_dir("inputs");
    let x = npy(&dir, "x.npy", &[6, 4], f32s(24));
    let y = npy(&dir, "y.npy", &[6], Data::I32(vec![0; 6]));
    let ok = run_simple(&g, &[("y".into(), y.clone()), ("x".into(), x.clone())]).expect("runs");
    assert_eq!(vals(&ok[0].1), vec![276.0]);
    assert_eq!(ok[0].1.shape(), &[1, 1]);

    expect_err(
        run_simple(&g, &[("x".into(), x.clone())]),
        3,
        &["input `y` was not given: expected i32[B]; pass --input y=FILE.npy"],
    );
    expect_err(
        run_simple(
            &g,
            &[
                ("x".into(), x.clone()),
                ("y".into(), y.clone()),
                ("z".into(), y.clone()),
            ],
        ),
        2,
        &["no input named `z`; the program's inputs are: x, y"],
    );
    let x64 = npy(&dir, "x64.npy", &[6, 4], Data::F64(vec![0.0; 24]));
    expect_err(
        run_simple(&g, &[("x".into(), x64), ("y".into(), y.clone())]),
        3,
        &["input `x`", "f32[B, 4]", "f64[6, 4]"],
    );
    let xr = npy(&dir, "xr.npy", &[24], f32s(24));
    expect_err(
        run_simple(&g, &[("x".into(), xr), ("y".into(), y.clone())]),
        3,
        &["input `x`", "f32[B, 4]", "f32[24]"],
    );
    let xl = npy(&dir, "xl.npy", &[4, 6], f32s(24));
    expect_err(
        run_simple(&g, &[("x".into(), xl), ("y".into(), y.clone())]),
        3,
        &["input `x`", "f32[4, 6]", "axis 1 must be 4"],
    );
    let y5 = npy(&dir, "y5.npy", &[5], Data::I32(vec![0; 5]));
    expect_err(
        run_simple(&g, &[("x".into(), x.clone()), ("y".into(), y5)]),
        3,
        &["size B is 6 (from input `x`) but input `y` has 5 on axis 0"],
    );
    let xh = npy(&dir, "xh.npy", &[6, 4], Data::F16(vec![0; 24]));
    expect_err(
        run_simple(&g, &[("x".into(), xh), ("y".into(), y.clone())]),
        3,
        &["input `x`", "f16[6, 4]"],
    );
    let missing = InputArg::File(dir.join("nope.npy"));
    expect_err(
        run_simple(&g, &[("x".into(), missing), ("y".into(), y.clone())]),
        3,
        &["input `x`", "nope.npy"],
    );
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"not a numpy file at all").expect("writes");
    expect_err(
        run_simple(
            &g,
            &[
                ("x".into(), InputArg::File(garbage)),
                ("y".into(), y.clone()),
            ],
        ),
        3,
        &["input `x`", "garbage.npy"],
    );
    let num = InputArg::Scalar(ScalarLit::Float(1.5));
    expect_err(
        run_simple(&g, &[("x".into(), num), ("y".into(), y)]),
        3,
        &["input `x` expects f32[B, 4]", "--input x=FILE.npy"],
    );
}

#[test]
fn scalar_inputs_follow_literal_rules() {
    let mut g = Graph::new();
    for (name, d) in [("f", DType::F32), ("i", DType::I32), ("b", DType::Bool)] {
        let id = input(&mut g, name, ty(d, &[]));
        g.outputs.push((name.into(), id));
    }
    let lit = |f, i, b| {
        vec![
            ("f".to_string(), InputArg::Scalar(f)),
            ("i".to_string(), InputArg::Scalar(i)),
            ("b".to_string(), InputArg::Scalar(b)),
        ]
    };
    let out = run_simple(
        &g,
        &lit(ScalarLit::Int(3), ScalarLit::Int(-2), ScalarLit::Bool(true)),
    )
    .expect("runs");
    assert_eq!(
        out.iter().map(|(_, t)| vals(t)[0]).collect::<Vec<_>>(),
        vec![3.0, -2.0, 1.0]
    );
    assert_eq!(out[0].1.dtype(), DType::F32);
    expect_err(
        run_simple(
            &g,
            &lit(
                ScalarLit::Int(3),
                ScalarLit::Float(2.0),
                ScalarLit::Bool(true),
            ),
        ),
        3,
        &["input `i` expects i32"],
    );
    expect_err(
        run_simple(
            &g,
            &lit(
                ScalarLit::Bool(true),
                ScalarLit::Int(2),
                ScalarLit::Bool(true),
            ),
        ),
        3,
        &["input `f` expects f32"],
    );
    expect_err(
        run_simple(
            &g,
            &lit(ScalarLit::Int(3), ScalarLit::Int(2), ScalarLit::Int(1)),
        ),
        3,
        &["input `b` expects bool"],
    );
    expect_err(
        run_simple(
            &g,
            &lit(
                ScalarLit::Int(3),
                ScalarLit::Int(1 << 40),
                ScalarLit::Bool(false),
            ),
        ),
        3,
        &["does not fit i32"],
    );
}

#[test]
fn params_load_from_files_or_initialise() {
    // input x: f32[B, 4]; param w: f32[4, H] = normal(seed 3); output w; output xw = x @ w.
    let mut g = Graph::new();
    let x = input(&mut g, "x", ty(DType::F32, &["B", "4"]));
    let init = Init::Random {
        dist: Distribution::Normal {
            mean: 0.0,
            std: 1.0,
        },
        seed: 3,
    };
    let w = param(&mut g, "w", ty(DType::F32, &["4", "H"]), init);
    let xw = g.add(Op::MatMul, &[x, w], None);
    g.outputs.push(("w".into(), w));
    g.outputs.push(("xw".into(), xw));
    let dir = temp_dir("params");
    let xs = vec![("x".to_string(), npy(&dir, "x.npy", &[2, 4], f32s(8)))];
    let none: &[(String, PathBuf)] = &[];
    let opts = RunOptions::default();
    let sink = &mut |_: u64, _: &str, _: &Tensor| {};
    let e = run(&g, &xs, none, &opts, sink).expect_err("H is unbound");
    assert_eq!(e.exit_code, 3);
    assert!(
        e.message.contains(
            "param `w` has type f32[4, H], but no input binds size H; pass --param w=FILE.npy"
        ),
        "{}",
        e.message
    );

    let wf = dir.join("w.npy");
    write_npy_file(
        &wf,
        &NpyArray {
            shape: vec![4, 3],
            data: f32s(12),
        },
    )
    .expect("writes");
    let out = run(&g, &xs, &[("w".into(), wf.clone())], &opts, sink).expect("runs");
    assert_eq!(out[1].1.shape(), &[2, 3]);
    assert_eq!(vals(&out[1].1), vec![42.0, 48.0, 54.0, 114.0, 136.0, 158.0]);

    let e = run(&g, &xs, &[("v".into(), wf)], &opts, sink).expect_err("unknown param");
    assert_eq!(e.exit_code, 2);
    assert!(
        e.message
            .contains("no param named `v`; the program's params are: w"),
        "{}",
        e.message
    );
    let wbad = dir.join("wbad.npy");
    write_npy_file(
        &wbad,
        &NpyArray {
            shape: vec![4, 3],
            data: Data::I64(vec![0; 12]),
        },
    )
    .expect("writes");
    let e = run(&g, &xs, &[("w".into(), wbad)], &opts, sink).expect_err("wrong dtype");
    assert_eq!(e.exit_code, 3);
    assert!(
        e.message.contains("param `w` expects f32[4, H]") && e.message.contains("i64[4, 3]"),
        "{}",
        e.message
    );

    // With H given by a literal, the declared initialiser runs: element i is rng counter i.
    let mut g2 = Graph::new();
    let w2 = param(
        &mut g2,
        "w",
        ty(DType::F64, &["2", "3"]),
        Init::Random {
            dist: Distribution::Normal {
                mean: 1.0,
                std: 0.5,
            },
            seed: 9,
        },
    );
    g2.outputs.push(("w".into(), w2));
    let out = run(&g2, &[], none, &opts, sink).expect("runs");
    let want: Vec<f64> = (0..6)
        .map(|i| 1.0 + 0.5 * weft_runtime::rng::normal(9, i))
        .collect();
    assert_eq!(vals(&out[0].1), want);
}

#[test]
fn unsupported_and_absurd_programs_fail_cleanly() {
    let mut g = Graph::new();
    let h = input(&mut g, "h", ty(DType::F16, &["2"]));
    g.outputs.push(("h".into(), h));
    let e = run_simple(&g, &[]).expect_err("f16");
    assert!(
        e.message
            .contains("f16 is not supported by the interpreter yet"),
        "{}",
        e.message
    );

    // v: f32[B] with B = 65536; zeros of f32[B, B, B] (2^50 bytes) and f32[B, B, B, B] (overflow).
    let dir = temp_dir("huge");
    let v = npy(&dir, "v.npy", &[65536], Data::F32(vec![0.0; 65536]));
    for rank in [3, 4] {
        let mut g = Graph::new();
        let _ = input(&mut g, "v", ty(DType::F32, &["B"]));
        let big = ty(DType::F32, &vec!["B"; rank]);
        let z = g.full(0.0, &big, None);
        g.outputs.push(("z".into(), z));
        let e = run_simple(&g, &[("v".into(), v.clone())]).expect_err("too large");
        assert_eq!(e.exit_code, 3, "{}", e.message);
    }

    let g = steps_program();
    let opts = RunOptions {
        steps: 0,
        ..RunOptions::default()
    };
    let e = run(&g, &[], &[], &opts, &mut |_, _, _| {}).expect_err("zero steps");
    assert_eq!(e.exit_code, 2);
}

#[test]
fn run_time_range_errors_name_the_node() {
    // x: f32[N]; y = x[2:4] (a slice of len 2 from 2): fine for N = 4, an error for N = 3.
    let mut g = Graph::new();
    let x = input(&mut g, "x", ty(DType::F32, &["N"]));
    let y = g.add(
        Op::Slice {
            axis: 0,
            start: 2,
            step: 1,
            len: Dim::Lit(2),
        },
        &[x],
        None,
    );
    g.set_label(y, "y");
    g.outputs.push(("y".into(), y));
    let dir = temp_dir("range");
    let x4 = npy(&dir, "x4.npy", &[4], f32s(4));
    assert_eq!(
        vals(&run_simple(&g, &[("x".into(), x4)]).expect("runs")[0].1),
        vec![2.0, 3.0]
    );
    let x3 = npy(&dir, "x3.npy", &[3], f32s(3));
    expect_err(
        run_simple(&g, &[("x".into(), x3)]),
        3,
        &["in `y`", "slice", "length 3"],
    );
}
