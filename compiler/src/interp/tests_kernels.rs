//! Property tests of the elementwise, reduction, matmul and creation
//! kernels against naive references written here on plain `Vec<f64>`s
//! (no ndarray), run through small graphs and the driver.

use proptest::prelude::*;

use super::kernels::eval;
use super::tests_support::*;
use super::{ConcreteType, DimEnv};
use crate::ir::op::{BinaryOp, Distribution, Op, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim, Scalar};

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

// ---- references ----------------------------------------------------------

fn ref_unary(u: UnaryOp, dtype: DType, x: f64) -> f64 {
    let v = match u {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => 1.0 / x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign if x.is_nan() => x,
        UnaryOp::Sign => (x > 0.0) as i32 as f64 - (x < 0.0) as i32 as f64,
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        UnaryOp::Relu if x.is_nan() => x,
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        UnaryOp::Tan => x.tan(),
        UnaryOp::Atan => x.atan(),
        UnaryOp::Log1p => x.ln_1p(),
        UnaryOp::Expm1 => x.exp_m1(),
        UnaryOp::Erf => erf_naive(x),
        UnaryOp::Round => x.round_ties_even(),
    };
    round_to(dtype, v)
}

fn floor_div_ref(a: i128, b: i128) -> i128 {
    if b == 0 {
        0
    } else if b > 0 {
        a.div_euclid(b)
    } else {
        (-a).div_euclid(-b)
    }
}

fn int_pow_ref(a: i128, e: i128, dtype: DType) -> f64 {
    if e < 0 {
        return match a {
            1 => 1.0,
            -1 => {
                if e % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            }
            _ => 0.0,
        };
    }
    let mut acc: i128 = 1;
    for _ in 0..e {
        acc = wrap_int(dtype, acc * a);
    }
    acc as f64
}

/// `v` wrapped to the integer dtype's width.
fn wrap_int(dtype: DType, v: i128) -> i128 {
    if dtype == DType::I32 {
        v as i32 as i128
    } else {
        v as i64 as i128
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn ref_binary(b: BinaryOp, dtype: DType, x: f64, y: f64) -> f64 {
    let boolean = |c: bool| f64::from(u8::from(c));
    match b {
        BinaryOp::Lt => return boolean(x < y),
        BinaryOp::Le => return boolean(x <= y),
        BinaryOp::Gt => return boolean(x > y),
        BinaryOp::Ge => return boolean(x >= y),
        BinaryOp::Eq => return boolean(x == y),
        BinaryOp::Ne => return boolean(x != y),
        _ => {}
    }
    if dtype.is_int() {
        let (p, q) = (x as i128, y as i128);
        let v = match b {
            BinaryOp::Add => p + q,
            BinaryOp::Sub => p - q,
            BinaryOp::Mul => p * q,
            BinaryOp::Div => floor_div_ref(p, q),
            BinaryOp::Pow => return int_pow_ref(p, q, dtype),
            BinaryOp::Max => p.max(q),
            BinaryOp::Min => p.min(q),
            _ => unreachable!(),
        };
        return wrap_int(dtype, v) as f64;
    }
    let v = match b {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Max => nan_max(x, y),
        BinaryOp::Min => nan_min(x, y),
        _ => unreachable!(),
    };
    round_to(dtype, v)
}

fn ref_cast(x: f64, from: DType, to: DType) -> f64 {
    match to {
        DType::Bool => f64::from(u8::from(x != 0.0)),
        DType::F32 | DType::F64 => round_to(to, x),
        _ if from.is_float() => {
            let (lo, hi) = if to == DType::I32 {
                (i32::MIN as f64, i32::MAX as f64)
            } else {
                (i64::MIN as f64, i64::MAX as f64)
            };
            if x.is_nan() {
                0.0
            } else {
                x.trunc().clamp(lo, hi)
            }
        }
        _ => round_to(to, x),
    }
}

// ---- elementwise ----------------------------------------------------------

fn unary_case() -> impl Strategy<Value = (UnaryOp, Naive)> {
    prop::sample::select(UnaryOp::ALL.to_vec()).prop_flat_map(|u| {
        let dtypes: Vec<DType> = if u.accepts_int() {
            NUMERIC.to_vec()
        } else {
            vec![DType::F32, DType::F64]
        };
        prop::sample::select(dtypes).prop_flat_map(move |d| (Just(u), tensor(d, 0, 3)))
    })
}

fn binary_case() -> impl Strategy<Value = (BinaryOp, Naive, Naive)> {
    use BinaryOp::*;
    let ops = vec![Add, Sub, Mul, Div, Pow, Max, Min, Lt, Le, Gt, Ge, Eq, Ne];
    (prop::sample::select(ops), any_dtype(), shape(0, 3)).prop_flat_map(|(b, d, s)| {
        let d = if d == DType::Bool && !matches!(b, Eq | Ne) {
            DType::I32
        } else {
            d
        };
        (Just(b), tensor_of(d, s.clone()), tensor_of(d, s)).prop_map(move |(b, x, mut y)| {
            if b == Pow && d.is_int() {
                // Keep the naive reference's loop short.
                y.data
                    .iter_mut()
                    .for_each(|v| *v = (*v).rem_euclid(15.0) - 3.0);
            }
            (b, x, y)
        })
    })
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn unary_ops_match_reference((u, x) in unary_case()) {
        let got = op_on(Op::Unary(u), &[&x]).expect("unary runs");
        let want = Naive::new(x.dtype, &x.shape, x.data.iter().map(|&v| ref_unary(u, x.dtype, v)).collect());
        let (r, a) = tol(x.dtype);
        assert_close(&got, &want, r, a);
    }

    #[test]
    fn binary_ops_match_reference((b, x, y) in binary_case()) {
        let got = op_on(Op::Binary(b), &[&x, &y]).expect("binary runs");
        let out = if b.is_comparison() { DType::Bool } else { x.dtype };
        let data = x.data.iter().zip(&y.data).map(|(&p, &q)| ref_binary(b, x.dtype, p, q)).collect();
        let (r, a) = tol(out);
        assert_close(&got, &Naive::new(out, &x.shape, data), r, a);
    }

    #[test]
    fn select_matches_reference(
        (c, x, y) in (any_dtype(), shape(0, 3)).prop_flat_map(|(d, s)| {
            (tensor_of(DType::Bool, s.clone()), tensor_of(d, s.clone()), tensor_of(d, s))
        })
    ) {
        let got = op_on(Op::Select, &[&c, &x, &y]).expect("select runs");
        let data = (0..c.data.len()).map(|i| if c.data[i] != 0.0 { x.data[i] } else { y.data[i] }).collect();
        assert_close(&got, &Naive::new(x.dtype, &x.shape, data), 0.0, 0.0);
    }

    #[test]
    fn cast_matches_reference(x in any_dtype().prop_flat_map(|d| tensor(d, 0, 3)), to in any_dtype()) {
        let got = op_on(Op::Cast { to }, &[&x]).expect("cast runs");
        let data = x.data.iter().map(|&v| ref_cast(v, x.dtype, to)).collect();
        assert_close(&got, &Naive::new(to, &x.shape, data), 0.0, 0.0);
    }

    #[test]
    fn stop_gradient_is_identity(x in any_dtype().prop_flat_map(|d| tensor(d, 0, 3))) {
        let got = op_on(Op::StopGradient, &[&x]).expect("runs");
        assert_close(&got, &x, 0.0, 0.0);
    }
}

// ---- reductions and matmul -------------------------------------------------

/// Naive reduction: every input element is folded into the output position
/// with the reduced axes zeroed, in C order of the input.
fn ref_reduce(op: ReduceOp, x: &Naive, axes: &[usize]) -> Option<Naive> {
    let mut out_shape = x.shape.clone();
    for &a in axes {
        out_shape[a] = 1;
    }
    let n_out = numel(&out_shape);
    let lane: usize = axes.iter().map(|&a| x.shape[a]).product();
    if lane == 0 && n_out > 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        return None;
    }
    // The table's order (ops/reduce.rs): a float sum or product whose
    // reduced axes include the last folds 16 partials, element `j` of the
    // last axis into partial `j mod 16`, joined by halving; else C order.
    let last = x.shape.len().wrapping_sub(1);
    let partials = if x.dtype.is_float()
        && matches!(op, ReduceOp::Sum | ReduceOp::Prod)
        && axes.contains(&last)
    {
        16
    } else {
        1
    };
    let mut acc: Vec<Option<f64>> = vec![None; n_out * partials];
    for (flat, &v) in x.data.iter().enumerate() {
        let mut idx = unravel(flat, &x.shape);
        let part = if partials > 1 {
            idx[last] % partials
        } else {
            0
        };
        for &a in axes {
            idx[a] = 0;
        }
        let o = ravel(&idx, &out_shape) * partials + part;
        acc[o] = Some(match (acc[o], op) {
            (None, _) => v,
            (Some(s), ReduceOp::Sum) => s + v,
            (Some(s), ReduceOp::Max) => nan_max(s, v),
            (Some(s), ReduceOp::Min) => nan_min(s, v),
            (Some(s), ReduceOp::Prod) => s * v,
        });
    }
    let identity = if op == ReduceOp::Prod { 1.0 } else { 0.0 };
    let data = acc
        .chunks(partials)
        .map(|ps| {
            let mut v: Vec<f64> = ps.iter().map(|a| a.unwrap_or(identity)).collect();
            while v.len() > 1 {
                let h = v.len() / 2;
                v = (0..h)
                    .map(|i| {
                        if op == ReduceOp::Prod {
                            v[i] * v[i + h]
                        } else {
                            v[i] + v[i + h]
                        }
                    })
                    .collect();
            }
            round_to(x.dtype, v[0])
        })
        .collect();
    Some(Naive::new(x.dtype, &out_shape, data))
}

fn ref_argmax(x: &Naive, axis: usize) -> Option<Naive> {
    let mut out_shape = x.shape.clone();
    out_shape.remove(axis);
    if x.shape[axis] == 0 && numel(&out_shape) > 0 {
        return None;
    }
    let mut data = vec![0.0; numel(&out_shape)];
    for (o, slot) in data.iter_mut().enumerate() {
        let mut idx = unravel(o, &out_shape);
        idx.insert(axis, 0);
        let mut best: Option<(usize, f64)> = None;
        for i in 0..x.shape[axis] {
            idx[axis] = i;
            let v = x.data[ravel(&idx, &x.shape)];
            best = match best {
                Some((_, b)) if b.is_nan() => best,
                Some((_, b)) if !(v.is_nan() || v > b) => best,
                _ => Some((i, v)),
            };
        }
        *slot = best.map_or(0.0, |(i, _)| i as f64);
    }
    Some(Naive::new(DType::I64, &out_shape, data))
}

fn ref_matmul(a: &Naive, b: &Naive) -> Naive {
    let r = a.shape.len();
    let (m, k, n) = (a.shape[r - 2], a.shape[r - 1], b.shape[r - 1]);
    let batch: usize = a.shape[..r - 2].iter().product();
    let mut out_shape = a.shape[..r - 1].to_vec();
    out_shape.push(n);
    let mut data = vec![0.0; batch * m * n];
    for bi in 0..batch {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                let mut si: i128 = 0;
                for p in 0..k {
                    let x = a.data[bi * m * k + i * k + p];
                    let y = b.data[bi * k * n + p * n + j];
                    s += x * y;
                    si += x as i128 * y as i128;
                }
                data[bi * m * n + i * n + j] = if a.dtype.is_int() {
                    wrap_int(a.dtype, si) as f64
                } else {
                    round_to(a.dtype, s)
                };
            }
        }
    }
    Naive::new(a.dtype, &out_shape, data)
}

fn reduce_case() -> impl Strategy<Value = (ReduceOp, Naive, Vec<usize>)> {
    (
        prop::sample::select(vec![ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min]),
        any_dtype(),
        shape(1, 3),
    )
        .prop_flat_map(|(op, d, s)| {
            let d = if op == ReduceOp::Sum && d == DType::Bool {
                DType::F32
            } else {
                d
            };
            let rank = s.len();
            (
                Just(op),
                tensor_of(d, s),
                prop::sample::subsequence((0..rank).collect::<Vec<_>>(), 1..=rank),
            )
        })
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn reduce_matches_reference((op, x, axes) in reduce_case()) {
        let got = op_on(Op::Reduce { op, axes: axes.clone() }, &[&x]);
        match ref_reduce(op, &x, &axes) {
            Some(want) => {
                let (r, a) = tol(x.dtype);
                assert_close(&got.expect("reduce runs"), &want, r, a);
            }
            None => prop_assert_eq!(got.expect_err("empty max/min").exit_code, 3),
        }
    }

    #[test]
    fn argmax_matches_reference(
        (x, axis) in any_dtype().prop_flat_map(|d| tensor(d, 1, 3))
            .prop_flat_map(|x| { let r = x.shape.len(); (Just(x), 0..r) })
    ) {
        let got = op_on(Op::ArgMax { axis }, &[&x]);
        match ref_argmax(&x, axis) {
            Some(want) => assert_close(&got.expect("argmax runs"), &want, 0.0, 0.0),
            None => prop_assert_eq!(got.expect_err("empty argmax").exit_code, 3),
        }
    }

    #[test]
    fn matmul_matches_reference(
        (a, b) in (numeric_dtype(), shape(0, 1), dim(), dim(), dim()).prop_flat_map(|(d, batch, m, k, n)| {
            let mut sa = batch.clone();
            sa.extend([m, k]);
            let mut sb = batch;
            sb.extend([k, n]);
            let finite = move |s: Vec<usize>| {
                let c = numel(&s);
                let vals = if d.is_float() {
                    prop::collection::vec(-10.0f64..10.0, c).prop_map(move |v| v.into_iter().map(|x| round_to(d, x)).collect()).boxed()
                } else {
                    values(d, c)
                };
                vals.prop_map(move |v| Naive::new(d, &s, v))
            };
            (finite(sa), finite(sb))
        })
    ) {
        let got = op_on(Op::MatMul, &[&a, &b]).expect("matmul runs");
        let atol = if a.dtype == DType::F32 { 1e-3 } else { 1e-9 };
        assert_close(&got, &ref_matmul(&a, &b), 1e-5, if a.dtype.is_int() { 0.0 } else { atol });
    }

    #[test]
    fn iota_matches_reference(
        (s, axis, d) in shape(1, 3).prop_flat_map(|s| { let r = s.len(); (Just(s), 0..r, numeric_dtype()) })
    ) {
        let ty = Naive::new(d, &s, vec![0.0; numel(&s)]).ty();
        let got = super::tests_support::run_graph(&[], |g, _| g.add(Op::Iota { ty, axis }, &[], None)).expect("iota runs");
        let data = (0..numel(&s)).map(|f| unravel(f, &s)[axis] as f64).collect();
        assert_close(&got, &Naive::new(d, &s, data), 0.0, 0.0);
    }

    #[test]
    fn random_matches_runtime_rng(
        s in shape(0, 3), seed in any::<u64>(), normal in any::<bool>(),
        d in prop::sample::select(vec![DType::F32, DType::F64]),
    ) {
        let dist = if normal { Distribution::Normal { mean: 0.5, std: 2.0 } } else { Distribution::Uniform { lo: -1.0, hi: 3.0 } };
        let ty = Naive::new(d, &s, vec![0.0; numel(&s)]).ty();
        let got = super::tests_support::run_graph(&[], |g, _| g.add(Op::Random { ty, dist, seed }, &[], None)).expect("random runs");
        let data = (0..numel(&s) as u64).map(|i| {
            let v = if normal { 0.5 + 2.0 * weft_runtime::rng::normal(seed, i) } else { -1.0 + 4.0 * weft_runtime::rng::uniform(seed, i) };
            round_to(d, v)
        }).collect();
        assert_close(&got, &Naive::new(d, &s, data), 1e-7, 1e-7);
    }
}

// ---- fixed cases -----------------------------------------------------------

fn t(dtype: DType, shape: &[usize], data: &[f64]) -> Naive {
    Naive::new(dtype, shape, data.to_vec())
}

#[test]
fn nan_rules() {
    let nan = f64::NAN;
    let x = t(DType::F32, &[4], &[nan, 1.0, -2.0, 0.0]);
    let y = t(DType::F32, &[4], &[0.0, nan, 5.0, -0.0]);
    let mx = op_on(Op::Binary(BinaryOp::Max), &[&x, &y]).expect("runs");
    assert_close(&mx, &t(DType::F32, &[4], &[nan, nan, 5.0, 0.0]), 0.0, 0.0);
    let sign = op_on(Op::Unary(UnaryOp::Sign), &[&x]).expect("runs");
    assert_close(
        &sign,
        &t(DType::F32, &[4], &[nan, 1.0, -1.0, 0.0]),
        0.0,
        0.0,
    );
    let relu = op_on(Op::Unary(UnaryOp::Relu), &[&x]).expect("runs");
    assert_close(&relu, &t(DType::F32, &[4], &[nan, 1.0, 0.0, 0.0]), 0.0, 0.0);
    let am = op_on(Op::ArgMax { axis: 0 }, &[&y]).expect("runs");
    assert_close(&am, &t(DType::I64, &[], &[1.0]), 0.0, 0.0);
    let red = op_on(
        Op::Reduce {
            op: ReduceOp::Min,
            axes: vec![0],
        },
        &[&y],
    )
    .expect("runs");
    assert_close(&red, &t(DType::F32, &[1], &[nan]), 0.0, 0.0);
}

#[test]
fn sigmoid_is_stable_for_large_inputs() {
    let x = t(DType::F32, &[4], &[-1000.0, -100.0, 100.0, 1000.0]);
    let got = op_on(Op::Unary(UnaryOp::Sigmoid), &[&x])
        .expect("runs")
        .to_f64_vec();
    assert_eq!(got[0], 0.0);
    assert!(got[1] >= 0.0 && got[1] < 1e-40);
    assert_eq!(&got[2..], &[1.0, 1.0]);
}

#[test]
fn integer_division_and_casts() {
    let x = t(DType::I32, &[5], &[7.0, -7.0, 7.0, -7.0, 3.0]);
    let y = t(DType::I32, &[5], &[2.0, 2.0, -2.0, -2.0, 0.0]);
    let q = op_on(Op::Binary(BinaryOp::Div), &[&x, &y]).expect("runs");
    assert_close(
        &q,
        &t(DType::I32, &[5], &[3.0, -4.0, -4.0, 3.0, 0.0]),
        0.0,
        0.0,
    );
    let f = t(
        DType::F64,
        &[6],
        &[2.7, -2.7, f64::NAN, 1e300, -1e300, f64::INFINITY],
    );
    let c = op_on(Op::Cast { to: DType::I32 }, &[&f]).expect("runs");
    let m = (i32::MIN as f64, i32::MAX as f64);
    assert_close(
        &c,
        &t(DType::I32, &[6], &[2.0, -2.0, 0.0, m.1, m.0, m.1]),
        0.0,
        0.0,
    );
}

#[test]
fn literal_and_sizeof() {
    let env = {
        let mut e = DimEnv::new();
        e.bind("B", 6).expect("fresh");
        e
    };
    let op = Op::SizeOf {
        dims: vec![Dim::sym("B"), Dim::Lit(4)],
        dtype: DType::F32,
    };
    let got = eval(&op, &[], &ConcreteType::scalar(DType::F32), &env).expect("sizeof");
    assert_close(&got, &t(DType::F32, &[], &[24.0]), 0.0, 0.0);
    let op = Op::SizeOf {
        dims: vec![Dim::Lit(3)],
        dtype: DType::I64,
    };
    let got = eval(&op, &[], &ConcreteType::scalar(DType::I64), &env).expect("sizeof");
    assert_close(&got, &t(DType::I64, &[], &[3.0]), 0.0, 0.0);
    for (value, dtype, want) in [
        (Scalar::Float(0.1), DType::F32, 0.1f32 as f64),
        (Scalar::Int(-3), DType::F64, -3.0),
        (Scalar::Int(-3), DType::I32, -3.0),
        (Scalar::Int(1 << 40), DType::I64, (1u64 << 40) as f64),
        (Scalar::Bool(true), DType::Bool, 1.0),
    ] {
        let got = eval(
            &Op::Literal { value, dtype },
            &[],
            &ConcreteType::scalar(dtype),
            &env,
        )
        .expect("literal");
        assert_close(&got, &t(dtype, &[], &[want]), 0.0, 0.0);
    }
    // A type-rule violation is an internal error, not a panic.
    let e = eval(
        &Op::Literal {
            value: Scalar::Float(0.5),
            dtype: DType::I32,
        },
        &[],
        &ConcreteType::scalar(DType::I32),
        &env,
    )
    .expect_err("ill-typed literal");
    assert_eq!(e.exit_code, super::EXIT_INTERNAL);
}

#[test]
fn kernels_reject_ill_typed_operands_without_panicking() {
    let env = DimEnv::new();
    let a = t(DType::F32, &[2], &[1.0, 2.0]).tensor();
    let b = t(DType::F32, &[3], &[1.0, 2.0, 3.0]).tensor();
    let out = ConcreteType::new(DType::F32, vec![2]);
    for (op, args) in [
        (Op::Binary(BinaryOp::Add), vec![&a, &b]),
        (Op::MatMul, vec![&a, &b]),
        (Op::Unary(UnaryOp::Exp), vec![]),
        (Op::Grad, vec![&a, &a]),
        (Op::Transpose { perm: vec![1] }, vec![&a]),
    ] {
        let e = eval(&op, &args, &out, &env).expect_err("ill-typed");
        assert_eq!(e.exit_code, super::EXIT_INTERNAL, "{}", e.message);
    }
}

/// erf by its Maclaurin series (|x| < 2) and erfc's continued fraction
/// beyond: an independent reference for the C library's `erf`.
fn erf_naive(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 2.0 {
        // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = a;
        let mut sum = a;
        for n in 1..100 {
            term *= -a * a / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        // erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ..)))), bottom up.
        let mut f = a;
        for k in (1..200).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
    };
    r.copysign(x)
}
