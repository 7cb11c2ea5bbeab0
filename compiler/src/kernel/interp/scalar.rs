//! The kernel IR's scalar semantics: one value ([`Val`]) and what every
//! operation does to it — the rules the kernel interpreter computes and the
//! JIT's code and host functions reproduce bit for bit: NaN-propagating
//! max/min, floor division, wrapping integers, saturating float → int
//! casts, `f32` exp/log/tanh/sigmoid as defined in [`crate::kernel::vmath`].

use crate::interp::kernels::elementwise::{fmax, fmin, unary_float};
use crate::interp::kernels::num::{Float, Int};
use crate::ir::op::{BinaryOp, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Scalar};

/// One scalar value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    F32(f32),
    F64(f64),
    I32(i32),
    I64(i64),
    Bool(bool),
}

impl Val {
    pub(super) fn as_i64(self) -> i64 {
        match self {
            Val::F32(v) => v as i64,
            Val::F64(v) => v as i64,
            Val::I32(v) => v as i64,
            Val::I64(v) => v,
            Val::Bool(v) => v as i64,
        }
    }
}

pub(super) fn is_nan(v: Val) -> bool {
    match v {
        Val::F32(x) => x.is_nan(),
        Val::F64(x) => x.is_nan(),
        _ => false,
    }
}

pub(super) fn greater(a: Val, b: Val) -> bool {
    match (a, b) {
        (Val::F32(x), Val::F32(y)) => x > y,
        (Val::F64(x), Val::F64(y)) => x > y,
        (Val::I32(x), Val::I32(y)) => x > y,
        (Val::I64(x), Val::I64(y)) => x > y,
        (Val::Bool(x), Val::Bool(y)) => x & !y,
        _ => false,
    }
}

pub(super) fn fold(op: ReduceOp, a: Val, v: Val) -> Val {
    match op {
        ReduceOp::Sum => binary(BinaryOp::Add, a, v),
        ReduceOp::Max => match (a, v) {
            (Val::Bool(x), Val::Bool(y)) => Val::Bool(x | y),
            _ => binary(BinaryOp::Max, a, v),
        },
        ReduceOp::Min => match (a, v) {
            (Val::Bool(x), Val::Bool(y)) => Val::Bool(x & y),
            _ => binary(BinaryOp::Min, a, v),
        },
    }
}

pub fn constant(value: Scalar, dtype: DType) -> Val {
    match value {
        Scalar::Float(v) => cast(Val::F64(v), dtype),
        Scalar::Int(v) => cast(Val::I64(v), dtype),
        Scalar::Bool(v) => cast(Val::Bool(v), dtype),
    }
}

pub(super) fn from_u64(n: u64, dtype: DType) -> Val {
    match dtype {
        DType::F32 => Val::F32(n as f32),
        DType::F64 => Val::F64(n as f64),
        DType::I32 => Val::I32(n as i32),
        _ => Val::I64(n as i64),
    }
}

pub fn cast(v: Val, to: DType) -> Val {
    macro_rules! num {
        ($x:expr, $zero:expr) => {
            match to {
                DType::F32 | DType::F16 | DType::BF16 => Val::F32($x as f32),
                DType::F64 => Val::F64($x as f64),
                DType::I32 => Val::I32($x as i32),
                DType::I64 => Val::I64($x as i64),
                DType::Bool => Val::Bool($x != $zero),
            }
        };
    }
    match v {
        Val::F32(x) => num!(x, 0.0),
        Val::F64(x) => num!(x, 0.0),
        Val::I32(x) => num!(x, 0),
        Val::I64(x) => num!(x, 0),
        Val::Bool(x) => num!(x as u8, 0),
    }
}

fn unary_int<T: Int>(u: UnaryOp, x: T) -> T {
    match u {
        UnaryOp::Neg => x.wneg(),
        UnaryOp::Abs => x.wabs(),
        UnaryOp::Sign => match x.cmp(&T::ZERO) {
            std::cmp::Ordering::Greater => T::ONE,
            std::cmp::Ordering::Less => T::ONE.wneg(),
            std::cmp::Ordering::Equal => T::ZERO,
        },
        _ => x.max(T::ZERO), // relu (the type rule allows no other on integers)
    }
}

pub fn unary(u: UnaryOp, v: Val) -> Val {
    match v {
        Val::F32(x) => Val::F32(match u {
            UnaryOp::Exp => crate::kernel::vmath::exp(x),
            UnaryOp::Log => crate::kernel::vmath::log(x),
            UnaryOp::Tanh => crate::kernel::vmath::tanh(x),
            UnaryOp::Sigmoid => crate::kernel::vmath::sigmoid(x),
            _ => unary_float(u, x),
        }),
        Val::F64(x) => Val::F64(unary_float(u, x)),
        Val::I32(x) => Val::I32(unary_int(u, x)),
        Val::I64(x) => Val::I64(unary_int(u, x)),
        Val::Bool(_) => v,
    }
}

fn arith_float<T: Float>(b: BinaryOp, x: T, y: T) -> T {
    match b {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Max => fmax(x, y),
        _ => fmin(x, y),
    }
}

fn arith_int<T: Int>(b: BinaryOp, x: T, y: T) -> T {
    match b {
        BinaryOp::Add => x.wadd(y),
        BinaryOp::Sub => x.wsub(y),
        BinaryOp::Mul => x.wmul(y),
        BinaryOp::Div => x.floor_div(y),
        BinaryOp::Pow => x.ipow(y),
        BinaryOp::Max => x.max(y),
        _ => x.min(y),
    }
}

fn compare<T: PartialOrd>(b: BinaryOp, x: T, y: T) -> bool {
    match b {
        BinaryOp::Lt => x < y,
        BinaryOp::Le => x <= y,
        BinaryOp::Gt => x > y,
        BinaryOp::Ge => x >= y,
        BinaryOp::Eq => x == y,
        _ => x != y,
    }
}

pub fn binary(b: BinaryOp, x: Val, y: Val) -> Val {
    if b.is_comparison() {
        return Val::Bool(match (x, y) {
            (Val::F32(p), Val::F32(q)) => compare(b, p, q),
            (Val::F64(p), Val::F64(q)) => compare(b, p, q),
            (Val::I32(p), Val::I32(q)) => compare(b, p, q),
            (Val::I64(p), Val::I64(q)) => compare(b, p, q),
            (Val::Bool(p), Val::Bool(q)) => compare(b, p, q),
            _ => false,
        });
    }
    match (x, y) {
        (Val::F32(p), Val::F32(q)) => Val::F32(arith_float(b, p, q)),
        (Val::F64(p), Val::F64(q)) => Val::F64(arith_float(b, p, q)),
        (Val::I32(p), Val::I32(q)) => Val::I32(arith_int(b, p, q)),
        (Val::I64(p), Val::I64(q)) => Val::I64(arith_int(b, p, q)),
        _ => x,
    }
}
