//! Tests of the autodiff pass: every rule by central finite differences and by
//! a random-direction dot-product check (like JAX's `check_grads`), second
//! derivatives through nested `grad`, tie rules, and the sweep's structure.
//! Graphs are built with the `Graph` API and evaluated by the f64 evaluator
//! in `eval.rs`.

use super::eval::{eval, Env, T};
use super::harness::*;
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};

// ---- every rule, by finite differences ------------------------------------

#[test]
fn unary_rules() {
    let mut rng = Rng(1);
    for (k, u) in UnaryOp::ALL.into_iter().enumerate() {
        let gen = match u {
            UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Rsqrt | UnaryOp::Log1p => Gen::Pos,
            UnaryOp::Tan => Gen::Unit,
            UnaryOp::Abs | UnaryOp::Relu | UnaryOp::Sign => Gen::Away,
            _ => Gen::Normal,
        };
        for _ in 0..3 {
            let shape = random_shape(&mut rng);
            let specs = [spec("x", f64t(&shape), gen)];
            check_grads(
                u.name(),
                &specs,
                &[],
                &|g, xs| g.unary(u, xs[0], None),
                100 + k as u64,
            );
        }
    }
}

#[test]
fn binary_rules_with_broadcasting() {
    let mut rng = Rng(2);
    let ops = [
        (BinaryOp::Add, Gen::Normal, Gen::Normal),
        (BinaryOp::Sub, Gen::Normal, Gen::Normal),
        (BinaryOp::Mul, Gen::Normal, Gen::Normal),
        (BinaryOp::Div, Gen::Normal, Gen::Away),
        (BinaryOp::Pow, Gen::Pos, Gen::Normal),
        (BinaryOp::Max, Gen::Normal, Gen::Normal),
        (BinaryOp::Min, Gen::Normal, Gen::Normal),
        (BinaryOp::Rem, Gen::Normal, Gen::Away),
        (BinaryOp::Atan2, Gen::Away, Gen::Away),
    ];
    for (k, (op, ga, gb)) in ops.into_iter().enumerate() {
        for t in 0..4 {
            let s = random_shape(&mut rng);
            let (sa, sb) = (broadcastable(&mut rng, &s), broadcastable(&mut rng, &s));
            let specs = [spec("a", f64t(&sa), ga), spec("b", f64t(&sb), gb)];
            let shape = lits(&s);
            let build = |g: &mut Graph, xs: &[NodeId]| {
                let a = g.broadcast(xs[0], &shape, None);
                let b = g.broadcast(xs[1], &shape, None);
                bin(g, op, a, b)
            };
            check_grads(op.name(), &specs, &[], &build, 200 + 10 * k as u64 + t);
        }
    }
}

#[test]
fn pow_with_constant_exponents() {
    for (k, c) in [0.0, 1.0, 2.0, 3.0, 0.5, -1.5].into_iter().enumerate() {
        let specs = [spec("x", f64t(&[2, 3]), Gen::Pos)];
        let build = |g: &mut Graph, xs: &[NodeId]| {
            let ty = g.ty(xs[0]).clone();
            let e = g.full(c, &ty, None);
            bin(g, BinaryOp::Pow, xs[0], e)
        };
        check_grads("pow const", &specs, &[], &build, 300 + k as u64);
    }
}

#[test]
fn select_and_comparisons() {
    for (k, cmp) in [
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Eq,
        BinaryOp::Ne,
    ]
    .into_iter()
    .enumerate()
    {
        let specs = [
            spec("a", f64t(&[3, 2]), Gen::Normal),
            spec("b", f64t(&[3, 2]), Gen::Normal),
        ];
        let build = |g: &mut Graph, xs: &[NodeId]| {
            let c = bin(g, cmp, xs[0], xs[1]);
            let a2 = bin(g, BinaryOp::Mul, xs[0], xs[0]);
            g.add(Op::Select, &[c, a2, xs[1]], None)
        };
        check_grads("select", &specs, &[], &build, 400 + k as u64);
    }
}

#[test]
fn cast_rules() {
    let specs = [spec("x", f64t(&[4]), Gen::Normal)];
    // float → float → float: the cotangent is cast back.
    let build = |g: &mut Graph, xs: &[NodeId]| {
        let c = g.cast(xs[0], DType::F32, None);
        let c = g.cast(c, DType::F64, None);
        bin(g, BinaryOp::Mul, c, xs[0])
    };
    check_grads("cast float", &specs, &[], &build, 500);
    // Through an integer: only the direct path carries a gradient (d = trunc(x)).
    let specs = [spec("x", f64t(&[4]), Gen::Away)];
    let build = |g: &mut Graph, xs: &[NodeId]| {
        let i = g.cast(xs[0], DType::I32, None);
        let f = g.cast(i, DType::F64, None);
        bin(g, BinaryOp::Mul, f, xs[0])
    };
    check_grads("cast int", &specs, &[], &build, 501);
}

#[test]
fn shape_rules() {
    let specs = [spec("x", f64t(&[3, 1]), Gen::Normal)];
    check_grads(
        "broadcast",
        &specs,
        &[],
        &|g, xs| g.broadcast(xs[0], &lits(&[2, 3, 4]), None),
        600,
    );
    let specs = [spec("x", f64t(&[2, 3, 4]), Gen::Normal)];
    check_grads(
        "reshape",
        &specs,
        &[],
        &|g, xs| g.reshape(xs[0], &lits(&[6, 4]), None),
        601,
    );
    check_grads(
        "transpose",
        &specs,
        &[],
        &|g, xs| g.transpose(xs[0], &[2, 0, 1], None),
        602,
    );
    let slices = [
        (1usize, 1i64, 2u64, 2u64),
        (0, -2, 1, 2),
        (2, 0, 3, 2),
        (1, -3, 1, 3),
    ];
    for (k, (axis, start, step, len)) in slices.into_iter().enumerate() {
        let specs = [spec("x", f64t(&[3, 5, 4]), Gen::Normal)];
        let op = Op::Slice {
            axis,
            start,
            step,
            len: Dim::Lit(len),
        };
        check_grads(
            "slice",
            &specs,
            &[],
            &|g, xs| g.add(op.clone(), &[xs[0]], None),
            610 + k as u64,
        );
        // slice_grad into [3, 5, 4] from the slice's shape.
        let mut s = vec![3, 5, 4];
        s[axis] = len as usize;
        let specs = [spec("x", f64t(&s), Gen::Normal)];
        let op = Op::SliceGrad {
            ty: f64t(&[3, 5, 4]),
            axis,
            start,
            step,
        };
        check_grads(
            "slice_grad",
            &specs,
            &[],
            &|g, xs| g.add(op.clone(), &[xs[0]], None),
            620 + k as u64,
        );
    }
    let specs = [
        spec("a", f64t(&[2, 1, 3]), Gen::Normal),
        spec("b", f64t(&[2, 3, 3]), Gen::Normal),
        spec("c", f64t(&[2, 2, 3]), Gen::Normal),
    ];
    check_grads(
        "concat",
        &specs,
        &[],
        &|g, xs| g.add(Op::Concat { axis: 1 }, xs, None),
        630,
    );
}

#[test]
fn gather_and_scatter_add() {
    let idx_ty = TensorType::new(DType::I64, lits(&[2, 4]));
    let specs = [
        spec("table", f64t(&[5, 3]), Gen::Normal),
        spec("idx", idx_ty.clone(), Gen::Int(0, 5)),
    ];
    check_grads(
        "gather",
        &specs,
        &[],
        &|g, xs| g.add(Op::Gather, xs, None),
        700,
    );
    let specs = [
        spec("idx", idx_ty, Gen::Int(0, 3)),
        spec("src", f64t(&[2, 4, 2]), Gen::Normal),
    ];
    let op = Op::ScatterAdd { ty: f64t(&[3, 2]) };
    check_grads(
        "scatter_add",
        &specs,
        &[],
        &|g, xs| g.add(op.clone(), xs, None),
        701,
    );
}

#[test]
fn window_and_window_grad() {
    use crate::ir::window::Window;
    // Stride, padding and dilation that differ per axis, and a window whose
    // padding reaches past every input position of some outputs.
    let wins = [
        Window {
            kernel: [3, 2],
            stride: [1, 2],
            padding: [1, 0],
            dilation: [1, 1],
        },
        Window {
            kernel: [2, 3],
            stride: [2, 1],
            padding: [2, 1],
            dilation: [2, 1],
        },
    ];
    for (k, win) in wins.into_iter().enumerate() {
        let x = f64t(&[2, 5, 4]);
        let fill = Scalar::Float(0.0);
        let wt = crate::ir::op::window_shape(&win, &x.shape).expect("the window fits");
        let specs = [spec("x", x.clone(), Gen::Normal)];
        check_grads(
            "window",
            &specs,
            &[],
            &|g, xs| g.add(Op::Window { win, fill }, xs, None),
            710 + k as u64,
        );
        let specs = [spec("g", TensorType::new(DType::F64, wt), Gen::Normal)];
        let ty = x.clone();
        check_grads(
            "window_grad",
            &specs,
            &[],
            &|g, xs| {
                g.add(
                    Op::WindowGrad {
                        win,
                        ty: ty.clone(),
                    },
                    xs,
                    None,
                )
            },
            720 + k as u64,
        );
    }
}

#[test]
fn conv2d_rules() {
    use crate::ir::op::conv2d_type;
    use crate::ir::window::Window;
    // Two groups, per-axis stride, padding and dilation.
    let win = Window {
        kernel: [2, 3],
        stride: [1, 2],
        padding: [1, 1],
        dilation: [2, 1],
    };
    let groups = 2;
    let (xt, wt) = (f64t(&[2, 4, 5, 4]), f64t(&[4, 2, 2, 3]));
    let yt = conv2d_type(&win, groups, &xt, &wt).expect("the convolution fits");
    let specs = [
        spec("x", xt.clone(), Gen::Normal),
        spec("w", wt.clone(), Gen::Normal),
    ];
    check_grads(
        "conv2d",
        &specs,
        &[],
        &|g, xs| g.add(Op::Conv2d { win, groups }, xs, None),
        740,
    );
    let specs = [
        spec("dy", yt.clone(), Gen::Normal),
        spec("w", wt.clone(), Gen::Normal),
    ];
    let ty = xt.clone();
    check_grads(
        "conv2d_grad_input",
        &specs,
        &[],
        &|g, xs| {
            g.add(
                Op::Conv2dGradInput {
                    win,
                    groups,
                    ty: ty.clone(),
                },
                xs,
                None,
            )
        },
        741,
    );
    let specs = [
        spec("x", xt.clone(), Gen::Normal),
        spec("dy", yt, Gen::Normal),
    ];
    let ty = wt.clone();
    check_grads(
        "conv2d_grad_weight",
        &specs,
        &[],
        &|g, xs| {
            g.add(
                Op::Conv2dGradWeight {
                    win,
                    groups,
                    ty: ty.clone(),
                },
                xs,
                None,
            )
        },
        742,
    );
}

#[test]
fn all_sum_rule() {
    // In a world of one, the identity: its rule (`all_sum` of the
    // cotangent) must give the identity's derivative.
    let specs = [spec("x", f64t(&[3, 2]), Gen::Normal)];
    check_grads(
        "all_sum",
        &specs,
        &[],
        &|g, xs| g.add(Op::AllSum, xs, None),
        725,
    );
}

#[test]
fn cumsum_rule() {
    for (k, reverse) in [false, true].into_iter().enumerate() {
        for axis in 0..2 {
            let specs = [spec("x", f64t(&[3, 4]), Gen::Normal)];
            check_grads(
                "cumsum",
                &specs,
                &[],
                &|g, xs| g.add(Op::Cumsum { axis, reverse }, xs, None),
                730 + 2 * k as u64 + axis as u64,
            );
        }
    }
}

#[test]
fn reduce_rules() {
    let mut rng = Rng(8);
    for (k, op) in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod]
        .into_iter()
        .enumerate()
    {
        for t in 0..5 {
            let mut s = random_shape(&mut rng);
            if s.is_empty() {
                s.push(3);
            }
            let axes: Vec<usize> = (0..s.len()).filter(|_| rng.below(2) == 0).collect();
            let specs = [spec("x", f64t(&s), Gen::Normal)];
            let build = |g: &mut Graph, xs: &[NodeId]| {
                g.add(
                    Op::Reduce {
                        op,
                        axes: axes.clone(),
                    },
                    xs,
                    None,
                )
            };
            check_grads(op.name(), &specs, &[], &build, 800 + 10 * k as u64 + t);
        }
    }
}

#[test]
fn matmul_and_argmax() {
    let specs = [
        spec("a", f64t(&[3, 4]), Gen::Normal),
        spec("b", f64t(&[4, 2]), Gen::Normal),
    ];
    check_grads(
        "matmul",
        &specs,
        &[],
        &|g, xs| g.add(Op::MatMul, xs, None),
        900,
    );
    let specs = [
        spec("a", f64t(&[2, 3, 4]), Gen::Normal),
        spec("b", f64t(&[2, 4, 5]), Gen::Normal),
    ];
    check_grads(
        "batched matmul",
        &specs,
        &[],
        &|g, xs| g.add(Op::MatMul, xs, None),
        901,
    );
    // argmax carries no gradient: d/dx (cast(argmax(x)) · y) is zero.
    let specs = [
        spec("x", f64t(&[3, 4]), Gen::Normal),
        spec("y", f64t(&[3]), Gen::Normal),
    ];
    let build = |g: &mut Graph, xs: &[NodeId]| {
        let am = g.add(Op::ArgMax { axis: 1 }, &[xs[0]], None);
        let f = g.cast(am, DType::F64, None);
        bin(g, BinaryOp::Mul, f, xs[1])
    };
    check_grads("argmax", &specs, &[], &build, 902);
}

#[test]
fn size_names_leaves_and_composites() {
    // mean over a run-time size, iota and literal leaves, a softmax-like chain.
    let ty = TensorType::new(DType::F64, vec![Dim::sym("B"), Dim::Lit(3)]);
    let specs = [
        spec("x", ty, Gen::Normal),
        spec("w", f64t(&[3, 3]), Gen::Normal),
    ];
    let build = |g: &mut Graph, xs: &[NodeId]| {
        let h = g.add(Op::MatMul, &[xs[0], xs[1]], None);
        let m = g.reduce(ReduceOp::Max, h, &[1], None);
        let shape = g.shape_of(h);
        let mb = g.broadcast(m, &shape, None);
        let z = bin(g, BinaryOp::Sub, h, mb);
        let e = g.unary(UnaryOp::Exp, z, None);
        let s = g.reduce(ReduceOp::Sum, e, &[1], None);
        let sb = g.broadcast(s, &shape, None);
        let p = bin(g, BinaryOp::Div, e, sb);
        let io = g.add(
            Op::Iota {
                ty: TensorType::new(DType::F64, shape.clone()),
                axis: 1,
            },
            &[],
            None,
        );
        let p = bin(g, BinaryOp::Mul, p, io);
        let n = g.add(
            Op::SizeOf {
                dims: vec![Dim::sym("B")],
                dtype: DType::F64,
            },
            &[],
            None,
        );
        let nb = g.broadcast(n, &shape, None);
        bin(g, BinaryOp::Div, p, nb)
    };
    check_grads("composite", &specs, &[("B", 2)], &build, 1000);
}

// ---- the sweep ------------------------------------------------------------

/// `y = sum(tanh(x @ w))` with grads of `y` w.r.t. `x` and `w`.
fn two_grads() -> (Graph, NodeId, NodeId, NodeId) {
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[2, 3]));
    let w = input(&mut g, "w", f64t(&[3, 2]));
    let h = g.add(Op::MatMul, &[x, w], None);
    let t = g.unary(UnaryOp::Tanh, h, None);
    let y = sum_all(&mut g, t);
    g.set_label(y, "loss");
    (g, x, w, y)
}

#[test]
fn shared_backward_pass() {
    let (mut g, x, w, y) = two_grads();
    let gx = grad(&mut g, y, x);
    let gw = grad(&mut g, y, w);
    g.outputs.push(("gx".into(), gx));
    g.outputs.push(("gw".into(), gw));
    let ad = differentiate(&g);
    // One sweep: one seed, and tanh's rule (1 - y²) built once.
    let seeds = count(
        &ad,
        |op| matches!(op, Op::Literal { value: Scalar::Float(v), .. } if *v == 1.0),
    );
    assert_eq!(seeds, 2, "the seed and the 1 of tanh's rule, once each");
    assert_eq!(count(&ad, |op| *op == Op::Binary(BinaryOp::Sub)), 1);
    assert_eq!(count(&ad, |op| *op == Op::Unary(UnaryOp::Tanh)), 1);
    // Two separate sweeps would build the tanh rule twice.
    let (mut g2, x2, _, y2) = two_grads();
    let gx2 = grad(&mut g2, y2, x2);
    g2.outputs.push(("gx".into(), gx2));
    let ad2 = differentiate(&g2);
    assert!(ad.len() < 2 * ad2.len() - g.len());
    // Labels on the final gradient nodes.
    let lab = |id: NodeId| ad.node(id).label.clone();
    assert_eq!(lab(ad.outputs[0].1).as_deref(), Some("d_loss/d_x"));
    assert_eq!(lab(ad.outputs[1].1).as_deref(), Some("d_loss/d_w"));
    assert_eq!(count(&ad, |op| *op == Op::Grad), 0);
}

#[test]
fn only_needed_adjoints() {
    // d/dw needs no cotangent for x: no matmul with a transposed w.
    let (mut g, _, w, y) = two_grads();
    let gw = grad(&mut g, y, w);
    g.outputs.push(("gw".into(), gw));
    let ad = differentiate(&g);
    assert_eq!(
        count(&ad, |op| *op == Op::MatMul),
        2,
        "the forward matmul and xᵀ @ g"
    );
}

#[test]
fn unused_and_later_inputs_get_zeros() {
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[3]));
    let z = input(&mut g, "z", f64t(&[2, 2]));
    let e = g.unary(UnaryOp::Exp, x, None);
    let y = sum_all(&mut g, e);
    let later = input(&mut g, "later", f64t(&[2])); // after y: not an ancestor
    let dz = grad(&mut g, y, z);
    let dl = grad(&mut g, y, later);
    let dx = grad(&mut g, y, x);
    g.outputs
        .extend([("dz".into(), dz), ("dl".into(), dl), ("dx".into(), dx)]);
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values
        .insert("x".into(), T::new(vec![3], vec![0.0, 1.0, -1.0]));
    env.values
        .insert("z".into(), T::new(vec![2, 2], vec![1.0; 4]));
    env.values
        .insert("later".into(), T::new(vec![2], vec![5.0, 6.0]));
    let v = eval(&ad, &env);
    assert_eq!(v["dz"], T::zeros(vec![2, 2]));
    assert_eq!(v["dl"], T::zeros(vec![2]));
    assert_close(
        "dx",
        &v["dx"].data,
        &[1.0, 1f64.exp(), (-1f64).exp()],
        1e-12,
    );
}

#[test]
fn grad_with_respect_to_intermediate_nodes() {
    // h = 2x; y = sum(h·h): dy/dh = 2h, dy/dx = 8x; and grad(y, y) = 1.
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[3]));
    let h = g.binary_scalar(BinaryOp::Mul, x, 2.0, None);
    g.set_label(h, "h");
    let hh = bin(&mut g, BinaryOp::Mul, h, h);
    let y = sum_all(&mut g, hh);
    let dh = grad(&mut g, y, h);
    let dx = grad(&mut g, y, x);
    let dy = grad(&mut g, y, y);
    g.outputs
        .extend([("dh".into(), dh), ("dx".into(), dx), ("dy".into(), dy)]);
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values
        .insert("x".into(), T::new(vec![3], vec![1.0, -2.0, 0.5]));
    let v = eval(&ad, &env);
    assert_close("dh", &v["dh"].data, &[4.0, -8.0, 2.0], 1e-12);
    assert_close("dx", &v["dx"].data, &[8.0, -16.0, 4.0], 1e-12);
    assert_eq!(v["dy"], T::scalar(1.0));
}

#[test]
fn grad_with_respect_to_grad_results_sees_only_their_uses() {
    // y = sum(a + b): ga and gb are both ones, computed by one node.
    // L = sum(ga·ga) + sum(gb): dL/dga = 2·ga = 2, dL/dgb = 1.
    let mut g = Graph::new();
    let a = input(&mut g, "a", f64t(&[3]));
    let b = input(&mut g, "b", f64t(&[3]));
    let s = bin(&mut g, BinaryOp::Add, a, b);
    let y = sum_all(&mut g, s);
    let ga = grad(&mut g, y, a);
    let gb = grad(&mut g, y, b);
    let sq = bin(&mut g, BinaryOp::Mul, ga, ga);
    let l1 = sum_all(&mut g, sq);
    let l2 = sum_all(&mut g, gb);
    let l = bin(&mut g, BinaryOp::Add, l1, l2);
    let dga = grad(&mut g, l, ga);
    let dgb = grad(&mut g, l, gb);
    // h = 2x, y2 = sum(h·h): the backward graph computes gx = 2·gh, yet gx is
    // not a use of gh in the program: d sum(gx) / d gh = 0.
    let x = input(&mut g, "x", f64t(&[2]));
    let h = g.binary_scalar(BinaryOp::Mul, x, 2.0, None);
    let hh = bin(&mut g, BinaryOp::Mul, h, h);
    let y2 = sum_all(&mut g, hh);
    let gh = grad(&mut g, y2, h);
    let gx = grad(&mut g, y2, x);
    let l3 = sum_all(&mut g, gx);
    let dgh = grad(&mut g, l3, gh);
    g.outputs.extend([
        ("dga".into(), dga),
        ("dgb".into(), dgb),
        ("dgh".into(), dgh),
    ]);
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values
        .insert("a".into(), T::new(vec![3], vec![1.0, 2.0, 3.0]));
    env.values
        .insert("b".into(), T::new(vec![3], vec![-1.0, 0.5, 4.0]));
    env.values
        .insert("x".into(), T::new(vec![2], vec![0.5, -1.5]));
    let v = eval(&ad, &env);
    assert_close("dga", &v["dga"].data, &[2.0; 3], 1e-12);
    assert_close("dgb", &v["dgb"].data, &[1.0; 3], 1e-12);
    assert_eq!(v["dgh"], T::zeros(vec![2]));
}

#[test]
fn stop_gradient_blocks() {
    // y = sum(x · stop_gradient(x)): dy/dx = x, not 2x.
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[3]));
    let s = g.add(Op::StopGradient, &[x], None);
    let p = bin(&mut g, BinaryOp::Mul, x, s);
    let y = sum_all(&mut g, p);
    let dx = grad(&mut g, y, x);
    let ds = grad(&mut g, y, s);
    g.outputs.extend([("dx".into(), dx), ("ds".into(), ds)]);
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values
        .insert("x".into(), T::new(vec![3], vec![1.0, -2.0, 3.0]));
    let v = eval(&ad, &env);
    assert_close("dx", &v["dx"].data, &[1.0, -2.0, 3.0], 1e-12);
    // The stop_gradient node itself, as a wrt, does get its own adjoint.
    assert_close("ds", &v["ds"].data, &[1.0, -2.0, 3.0], 1e-12);
}

#[test]
fn integer_path_carries_nothing() {
    // y = sum(cast(cast(x, i32) * 2, f64)): no gradient flows through integers.
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[4]));
    let i = g.cast(x, DType::I32, None);
    let i2 = g.binary_scalar(BinaryOp::Mul, i, 2.0, None);
    let f = g.cast(i2, DType::F64, None);
    let y = sum_all(&mut g, f);
    let dx = grad(&mut g, y, x);
    g.outputs.push(("dx".into(), dx));
    let before = g.len();
    let ad = differentiate(&g);
    // Only the zeros (a literal and its broadcast) and the seed were added.
    assert!(ad.len() <= before - 1 + 3, "{} nodes", ad.len());
    let mut env = Env::default();
    env.values
        .insert("x".into(), T::new(vec![4], vec![1.5, -2.5, 0.2, 7.0]));
    assert_eq!(eval(&ad, &env)["dx"], T::zeros(vec![4]));
}

#[test]
fn ties_split_the_gradient() {
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[2, 4]));
    let a = input(&mut g, "a", f64t(&[4]));
    let b = input(&mut g, "b", f64t(&[4]));
    let mx = g.reduce(ReduceOp::Max, x, &[1], None);
    let ymax = sum_all(&mut g, mx);
    let mn = g.reduce(ReduceOp::Min, x, &[0, 1], None);
    let ymin = sum_all(&mut g, mn);
    let m = bin(&mut g, BinaryOp::Max, a, b);
    let ym = sum_all(&mut g, m);
    let n = bin(&mut g, BinaryOp::Min, a, b);
    let yn = sum_all(&mut g, n);
    let r = g.unary(UnaryOp::Relu, a, None);
    let yr = sum_all(&mut g, r);
    let ab = g.unary(UnaryOp::Abs, a, None);
    let ya = sum_all(&mut g, ab);
    let outs = [
        ("dmax", ymax, x),
        ("dmin", ymin, x),
        ("dma", ym, a),
        ("dmb", ym, b),
        ("dna", yn, a),
        ("dnb", yn, b),
        ("drelu", yr, a),
        ("dabs", ya, a),
    ];
    for (name, y, wrt) in outs {
        let d = grad(&mut g, y, wrt);
        g.outputs.push((name.into(), d));
    }
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values.insert(
        "x".into(),
        T::new(vec![2, 4], vec![1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 1.0]),
    );
    env.values
        .insert("a".into(), T::new(vec![4], vec![1.0, 2.0, 0.0, -1.0]));
    env.values
        .insert("b".into(), T::new(vec![4], vec![1.0, 3.0, 0.0, -2.0]));
    let v = eval(&ad, &env);
    let t = 1.0 / 3.0;
    assert_close(
        "dmax",
        &v["dmax"].data,
        &[0.0, 0.5, 0.5, 0.0, t, t, t, 0.0],
        1e-12,
    );
    assert_close(
        "dmin",
        &v["dmin"].data,
        &[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5],
        1e-12,
    );
    assert_close("dma", &v["dma"].data, &[0.5, 0.0, 0.5, 1.0], 1e-12);
    assert_close("dmb", &v["dmb"].data, &[0.5, 1.0, 0.5, 0.0], 1e-12);
    assert_close("dna", &v["dna"].data, &[0.5, 1.0, 0.5, 0.0], 1e-12);
    assert_close("dnb", &v["dnb"].data, &[0.5, 0.0, 0.5, 1.0], 1e-12);
    assert_close("drelu", &v["drelu"].data, &[1.0, 1.0, 0.0, 0.0], 1e-12);
    assert_close("dabs", &v["dabs"].data, &[1.0, 1.0, 0.0, -1.0], 1e-12);
}

#[test]
fn pow_has_no_nan_at_zero_and_negative_bases() {
    let mut g = Graph::new();
    let a = input(&mut g, "a", f64t(&[4]));
    let b = input(&mut g, "b", f64t(&[4]));
    let p = bin(&mut g, BinaryOp::Pow, a, b);
    let y = sum_all(&mut g, p);
    let da = grad(&mut g, y, a);
    let db = grad(&mut g, y, b);
    // Second derivatives through both rules.
    let sa = sum_all(&mut g, da);
    let dda = grad(&mut g, sa, a);
    let sb = sum_all(&mut g, db);
    let ddb = grad(&mut g, sb, b);
    g.outputs.extend([
        ("da".into(), da),
        ("db".into(), db),
        ("dda".into(), dda),
        ("ddb".into(), ddb),
    ]);
    let ad = differentiate(&g);
    let mut env = Env::default();
    env.values
        .insert("a".into(), T::new(vec![4], vec![0.0, 0.0, -2.0, 2.0]));
    env.values
        .insert("b".into(), T::new(vec![4], vec![0.0, 2.0, 3.0, 3.0]));
    let v = eval(&ad, &env);
    let l2 = 2f64.ln();
    assert_close("da", &v["da"].data, &[0.0, 0.0, 12.0, 12.0], 1e-12);
    assert_close("db", &v["db"].data, &[0.0, 0.0, 0.0, 8.0 * l2], 1e-12);
    assert_close("dda", &v["dda"].data, &[0.0, 2.0, -12.0, 12.0], 1e-12);
    assert_close(
        "ddb",
        &v["ddb"].data,
        &[0.0, 0.0, 0.0, 8.0 * l2 * l2],
        1e-12,
    );
}

// ---- nested grad ------------------------------------------------------------

#[test]
fn hvp_of_cube_is_6xv() {
    for (k, use_pow) in [false, true].into_iter().enumerate() {
        let build = |g: &mut Graph, xs: &[NodeId]| {
            if use_pow {
                let ty = g.ty(xs[0]).clone();
                let three = g.full(3.0, &ty, None);
                bin(g, BinaryOp::Pow, xs[0], three)
            } else {
                let x2 = bin(g, BinaryOp::Mul, xs[0], xs[0]);
                bin(g, BinaryOp::Mul, x2, xs[0])
            }
        };
        let ad = check_hvp("cube", &[5], Gen::Normal, &build, 1100 + k as u64);
        let mut env = Env::default();
        let x = vec![1.0, -2.0, 0.5, 3.0, 0.0];
        let v = vec![0.5, 1.0, -1.0, 2.0, 4.0];
        env.values.insert("x".into(), T::new(vec![5], x.clone()));
        env.values.insert("v".into(), T::new(vec![5], v.clone()));
        let want: Vec<f64> = x.iter().zip(&v).map(|(a, b)| 6.0 * a * b).collect();
        assert_close("6xv", &eval(&ad, &env)["hv"].data, &want, 1e-12);
    }
}

#[test]
fn hvp_through_every_kind_of_rule() {
    let unaries = [
        UnaryOp::Exp,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Abs,
        UnaryOp::Relu,
        UnaryOp::Neg,
    ];
    for (k, u) in unaries.into_iter().enumerate() {
        // u(x)·x keeps a nonzero second derivative for the piecewise-linear ones.
        let build = |g: &mut Graph, xs: &[NodeId]| {
            let y = g.unary(u, xs[0], None);
            bin(g, BinaryOp::Mul, y, xs[0])
        };
        check_hvp(u.name(), &[2, 3], Gen::Pos, &build, 1200 + k as u64);
    }
    // A small network: matmul, broadcast, reduce max, division, pow, select,
    // slice, concat, gather, transpose, reshape.
    let build = |g: &mut Graph, xs: &[NodeId]| {
        let x = xs[0]; // [2, 3]
        let xt = g.transpose(x, &[1, 0], None);
        let m = g.add(Op::MatMul, &[x, xt], None); // [2, 2]
        let m = g.unary(UnaryOp::Tanh, m, None);
        let mx = g.reduce(ReduceOp::Max, x, &[1], None); // [2, 1]
        let mxb = g.broadcast(mx, &lits(&[2, 3]), None);
        let d = bin(g, BinaryOp::Div, x, mxb);
        let two = g.full(1.5, &f64t(&[2, 3]), None);
        let p = bin(g, BinaryOp::Pow, two, d);
        let sl = g.add(
            Op::Slice {
                axis: 1,
                start: 1,
                step: 1,
                len: Dim::Lit(2),
            },
            &[p],
            None,
        );
        let c = g.add(Op::Concat { axis: 1 }, &[sl, m], None); // [2, 4]
        let idx = g.add(
            Op::Iota {
                ty: TensorType::new(DType::I64, lits(&[3])),
                axis: 0,
            },
            &[],
            None,
        );
        let one = g.full(1.0, &TensorType::new(DType::I64, lits(&[3])), None);
        let idx = bin(g, BinaryOp::Min, idx, one); // [0, 1, 1]
        let gat = g.add(Op::Gather, &[c, idx], None); // [3, 4]
        let z = g.full(0.0, &f64t(&[3, 4]), None);
        let pos = bin(g, BinaryOp::Gt, gat, z);
        let sq = bin(g, BinaryOp::Mul, gat, gat);
        let s = g.add(Op::Select, &[pos, sq, gat], None);
        let mx2 = bin(g, BinaryOp::Max, s, z);
        g.reshape(mx2, &lits(&[12]), None)
    };
    check_hvp("network", &[2, 3], Gen::Pos, &build, 1300);
}

#[test]
fn third_order_grad() {
    // f = sum(sin(x)): f''' = -cos(x).
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(&[3]));
    let s = g.unary(UnaryOp::Sin, x, None);
    let f = sum_all(&mut g, s);
    let mut d = grad(&mut g, f, x);
    for _ in 0..2 {
        let s = sum_all(&mut g, d);
        d = grad(&mut g, s, x);
    }
    g.outputs.push(("d3".into(), d));
    let ad = differentiate(&g);
    let xs = [0.3, -1.2, 2.0];
    let mut env = Env::default();
    env.values.insert("x".into(), T::new(vec![3], xs.to_vec()));
    let want: Vec<f64> = xs.iter().map(|v: &f64| -v.cos()).collect();
    assert_close("d3", &eval(&ad, &env)["d3"].data, &want, 1e-12);
}

// ---- the pass in the pipeline -----------------------------------------------

#[test]
fn f32_mlp_in_the_pipeline() {
    // A typed f32 graph with a size name, params and updates, through the pipeline.
    let mut g = Graph::new();
    g.dims.push("B".into());
    let xt = TensorType::new(DType::F32, vec![Dim::sym("B"), Dim::Lit(4)]);
    let x = input(&mut g, "x", xt);
    let wty = TensorType::new(DType::F32, lits(&[4, 3]));
    let w = g.add(
        Op::Param {
            name: "w".into(),
            ty: wty.clone(),
        },
        &[],
        None,
    );
    g.params.push(crate::ir::graph::ParamDecl {
        name: "w".into(),
        ty: wty,
        init: crate::ir::graph::Init::Full(Scalar::Float(0.0)),
        node: w,
    });
    let h = g.add(Op::MatMul, &[x, w], None);
    let h = g.unary(UnaryOp::Relu, h, None);
    let s = sum_all(&mut g, h);
    let n = g.add(
        Op::SizeOf {
            dims: vec![Dim::sym("B")],
            dtype: DType::F32,
        },
        &[],
        None,
    );
    let loss = bin(&mut g, BinaryOp::Div, s, n);
    g.set_label(loss, "loss");
    let gw = grad(&mut g, loss, w);
    let step = g.binary_scalar(BinaryOp::Mul, gw, 0.1, None);
    let upd = bin(&mut g, BinaryOp::Sub, w, step);
    g.updates.push(("w".into(), upd));
    g.outputs.push(("loss".into(), loss));
    let out = crate::passes::run_pipeline(g, &mut |_, _| {}).expect("pipeline runs");
    assert_eq!(count(&out, |op| *op == Op::Grad), 0);
    assert_eq!(out.updates.len(), 1);
}

#[test]
fn graphs_without_grad_pass_unchanged() {
    let (g, ..) = two_grads();
    let out = super::run(&g).unwrap();
    assert_eq!(out.len(), g.len());
}
