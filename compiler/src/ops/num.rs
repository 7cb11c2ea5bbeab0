//! Element traits: what the kernels need of `f32`/`f64` ([`Float`]) and of
//! `i32`/`i64` ([`Int`]), so each kernel is written once per kind.
//!
//! Integer arithmetic wraps on overflow (two's complement), like NumPy's.

use std::fmt::Debug;

pub trait Float:
    Copy
    + Debug
    + PartialOrd
    + Default
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + ndarray::LinalgScalar
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn is_nan(self) -> bool;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn atan(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    /// The error function (the C library's `erf`/`erff`).
    fn erf(self) -> Self;
    /// Rounding to the nearest integer, halves to even.
    fn round_even(self) -> Self;
    fn tanh(self) -> Self;
    fn powf(self, e: Self) -> Self;
    /// The C library's `fmod` (Rust's `%` on floats).
    fn fmod(self, y: Self) -> Self;
    fn atan2(self, x: Self) -> Self;
    fn copysign(self, sign: Self) -> Self;
    /// A NaN with its quiet bit set (as arithmetic hardware returns it).
    fn quieted(self) -> Self;
    /// The table's `exp`, `log` and `tanh`: [`super::vmath`] for `f32`, the
    /// C library's for `f64`.
    fn weft_exp(self) -> Self;
    fn weft_log(self) -> Self;
    fn weft_tanh(self) -> Self;
}

extern "C" {
    // The C library's error functions (Rust's std has none stable).
    #[link_name = "erff"]
    fn c_erff(x: f32) -> f32;
    #[link_name = "erf"]
    fn c_erf(x: f64) -> f64;
}

fn erf_f32(x: f32) -> f32 {
    // SAFETY: a pure C library function of one float.
    unsafe { c_erff(x) }
}

fn erf_f64(x: f64) -> f64 {
    // SAFETY: as above.
    unsafe { c_erf(x) }
}

macro_rules! impl_float {
    ($t:ty, $exp:expr, $log:expr, $tanh:expr, $erf:expr) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn quieted(self) -> Self {
                // The quiet bit is the mantissa's top bit.
                let quiet = 1 << (<$t>::MANTISSA_DIGITS - 2);
                <$t>::from_bits(self.to_bits() | quiet)
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn fmod(self, y: Self) -> Self {
                self % y
            }
            fn atan2(self, x: Self) -> Self {
                <$t>::atan2(self, x)
            }
            fn copysign(self, sign: Self) -> Self {
                <$t>::copysign(self, sign)
            }
            fn weft_exp(self) -> Self {
                $exp(self)
            }
            fn weft_log(self) -> Self {
                $log(self)
            }
            fn weft_tanh(self) -> Self {
                $tanh(self)
            }
        }
    };
}
impl_float!(
    f32,
    super::vmath::exp,
    super::vmath::log,
    super::vmath::tanh,
    erf_f32
);
impl_float!(f64, f64::exp, f64::ln, f64::tanh, erf_f64);

pub trait Int: Copy + Debug + Ord + Default + 'static {
    const ZERO: Self;
    const ONE: Self;
    fn wadd(self, o: Self) -> Self;
    fn wsub(self, o: Self) -> Self;
    fn wmul(self, o: Self) -> Self;
    fn wneg(self) -> Self;
    fn wabs(self) -> Self;
    /// Floor division (Python's `//`); `x // 0` is 0; `MIN // -1` wraps to `MIN`.
    fn floor_div(self, o: Self) -> Self;
    /// `self ** e`, wrapping; a negative exponent gives 0 unless the base is
    /// ±1 (`1 ** -n = 1`, `(-1) ** -n = ±1`), including `0 ** -n = 0`.
    fn ipow(self, e: Self) -> Self;
    fn to_i64(self) -> i64;
}

macro_rules! impl_int {
    ($t:ty) => {
        impl Int for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn wadd(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn wsub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn wmul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn wneg(self) -> Self {
                self.wrapping_neg()
            }
            fn wabs(self) -> Self {
                self.wrapping_abs()
            }
            fn floor_div(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            fn ipow(self, e: Self) -> Self {
                if e < 0 {
                    return match self {
                        1 => 1,
                        -1 => {
                            if e % 2 == 0 {
                                1
                            } else {
                                -1
                            }
                        }
                        _ => 0,
                    };
                }
                let (mut base, mut e, mut acc) = (self, e, 1 as $t);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    };
}
impl_int!(i32);
impl_int!(i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_division() {
        assert_eq!(7i32.floor_div(2), 3);
        assert_eq!((-7i32).floor_div(2), -4);
        assert_eq!(7i32.floor_div(-2), -4);
        assert_eq!((-7i32).floor_div(-2), 3);
        assert_eq!((-8i64).floor_div(2), -4);
        assert_eq!(5i64.floor_div(0), 0);
        assert_eq!(i32::MIN.floor_div(-1), i32::MIN);
    }

    #[test]
    fn integer_powers() {
        assert_eq!(3i32.ipow(4), 81);
        assert_eq!(3i32.ipow(0), 1);
        assert_eq!(0i32.ipow(0), 1);
        assert_eq!(2i64.ipow(-1), 0);
        assert_eq!(0i64.ipow(-3), 0);
        assert_eq!(1i32.ipow(-5), 1);
        assert_eq!((-1i32).ipow(-5), -1);
        assert_eq!((-1i32).ipow(-4), 1);
        assert_eq!(2i32.ipow(31), i32::MIN);
        assert_eq!(2i32.ipow(32), 0);
        assert_eq!((-2i64).ipow(3), -8);
    }
}
