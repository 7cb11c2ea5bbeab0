//! The kernel IR's `f32` `exp`, `log`, `tanh` and `sigmoid`: the
//! definitions the kernel interpreter computes and the JIT compiles
//! operation for operation (`jit::codegen::vmath`), so the two tiers agree
//! bit for bit. They are the Cephes single-precision algorithms the LLVM
//! backend inlines (weft-llvm's `expr`; LLVM may fuse multiply-adds there, so
//! built executables agree within an ulp or so, not bit for bit).
//!
//! Every step is a correctly rounded `f32` operation (Rust never fuses
//! `a * b + c`); constants are the `f64` values below rounded to `f32`.
//! Errors against the exact functions (checked on 2^20 points each by the
//! tests of this module): `exp` and `log` within 1 ulp.

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

fn horner(x: f32, p: &[f64]) -> f32 {
    let mut y = p[0] as f32;
    for &c in &p[1..] {
        y = y * x + c as f32;
    }
    y
}

/// `2^k` for `k` in the normal exponent range.
fn pow2(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) << 23) as u32)
}

/// `e^x`: x = n ln 2 + r with |r| <= ln2/2, e^r by a polynomial, 2^n
/// applied in two halves (overflow gives inf, tiny results round
/// gradually to subnormals and 0).
pub fn exp(x: f32) -> f32 {
    let xc = if x < -104.0 { -104.0 } else { x };
    let xc = if xc > 89.0 { 89.0 } else { xc };
    let n = (xc * std::f64::consts::LOG2_E as f32).round_ties_even();
    let r = xc - n * LN2_HI as f32;
    let r = r - n * LN2_LO as f32;
    let p = horner(r, &EXP_P);
    let y = p * (r * r) + r + 1.0;
    // Saturating, NaN to 0, as Cranelift's `fcvt_to_sint_sat`.
    let ni = n as i32;
    let n1 = ni >> 1;
    let n2 = ni.wrapping_sub(n1);
    let y = y * pow2(n1) * pow2(n2);
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `ln x`: x = m 2^e with m in [sqrt(1/2), sqrt 2), ln(1 + f) by a
/// polynomial; subnormals scaled first; ln 0 = -inf, ln inf = inf, ln of a
/// negative number or NaN = NaN.
pub fn log(x: f32) -> f32 {
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8388608.0 } else { x };
    let bits = xs.to_bits() as i32;
    let e = ((bits as u32) >> 23) as i32;
    let e = e.wrapping_sub(127);
    let e = e.wrapping_sub(if sub { 23 } else { 0 });
    let mb = (bits & 0x007f_ffff) | 0x3f80_0000;
    let m = f32::from_bits(mb as u32);
    let big = m > std::f64::consts::SQRT_2 as f32;
    let m = if big { m * 0.5 } else { m };
    let e = e.wrapping_add(big as i32);
    let f = m - 1.0;
    let z = f * f;
    let p = horner(f, &LOG_P);
    let y = p * z * f;
    let ef = e as f32;
    let y = y + ef * LN2_LO as f32;
    let y = y - z * 0.5;
    let r = f + y + ef * LN2_HI as f32;
    let r = if x == f32::INFINITY { f32::INFINITY } else { r };
    let r = if x == 0.0 { f32::NEG_INFINITY } else { r };
    // Negative or NaN.
    if x < 0.0 || x.is_nan() {
        f32::NAN
    } else {
        r
    }
}

/// `tanh x`: an odd polynomial for |x| < 0.625, else
/// `1 - 2 / (e^{2|x|} + 1)` with the sign of x.
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = horner(z, &TANH_P);
    let small = p * z * x + x;
    let e = exp(a + a);
    let t = 1.0 - 2.0 / (e + 1.0);
    let large = t.copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

/// `1 / (1 + e^-x)` for x >= 0, `e^x / (1 + e^x)` below (one exp of -|x|).
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 {
        1.0 / d
    } else {
        e / d
    }
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
