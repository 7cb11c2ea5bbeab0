//! `f32` `exp`, `log`, `tanh` and `sigmoid`, written once against
//! [`Emit`]: the kernel interpreter and the graph interpreter run them
//! through [`Eval`] ([`exp`], [`log`], [`tanh`], [`sigmoid`]); the JIT emits
//! the same operations in scalar `f32` and in `f32x4`, and the LLVM backend
//! in scalar code that its loop vectoriser widens. They are the Cephes
//! single-precision algorithms.
//!
//! Every step is a correctly rounded `f32` operation (the interpreters and
//! the JIT never fuse `a * b + c`; LLVM may, so built executables agree
//! within an ulp or so); constants are the `f64` values below rounded to
//! `f32`. Errors against the exact functions (checked on 2^20 points each by
//! the tests of this module): `exp` and `log` within 1 ulp.

use super::emit::{Conv, Emit, EmitResult, FBin, FCmp, FUn, IBin};
use super::{Eval, Val};
use crate::ir::types::DType;
/// Cephes `expf` polynomial for `e^r - 1 - r - r^2/2`... in Horner form.
pub const EXP_P: [f64; 6] = [
    1.9875691500E-4,
    1.3981999507E-3,
    8.3334519073E-3,
    4.1665795894E-2,
    1.6666665459E-1,
    5.0000001201E-1,
];

/// Cephes `logf` polynomial.
pub const LOG_P: [f64; 9] = [
    7.0376836292E-2,
    -1.1514610310E-1,
    1.1676998740E-1,
    -1.2420140846E-1,
    1.4249322787E-1,
    -1.6668057665E-1,
    2.0000714765E-1,
    -2.4999993993E-1,
    3.3333331174E-1,
];

/// Cephes `tanhf` polynomial (for |x| < 0.625).
pub const TANH_P: [f64; 5] = [
    -5.70498872745E-3,
    2.06390887954E-2,
    -5.37397155531E-2,
    1.33314422036E-1,
    -3.33332819422E-1,
];

/// ln 2 split in a high part exact in few bits and a correction.
pub const LN2_HI: f64 = 0.693359375;
pub const LN2_LO: f64 = -2.12194440e-4;

fn c<E: Emit>(e: &mut E, x: f64) -> EmitResult<E::V> {
    e.konst(Val::F32(x as f32))
}

fn ci<E: Emit>(e: &mut E, x: i32) -> EmitResult<E::V> {
    e.konst(Val::I32(x))
}

fn add<E: Emit>(e: &mut E, a: E::V, b: E::V) -> EmitResult<E::V> {
    e.float_binary(FBin::Add, a, b)
}

fn sub<E: Emit>(e: &mut E, a: E::V, b: E::V) -> EmitResult<E::V> {
    e.float_binary(FBin::Sub, a, b)
}

fn mul<E: Emit>(e: &mut E, a: E::V, b: E::V) -> EmitResult<E::V> {
    e.float_binary(FBin::Mul, a, b)
}

/// `x OP k` as a comparison result.
fn cmp<E: Emit>(e: &mut E, cc: FCmp, x: E::V, k: f64) -> EmitResult<E::V> {
    let k = c(e, k)?;
    e.fcmp(cc, x, k)
}

/// `p[0] * x^(n-1) + ... + p[n-1]` by Horner's rule, each step one fused
/// multiply-add.
fn horner<E: Emit>(e: &mut E, x: E::V, p: &[f64]) -> EmitResult<E::V> {
    let mut y = c(e, p[0])?;
    for &k in &p[1..] {
        let k = c(e, k)?;
        y = e.float_fma(y, x, k)?;
    }
    Ok(y)
}

/// `2^k` for an `i32` `k` in the normal exponent range.
fn pow2<E: Emit>(e: &mut E, k: E::V) -> EmitResult<E::V> {
    let bias = ci(e, 127)?;
    let b = e.int_binary(IBin::Add, k, bias)?;
    let sh = ci(e, 23)?;
    let bits = e.int_binary(IBin::Shl, b, sh)?;
    e.convert(bits, DType::I32, Conv::Bits(DType::F32))
}

/// `e^x`: x = n ln 2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial,
/// 2^n applied in two halves (overflow gives inf, tiny results round
/// gradually to subnormals and 0).
pub fn lower_exp<E: Emit>(e: &mut E, x: E::V) -> EmitResult<E::V> {
    let lo = c(e, -104.0)?;
    let t = cmp(e, FCmp::Lt, x, -104.0)?;
    let xc = e.select(t, lo, x)?;
    let hi = c(e, 89.0)?;
    let t = cmp(e, FCmp::Gt, xc, 89.0)?;
    let xc = e.select(t, hi, xc)?;
    let l2e = c(e, std::f64::consts::LOG2_E)?;
    let t = mul(e, xc, l2e)?;
    let n = e.float_unary(FUn::Nearest, t)?;
    // r = x - n ln2 in two fused steps (Cody-Waite).
    let k = c(e, -LN2_HI)?;
    let r = e.float_fma(n, k, xc)?;
    let k = c(e, -LN2_LO)?;
    let r = e.float_fma(n, k, r)?;
    let p = horner(e, r, &EXP_P)?;
    let rr = mul(e, r, r)?;
    let y = e.float_fma(p, rr, r)?;
    let one = c(e, 1.0)?;
    let y = add(e, y, one)?;
    // n is within ±151 after the clamp, or NaN (then the result is x).
    let ni = e.convert(n, DType::F32, Conv::FloatToIntInRange(DType::I32))?;
    let one_i = ci(e, 1)?;
    let n1 = e.int_binary(IBin::AShr, ni, one_i)?;
    let n2 = e.int_binary(IBin::Sub, ni, n1)?;
    let p1 = pow2(e, n1)?;
    let p2 = pow2(e, n2)?;
    let y = mul(e, y, p1)?;
    let y = mul(e, y, p2)?;
    let nan = e.fcmp(FCmp::Uno, x, x)?;
    e.select(nan, x, y)
}

/// `ln x`: x = m 2^e with m in [sqrt(1/2), sqrt 2), ln(1 + f) by a
/// polynomial; subnormals scaled first; ln 0 = -inf, ln inf = inf, ln of a
/// negative number or NaN = NaN.
pub fn lower_log<E: Emit>(e: &mut E, x: E::V) -> EmitResult<E::V> {
    let sub_n = cmp(e, FCmp::Lt, x, f64::from(f32::MIN_POSITIVE))?;
    let big_m = c(e, 8388608.0)?;
    let scaled = mul(e, x, big_m)?;
    let xs = e.select(sub_n, scaled, x)?;
    let bits = e.convert(xs, DType::F32, Conv::Bits(DType::I32))?;
    let k23 = ci(e, 23)?;
    let ex = e.int_binary(IBin::LShr, bits, k23)?;
    let k = ci(e, -127)?;
    let ex = e.int_binary(IBin::Add, ex, k)?;
    let zero_i = ci(e, 0)?;
    let adj = e.select(sub_n, k23, zero_i)?;
    let ex = e.int_binary(IBin::Sub, ex, adj)?;
    let k = ci(e, 0x007f_ffff)?;
    let mb = e.int_binary(IBin::And, bits, k)?;
    let k = ci(e, 0x3f80_0000)?;
    let mb = e.int_binary(IBin::Or, mb, k)?;
    let m = e.convert(mb, DType::I32, Conv::Bits(DType::F32))?;
    let big = cmp(e, FCmp::Gt, m, std::f64::consts::SQRT_2)?;
    let half = c(e, 0.5)?;
    let mh = mul(e, m, half)?;
    let m = e.select(big, mh, m)?;
    let one_i = ci(e, 1)?;
    let inc = e.select(big, one_i, zero_i)?;
    let ex = e.int_binary(IBin::Add, ex, inc)?;
    let one = c(e, 1.0)?;
    let f = sub(e, m, one)?;
    let z = mul(e, f, f)?;
    let p = horner(e, f, &LOG_P)?;
    let y = mul(e, p, z)?;
    let y = mul(e, y, f)?;
    let ef = e.convert(ex, DType::I32, Conv::IntToFloat(DType::F32))?;
    let k = c(e, LN2_LO)?;
    let t = mul(e, ef, k)?;
    let y = add(e, y, t)?;
    let t = mul(e, z, half)?;
    let y = sub(e, y, t)?;
    let r = add(e, f, y)?;
    let k = c(e, LN2_HI)?;
    let t = mul(e, ef, k)?;
    let r = add(e, r, t)?;
    let inf = c(e, f64::INFINITY)?;
    let t = e.fcmp(FCmp::Eq, x, inf)?;
    let r = e.select(t, inf, r)?;
    let ninf = c(e, f64::NEG_INFINITY)?;
    let t = cmp(e, FCmp::Eq, x, 0.0)?;
    let r = e.select(t, ninf, r)?;
    let nan = c(e, f64::NAN)?;
    let bad = cmp(e, FCmp::ULt, x, 0.0)?; // negative or NaN
    e.select(bad, nan, r)
}

/// `tanh x`: an odd polynomial for |x| < 0.625, else
/// `1 - 2 / (e^{2|x|} + 1)` with the sign of x.
pub fn lower_tanh<E: Emit>(e: &mut E, x: E::V) -> EmitResult<E::V> {
    let a = e.float_unary(FUn::Abs, x)?;
    let z = mul(e, x, x)?;
    let p = horner(e, z, &TANH_P)?;
    let small = mul(e, p, z)?;
    let small = e.float_fma(small, x, x)?;
    let aa = add(e, a, a)?;
    let ex = lower_exp(e, aa)?;
    let one = c(e, 1.0)?;
    let two = c(e, 2.0)?;
    let d = add(e, ex, one)?;
    let q = e.float_binary(FBin::Div, two, d)?;
    let t = sub(e, one, q)?;
    let large = e.float_binary(FBin::CopySign, t, x)?;
    let is_small = cmp(e, FCmp::Lt, a, 0.625)?;
    e.select(is_small, small, large)
}

/// `1 / (1 + e^-x)` for x >= 0, `e^x / (1 + e^x)` below (one exp of -|x|),
/// so that it never overflows; `exp` is the dtype's (this module's for
/// `f32`, the C library's for `f64`).
pub fn lower_sigmoid<E: Emit>(
    e: &mut E,
    d: DType,
    x: E::V,
    exp: fn(&mut E, E::V) -> EmitResult<E::V>,
) -> EmitResult<E::V> {
    let a = e.float_unary(FUn::Abs, x)?;
    let na = e.float_unary(FUn::Neg, a)?;
    let ex = exp(e, na)?;
    let one = e.konst(Val::constant(crate::ir::types::Scalar::Float(1.0), d)?)?;
    let zero = e.konst(Val::constant(crate::ir::types::Scalar::Float(0.0), d)?)?;
    let den = add(e, one, ex)?;
    let pos = e.float_binary(FBin::Div, one, den)?;
    let neg = e.float_binary(FBin::Div, ex, den)?;
    let ge = e.fcmp(FCmp::Ge, x, zero)?;
    e.select(ge, pos, neg)
}

fn run(f: fn(&mut Eval, Val) -> EmitResult<Val>, x: f32) -> f32 {
    match f(&mut Eval, Val::F32(x)) {
        Ok(Val::F32(y)) => y,
        // The lowerings above combine f32 and i32 values only (the tests
        // evaluate them on every special value).
        other => {
            debug_assert!(false, "vmath evaluated to {other:?}");
            f32::NAN
        }
    }
}

/// [`lower_exp`] evaluated.
pub fn exp(x: f32) -> f32 {
    run(lower_exp, x)
}

/// [`lower_log`] evaluated.
pub fn log(x: f32) -> f32 {
    run(lower_log, x)
}

/// [`lower_tanh`] evaluated.
pub fn tanh(x: f32) -> f32 {
    run(lower_tanh, x)
}

/// [`lower_sigmoid`] evaluated.
pub fn sigmoid(x: f32) -> f32 {
    run(|e, x| lower_sigmoid(e, DType::F32, x, lower_exp), x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite floats.
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |x: f32| {
            let i = x.to_bits() as i32;
            if i < 0 {
                i32::MIN.wrapping_sub(i)
            } else {
                i
            }
        };
        key(a).abs_diff(key(b))
    }

    fn each(lo: f32, hi: f32, n: usize, f: &mut dyn FnMut(f32)) {
        for i in 0..=n {
            f(lo + (hi - lo) * i as f32 / n as f32);
        }
    }

    #[test]
    fn exp_is_within_an_ulp_of_f64_exp() {
        let mut worst = 0;
        each(-103.0, 88.7, 1 << 20, &mut |x| {
            let want = (x as f64).exp() as f32;
            if want.is_normal() {
                worst = worst.max(ulps(exp(x), want));
            }
        });
        assert!(worst <= 1, "worst {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(-200.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn log_is_within_an_ulp_of_f64_log() {
        let mut worst = 0;
        each(1e-6, 1e4, 1 << 20, &mut |x| {
            worst = worst.max(ulps(log(x), (x as f64).ln() as f32));
        });
        // Subnormal inputs.
        for k in 1..2000u32 {
            let x = f32::from_bits(k * 4111);
            worst = worst.max(ulps(log(x), (x as f64).ln() as f32));
        }
        assert!(worst <= 1, "worst {worst} ulp");
        assert_eq!(log(1.0), 0.0);
        assert_eq!(log(0.0), f32::NEG_INFINITY);
        assert_eq!(log(f32::INFINITY), f32::INFINITY);
        assert!(log(-1.0).is_nan() && log(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_are_close_to_f64() {
        let mut worst = 0f64;
        each(-20.0, 20.0, 1 << 18, &mut |x| {
            let t = (x as f64).tanh();
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            worst = worst.max((tanh(x) as f64 - t).abs());
            worst = worst.max((sigmoid(x) as f64 - s).abs());
        });
        assert!(worst < 2e-7, "worst {worst}");
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }
}
