//! Elementwise kernels: unary ops, binary ops (operands of one exact shape;
//! broadcasting is an explicit node), `Select` and `Cast`.
//!
//! Semantics (NumPy's unless noted):
//! - `sign`: -1/0/+1, `sign(±0) = 0`, `sign(NaN) = NaN`; `relu(x) = max(x, 0)`
//!   with `relu(NaN) = NaN`; `rsqrt(x) = 1 / sqrt(x)`; `sigmoid` uses
//!   `1 / (1 + e^-x)` for `x ≥ 0` and `e^x / (1 + e^x)` below, so it never
//!   overflows to NaN for large |x|.
//! - `maximum`/`minimum` propagate NaN (either operand NaN gives NaN).
//! - Integer arithmetic wraps; integer `div` is floor division with `x / 0 = 0`;
//!   integer `pow` with a negative exponent is 0 unless the base is ±1.
//! - Comparisons follow IEEE 754 (every comparison with NaN is false except `!=`).
//! - `cast`: float → int truncates toward zero and saturates at the target's
//!   range, NaN → 0 (NumPy leaves these undefined); int → int wraps; bool →
//!   number is 0/1; number → bool is `x != 0` (so NaN → true).

use ndarray::{ArrayD, Zip};
use weft_runtime::RunError;

use super::num::{Float, Int};
use super::{internal, same_shape};
use crate::interp::tensor::{f16_unsupported, map_same, Tensor};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::types::DType;

/// A unary op on one float: the scalar semantics every engine shares.
pub(crate) fn unary_float<T: Float>(u: UnaryOp, x: T) -> T {
    match u {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => T::ONE / x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign => {
            if x > T::ZERO {
                T::ONE
            } else if x < T::ZERO {
                -T::ONE
            } else if x.is_nan() {
                x
            } else {
                T::ZERO
            }
        }
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => {
            if x >= T::ZERO {
                T::ONE / (T::ONE + (-x).exp())
            } else {
                let e = x.exp();
                e / (T::ONE + e)
            }
        }
        UnaryOp::Relu => {
            if x > T::ZERO || x.is_nan() {
                x
            } else {
                T::ZERO
            }
        }
    }
}

fn unary_int<T: Int>(u: UnaryOp, a: &ArrayD<T>) -> Result<ArrayD<T>, RunError> {
    let f: fn(T) -> T = match u {
        UnaryOp::Neg => |x| x.wneg(),
        UnaryOp::Abs => |x| x.wabs(),
        UnaryOp::Sign => |x| match x.cmp(&T::ZERO) {
            std::cmp::Ordering::Greater => T::ONE,
            std::cmp::Ordering::Less => T::ONE.wneg(),
            std::cmp::Ordering::Equal => T::ZERO,
        },
        UnaryOp::Relu => |x| x.max(T::ZERO),
        _ => return Err(internal(format!("{} is not defined on integers", u.name()))),
    };
    Ok(a.mapv(f))
}

pub fn unary(u: UnaryOp, a: &Tensor) -> Result<Tensor, RunError> {
    Ok(match a {
        Tensor::F32(x) => Tensor::F32(x.mapv(|v| unary_float(u, v))),
        Tensor::F64(x) => Tensor::F64(x.mapv(|v| unary_float(u, v))),
        Tensor::I32(x) => Tensor::I32(unary_int(u, x)?),
        Tensor::I64(x) => Tensor::I64(unary_int(u, x)?),
        Tensor::Bool(_) => return Err(internal(format!("{} is not defined on bool", u.name()))),
    })
}

/// NaN-propagating maximum (`NumPy.maximum`).
pub fn fmax<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || a >= b {
        a
    } else {
        b
    }
}

/// NaN-propagating minimum (`NumPy.minimum`).
pub fn fmin<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || a <= b {
        a
    } else {
        b
    }
}

fn arith_float<T: Float>(b: BinaryOp) -> Option<fn(T, T) -> T> {
    Some(match b {
        BinaryOp::Add => |x, y| x + y,
        BinaryOp::Sub => |x, y| x - y,
        BinaryOp::Mul => |x, y| x * y,
        BinaryOp::Div => |x, y| x / y,
        BinaryOp::Pow => |x, y| x.powf(y),
        BinaryOp::Max => fmax,
        BinaryOp::Min => fmin,
        _ => return None,
    })
}

fn arith_int<T: Int>(b: BinaryOp) -> Option<fn(T, T) -> T> {
    Some(match b {
        BinaryOp::Add => |x, y| x.wadd(y),
        BinaryOp::Sub => |x, y| x.wsub(y),
        BinaryOp::Mul => |x, y| x.wmul(y),
        BinaryOp::Div => |x, y| x.floor_div(y),
        BinaryOp::Pow => |x, y| x.ipow(y),
        BinaryOp::Max => |x, y| x.max(y),
        BinaryOp::Min => |x, y| x.min(y),
        _ => return None,
    })
}

fn compare<T: PartialOrd>(b: BinaryOp) -> Option<fn(&T, &T) -> bool> {
    Some(match b {
        BinaryOp::Lt => |x, y| x < y,
        BinaryOp::Le => |x, y| x <= y,
        BinaryOp::Gt => |x, y| x > y,
        BinaryOp::Ge => |x, y| x >= y,
        BinaryOp::Eq => |x, y| x == y,
        BinaryOp::Ne => |x, y| x != y,
        _ => return None,
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
            (Tensor::F32(p), Tensor::F32(q)) => cmp_arrays(b, p, q).ok_or_else(bad)?,
            (Tensor::F64(p), Tensor::F64(q)) => cmp_arrays(b, p, q).ok_or_else(bad)?,
            (Tensor::I32(p), Tensor::I32(q)) => cmp_arrays(b, p, q).ok_or_else(bad)?,
            (Tensor::I64(p), Tensor::I64(q)) => cmp_arrays(b, p, q).ok_or_else(bad)?,
            (Tensor::Bool(p), Tensor::Bool(q)) if matches!(b, BinaryOp::Eq | BinaryOp::Ne) => {
                cmp_arrays(b, p, q).ok_or_else(bad)?
            }
            _ => return Err(bad()),
        }));
    }
    Ok(match (x, y) {
        (Tensor::F32(p), Tensor::F32(q)) => {
            Tensor::F32(zip_with(p, q, arith_float(b).ok_or_else(bad)?))
        }
        (Tensor::F64(p), Tensor::F64(q)) => {
            Tensor::F64(zip_with(p, q, arith_float(b).ok_or_else(bad)?))
        }
        (Tensor::I32(p), Tensor::I32(q)) => {
            Tensor::I32(zip_with(p, q, arith_int(b).ok_or_else(bad)?))
        }
        (Tensor::I64(p), Tensor::I64(q)) => {
            Tensor::I64(zip_with(p, q, arith_int(b).ok_or_else(bad)?))
        }
        _ => return Err(bad()),
    })
}

fn cmp_arrays<T: PartialOrd + Copy>(
    b: BinaryOp,
    p: &ArrayD<T>,
    q: &ArrayD<T>,
) -> Option<ArrayD<bool>> {
    let f = compare::<T>(b)?;
    Some(Zip::from(p).and(q).map_collect(f))
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

macro_rules! cast_from {
    ($x:expr, $to:expr, $zero:expr) => {
        match $to {
            DType::F32 => Tensor::F32($x.mapv(|v| v as f32)),
            DType::F64 => Tensor::F64($x.mapv(|v| v as f64)),
            DType::I32 => Tensor::I32($x.mapv(|v| v as i32)),
            DType::I64 => Tensor::I64($x.mapv(|v| v as i64)),
            DType::Bool => Tensor::Bool($x.mapv(|v| v != $zero)),
            d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
        }
    };
}

/// `cast(x, to)`. Rust's `as` gives exactly the documented float → int rule
/// (truncate, saturate, NaN → 0) and wraps int → int.
pub fn cast(a: &Tensor, to: DType) -> Result<Tensor, RunError> {
    if a.dtype() == to {
        return Ok(a.clone());
    }
    Ok(match a {
        Tensor::F32(x) => cast_from!(x, to, 0.0),
        Tensor::F64(x) => cast_from!(x, to, 0.0),
        Tensor::I32(x) => cast_from!(x, to, 0),
        Tensor::I64(x) => cast_from!(x, to, 0),
        Tensor::Bool(x) => {
            let n = x.mapv(u8::from);
            cast_from!(n, to, 0)
        }
    })
}

/// Identity (used by `StopGradient`): a copy of the operand.
pub fn identity(a: &Tensor) -> Tensor {
    map_same!(a, x => x.clone())
}
