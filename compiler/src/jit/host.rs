//! Host functions the compiled kernels call: transcendental functions,
//! integer floor division and powers, the runtime's random generator, and
//! the runtime's GEMM (`weft_rt_gemm_*`, which the interpreter calls too).
//!
//! Each one computes through the kernel-IR interpreter's own scalar
//! functions (`kernel::interp::{unary, binary}`) or the same runtime call, so
//! a compiled kernel gives bit-identical results to the interpreter.

use weft_runtime::rng;

use crate::ir::op::{BinaryOp, UnaryOp};
use crate::kernel::interp::{binary, unary, Val};

macro_rules! un {
    ($name32:ident, $name64:ident, $op:expr) => {
        extern "C" fn $name32(x: f32) -> f32 {
            match unary($op, Val::F32(x)) {
                Val::F32(v) => v,
                _ => f32::NAN,
            }
        }
        extern "C" fn $name64(x: f64) -> f64 {
            match unary($op, Val::F64(x)) {
                Val::F64(v) => v,
                _ => f64::NAN,
            }
        }
    };
}

un!(exp_f32, exp_f64, UnaryOp::Exp);
un!(log_f32, log_f64, UnaryOp::Log);
un!(sin_f32, sin_f64, UnaryOp::Sin);
un!(cos_f32, cos_f64, UnaryOp::Cos);
un!(tanh_f32, tanh_f64, UnaryOp::Tanh);
un!(sigmoid_f32, sigmoid_f64, UnaryOp::Sigmoid);

extern "C" fn pow_f32(x: f32, y: f32) -> f32 {
    match binary(BinaryOp::Pow, Val::F32(x), Val::F32(y)) {
        Val::F32(v) => v,
        _ => f32::NAN,
    }
}

extern "C" fn pow_f64(x: f64, y: f64) -> f64 {
    match binary(BinaryOp::Pow, Val::F64(x), Val::F64(y)) {
        Val::F64(v) => v,
        _ => f64::NAN,
    }
}

macro_rules! int2 {
    ($name:ident, $t:ty, $var:ident, $op:expr) => {
        extern "C" fn $name(x: $t, y: $t) -> $t {
            match binary($op, Val::$var(x), Val::$var(y)) {
                Val::$var(v) => v,
                _ => 0,
            }
        }
    };
}

int2!(div_i32, i32, I32, BinaryOp::Div);
int2!(div_i64, i64, I64, BinaryOp::Div);
int2!(pow_i32, i32, I32, BinaryOp::Pow);
int2!(pow_i64, i64, I64, BinaryOp::Pow);

/// `kind`: 0 normal f32, 1 uniform f32, 2 normal f64, 3 uniform f64.
///
/// # Safety
/// `out` points to `n` elements of the kind's type.
unsafe extern "C" fn random(kind: i32, seed: u64, a: f64, b: f64, out: *mut u8, n: u64) {
    if n == 0 {
        return;
    }
    let n = n as usize;
    match kind {
        0 | 1 => {
            let v = std::slice::from_raw_parts_mut(out as *mut f32, n);
            if kind == 0 {
                rng::fill_normal_f32(seed, a, b, v)
            } else {
                rng::fill_uniform_f32(seed, a, b, v)
            }
        }
        _ => {
            let v = std::slice::from_raw_parts_mut(out as *mut f64, n);
            if kind == 2 {
                rng::fill_normal_f64(seed, a, b, v)
            } else {
                rng::fill_uniform_f64(seed, a, b, v)
            }
        }
    }
}

/// Argument and result types of a host function, as CLIF type letters:
/// `f` f32, `d` f64, `i` i32, `l` i64 (and pointers).
pub struct Host {
    pub name: &'static str,
    pub addr: *const u8,
    pub params: &'static str,
    pub ret: &'static str,
}

/// Every host function, registered with each JIT module.
pub fn all() -> Vec<Host> {
    let h = |name, addr: *const u8, params, ret| Host {
        name,
        addr,
        params,
        ret,
    };
    vec![
        h("weft_jit_exp_f32", exp_f32 as *const u8, "f", "f"),
        h("weft_jit_exp_f64", exp_f64 as *const u8, "d", "d"),
        h("weft_jit_log_f32", log_f32 as *const u8, "f", "f"),
        h("weft_jit_log_f64", log_f64 as *const u8, "d", "d"),
        h("weft_jit_sin_f32", sin_f32 as *const u8, "f", "f"),
        h("weft_jit_sin_f64", sin_f64 as *const u8, "d", "d"),
        h("weft_jit_cos_f32", cos_f32 as *const u8, "f", "f"),
        h("weft_jit_cos_f64", cos_f64 as *const u8, "d", "d"),
        h("weft_jit_tanh_f32", tanh_f32 as *const u8, "f", "f"),
        h("weft_jit_tanh_f64", tanh_f64 as *const u8, "d", "d"),
        h("weft_jit_sigmoid_f32", sigmoid_f32 as *const u8, "f", "f"),
        h("weft_jit_sigmoid_f64", sigmoid_f64 as *const u8, "d", "d"),
        h("weft_jit_pow_f32", pow_f32 as *const u8, "ff", "f"),
        h("weft_jit_pow_f64", pow_f64 as *const u8, "dd", "d"),
        h("weft_jit_div_i32", div_i32 as *const u8, "ii", "i"),
        h("weft_jit_div_i64", div_i64 as *const u8, "ll", "l"),
        h("weft_jit_pow_i32", pow_i32 as *const u8, "ii", "i"),
        h("weft_jit_pow_i64", pow_i64 as *const u8, "ll", "l"),
        h("weft_jit_random", random as *const u8, "ilddll", ""),
        h(
            "weft_rt_gemm_f32",
            weft_runtime_native::rt::weft_rt_gemm_f32 as *const u8,
            "lllllll",
            "",
        ),
        h(
            "weft_rt_gemm_f64",
            weft_runtime_native::rt::weft_rt_gemm_f64 as *const u8,
            "lllllll",
            "",
        ),
    ]
}
