//! The values every engine is tested on (see `kernel::specials`).

use super::Val;
use crate::ir::types::DType;

/// Special values of `d` for the tests of every engine: NaN, ±0, ±inf, subnormals, the extremes, ties,
/// the edges of `exp`'s range, extreme integers.
pub fn special_values(d: DType) -> Vec<Val> {
    match d {
        DType::F32 => [
            f32::NAN,
            -f32::NAN,
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            1e-45,
            -3e-40,
            f32::MAX,
            f32::MIN,
            1.0,
            -1.0,
            0.5,
            2.5,
            -2.5,
            3.5,
            0.625,
            -0.624,
            88.7,
            89.5,
            -103.9,
            -104.5,
            1e-7,
            100.0,
            -7.25,
            16777217.0,
            2147483648.0,
            -2147483904.0,
        ]
        .into_iter()
        .map(Val::F32)
        .collect(),
        DType::F64 => [
            f64::NAN,
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            1.0,
            -1.0,
            0.5,
            2.5,
            -2.5,
            709.0,
            710.0,
            -745.5,
            1e-300,
            -7.25,
            9.3e18,
            -9.3e18,
        ]
        .into_iter()
        .map(Val::F64)
        .collect(),
        DType::I32 => [
            i32::MIN,
            i32::MIN + 1,
            -7,
            -2,
            -1,
            0,
            1,
            2,
            3,
            7,
            31,
            32,
            i32::MAX,
        ]
        .into_iter()
        .map(Val::I32)
        .collect(),
        DType::I64 => [
            i64::MIN,
            i64::MIN + 1,
            -7,
            -2,
            -1,
            0,
            1,
            2,
            3,
            7,
            63,
            64,
            i64::MAX,
        ]
        .into_iter()
        .map(Val::I64)
        .collect(),
        DType::U8 => [0u8, 1, 2, 127, 128, 200, 254, 255]
            .into_iter()
            .map(Val::U8)
            .collect(),
        DType::Bool => vec![Val::Bool(false), Val::Bool(true)],
        DType::F16 | DType::BF16 => Vec::new(),
    }
}
