//! One scalar value of a run-time dtype.

use super::{cast, OpError};
use crate::ir::types::{DType, Scalar};

/// One scalar value. `f16` and `bf16` have no run-time representation yet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    F32(f32),
    F64(f64),
    I32(i32),
    I64(i64),
    U8(u8),
    Bool(bool),
}

impl Val {
    pub fn dtype(self) -> DType {
        match self {
            Val::F32(_) => DType::F32,
            Val::F64(_) => DType::F64,
            Val::I32(_) => DType::I32,
            Val::I64(_) => DType::I64,
            Val::U8(_) => DType::U8,
            Val::Bool(_) => DType::Bool,
        }
    }

    /// A literal of the graph IR as a value of `dtype` (the conversion of
    /// [`cast`]: an integer literal is exact in `i64`, then converted).
    pub fn constant(value: Scalar, dtype: DType) -> Result<Val, OpError> {
        let v = match value {
            Scalar::Float(v) => Val::F64(v),
            Scalar::Int(v) => Val::I64(v),
            Scalar::Bool(v) => Val::Bool(v),
        };
        cast(v, dtype)
    }

    /// A count or an index (`iota`, `sizeof`) as a value of `dtype`:
    /// rounded to nearest for floats, wrapping for integers.
    pub fn from_index(n: u64, dtype: DType) -> Result<Val, OpError> {
        Ok(match dtype {
            DType::F32 => Val::F32(n as f32),
            DType::F64 => Val::F64(n as f64),
            DType::I32 => Val::I32(n as i32),
            DType::I64 => Val::I64(n as i64),
            DType::U8 => Val::U8(n as u8),
            DType::Bool => {
                return Err(OpError::NotDefined {
                    op: "an index",
                    dtype,
                })
            }
            DType::F16 | DType::BF16 => return Err(OpError::Unsupported { dtype }),
        })
    }

    /// Zero of `dtype` (`false` for bool).
    pub fn zero(dtype: DType) -> Result<Val, OpError> {
        cast(Val::I64(0), dtype)
    }

    /// The value as an `i64` (floats truncated and saturated, NaN 0).
    pub fn as_i64(self) -> i64 {
        match self {
            Val::F32(v) => v as i64,
            Val::F64(v) => v as i64,
            Val::I32(v) => v as i64,
            Val::I64(v) => v,
            Val::U8(v) => v as i64,
            Val::Bool(v) => v as i64,
        }
    }

    pub fn is_nan(self) -> bool {
        match self {
            Val::F32(x) => x.is_nan(),
            Val::F64(x) => x.is_nan(),
            Val::I32(_) | Val::I64(_) | Val::U8(_) | Val::Bool(_) => false,
        }
    }

    /// Bitwise identity (NaN equals a NaN with the same bits; -0 ≠ +0).
    pub fn same_bits(self, other: Val) -> bool {
        match (self, other) {
            (Val::F32(a), Val::F32(b)) => a.to_bits() == b.to_bits(),
            (Val::F64(a), Val::F64(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }
}
