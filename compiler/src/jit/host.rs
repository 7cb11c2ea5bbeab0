//! Host functions the compiled kernels call: the table's host functions
//! ([`ops::Host`], evaluated by [`ops::Host::eval`], so a call gives the
//! interpreter's bits), the runtime's random generator, and the runtime's
//! GEMM (`weft_rt_gemm_*`, which the interpreter calls too).

use weft_runtime::rng;

use crate::ir::types::DType;
use crate::ops::{self, Val};

/// The JIT's symbol for host function `h` on operands of dtype `d`.
pub fn math_symbol(h: ops::Host, d: DType) -> R<&'static str> {
    let name = match (h, d) {
        (ops::Host::Exp, DType::F32) => "weft_jit_exp_f32",
        (ops::Host::Exp, DType::F64) => "weft_jit_exp_f64",
        (ops::Host::Log, DType::F32) => "weft_jit_log_f32",
        (ops::Host::Log, DType::F64) => "weft_jit_log_f64",
        (ops::Host::Sin, DType::F32) => "weft_jit_sin_f32",
        (ops::Host::Sin, DType::F64) => "weft_jit_sin_f64",
        (ops::Host::Cos, DType::F32) => "weft_jit_cos_f32",
        (ops::Host::Cos, DType::F64) => "weft_jit_cos_f64",
        (ops::Host::Tanh, DType::F32) => "weft_jit_tanh_f32",
        (ops::Host::Tanh, DType::F64) => "weft_jit_tanh_f64",
        (ops::Host::Tan, DType::F32) => "weft_jit_tan_f32",
        (ops::Host::Tan, DType::F64) => "weft_jit_tan_f64",
        (ops::Host::Atan, DType::F32) => "weft_jit_atan_f32",
        (ops::Host::Atan, DType::F64) => "weft_jit_atan_f64",
        (ops::Host::Log1p, DType::F32) => "weft_jit_log1p_f32",
        (ops::Host::Log1p, DType::F64) => "weft_jit_log1p_f64",
        (ops::Host::Expm1, DType::F32) => "weft_jit_expm1_f32",
        (ops::Host::Expm1, DType::F64) => "weft_jit_expm1_f64",
        (ops::Host::Erf, DType::F32) => "weft_jit_erf_f32",
        (ops::Host::Erf, DType::F64) => "weft_jit_erf_f64",
        (ops::Host::Pow, DType::F32) => "weft_jit_pow_f32",
        (ops::Host::Pow, DType::F64) => "weft_jit_pow_f64",
        (ops::Host::Fmod, DType::F32) => "weft_jit_fmod_f32",
        (ops::Host::Fmod, DType::F64) => "weft_jit_fmod_f64",
        (ops::Host::Atan2, DType::F32) => "weft_jit_atan2_f32",
        (ops::Host::Atan2, DType::F64) => "weft_jit_atan2_f64",
        (ops::Host::IPow, DType::I32) => "weft_jit_ipow_i32",
        (ops::Host::IPow, DType::I64) => "weft_jit_ipow_i64",
        (
            ops::Host::Exp
            | ops::Host::Log
            | ops::Host::Sin
            | ops::Host::Cos
            | ops::Host::Tanh
            | ops::Host::Tan
            | ops::Host::Atan
            | ops::Host::Log1p
            | ops::Host::Expm1
            | ops::Host::Erf
            | ops::Host::Pow
            | ops::Host::Fmod
            | ops::Host::Atan2
            | ops::Host::IPow,
            _,
        ) => return Err(format!("no host function {} on {d}", h.name())),
    };
    Ok(name)
}

type R<T> = Result<T, String>;

macro_rules! host1 {
    ($name:ident, $h:ident, $t:ty, $var:ident) => {
        extern "C" fn $name(x: $t) -> $t {
            match ops::Host::$h.eval(&[Val::$var(x)]) {
                Ok(Val::$var(v)) => v,
                _ => <$t>::NAN,
            }
        }
    };
}

macro_rules! host2 {
    ($name:ident, $h:ident, $t:ty, $var:ident, $bad:expr) => {
        extern "C" fn $name(x: $t, y: $t) -> $t {
            match ops::Host::$h.eval(&[Val::$var(x), Val::$var(y)]) {
                Ok(Val::$var(v)) => v,
                _ => $bad,
            }
        }
    };
}

host1!(exp_f32, Exp, f32, F32);
host1!(exp_f64, Exp, f64, F64);
host1!(log_f32, Log, f32, F32);
host1!(log_f64, Log, f64, F64);
host1!(sin_f32, Sin, f32, F32);
host1!(sin_f64, Sin, f64, F64);
host1!(cos_f32, Cos, f32, F32);
host1!(cos_f64, Cos, f64, F64);
host1!(tanh_f32, Tanh, f32, F32);
host1!(tanh_f64, Tanh, f64, F64);
host1!(tan_f32, Tan, f32, F32);
host1!(tan_f64, Tan, f64, F64);
host1!(atan_f32, Atan, f32, F32);
host1!(atan_f64, Atan, f64, F64);
host1!(log1p_f32, Log1p, f32, F32);
host1!(log1p_f64, Log1p, f64, F64);
host1!(expm1_f32, Expm1, f32, F32);
host1!(expm1_f64, Expm1, f64, F64);
host1!(erf_f32, Erf, f32, F32);
host1!(erf_f64, Erf, f64, F64);
host2!(pow_f32, Pow, f32, F32, f32::NAN);
host2!(pow_f64, Pow, f64, F64, f64::NAN);
host2!(fmod_f32, Fmod, f32, F32, f32::NAN);
host2!(fmod_f64, Fmod, f64, F64, f64::NAN);
host2!(atan2_f32, Atan2, f32, F32, f32::NAN);
host2!(atan2_f64, Atan2, f64, F64, f64::NAN);
host2!(ipow_i32, IPow, i32, I32, 0);
host2!(ipow_i64, IPow, i64, I64, 0);

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
        h("weft_jit_tan_f32", tan_f32 as *const u8, "f", "f"),
        h("weft_jit_tan_f64", tan_f64 as *const u8, "d", "d"),
        h("weft_jit_atan_f32", atan_f32 as *const u8, "f", "f"),
        h("weft_jit_atan_f64", atan_f64 as *const u8, "d", "d"),
        h("weft_jit_log1p_f32", log1p_f32 as *const u8, "f", "f"),
        h("weft_jit_log1p_f64", log1p_f64 as *const u8, "d", "d"),
        h("weft_jit_expm1_f32", expm1_f32 as *const u8, "f", "f"),
        h("weft_jit_expm1_f64", expm1_f64 as *const u8, "d", "d"),
        h("weft_jit_erf_f32", erf_f32 as *const u8, "f", "f"),
        h("weft_jit_erf_f64", erf_f64 as *const u8, "d", "d"),
        h("weft_jit_pow_f32", pow_f32 as *const u8, "ff", "f"),
        h("weft_jit_pow_f64", pow_f64 as *const u8, "dd", "d"),
        h("weft_jit_fmod_f32", fmod_f32 as *const u8, "ff", "f"),
        h("weft_jit_fmod_f64", fmod_f64 as *const u8, "dd", "d"),
        h("weft_jit_atan2_f32", atan2_f32 as *const u8, "ff", "f"),
        h("weft_jit_atan2_f64", atan2_f64 as *const u8, "dd", "d"),
        h("weft_jit_ipow_i32", ipow_i32 as *const u8, "ii", "i"),
        h("weft_jit_ipow_i64", ipow_i64 as *const u8, "ll", "l"),
        h("weft_jit_random", random as *const u8, "ilddll", ""),
        h(
            "weft_rt_gemm_v2_f32",
            weft_runtime_native::rt::weft_rt_gemm_v2_f32 as *const u8,
            "llllllll",
            "",
        ),
        h(
            "weft_rt_conv2d_f32",
            weft_runtime_native::conv::weft_rt_conv2d_f32 as *const u8,
            "lllll",
            "",
        ),
        h(
            "weft_rt_conv2d_f64",
            weft_runtime_native::conv::weft_rt_conv2d_f64 as *const u8,
            "lllll",
            "",
        ),
        h(
            "weft_rt_gemm_v2_f64",
            weft_runtime_native::rt::weft_rt_gemm_v2_f64 as *const u8,
            "llllllll",
            "",
        ),
    ]
}
