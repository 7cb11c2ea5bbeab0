//! The table against itself: every lowering, run through [`Eval`], gives
//! the reference evaluation's bits on special values, for every op and
//! dtype; the dtype rules agree with what evaluates. (The engines are
//! compared with the reference evaluation in `jit/tests.rs` and weft-llvm's
//! tests, on the same values: [`specials`].)

use super::*;
use crate::ir::types::{DType, Scalar};

const RUNTIME: [DType; 5] = [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool];

fn same(a: &Result<Val, String>, b: &Result<Val, OpError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x.same_bits(*y),
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

#[test]
fn unary_lowerings_evaluate_to_the_reference() {
    let mut checked = 0;
    for op in UnaryOp::ALL {
        for d in RUNTIME {
            for x in special_values(d) {
                let want = op.eval(x);
                let got = op.lower(&mut Eval, d, x);
                assert!(
                    same(&got, &want),
                    "{}({x:?}): lowering {got:?}, reference {want:?}",
                    op.name()
                );
                assert_eq!(
                    want.is_ok(),
                    op.result(d).is_ok(),
                    "{} on {d}: rule and evaluation disagree",
                    op.name()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 800, "{checked}");
}

#[test]
fn binary_lowerings_evaluate_to_the_reference() {
    let mut checked = 0;
    for op in BinaryOp::ALL {
        for d in RUNTIME {
            let vals = special_values(d);
            for &x in &vals {
                for &y in &vals {
                    let want = op.eval(x, y);
                    let got = op.lower(&mut Eval, d, x, y);
                    assert!(
                        same(&got, &want),
                        "{}({x:?}, {y:?}): lowering {got:?}, reference {want:?}",
                        op.name()
                    );
                    assert_eq!(want.is_ok(), op.result(d).is_ok(), "{} on {d}", op.name());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20_000, "{checked}");
}

#[test]
fn cast_lowerings_evaluate_to_the_reference() {
    for from in RUNTIME {
        for to in RUNTIME {
            for x in special_values(from) {
                let want = cast(x, to);
                let got = lower_cast(&mut Eval, x, from, to);
                assert!(
                    same(&got, &want),
                    "cast({x:?}, {to}): lowering {got:?}, reference {want:?}"
                );
            }
        }
    }
}

#[test]
fn casts_follow_the_documented_rules() {
    assert_eq!(cast(Val::F32(f32::NAN), DType::I32), Ok(Val::I32(0)));
    assert_eq!(cast(Val::F32(3e9), DType::I32), Ok(Val::I32(i32::MAX)));
    assert_eq!(cast(Val::F64(-2.9), DType::I64), Ok(Val::I64(-2)));
    assert_eq!(cast(Val::I64(1 << 32), DType::I32), Ok(Val::I32(0)));
    assert_eq!(cast(Val::F32(f32::NAN), DType::Bool), Ok(Val::Bool(true)));
    assert_eq!(cast(Val::Bool(true), DType::F64), Ok(Val::F64(1.0)));
    assert!(cast(Val::F32(1.0), DType::F16).is_err());
}

#[test]
fn reduction_folds_lower_to_the_reference_and_start_from_an_identity() {
    for op in ReduceOp::ALL {
        for d in RUNTIME {
            let acc_d = op.accumulator(d);
            let Ok(id) = op.identity(acc_d) else {
                assert!(!op.defined_on(Kind::of(d)), "{} on {d}", op.name());
                continue;
            };
            for v in special_values(d) {
                let v = cast(v, acc_d).expect("widening");
                // The identity changes nothing, bit for bit (-0 + -0 = -0).
                let once = op.fold(id, v).expect("fold");
                assert!(
                    once.same_bits(v),
                    "{}: {id:?} with {v:?} gave {once:?}",
                    op.name()
                );
                for acc in special_values(d) {
                    let acc = cast(acc, acc_d).expect("widening");
                    let want = op.fold(acc, v);
                    let got = op.lower_fold(&mut Eval, acc_d, acc, v);
                    assert!(same(&got, &want), "{}({acc:?}, {v:?})", op.name());
                }
            }
        }
    }
    // A sum over nothing is +0, not the identity -0.
    assert!(ReduceOp::Sum
        .empty(DType::F32)
        .is_some_and(|z| z.same_bits(Val::F32(0.0))));
    assert_eq!(ReduceOp::Max.empty(DType::F32), None);
}

#[test]
fn argmax_rule_lowers_to_the_reference() {
    for d in RUNTIME {
        for v in special_values(d) {
            for b in special_values(d) {
                let want = argmax_better(v, b).expect("same dtype");
                let got = lower_argmax_better(&mut Eval, d, v, b);
                assert_eq!(got, Ok(Val::Bool(want)), "argmax {v:?} over {b:?}");
            }
        }
    }
    // The first NaN wins and stays.
    assert!(argmax_better(Val::F32(f32::NAN), Val::F32(1.0)) == Ok(true));
    assert!(argmax_better(Val::F32(2.0), Val::F32(f32::NAN)) == Ok(false));
}

#[test]
fn nan_propagates_through_maximum_and_minimum() {
    for (x, y) in [(f32::NAN, 1.0), (1.0, f32::NAN)] {
        for op in [BinaryOp::Max, BinaryOp::Min] {
            let r = op.eval(Val::F32(x), Val::F32(y)).expect("defined");
            assert!(r.is_nan(), "{}({x}, {y}) = {r:?}", op.name());
        }
    }
}

#[test]
fn integer_arithmetic_wraps_and_divides_by_flooring() {
    let i = |v| Val::I32(v);
    assert_eq!(BinaryOp::Add.eval(i(i32::MAX), i(1)), Ok(i(i32::MIN)));
    assert_eq!(BinaryOp::Div.eval(i(-7), i(2)), Ok(i(-4)));
    assert_eq!(BinaryOp::Div.eval(i(7), i(0)), Ok(i(0)));
    assert_eq!(BinaryOp::Div.eval(i(i32::MIN), i(-1)), Ok(i(i32::MIN)));
    assert_eq!(BinaryOp::Pow.eval(i(2), i(-1)), Ok(i(0)));
    assert_eq!(UnaryOp::Abs.eval(i(i32::MIN)), Ok(i(i32::MIN)));
}

#[test]
fn exact_folds_report_overflow_instead_of_wrapping() {
    assert_eq!(BinaryOp::Add.eval_exact(i64::MAX, 1), Exact::Overflow);
    assert_eq!(BinaryOp::Mul.eval_exact(1 << 40, 1 << 30), Exact::Overflow);
    assert_eq!(BinaryOp::Pow.eval_exact(2, 62), Exact::Int(1 << 62));
    assert_eq!(BinaryOp::Pow.eval_exact(2, -1), Exact::NotInt);
    assert_eq!(BinaryOp::Sub.eval_exact(-5, 7), Exact::Int(-12));
    assert_eq!(BinaryOp::Lt.eval_exact(1, 2), Exact::NotInt);
}

#[test]
fn literals_fit_their_dtype_or_are_refused() {
    use Scalar::*;
    assert!(literal_fits(Int(2147483647), DType::I32).is_ok());
    assert!(literal_fits(Int(-2147483648), DType::I32).is_ok());
    assert!(matches!(
        literal_fits(Int(3_000_000_000), DType::I32),
        Err(OpError::LiteralRange { .. })
    ));
    assert!(literal_fits(Int(3_000_000_000), DType::I64).is_ok());
    assert!(literal_fits(Int(i64::MAX), DType::F32).is_ok());
    assert!(literal_fits(Float(3.4e38), DType::F32).is_ok());
    assert!(literal_fits(Float(f64::INFINITY), DType::F32).is_ok());
    assert!(matches!(
        literal_fits(Float(1e39), DType::F32),
        Err(OpError::LiteralRange { .. })
    ));
    assert!(literal_fits(Float(1e39), DType::F64).is_ok());
    assert!(matches!(
        literal_fits(Float(0.5), DType::I32),
        Err(OpError::NotDefined { .. })
    ));
    assert!(literal_fits(Bool(true), DType::Bool).is_ok());
    assert!(literal_fits(Int(1), DType::Bool).is_err());
}

#[test]
fn every_host_function_evaluates_on_its_dtypes() {
    for h in Host::ALL {
        for &d in h.dtypes() {
            let args: Vec<Val> = (0..h.arity())
                .map(|_| cast(Val::I64(2), d).expect("numeric"))
                .collect();
            assert!(h.eval(&args).is_ok(), "{} on {d}", h.name());
        }
    }
}

/// Regression (issue 13: NaN signs differed between `--jit never` and
/// `--jit always`): a NaN operand gives that NaN, quieted, the first one
/// when both are, whatever order this crate's compiler puts them in.
#[test]
fn nan_operands_propagate_first_operand_first() {
    let pos = f32::from_bits(0x7fc0_0000);
    let neg = f32::from_bits(0xffc0_0000);
    let signalling = f32::from_bits(0x7f80_0001);
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
        let r = |x: f32, y: f32| op.eval_float(x, y).map(f32::to_bits);
        assert_eq!(r(pos, neg), Some(0x7fc0_0000), "{op:?}");
        assert_eq!(r(neg, pos), Some(0xffc0_0000), "{op:?}");
        assert_eq!(r(1.0, neg), Some(0xffc0_0000), "{op:?}");
        assert_eq!(r(signalling, 1.0), Some(0x7fc0_0001), "{op:?}: quieted");
    }
}
