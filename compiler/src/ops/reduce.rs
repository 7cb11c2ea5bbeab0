//! Reductions: accumulator dtype, identity, the fold step and `argmax`'s
//! comparison — for every engine.
//!
//! A reduction folds its lane in C order into an accumulator that starts at
//! [`ReduceOp::identity`]: `f32` sums accumulate in `f64` and round once at
//! the end; the float sum's identity is -0 (so a sum of negative zeros is
//! -0), but a sum over nothing is +0, as NumPy's. `max`/`min` propagate NaN
//! and are any/all on `bool`; over nothing they are a run-time error, which
//! a check before the kernel reports. `argmax` keeps the first maximum, a NaN
//! counting as the maximum (the first NaN wins), like NumPy.
//!
//! **Interleaved lanes** (the order every engine follows, so that their bits
//! agree and compiled code still vectorises): a float reduction whose
//! innermost reduced axis is the last axis of its space folds
//! [`PARTIALS`] partial accumulators, each starting at the identity —
//! element `j` of that axis goes to partial `j mod 16`, the other reduced axes
//! in C order around it — and combines them with [`lower_partials`]'s fixed
//! tree of halves (`p[i] ⊕ p[i + n/2]` until one is left: for eight,
//! `((p0 ⊕ p4) ⊕ (p2 ⊕ p6)) ⊕ ((p1 ⊕ p5) ⊕ (p3 ⊕ p7))`). Other
//! reductions fold sequentially in C order. (The graph interpreter, the
//! oracle, folds sequentially: it agrees within rounding, not bit for bit.)

use super::emit::{Emit, EmitResult, FBin, FCmp, IBin, ICmp};
use super::{cast, BinaryOp, Kind, OpError, Val};
use crate::ir::types::DType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Max,
    Min,
    /// The product; like the sum, `f32` accumulates in `f64`.
    Prod,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 4] = [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Prod => "prod",
        }
    }

    /// The dtype rule: sums need numbers; max and min take any dtype.
    pub fn defined_on(self, k: Kind) -> bool {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => matches!(k, Kind::Float | Kind::Int),
            ReduceOp::Max | ReduceOp::Min => true,
        }
    }

    /// The dtype the fold runs in for elements of dtype `d`.
    pub fn accumulator(self, d: DType) -> DType {
        match (self, d) {
            (ReduceOp::Sum | ReduceOp::Prod, DType::F32) => DType::F64,
            (ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod, d) => d,
        }
    }

    /// The accumulator's starting value, of dtype `acc`.
    pub fn identity(self, acc: DType) -> Result<Val, OpError> {
        let unsupported = || OpError::Unsupported { dtype: acc };
        Ok(match (self, acc) {
            (ReduceOp::Sum, DType::F32) => Val::F32(-0.0),
            (ReduceOp::Sum, DType::F64) => Val::F64(-0.0),
            (ReduceOp::Sum, DType::I32) => Val::I32(0),
            (ReduceOp::Sum, DType::I64) => Val::I64(0),
            (ReduceOp::Prod, DType::F32) => Val::F32(1.0),
            (ReduceOp::Prod, DType::F64) => Val::F64(1.0),
            (ReduceOp::Prod, DType::I32) => Val::I32(1),
            (ReduceOp::Prod, DType::I64) => Val::I64(1),
            (ReduceOp::Sum | ReduceOp::Prod, DType::Bool) => {
                return Err(OpError::NotDefined {
                    op: self.name(),
                    dtype: acc,
                })
            }
            (ReduceOp::Max, DType::F32) => Val::F32(f32::NEG_INFINITY),
            (ReduceOp::Max, DType::F64) => Val::F64(f64::NEG_INFINITY),
            (ReduceOp::Max, DType::I32) => Val::I32(i32::MIN),
            (ReduceOp::Max, DType::I64) => Val::I64(i64::MIN),
            (ReduceOp::Max, DType::Bool) => Val::Bool(false),
            (ReduceOp::Min, DType::F32) => Val::F32(f32::INFINITY),
            (ReduceOp::Min, DType::F64) => Val::F64(f64::INFINITY),
            (ReduceOp::Min, DType::I32) => Val::I32(i32::MAX),
            (ReduceOp::Min, DType::I64) => Val::I64(i64::MAX),
            (ReduceOp::Min, DType::Bool) => Val::Bool(true),
            (
                ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod,
                DType::F16 | DType::BF16,
            ) => return Err(unsupported()),
            (ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod, DType::U8) => {
                return Err(OpError::NotDefined {
                    op: self.name(),
                    dtype: acc,
                })
            }
        })
    }

    /// The result of a reduction over nothing, of dtype `d` (None: an
    /// error, reported by a run-time check).
    pub fn empty(self, d: DType) -> Option<Val> {
        match self {
            ReduceOp::Sum => cast(Val::I64(0), d).ok(),
            ReduceOp::Prod => cast(Val::I64(1), d).ok(),
            ReduceOp::Max | ReduceOp::Min => None,
        }
    }

    /// Whether a reduction with accumulator dtype `acc_d`, reducing the
    /// axes `axes` (in loop order) of a space of rank `rank`, folds
    /// interleaved partials (see the module header).
    pub fn interleaved(self, acc_d: DType, rank: usize, axes: &[usize]) -> bool {
        let float = match self {
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Max | ReduceOp::Min => acc_d.is_float(),
        };
        float && rank > 0 && axes.last() == Some(&(rank - 1))
    }

    /// Combines [`PARTIALS`] partial accumulators with the fixed tree.
    pub fn combine(self, acc_d: DType, p: [Val; PARTIALS]) -> Result<Val, OpError> {
        let mut e = super::Eval;
        lower_partials(&mut e, self, acc_d, p).map_err(|detail| OpError::Operands {
            op: self.name(),
            detail,
        })
    }

    /// One fold step: `acc` and `v` of the accumulator's dtype.
    pub fn fold(self, acc: Val, v: Val) -> Result<Val, OpError> {
        match (self, acc, v) {
            (ReduceOp::Max, Val::Bool(a), Val::Bool(b)) => Ok(Val::Bool(a | b)),
            (ReduceOp::Min, Val::Bool(a), Val::Bool(b)) => Ok(Val::Bool(a & b)),
            (ReduceOp::Sum, _, _) => BinaryOp::Add.eval(acc, v),
            (ReduceOp::Prod, _, _) => BinaryOp::Mul.eval(acc, v),
            (ReduceOp::Max, _, _) => BinaryOp::Max.eval(acc, v),
            (ReduceOp::Min, _, _) => BinaryOp::Min.eval(acc, v),
        }
    }

    /// The code of one fold step, `acc` and `v` of dtype `acc_d`.
    pub fn lower_fold<E: Emit>(
        self,
        e: &mut E,
        acc_d: DType,
        acc: E::V,
        v: E::V,
    ) -> EmitResult<E::V> {
        match (self, Kind::of(acc_d)) {
            (ReduceOp::Max, Kind::Bool) => e.int_binary(IBin::Or, acc, v),
            (ReduceOp::Min, Kind::Bool) => e.int_binary(IBin::And, acc, v),
            (ReduceOp::Sum, Kind::Float) => e.float_binary(FBin::Add, acc, v),
            (ReduceOp::Sum, Kind::Int | Kind::Bool) => BinaryOp::Add.lower(e, acc_d, acc, v),
            (ReduceOp::Prod, Kind::Float) => e.float_binary(FBin::Mul, acc, v),
            (ReduceOp::Prod, Kind::Int | Kind::Bool) => BinaryOp::Mul.lower(e, acc_d, acc, v),
            (ReduceOp::Max, Kind::Float | Kind::Int) => BinaryOp::Max.lower(e, acc_d, acc, v),
            (ReduceOp::Min, Kind::Float | Kind::Int) => BinaryOp::Min.lower(e, acc_d, acc, v),
        }
    }
}

/// The number of interleaved partial accumulators (module header).
pub const PARTIALS: usize = 16;

/// The code combining interleaved partials:
/// halves folded together, `p[i] ⊕ p[i + n/2]`, until one is left (`⊕` the
/// fold step). Sixteen partials keep four AVX2 vectors of `f64` sums in
/// flight: with eight, W5's layer norm ran 10% slower than with LLVM's own
/// reassociation; with sixteen, 5%.
pub fn lower_partials<E: Emit>(
    e: &mut E,
    op: ReduceOp,
    acc_d: DType,
    p: [E::V; PARTIALS],
) -> EmitResult<E::V> {
    // Halves folded together: p[i] ⊕ p[i + n/2], until one is left.
    let mut v: Vec<E::V> = p.to_vec();
    while v.len() > 1 {
        let h = v.len() / 2;
        v = (0..h)
            .map(|i| op.lower_fold(e, acc_d, v[i], v[i + h]))
            .collect::<EmitResult<Vec<_>>>()?;
    }
    Ok(v[0])
}

/// `argmax`'s rule: `v` replaces the best value so far `best` when `best` is
/// not NaN and `v` is NaN or greater.
pub fn argmax_better(v: Val, best: Val) -> Result<bool, OpError> {
    let bad = || OpError::Operands {
        op: "argmax",
        detail: format!("{v:?} and {best:?}"),
    };
    Ok(match (v, best) {
        (Val::F32(x), Val::F32(b)) => !b.is_nan() && (x.is_nan() || x > b),
        (Val::F64(x), Val::F64(b)) => !b.is_nan() && (x.is_nan() || x > b),
        (Val::I32(x), Val::I32(b)) => x > b,
        (Val::I64(x), Val::I64(b)) => x > b,
        (Val::Bool(x), Val::Bool(b)) => x & !b,
        _ => return Err(bad()),
    })
}

/// The code of [`argmax_better`] for values of dtype `d`: a comparison result.
pub fn lower_argmax_better<E: Emit>(e: &mut E, d: DType, v: E::V, best: E::V) -> EmitResult<E::V> {
    match Kind::of(d) {
        Kind::Float => {
            // `best == best` unless `best` is NaN.
            let best_ok = e.fcmp(FCmp::Eq, best, best)?;
            let wins = e.fcmp(FCmp::UGt, v, best)?;
            e.int_binary(IBin::And, best_ok, wins)
        }
        Kind::Int => e.icmp(ICmp::Sgt, v, best),
        Kind::Bool => e.icmp(ICmp::Ugt, v, best),
    }
}
