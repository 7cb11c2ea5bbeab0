//! Elementwise kernels: unary ops, binary ops (operands of one exact shape;
//! broadcasting is an explicit node), `Select` and `Cast`.
//!
//! The scalar semantics are the table's ([`crate::ops`]): each kernel maps
//! [`UnaryOp::eval_float`], [`BinaryOp::eval_int`], [`ops::cast`], ... over
//! ndarray arrays.

use ndarray::{ArrayD, Zip};
use weft_runtime::RunError;

use super::{internal, same_shape};
use crate::interp::tensor::{f16_unsupported, map_same, Tensor};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::types::DType;
use crate::ops::num::Int;
use crate::ops::{self, Kind, Val};

fn unary_int<T: Int>(u: UnaryOp, a: &ArrayD<T>) -> Result<ArrayD<T>, RunError> {
    if !u.accepts_int() {
        return Err(internal(format!("{} is not defined on integers", u.name())));
    }
    Ok(a.mapv(|x| u.eval_int(x).unwrap_or(x)))
}

pub fn unary(u: UnaryOp, a: &Tensor) -> Result<Tensor, RunError> {
    Ok(match a {
        Tensor::F32(x) => Tensor::F32(x.mapv(|v| u.eval_float(v))),
        Tensor::F64(x) => Tensor::F64(x.mapv(|v| u.eval_float(v))),
        Tensor::I32(x) => Tensor::I32(unary_int(u, x)?),
        Tensor::I64(x) => Tensor::I64(unary_int(u, x)?),
        Tensor::Bool(_) | Tensor::U8(_) => {
            return Err(internal(format!(
                "{} is not defined on {}",
                u.name(),
                a.dtype()
            )))
        }
    })
}

fn zip_with<T: Copy, U>(x: &ArrayD<T>, y: &ArrayD<T>, f: impl Fn(T, T) -> U) -> ArrayD<U> {
    Zip::from(x).and(y).map_collect(|&a, &b| f(a, b))
}

pub fn binary(b: BinaryOp, x: &Tensor, y: &Tensor) -> Result<Tensor, RunError> {
    same_shape(b.name(), &[x, y])?;
    let bad = || internal(format!("{} of {} and {}", b.name(), x.dtype(), y.dtype()));
    if b.is_comparison() {
        return Ok(Tensor::Bool(match (x, y) {
            (Tensor::F32(p), Tensor::F32(q)) => cmp_arrays(b, p, q),
            (Tensor::F64(p), Tensor::F64(q)) => cmp_arrays(b, p, q),
            (Tensor::I32(p), Tensor::I32(q)) => cmp_arrays(b, p, q),
            (Tensor::I64(p), Tensor::I64(q)) => cmp_arrays(b, p, q),
            (Tensor::Bool(p), Tensor::Bool(q)) if b.defined_on(Kind::Bool) => cmp_arrays(b, p, q),
            _ => return Err(bad()),
        }));
    }
    Ok(match (x, y) {
        (Tensor::F32(p), Tensor::F32(q)) => {
            Tensor::F32(zip_with(p, q, |x, y| b.eval_float(x, y).unwrap_or(x)))
        }
        (Tensor::F64(p), Tensor::F64(q)) => {
            Tensor::F64(zip_with(p, q, |x, y| b.eval_float(x, y).unwrap_or(x)))
        }
        (Tensor::I32(p), Tensor::I32(q)) => {
            Tensor::I32(zip_with(p, q, |x, y| b.eval_int(x, y).unwrap_or(x)))
        }
        (Tensor::I64(p), Tensor::I64(q)) => {
            Tensor::I64(zip_with(p, q, |x, y| b.eval_int(x, y).unwrap_or(x)))
        }
        _ => return Err(bad()),
    })
}

fn cmp_arrays<T: PartialOrd + Copy>(b: BinaryOp, p: &ArrayD<T>, q: &ArrayD<T>) -> ArrayD<bool> {
    Zip::from(p)
        .and(q)
        .map_collect(|&x, &y| b.eval_compare(x, y).unwrap_or(false))
}

/// `where(cond, a, b)`.
pub fn select(c: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor, RunError> {
    same_shape("select", &[c, a, b])?;
    let Tensor::Bool(c) = c else {
        return Err(internal(format!(
            "select condition is {}, not bool",
            c.dtype()
        )));
    };
    fn pick<T: Copy>(c: &ArrayD<bool>, a: &ArrayD<T>, b: &ArrayD<T>) -> ArrayD<T> {
        Zip::from(c)
            .and(a)
            .and(b)
            .map_collect(|&c, &x, &y| if c { x } else { y })
    }
    Ok(match (a, b) {
        (Tensor::F32(x), Tensor::F32(y)) => Tensor::F32(pick(c, x, y)),
        (Tensor::F64(x), Tensor::F64(y)) => Tensor::F64(pick(c, x, y)),
        (Tensor::I32(x), Tensor::I32(y)) => Tensor::I32(pick(c, x, y)),
        (Tensor::I64(x), Tensor::I64(y)) => Tensor::I64(pick(c, x, y)),
        (Tensor::U8(x), Tensor::U8(y)) => Tensor::U8(pick(c, x, y)),
        (Tensor::Bool(x), Tensor::Bool(y)) => Tensor::Bool(pick(c, x, y)),
        _ => {
            return Err(internal(format!(
                "select of {} and {}",
                a.dtype(),
                b.dtype()
            )))
        }
    })
}

/// `cast(x, to)`: [`ops::cast`] on every element.
pub fn cast(a: &Tensor, to: DType) -> Result<Tensor, RunError> {
    if a.dtype() == to {
        return Ok(a.clone());
    }
    macro_rules! to {
        ($x:expr, $from:ident) => {{
            let conv = |v| ops::cast(Val::$from(v), to);
            match to {
                DType::F32 => Tensor::F32($x.mapv(|v| match conv(v) {
                    Ok(Val::F32(r)) => r,
                    _ => f32::NAN,
                })),
                DType::F64 => Tensor::F64($x.mapv(|v| match conv(v) {
                    Ok(Val::F64(r)) => r,
                    _ => f64::NAN,
                })),
                DType::I32 => Tensor::I32($x.mapv(|v| match conv(v) {
                    Ok(Val::I32(r)) => r,
                    _ => 0,
                })),
                DType::I64 => Tensor::I64($x.mapv(|v| match conv(v) {
                    Ok(Val::I64(r)) => r,
                    _ => 0,
                })),
                DType::U8 => Tensor::U8($x.mapv(|v| match conv(v) {
                    Ok(Val::U8(r)) => r,
                    _ => 0,
                })),
                DType::Bool => Tensor::Bool($x.mapv(|v| matches!(conv(v), Ok(Val::Bool(true))))),
                d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
            }
        }};
    }
    Ok(match a {
        Tensor::F32(x) => to!(x, F32),
        Tensor::F64(x) => to!(x, F64),
        Tensor::I32(x) => to!(x, I32),
        Tensor::I64(x) => to!(x, I64),
        Tensor::U8(x) => to!(x, U8),
        Tensor::Bool(x) => to!(x, Bool),
    })
}

/// Identity (used by `StopGradient`): a copy of the operand.
pub fn identity(a: &Tensor) -> Tensor {
    map_same!(a, x => x.clone())
}
