//! The runtime functions the program object calls (docs/abi.md, "Symbols
//! the runtime provides"). They trust the program object for pointers and
//! sizes, and do nothing for empty or negative sizes.
//!
//! GEMM is the `gemm` crate: on this project's reference machine (2 cores,
//! Zen 4) a 512³ f32 product took 2.8 ms (95 GFLOP/s) against 3.3 ms with
//! `matrixmultiply`. Its threads follow `--threads` ([`set_threads`]).
//!
//! [`set_threads`] sizes rayon's global pool to `--threads`: GEMM and
//! `weft_rt_parallel_for` ([`crate::par`]) share it.

use std::sync::atomic::{AtomicUsize, Ordering};

use weft_runtime::rng;

use crate::gemm::{self, Elem, View};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// The number of threads GEMM and parallel loops may use (≥ 1). The first
/// call also sizes rayon's global pool (later calls only change how many
/// parts work is split into).
pub fn set_threads(n: usize) {
    let n = n.max(1);
    THREADS.store(n, Ordering::Relaxed);
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
}

/// How many threads a product of `m·k·n` multiply-adds is split over
/// (small products are faster on one).
fn parallelism(m: usize, k: usize, n: usize) -> usize {
    let t = THREADS.load(Ordering::Relaxed);
    let work = m.saturating_mul(k).saturating_mul(n);
    if t <= 1 || work < 64 * 64 * 64 {
        1
    } else {
        t
    }
}

/// The `--threads` setting.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

fn dims(batch: i64, m: i64, k: i64, n: i64) -> Option<(usize, usize, usize, usize)> {
    Some((
        usize::try_from(batch).ok()?,
        usize::try_from(m).ok()?,
        usize::try_from(k).ok()?,
        usize::try_from(n).ok()?,
    ))
}

/// `c[b] = a[b] @ b[b]`, packed row-major `[m, k] @ [k, n] -> [m, n]`
/// (`a` stored `[k, m]` and `b` `[n, k]` when `trans` says so).
///
/// # Safety
/// `a`, `b`, `c` hold `batch` packed matrices of the given sizes; `c` does
/// not overlap `a` or `b`.
/// The small-product rule ([`weft_runtime::SMALL_GEMM_WORK`]): each output
/// starts at 0 and accumulates `fma(a[i, p], b[p, j], acc)` for `p` in
/// order, exactly as compiled code's inline loop does.
#[inline(always)]
unsafe fn small_body<T: Elem>(
    [batch, m, k, n]: [usize; 4],
    (a, b, c): (*const T, *const T, *mut T),
    trans: i64,
) {
    for bi in 0..batch {
        let (a, b) = (a.add(bi * m * k), b.add(bi * k * n));
        for i in 0..m {
            let row = std::slice::from_raw_parts_mut(c.add((bi * m + i) * n), n);
            row.fill(T::default());
            for p in 0..k {
                let x = if trans & TRANS_A != 0 {
                    *a.add(p * m + i)
                } else {
                    *a.add(i * k + p)
                };
                if trans & TRANS_B != 0 {
                    for (j, o) in row.iter_mut().enumerate() {
                        *o = x.fma(*b.add(j * k + p), *o);
                    }
                } else {
                    let brow = std::slice::from_raw_parts(b.add(p * n), n);
                    for (o, &y) in row.iter_mut().zip(brow) {
                        *o = x.fma(y, *o);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_fma<T: Elem>(d: [usize; 4], p: (*const T, *const T, *mut T), trans: i64) {
    small_body(d, p, trans)
}

unsafe fn small_gemm<T: Elem>(d: [usize; 4], p: (*const T, *const T, *mut T), trans: i64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2") {
        return small_fma(d, p, trans);
    }
    small_body(d, p, trans)
}

/// Raw pointers moved into a parallel loop (each task writes its own
/// output matrix).
#[derive(Clone, Copy)]
struct Ptrs<T>(*const T, *const T, *mut T);
// SAFETY: the tasks of `gemm_batched` read `a` and `b` and write disjoint
// parts of `c`.
unsafe impl<T> Send for Ptrs<T> {}
unsafe impl<T> Sync for Ptrs<T> {}

/// Bits of `gemm_batched`'s `trans`: `a` is stored `[k, m]`, `b` `[n, k]`.
pub const TRANS_A: i64 = 1;
pub const TRANS_B: i64 = 2;

unsafe fn gemm_batched<T: Elem + Send + Sync>(
    batch: i64,
    m: i64,
    k: i64,
    n: i64,
    (a, b, c): (*const T, *const T, *mut T),
    trans: i64,
) {
    let Some((batch, m, k, n)) = dims(batch, m, k, n) else {
        return;
    };
    if batch == 0 || m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        std::slice::from_raw_parts_mut(c, batch * m * n).fill(T::default());
        return;
    }
    // The work as compiled code computes it (i64 products, compared unsigned).
    let work = (batch as u64)
        .wrapping_mul(m as u64)
        .wrapping_mul(k as u64)
        .wrapping_mul(n as u64);
    if work <= weft_runtime::SMALL_GEMM_WORK {
        small_gemm([batch, m, k, n], (a, b, c), trans);
        return;
    }
    // Strides (row, column) of a [m, k] and b [k, n], as stored.
    let (ars, acs) = if trans & TRANS_A != 0 { (1, m) } else { (k, 1) };
    let (brs, bcs) = if trans & TRANS_B != 0 { (1, k) } else { (n, 1) };
    // SAFETY (of each call): the caller's contract; task `i` writes only
    // output matrix `i`.
    let one = move |p: Ptrs<T>, i: usize, parts| {
        let Ptrs(a, b, c) = p;
        let a = View {
            ptr: a.add(i * m * k),
            rs: ars as isize,
            cs: acs as isize,
        };
        let b = View {
            ptr: b.add(i * k * n),
            rs: brs as isize,
            cs: bcs as isize,
        };
        gemm::gemm(m, k, n, a, b, c.add(i * m * n), n, false, parts)
    };
    let p = Ptrs(a, b, c);
    let t = THREADS.load(Ordering::Relaxed);
    if t > 1 && batch >= t {
        // As many products as threads or more: one product per task, each
        // on one thread (the same arithmetic as one product split in parts).
        use rayon::prelude::*;
        (0..batch).into_par_iter().for_each(|i| one(p, i, 1));
    } else {
        let parts = parallelism(m, k, n);
        for i in 0..batch {
            one(p, i, parts);
        }
    }
}

/// # Safety
/// See [`gemm_batched`]: the buffers hold `batch` packed matrices.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_gemm_v2_f32(
    batch: i64,
    m: i64,
    k: i64,
    n: i64,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    trans: i64,
) {
    gemm_batched(batch, m, k, n, (a, b, c), trans)
}

/// # Safety
/// See [`gemm_batched`]: the buffers hold `batch` packed matrices.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_gemm_v2_f64(
    batch: i64,
    m: i64,
    k: i64,
    n: i64,
    a: *const f64,
    b: *const f64,
    c: *mut f64,
    trans: i64,
) {
    gemm_batched(batch, m, k, n, (a, b, c), trans)
}

unsafe fn out<'a, T>(p: *mut T, n: i64) -> Option<&'a mut [T]> {
    let n = usize::try_from(n).ok().filter(|&n| n > 0)?;
    if p.is_null() {
        return None;
    }
    Some(std::slice::from_raw_parts_mut(p, n))
}

/// # Safety
/// `out` holds `n` elements.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_fill_normal_f32(
    seed: u64,
    mean: f64,
    std: f64,
    out_: *mut f32,
    n: i64,
) {
    if let Some(o) = out(out_, n) {
        rng::fill_normal_f32(seed, mean, std, o)
    }
}

/// # Safety
/// `out` holds `n` elements.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_fill_uniform_f32(
    seed: u64,
    lo: f64,
    hi: f64,
    out_: *mut f32,
    n: i64,
) {
    if let Some(o) = out(out_, n) {
        rng::fill_uniform_f32(seed, lo, hi, o)
    }
}

/// # Safety
/// `out` holds `n` elements.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_fill_normal_f64(
    seed: u64,
    mean: f64,
    std: f64,
    out_: *mut f64,
    n: i64,
) {
    if let Some(o) = out(out_, n) {
        rng::fill_normal_f64(seed, mean, std, o)
    }
}

/// # Safety
/// `out` holds `n` elements.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_fill_uniform_f64(
    seed: u64,
    lo: f64,
    hi: f64,
    out_: *mut f64,
    n: i64,
) {
    if let Some(o) = out(out_, n) {
        rng::fill_uniform_f64(seed, lo, hi, o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(batch: usize, m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; batch * m * n];
        for t in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0.0;
                    for l in 0..k {
                        s += a[t * m * k + i * k + l] * b[t * k * n + l * n + j];
                    }
                    c[t * m * n + i * n + j] = s;
                }
            }
        }
        c
    }

    #[test]
    fn gemm_matches_a_naive_product() {
        for &(batch, m, k, n) in &[
            (1, 1, 1, 1),
            (2, 3, 5, 7),
            (3, 17, 33, 9),
            (1, 0, 4, 3),
            (2, 4, 0, 3),
            (1, 70, 80, 90),
        ] {
            for threads in [1, 2] {
                set_threads(threads);
                let a: Vec<f64> = (0..batch * m * k)
                    .map(|i| ((i * 7) % 11) as f64 - 5.0)
                    .collect();
                let b: Vec<f64> = (0..batch * k * n)
                    .map(|i| ((i * 5) % 13) as f64 - 6.0)
                    .collect();
                let want = naive(batch, m, k, n, &a, &b);
                // The same operands stored transposed, each matrix [k, m] / [n, k].
                let t = |x: &[f64], r: usize, c: usize| -> Vec<f64> {
                    let mut y = vec![0.0; x.len()];
                    for q in 0..batch {
                        for i in 0..r {
                            for j in 0..c {
                                y[q * r * c + j * r + i] = x[q * r * c + i * c + j];
                            }
                        }
                    }
                    y
                };
                let (at, bt) = (t(&a, m, k), t(&b, k, n));
                let (bi, mi, ki, ni) = (batch as i64, m as i64, k as i64, n as i64);
                for trans in 0..4i64 {
                    let pa = if trans & TRANS_A != 0 { &at } else { &a };
                    let pb = if trans & TRANS_B != 0 { &bt } else { &b };
                    let mut c = vec![f64::NAN; batch * m * n];
                    unsafe {
                        weft_rt_gemm_v2_f64(
                            bi,
                            mi,
                            ki,
                            ni,
                            pa.as_ptr(),
                            pb.as_ptr(),
                            c.as_mut_ptr(),
                            trans,
                        );
                    }
                    assert_eq!(c, want, "f64 {batch}x{m}x{k}x{n} trans {trans}");
                    let a32: Vec<f32> = pa.iter().map(|&x| x as f32).collect();
                    let b32: Vec<f32> = pb.iter().map(|&x| x as f32).collect();
                    let mut c32 = vec![f32::NAN; batch * m * n];
                    unsafe {
                        weft_rt_gemm_v2_f32(
                            bi,
                            mi,
                            ki,
                            ni,
                            a32.as_ptr(),
                            b32.as_ptr(),
                            c32.as_mut_ptr(),
                            trans,
                        );
                    }
                    let w32: Vec<f32> = want.iter().map(|&x| x as f32).collect();
                    assert_eq!(c32, w32, "f32 {batch}x{m}x{k}x{n} trans {trans}");
                }
            }
        }
        set_threads(1);
    }

    #[test]
    fn fills_are_bit_identical_to_the_rng() {
        let mut a = vec![0f32; 100];
        let mut b = vec![0f32; 100];
        unsafe { weft_rt_fill_normal_f32(7, 0.5, 2.0, a.as_mut_ptr(), 100) };
        rng::fill_normal_f32(7, 0.5, 2.0, &mut b);
        assert_eq!(a, b);
        unsafe { weft_rt_fill_uniform_f32(7, -1.0, 1.0, a.as_mut_ptr(), 100) };
        rng::fill_uniform_f32(7, -1.0, 1.0, &mut b);
        assert_eq!(a, b);
        let mut c = vec![0f64; 100];
        let mut d = vec![0f64; 100];
        unsafe { weft_rt_fill_normal_f64(3, 0.0, 1.0, c.as_mut_ptr(), 100) };
        rng::fill_normal_f64(3, 0.0, 1.0, &mut d);
        assert_eq!(c, d);
        unsafe { weft_rt_fill_uniform_f64(3, 2.0, 5.0, c.as_mut_ptr(), 100) };
        rng::fill_uniform_f64(3, 2.0, 5.0, &mut d);
        assert_eq!(c, d);
        unsafe { weft_rt_fill_uniform_f64(3, 2.0, 5.0, std::ptr::null_mut(), 0) };
        unsafe { weft_rt_fill_uniform_f64(3, 2.0, 5.0, c.as_mut_ptr(), -4) };
    }
}
