//! `cast`: reference evaluation and lowering.
//!
//! float → int truncates toward zero and saturates at the target's range,
//! NaN → 0 (NumPy leaves these undefined); int → int wraps (`u8` is
//! unsigned: it zero-extends, and a wider integer keeps its low 8 bits); float → float
//! rounds to nearest; bool → number is 0/1; number → bool is `x != 0` (so
//! NaN → true).

use super::emit::{Conv, Emit, EmitResult, FCmp, ICmp};
use super::{runtime_dtype, Kind, OpError, Val};
use crate::ir::types::{DType, Scalar};

/// `v` converted to `to`.
pub fn cast(v: Val, to: DType) -> Result<Val, OpError> {
    macro_rules! num {
        ($x:expr, $zero:expr) => {
            match to {
                DType::F32 => Val::F32($x as f32),
                DType::F64 => Val::F64($x as f64),
                DType::I32 => Val::I32($x as i32),
                DType::I64 => Val::I64($x as i64),
                DType::U8 => Val::U8($x as u8),
                DType::Bool => Val::Bool($x != $zero),
                DType::F16 | DType::BF16 => return Err(OpError::Unsupported { dtype: to }),
            }
        };
    }
    Ok(match v {
        Val::F32(x) => num!(x, 0.0),
        Val::F64(x) => num!(x, 0.0),
        Val::I32(x) => num!(x, 0),
        Val::I64(x) => num!(x, 0),
        Val::U8(x) => num!(x, 0),
        Val::Bool(x) => num!(u8::from(x), 0),
    })
}

/// The code of `cast(x, to)` for `x` of dtype `from`.
pub fn lower_cast<E: Emit>(e: &mut E, x: E::V, from: DType, to: DType) -> EmitResult<E::V> {
    runtime_dtype(from)?;
    runtime_dtype(to)?;
    if from == to {
        return Ok(x);
    }
    let zero = |e: &mut E| -> EmitResult<E::V> { e.konst(Val::constant(Scalar::Int(0), from)?) };
    match (Kind::of(from), Kind::of(to)) {
        (Kind::Float, Kind::Bool) => {
            let z = zero(e)?;
            e.fcmp(FCmp::Ne, x, z)
        }
        (Kind::Int, Kind::Bool) => {
            let z = zero(e)?;
            e.icmp(ICmp::Ne, x, z)
        }
        (Kind::Bool, Kind::Float | Kind::Int) => e.convert(x, from, Conv::BoolToNum(to)),
        (Kind::Float, Kind::Float) => e.convert(x, from, Conv::FloatToFloat(to)),
        (Kind::Float, Kind::Int) => e.convert(x, from, Conv::FloatToInt(to)),
        (Kind::Int, Kind::Float) => e.convert(x, from, Conv::IntToFloat(to)),
        (Kind::Int, Kind::Int) => e.convert(x, from, Conv::IntToInt(to)),
        // from == to was handled above.
        (Kind::Bool, Kind::Bool) => Ok(x),
    }
}
