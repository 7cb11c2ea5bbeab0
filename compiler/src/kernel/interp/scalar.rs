//! The kernel interpreter's view of the semantics table ([`crate::ops`]):
//! its reference evaluations, on operands that the kernel verifier has
//! already type-checked. An evaluation error here is a verifier bug; debug
//! builds stop on it, release builds give NaN or zero of the dtype rather
//! than crash.

use crate::ir::types::{DType, Scalar};
use crate::ops::{self, BinaryOp, OpError, ReduceOp, UnaryOp};

pub use crate::ops::Val;

fn poison(e: OpError, d: DType) -> Val {
    debug_assert!(false, "kernel interpreter: {e}");
    match d {
        DType::F64 => Val::F64(f64::NAN),
        DType::I32 => Val::I32(0),
        DType::I64 => Val::I64(0),
        DType::U8 => Val::U8(0),
        DType::Bool => Val::Bool(false),
        DType::F32 | DType::F16 | DType::BF16 => Val::F32(f32::NAN),
    }
}

pub fn constant(value: Scalar, dtype: DType) -> Val {
    Val::constant(value, dtype).unwrap_or_else(|e| poison(e, dtype))
}

pub(super) fn from_u64(n: u64, dtype: DType) -> Val {
    Val::from_index(n, dtype).unwrap_or_else(|e| poison(e, dtype))
}

pub fn cast(v: Val, to: DType) -> Val {
    ops::cast(v, to).unwrap_or_else(|e| poison(e, to))
}

pub fn unary(u: UnaryOp, v: Val) -> Val {
    u.eval(v).unwrap_or_else(|e| poison(e, v.dtype()))
}

pub fn binary(b: BinaryOp, x: Val, y: Val) -> Val {
    b.eval(x, y).unwrap_or_else(|e| poison(e, x.dtype()))
}

pub(super) fn fold(op: ReduceOp, acc: Val, v: Val) -> Val {
    op.fold(acc, v).unwrap_or_else(|e| poison(e, acc.dtype()))
}

/// The fixed tree over interleaved partials (the table's order).
pub(super) fn combine(op: ReduceOp, acc_d: DType, p: [Val; ops::PARTIALS]) -> Val {
    op.combine(acc_d, p).unwrap_or_else(|e| poison(e, acc_d))
}

pub(super) fn identity(op: ReduceOp, acc: DType) -> Val {
    op.identity(acc).unwrap_or_else(|e| poison(e, acc))
}

pub(super) fn argmax_better(v: Val, best: Val) -> bool {
    ops::argmax_better(v, best).unwrap_or_else(|e| {
        debug_assert!(false, "kernel interpreter: {e}");
        false
    })
}
