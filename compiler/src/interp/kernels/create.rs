//! Creation kernels: `Literal`, `SizeOf`, `Iota` and `Random`, plus the
//! param initialisers built from them.
//!
//! Random numbers come from `weft_runtime::rng`: element `i` in C order of
//! the result is counter `i` of the stream `seed`, so every backend agrees.

use ndarray::{ArrayD, IxDyn};
use weft_runtime::{rng, RunError};

use super::internal;
use crate::interp::dims::ConcreteType;
use crate::interp::tensor::{array, f16_unsupported, Tensor};
use crate::ir::op::Distribution;
use crate::ir::types::{DType, Scalar};
use crate::ops::{self, Val};

fn scalar_array<T: Clone>(v: T) -> ArrayD<T> {
    ArrayD::from_elem(IxDyn(&[]), v)
}

/// A scalar of `dtype` holding `value`: the table's literal rule and
/// conversion ([`ops::literal_fits`], [`Val::constant`]).
pub fn literal(value: Scalar, dtype: DType) -> Result<Tensor, RunError> {
    let bad = |e: ops::OpError| internal(format!("literal {value} as {dtype}: {e}"));
    if let d @ (DType::F16 | DType::BF16) = dtype {
        return Err(f16_unsupported(d));
    }
    ops::literal_fits(value, dtype).map_err(bad)?;
    Ok(match Val::constant(value, dtype).map_err(bad)? {
        Val::F32(v) => Tensor::F32(scalar_array(v)),
        Val::F64(v) => Tensor::F64(scalar_array(v)),
        Val::I32(v) => Tensor::I32(scalar_array(v)),
        Val::I64(v) => Tensor::I64(scalar_array(v)),
        Val::U8(v) => Tensor::U8(scalar_array(v)),
        Val::Bool(v) => Tensor::Bool(scalar_array(v)),
    })
}

/// `SizeOf`: the product of `sizes` as a scalar of `dtype`.
pub fn size_of(sizes: &[usize], dtype: DType) -> Result<Tensor, RunError> {
    let too_big = || RunError::data(format!("the size product {sizes:?} does not fit {dtype}"));
    let n = sizes
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(too_big)?;
    Ok(match dtype {
        DType::F32 => Tensor::F32(scalar_array(n as f32)),
        DType::F64 => Tensor::F64(scalar_array(n as f64)),
        DType::I32 => Tensor::I32(scalar_array(i32::try_from(n).map_err(|_| too_big())?)),
        DType::I64 => Tensor::I64(scalar_array(i64::try_from(n).map_err(|_| too_big())?)),
        DType::U8 => Tensor::U8(scalar_array(n as u8)),
        d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
        DType::Bool => return Err(internal("sizeof as bool".into())),
    })
}

/// `Iota`: each element is its position along `axis`.
pub fn iota(ty: &ConcreteType, axis: usize) -> Result<Tensor, RunError> {
    if axis >= ty.shape.len() {
        return Err(internal(format!("iota axis {axis} of {ty}")));
    }
    let sh = IxDyn(&ty.shape);
    Ok(match ty.dtype {
        DType::F32 => Tensor::F32(ArrayD::from_shape_fn(sh, |ix| ix[axis] as f32)),
        DType::F64 => Tensor::F64(ArrayD::from_shape_fn(sh, |ix| ix[axis] as f64)),
        DType::I32 => Tensor::I32(ArrayD::from_shape_fn(sh, |ix| ix[axis] as i32)),
        DType::I64 => Tensor::I64(ArrayD::from_shape_fn(sh, |ix| ix[axis] as i64)),
        DType::U8 => Tensor::U8(ArrayD::from_shape_fn(sh, |ix| ix[axis] as u8)),
        d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
        DType::Bool => return Err(internal("iota of bool".into())),
    })
}

/// `Random`: element `i` (C order) is `rng` counter `i` of stream `seed`.
pub fn random(ty: &ConcreteType, dist: Distribution, seed: u64) -> Result<Tensor, RunError> {
    let n = ty
        .numel()
        .ok_or_else(|| RunError::data(format!("{ty} is too large")))?;
    Ok(match ty.dtype {
        DType::F32 => {
            let mut v = vec![0f32; n];
            match dist {
                Distribution::Normal { mean, std } => rng::fill_normal_f32(seed, mean, std, &mut v),
                Distribution::Uniform { lo, hi } => rng::fill_uniform_f32(seed, lo, hi, &mut v),
            }
            Tensor::F32(array(&ty.shape, v)?)
        }
        DType::F64 => {
            let mut v = vec![0f64; n];
            match dist {
                Distribution::Normal { mean, std } => rng::fill_normal_f64(seed, mean, std, &mut v),
                Distribution::Uniform { lo, hi } => rng::fill_uniform_f64(seed, lo, hi, &mut v),
            }
            Tensor::F64(array(&ty.shape, v)?)
        }
        d @ (DType::F16 | DType::BF16) => return Err(f16_unsupported(d)),
        d => return Err(internal(format!("random values of dtype {d}"))),
    })
}

/// A tensor of type `ty` filled with the scalar `value` (param `Full` init).
/// An integral float value is accepted for an integer dtype.
pub fn full(value: Scalar, ty: &ConcreteType) -> Result<Tensor, RunError> {
    let value = match value {
        Scalar::Float(v) if ty.dtype.is_int() && v.fract() == 0.0 && v.abs() < 9.0e15 => {
            Scalar::Int(v as i64)
        }
        v => v,
    };
    let s = literal(value, ty.dtype)?;
    super::shape::broadcast(&s, &ty.shape)
}
