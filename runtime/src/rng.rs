//! Counter-based random numbers: the value at element `i` of a tensor
//! initialised with seed `s` is a pure function of `(s, i)`, so every backend,
//! every thread count and every evaluation order give the same numbers.
//!
//! # The generator, exactly
//!
//! All arithmetic is on `u64` and wraps modulo 2^64.
//!
//! ```text
//! GAMMA = 0x9E3779B97F4A7C15
//! mix64(z) = { z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//!              z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//!              z ^ (z >> 31) }                  // the SplitMix64 finaliser
//! bits(seed, i) = mix64(mix64(seed) + (i + 1) * GAMMA)
//! ```
//!
//! That is, `bits(seed, i)` is output number `i` (counting from 0) of
//! Steele, Lea and Flood's SplitMix64 generator whose state starts at
//! `mix64(seed)`; hashing the seed first keeps the streams of nearby seeds
//! (1, 2, 3, ...) unrelated.
//!
//! ```text
//! uniform(seed, i) = (bits(seed, i) >> 11) * 2^-53                  in [0, 1)
//! normal(seed, i)  = sqrt(-2 ln u1) * cos(2 pi u2)                   (Box–Muller)
//!     u1 = ((bits(seed, 2i) >> 11) + 1) * 2^-53                       in (0, 1]
//!     u2 = (bits(seed, 2i + 1) >> 11) * 2^-53                         in [0, 1)
//! ```
//!
//! computed in `f64` (`2 pi` is `std::f64::consts::TAU`; `2i` and `2i + 1`
//! wrap).  `u1` is never 0, so the logarithm is always finite.  Only the
//! cosine half of the Box–Muller pair is used, so element `i` depends on
//! nothing but `(seed, i)`.  `bits` and `uniform` are exact and reproducible
//! anywhere; `normal` uses the platform's `ln` and `cos` (correctly rounded
//! or within an ulp on every mainstream libm), so backends that want
//! bit-identical normals should call this crate, as built executables do.
//!
//! The `fill_*` functions set `out[i]` from element index `i`: uniform values
//! are `lo + (hi - lo) * uniform(seed, i)` and normal ones
//! `mean + std * normal(seed, i)`, computed in `f64`; the `f32` variants round
//! that `f64` once.  When `lo < hi`, uniform results are kept below `hi` even
//! where rounding would reach it.

/// SplitMix64's increment, the odd integer closest to 2^64 / phi.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser (Stafford's "Mix13" variant).
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 random bits for element `index` of the stream `seed`.
pub fn bits(seed: u64, index: u64) -> u64 {
    mix64(mix64(seed).wrapping_add(index.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// 2^-53, the spacing of the uniform grid.
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// A uniform number in `[0, 1)` with 53 random bits.
pub fn uniform(seed: u64, index: u64) -> f64 {
    (bits(seed, index) >> 11) as f64 * UNIT
}

/// A standard normal number (Box–Muller, cosine branch).
pub fn normal(seed: u64, index: u64) -> f64 {
    let u1 = ((bits(seed, index.wrapping_mul(2)) >> 11) + 1) as f64 * UNIT;
    let u2 = (bits(seed, index.wrapping_mul(2).wrapping_add(1)) >> 11) as f64 * UNIT;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `lo + (hi - lo) * u`, kept below `hi` when `lo < hi`.
fn scale_uniform(lo: f64, hi: f64, u: f64) -> f64 {
    let x = lo + (hi - lo) * u;
    if lo < hi && x >= hi {
        next_down_f64(hi).max(lo)
    } else {
        x
    }
}

fn next_down_f64(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        x
    } else if x == 0.0 {
        -f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() - 1)
    } else {
        f64::from_bits(x.to_bits() + 1)
    }
}

fn next_down_f32(x: f32) -> f32 {
    if x.is_nan() || x == f32::NEG_INFINITY {
        x
    } else if x == 0.0 {
        -f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() - 1)
    } else {
        f32::from_bits(x.to_bits() + 1)
    }
}

/// Sets `out[i] = lo + (hi - lo) * uniform(seed, i)`.
pub fn fill_uniform_f64(seed: u64, lo: f64, hi: f64, out: &mut [f64]) {
    for (i, x) in (0u64..).zip(out.iter_mut()) {
        *x = scale_uniform(lo, hi, uniform(seed, i));
    }
}

/// Sets `out[i] = mean + std * normal(seed, i)`.
pub fn fill_normal_f64(seed: u64, mean: f64, std: f64, out: &mut [f64]) {
    for (i, x) in (0u64..).zip(out.iter_mut()) {
        *x = mean + std * normal(seed, i);
    }
}

/// [`fill_uniform_f64`] rounded once to `f32`, kept below `hi` when `lo < hi`.
pub fn fill_uniform_f32(seed: u64, lo: f64, hi: f64, out: &mut [f32]) {
    let hi32 = hi as f32;
    for (i, x) in (0u64..).zip(out.iter_mut()) {
        let v = scale_uniform(lo, hi, uniform(seed, i)) as f32;
        *x = if lo < hi && v >= hi32 && f64::from(next_down_f32(hi32)) >= lo {
            next_down_f32(hi32)
        } else {
            v
        };
    }
}

/// [`fill_normal_f64`] rounded once to `f32`.
pub fn fill_normal_f32(seed: u64, mean: f64, std: f64, out: &mut [f32]) {
    for (i, x) in (0u64..).zip(out.iter_mut()) {
        *x = (mean + std * normal(seed, i)) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // SplitMix64 seeded with 0 (Vigna's reference splitmix64.c) starts
        // 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F.
        // mix64(0) == 0, so seed 0 is exactly that generator.
        assert_eq!(mix64(0), 0);
        assert_eq!(bits(0, 0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(bits(0, 1), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(bits(0, 2), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn deterministic_and_order_independent() {
        let forward: Vec<u64> = (0..1000).map(|i| bits(42, i)).collect();
        let backward: Vec<u64> = (0..1000).rev().map(|i| bits(42, i)).collect();
        assert!(forward.iter().eq(backward.iter().rev()));
        let mut a = vec![0f32; 100];
        let mut b = vec![0f32; 100];
        fill_normal_f32(7, 0.0, 1.0, &mut a);
        fill_normal_f32(7, 0.0, 1.0, &mut b);
        assert_eq!(a, b);
        // A prefix is the same whatever the length.
        let mut c = vec![0f32; 10];
        fill_normal_f32(7, 0.0, 1.0, &mut c);
        assert_eq!(a[..10], c[..]);
        assert_eq!(c[3], (normal(7, 3)) as f32);
    }

    #[test]
    fn seeds_give_different_streams() {
        for (s1, s2) in [(0, 1), (1, 2), (2, 3), (1, 1 << 32)] {
            let same = (0..1000).filter(|&i| bits(s1, i) == bits(s2, i)).count();
            assert_eq!(same, 0);
            // Nor is one stream a shifted copy of the other.
            assert_ne!(bits(s1, 1), bits(s2, 0));
            assert_ne!(bits(s1, 0), bits(s2, 1));
        }
    }

    fn mean_var(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn uniform_statistics_and_range() {
        let mut v = vec![0f64; 100_000];
        fill_uniform_f64(3, 0.0, 1.0, &mut v);
        assert!(v.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (mean, var) = mean_var(&v);
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{var}");
        // Each tenth of the interval gets about a tenth of the samples.
        let mut buckets = [0usize; 10];
        v.iter().for_each(|&x| buckets[(x * 10.0) as usize] += 1);
        assert!(
            buckets.iter().all(|&b| (9_500..10_500).contains(&b)),
            "{buckets:?}"
        );

        let mut w = vec![0f32; 100_000];
        fill_uniform_f32(4, -2.0, 3.0, &mut w);
        assert!(w.iter().all(|&x| (-2.0..3.0).contains(&x)));
    }

    #[test]
    fn uniform_f32_never_reaches_hi() {
        // A grid point just below 1 that rounds up to 1.0 in f32.
        assert_eq!(scale_uniform(0.0, 1.0, 1.0 - UNIT) as f32, 1.0);
        let mut w = vec![0f32; 1];
        for seed in 0..2000 {
            fill_uniform_f32(seed, 0.999_999_9, 1.0, &mut w);
            assert!(w[0] < 1.0);
        }
        assert_eq!(scale_uniform(1.0, 2.0, 1.0), next_down_f64(2.0));
        assert_eq!(next_down_f32(0.0), -f32::from_bits(1));
        assert_eq!(next_down_f32(-1.0), -1.000_000_1);
    }

    #[test]
    fn normal_statistics() {
        let mut v = vec![0f64; 100_000];
        fill_normal_f64(5, 0.0, 1.0, &mut v);
        assert!(v.iter().all(|x| x.is_finite()));
        let (mean, var) = mean_var(&v);
        assert!(mean.abs() < 0.015, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        let within_one = v.iter().filter(|x| x.abs() < 1.0).count() as f64 / 1e5;
        assert!((within_one - 0.6827).abs() < 0.01, "{within_one}");

        let mut w = vec![0f32; 100_000];
        fill_normal_f32(6, 2.0, 0.5, &mut w);
        let w64: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
        let (mean, var) = mean_var(&w64);
        assert!((mean - 2.0).abs() < 0.01, "{mean}");
        assert!((var - 0.25).abs() < 0.01, "{var}");
    }

    #[test]
    fn extreme_indices_are_fine() {
        for i in [u64::MAX, u64::MAX / 2, u64::MAX / 2 + 1] {
            assert!(normal(1, i).is_finite());
            assert!((0.0..1.0).contains(&uniform(1, i)));
        }
    }
}
