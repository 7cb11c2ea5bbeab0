//! IEEE 754 half precision (`f16`) conversions.
//!
//! Stable Rust has no `f16` type, so half-precision tensors are stored as raw
//! `u16` bit patterns (see [`crate::npy::Data::F16`]).  These functions
//! convert between those bits and `f32`/`f64`, rounding to nearest-even.
//! NaN payloads are not preserved beyond "quiet NaN with the same sign".

/// Widens half-precision bits to `f32` (exact: every `f16` is an `f32`).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let magnitude = match exp {
        0 => {
            // Zero or subnormal: man * 2^-24, exact in f32.
            (man as f32 * (1.0 / 16_777_216.0)).to_bits()
        }
        31 => 0x7f80_0000 | (man << 13),
        _ => ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// Widens half-precision bits to `f64` (exact).
pub fn f16_to_f64(h: u16) -> f64 {
    f64::from(f16_to_f32(h))
}

/// Rounds an `f64` to the nearest half-precision value (ties to even);
/// overflow gives ±infinity, NaN gives a quiet NaN.
pub fn f64_to_f16(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let man = bits & 0x000f_ffff_ffff_ffff;
    if exp == 0x7ff {
        return if man != 0 {
            sign | 0x7e00
        } else {
            sign | 0x7c00
        };
    }
    let e = exp - 1023;
    if e > 15 {
        return sign | 0x7c00;
    }
    // `full` is the significand with its implicit bit; `shift` drops the bits
    // below the half-precision unit in the last place.
    let (full, shift, base) = if e >= -14 {
        (man, 42u32, ((e + 15) as u64) << 10)
    } else if e >= -25 {
        (man | (1u64 << 52), (28 - e) as u32, 0)
    } else {
        return sign; // below half the smallest subnormal: ±0
    };
    let mut m = full >> shift;
    let rem = full & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rem > half || (rem == half && m & 1 == 1) {
        m += 1;
    }
    // A carry out of the mantissa correctly bumps the exponent (up to inf).
    sign | (base + m) as u16
}

/// Rounds an `f32` to the nearest half-precision value (ties to even).
pub fn f32_to_f16(x: f32) -> u16 {
    // Widening is exact, so this rounds only once.
    f64_to_f16(f64::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds up to inf
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
        assert_eq!(f32_to_f16(f32::NEG_INFINITY), 0xfc00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        assert_eq!(f32_to_f16(0.1), 0x2e66);
        assert_eq!(f16_to_f32(0x2e66), 0.099975586);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        // Smallest subnormal and the ties around it.
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f64_to_f16(2f64.powi(-24)), 0x0001);
        assert_eq!(f64_to_f16(2f64.powi(-25)), 0x0000); // tie to even
        assert_eq!(f64_to_f16(2f64.powi(-25) * 1.5), 0x0001);
        assert_eq!(f64_to_f16(2f64.powi(-24) * 1.5), 0x0002); // tie to even
        assert_eq!(f64_to_f16(2f64.powi(-14)), 0x0400);
        assert_eq!(f64_to_f16(1e-30), 0);
        // 2049 is a tie between 2048 and 2050: even mantissa wins.
        assert_eq!(f16_to_f32(f32_to_f16(2049.0)), 2048.0);
        assert_eq!(f16_to_f32(f32_to_f16(2051.0)), 2052.0);
    }

    #[test]
    fn every_half_round_trips() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), h, "bits {h:#06x}");
                assert_eq!(f64_to_f16(f16_to_f64(h)), h);
            }
        }
    }
}
