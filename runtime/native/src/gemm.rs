//! weft's matrix product: `C = A·B` (or `C = C + A·B`) for strided `A` and
//! `B`, packed into cache-sized panels and multiplied by a register-tiled
//! micro-kernel (AVX2/FMA for `f32` and `f64`, a portable kernel elsewhere).
//!
//! **One order of arithmetic.** Every output is one chain of fused
//! multiply-adds over `p = 0..k` in order, starting from 0 (or from `C`
//! when accumulating): `acc = fma(a[i, p], b[p, j], acc)`. This is the
//! small-product rule compiled code inlines (`weft_runtime::SMALL_GEMM_WORK`),
//! so a product gives the same bits at every size, with every block size,
//! on any number of threads, and on every CPU (a fused multiply-add is
//! exact whether or not the hardware has one). Blocking along `k` keeps
//! the chain: the micro-kernel starts a later block from the stored
//! partial chain, never from a separate sum.
//!
//! **Layout.** Transposed operands are only strides: packing reads them in
//! place, so no transpose is ever materialised. Threads split the output
//! into rectangles (by rows when `m ≥ n`, else by columns), each packed and
//! multiplied on its own, so the split never changes an output's chain.

use std::cell::RefCell;

use rayon::prelude::*;

/// An element type the product multiplies.
pub trait Elem: Copy + Default + Send + Sync + 'static {
    /// `self * b + c` rounded once.
    fn fma(self, b: Self, c: Self) -> Self;

    /// [`gemm`] for this element type, with its register tiles.
    ///
    /// # Safety
    /// As [`gemm`].
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn product(
        m: usize,
        k: usize,
        n: usize,
        a: View<Self>,
        b: View<Self>,
        c: *mut Self,
        ldc: usize,
        accumulate: bool,
        parts: usize,
    );
}

macro_rules! elem {
    ($t:ty) => {
        impl Elem for $t {
            #[inline(always)]
            fn fma(self, b: $t, c: $t) -> $t {
                self.mul_add(b, c)
            }

            unsafe fn product(
                m: usize,
                k: usize,
                n: usize,
                a: View<$t>,
                b: View<$t>,
                c: *mut $t,
                ldc: usize,
                accumulate: bool,
                parts: usize,
            ) {
                run::<$t>(m, k, n, a, b, c, ldc, accumulate, parts)
            }
        }
    };
}
elem!(f32);
elem!(f64);

/// A matrix in memory: element `(i, j)` is at `ptr + i*rs + j*cs`.
#[derive(Clone, Copy)]
pub struct View<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> View<T> {
    #[inline(always)]
    unsafe fn at(&self, i: usize, j: usize) -> *const T {
        self.ptr.offset(i as isize * self.rs + j as isize * self.cs)
    }
}

/// Where the micro-kernel reads `A`: element `(i, p)` of the tile's rows
/// is at `ptr + i*si + p*sp`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<T> {
    ptr: *const T,
    si: isize,
    sp: isize,
}

/// A micro-kernel: `c[i, j] (mr × nr, row stride ldc) = chain over
/// p < kc of fma(a[i*si + p*sp], b[p*nr + j], ·)`, starting at 0 or at `c`
/// (`load`). A packed panel has `si = 1, sp = mr`; `A` read in place has
/// its own strides.
type Micro<T> = unsafe fn(usize, Strided<T>, *const T, *mut T, usize, bool);

/// A micro-kernel with its tile (`mr × nr`) and cache blocks: a block is
/// `kc` deep (an `A` panel `mr × kc` and a `B` panel `kc × nr` stay in
/// L1/L2), with `mc` rows of `A` (L2) and `nc` columns of `B` (L3).
#[derive(Clone, Copy)]
struct Kernel<T> {
    mr: usize,
    nr: usize,
    kc: usize,
    mc: usize,
    nc: usize,
    micro: Micro<T>,
}

/// The largest tile of any kernel (the scratch tile of partial edges).
const MAX_TILE: usize = 8 * 32;

/// The kernels of an element type, chosen by the CPU and the width of the
/// output (all give the same bits).
trait Tile: Elem {
    fn kernel(n: usize) -> Kernel<Self>;
}

impl Tile for f32 {
    fn kernel(n: usize) -> Kernel<f32> {
        let k = |mr, nr, micro| Kernel {
            mr,
            nr,
            kc: 256,
            mc: 120,
            nc: 3072,
            micro,
        };
        #[cfg(target_arch = "x86_64")]
        {
            if n > 16 && has_avx512() {
                return Kernel {
                    mc: 96,
                    ..k(8, 32, x86::micro_f32_avx512)
                };
            }
            if has_fma() {
                return k(6, 16, x86::micro_f32);
            }
        }
        let _ = n;
        k(6, 16, portable::<f32, 6, 16>)
    }
}

impl Tile for f64 {
    fn kernel(_n: usize) -> Kernel<f64> {
        let k = |micro| Kernel {
            mr: 6,
            nr: 8,
            kc: 256,
            mc: 96,
            nc: 2048,
            micro,
        };
        #[cfg(target_arch = "x86_64")]
        if has_fma() {
            return k(x86::micro_f64);
        }
        k(portable::<f64, 6, 8>)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && has_fma()
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// The micro-kernel in plain Rust: the same chains, one `mul_add` each.
#[inline(always)]
unsafe fn portable<T: Elem, const MR: usize, const NR: usize>(
    kc: usize,
    a: Strided<T>,
    b: *const T,
    c: *mut T,
    ldc: usize,
    load: bool,
) {
    let mut acc = [[T::default(); NR]; MR];
    if load {
        for (i, row) in acc.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *c.add(i * ldc + j);
            }
        }
    }
    for p in 0..kc {
        for (i, row) in acc.iter_mut().enumerate() {
            let x = *a.ptr.offset(i as isize * a.si + p as isize * a.sp);
            for (j, v) in row.iter_mut().enumerate() {
                *v = x.fma(*b.add(p * NR + j), *v);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            *c.add(i * ldc + j) = *v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Strided;

    /// A micro-kernel of `MR` rows × two vectors of `W` lanes: per step of
    /// `p`, two loads of `b`, `MR` broadcasts of `a` and `2·MR` FMAs, each
    /// accumulator one chain (`$micro` stores the tile; `$steps` runs `kc`
    /// steps, two per loop turn, with constant offsets for a packed panel).
    macro_rules! tile_kernel {
        ($micro:ident, $steps:ident, $t:ty, $v:ty, $features:literal, mr = $mr:literal,
         w = $w:literal, zero = $zero:ident, load = $load:ident, store = $store:ident,
         set1 = $set1:ident, fma = $fma:ident) => {
            #[target_feature(enable = $features)]
            pub unsafe fn $micro(
                kc: usize,
                a: Strided<$t>,
                b: *const $t,
                c: *mut $t,
                ldc: usize,
                load: bool,
            ) {
                let mut acc = [[$zero(); 2]; $mr];
                if load {
                    for (i, r) in acc.iter_mut().enumerate() {
                        r[0] = $load(c.add(i * ldc));
                        r[1] = $load(c.add(i * ldc + $w));
                    }
                }
                if a.si == 1 && a.sp == $mr {
                    $steps::<true>(kc, a, b, &mut acc);
                } else {
                    $steps::<false>(kc, a, b, &mut acc);
                }
                for (i, r) in acc.iter().enumerate() {
                    $store(c.add(i * ldc), r[0]);
                    $store(c.add(i * ldc + $w), r[1]);
                }
            }

            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn $steps<const PACKED: bool>(
                kc: usize,
                a: Strided<$t>,
                b: *const $t,
                acc: &mut [[$v; 2]; $mr],
            ) {
                let (si, sp) = if PACKED { (1, $mr) } else { (a.si, a.sp) };
                let (mut a, mut b) = (a.ptr, b);
                let mut step = || {
                    let b0 = $load(b);
                    let b1 = $load(b.add($w));
                    for (i, r) in acc.iter_mut().enumerate() {
                        let x = $set1(*a.offset(i as isize * si));
                        r[0] = $fma(x, b0, r[0]);
                        r[1] = $fma(x, b1, r[1]);
                    }
                    a = a.offset(sp);
                    b = b.add(2 * $w);
                };
                for _ in 0..kc / 2 {
                    step();
                    step();
                }
                if kc % 2 == 1 {
                    step();
                }
            }
        };
    }

    // 6 × 16 f32: twelve 8-lane accumulators.
    tile_kernel!(
        micro_f32,
        steps_f32,
        f32,
        __m256,
        "avx2,fma",
        mr = 6,
        w = 8,
        zero = _mm256_setzero_ps,
        load = _mm256_loadu_ps,
        store = _mm256_storeu_ps,
        set1 = _mm256_set1_ps,
        fma = _mm256_fmadd_ps
    );
    // 8 × 32 f32 in AVX-512 registers: sixteen 16-lane accumulators.
    tile_kernel!(
        micro_f32_avx512,
        steps_f32_avx512,
        f32,
        __m512,
        "avx512f,avx2,fma",
        mr = 8,
        w = 16,
        zero = _mm512_setzero_ps,
        load = _mm512_loadu_ps,
        store = _mm512_storeu_ps,
        set1 = _mm512_set1_ps,
        fma = _mm512_fmadd_ps
    );
    // 6 × 8 f64: twelve 4-lane accumulators.
    tile_kernel!(
        micro_f64,
        steps_f64,
        f64,
        __m256d,
        "avx2,fma",
        mr = 6,
        w = 4,
        zero = _mm256_setzero_pd,
        load = _mm256_loadu_pd,
        store = _mm256_storeu_pd,
        set1 = _mm256_set1_pd,
        fma = _mm256_fmadd_pd
    );
}

thread_local! {
    /// Packing space of this thread, reused across calls (in `u64`s, so
    /// that `f32` and `f64` panels are aligned).
    static PACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// `C[rows, cols] (=|+=) A[rows, :]·B[:, cols]` on this thread.
#[allow(clippy::too_many_arguments)]
unsafe fn rect<T: Tile>(
    (i0, i1): (usize, usize),
    (j0, j1): (usize, usize),
    k: usize,
    a: View<T>,
    b: View<T>,
    c: *mut T,
    ldc: usize,
    accumulate: bool,
) {
    let g = T::kernel(j1 - j0);
    let (mr, nr) = (g.mr, g.nr);
    let kc_max = g.kc.min(k);
    let mc_max = g.mc.min((i1 - i0).div_ceil(mr) * mr);
    let nc_max = g.nc.min((j1 - j0).div_ceil(nr) * nr);
    let a_len = mc_max * kc_max;
    let b_len = nc_max * kc_max;
    let words = (a_len + b_len) * std::mem::size_of::<T>() / 8 + 2;
    PACK.with(|cell| {
        let mut space = cell.borrow_mut();
        if space.len() < words {
            space.resize(words, 0);
        }
        let base = space.as_mut_ptr() as *mut T;
        let (ap, bp) = (base, base.add(a_len));
        let mut tile = [T::default(); MAX_TILE];
        // With one panel of columns, each element of `A` is used once:
        // full tiles read it in place, only a last partial tile is packed.
        let direct = j1 - j0 <= nr;
        let packed = |ap: *mut T, row: usize, kc: usize| Strided {
            ptr: ap.add(row * kc),
            si: 1,
            sp: mr as isize,
        };
        let mut jc = j0;
        while jc < j1 {
            let nc = g.nc.min(j1 - jc);
            let mut pc = 0;
            while pc < k {
                let kc = g.kc.min(k - pc);
                let load = accumulate || pc > 0;
                pack_b(kc, nc, b, pc, jc, bp, nr);
                let mut ic = i0;
                while ic < i1 {
                    let mc = g.mc.min(i1 - ic);
                    if !direct {
                        pack_a(mc, kc, a, ic, pc, ap, mr);
                    }
                    for jr in (0..nc).step_by(nr) {
                        let nw = nr.min(nc - jr);
                        for ir in (0..mc).step_by(mr) {
                            let mh = mr.min(mc - ir);
                            let out = c.add((ic + ir) * ldc + jc + jr);
                            let apan = if !direct {
                                packed(ap, ir, kc)
                            } else if mh == mr {
                                Strided {
                                    ptr: a.at(ic + ir, pc),
                                    si: a.rs,
                                    sp: a.cs,
                                }
                            } else {
                                pack_a(mh, kc, a, ic + ir, pc, ap, mr);
                                packed(ap, 0, kc)
                            };
                            let bpan = bp.add(jr * kc);
                            if mh == mr && nw == nr {
                                (g.micro)(kc, apan, bpan, out, ldc, load);
                            } else {
                                let t = tile.as_mut_ptr();
                                if load {
                                    for i in 0..mh {
                                        for j in 0..nw {
                                            *t.add(i * nr + j) = *out.add(i * ldc + j);
                                        }
                                    }
                                }
                                (g.micro)(kc, apan, bpan, t, nr, load);
                                for i in 0..mh {
                                    for j in 0..nw {
                                        *out.add(i * ldc + j) = *t.add(i * nr + j);
                                    }
                                }
                            }
                        }
                    }
                    ic += mc;
                }
                pc += kc;
            }
            jc += nc;
        }
    })
}

/// `A[i0.., p0..]` (`mc × kc`) into panels of `mr` rows: panel `q` holds
/// `a[q*mr + i, p]` at `q*mr*kc + p*mr + i`, zero past the last row.
#[inline(always)]
unsafe fn pack_a<T: Elem>(
    mc: usize,
    kc: usize,
    a: View<T>,
    i0: usize,
    p0: usize,
    out: *mut T,
    mr: usize,
) {
    if a.rs == 1 {
        // Rows contiguous (a transposed operand): each step's column read
        // in order, cut into the full panels.
        let full = mc / mr;
        for p in 0..kc {
            let src = a.at(i0, p0 + p);
            for q in 0..full {
                std::ptr::copy_nonoverlapping(src.add(q * mr), out.add(q * mr * kc + p * mr), mr);
            }
        }
    }
    for q in 0..mc.div_ceil(mr) {
        let dst = out.add(q * mr * kc);
        let rows = mr.min(mc - q * mr);
        let src = a.at(i0 + q * mr, p0);
        if rows == mr && a.rs == 1 {
            // Packed above.
        } else if rows == mr && a.cs == 1 && mr == 6 {
            rows_side_by_side::<T, 6>(kc, src, a.rs, dst);
        } else if rows == mr && a.cs == 1 && mr == 8 {
            rows_side_by_side::<T, 8>(kc, src, a.rs, dst);
        } else {
            for p in 0..kc {
                for i in 0..mr {
                    *dst.add(p * mr + i) = if i < rows {
                        *src.offset(i as isize * a.rs + p as isize * a.cs)
                    } else {
                        T::default()
                    };
                }
            }
        }
    }
}

/// `R` rows of `A` (row stride `rs`, contiguous along `p`) read side by
/// side into one panel.
#[inline(always)]
unsafe fn rows_side_by_side<T: Elem, const R: usize>(
    kc: usize,
    src: *const T,
    rs: isize,
    dst: *mut T,
) {
    let r: [*const T; R] = std::array::from_fn(|i| src.offset(i as isize * rs));
    for p in 0..kc {
        for (i, r) in r.iter().enumerate() {
            *dst.add(p * R + i) = *r.add(p);
        }
    }
}

/// `B[p0.., j0..]` (`kc × nc`) into panels of `nr` columns: panel `q` holds
/// `b[p, q*nr + j]` at `q*nr*kc + p*nr + j`, zero past the last column.
#[inline(always)]
unsafe fn pack_b<T: Elem>(
    kc: usize,
    nc: usize,
    b: View<T>,
    p0: usize,
    j0: usize,
    out: *mut T,
    nr: usize,
) {
    let full = if b.cs == 1 { nc / nr } else { 0 };
    // Rows of `B` read in order (the hardware prefetches them), each cut
    // into its panels.
    for p in 0..kc {
        let src = b.at(p0 + p, j0);
        for q in 0..full {
            std::ptr::copy_nonoverlapping(src.add(q * nr), out.add(q * nr * kc + p * nr), nr);
        }
    }
    for q in full..nc.div_ceil(nr) {
        let dst = out.add(q * nr * kc);
        let cols = nr.min(nc - q * nr);
        for p in 0..kc {
            let src = b.at(p0 + p, j0 + q * nr);
            let row = dst.add(p * nr);
            for j in 0..nr {
                *row.add(j) = if j < cols {
                    *src.offset(j as isize * b.cs)
                } else {
                    T::default()
                };
            }
        }
    }
}

/// Raw pointers moved into the parallel parts (each writes its own
/// rectangle of `C`).
#[derive(Clone, Copy)]
struct Shared<T>(View<T>, View<T>, *mut T);
// SAFETY: the parts read `A` and `B` and write disjoint rectangles of `C`.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointers (a method, so that closures capture the whole value).
    fn get(self) -> (View<T>, View<T>, *mut T) {
        (self.0, self.1, self.2)
    }
}

/// `C (m × n, row stride ldc) = A·B`, or `C + A·B` when `accumulate`, on
/// up to `parts` threads of rayon's pool.
///
/// # Safety
/// `a` and `b` describe readable `m × k` and `k × n` matrices; `c` holds a
/// writable `m × n` matrix with row stride `ldc ≥ n`, overlapping neither.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: Elem>(
    m: usize,
    k: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    c: *mut T,
    ldc: usize,
    accumulate: bool,
    parts: usize,
) {
    T::product(m, k, n, a, b, c, ldc, accumulate, parts)
}

#[allow(clippy::too_many_arguments)]
unsafe fn run<T: Tile>(
    m: usize,
    k: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    c: *mut T,
    ldc: usize,
    accumulate: bool,
    parts: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::slice::from_raw_parts_mut(c.add(i * ldc), n).fill(T::default());
            }
        }
        return;
    }
    // Split along the longer side, in whole tiles.
    let by_rows = m >= n;
    let g = T::kernel(n);
    let (len, unit) = if by_rows { (m, g.mr) } else { (n, g.nr) };
    let parts = parts.max(1).min(len.div_ceil(unit));
    if parts <= 1 {
        return rect::<T>((0, m), (0, n), k, a, b, c, ldc, accumulate);
    }
    let tiles = len.div_ceil(unit);
    let bound = move |q: usize| (tiles * q / parts * unit).min(len);
    let s = Shared(a, b, c);
    (0..parts).into_par_iter().for_each(move |q| {
        let (a, b, c) = s.get();
        let span = (bound(q), bound(q + 1));
        // SAFETY: the caller's contract; part `q` writes only its span.
        unsafe {
            if by_rows {
                rect::<T>(span, (0, n), k, a, b, c, ldc, accumulate)
            } else {
                rect::<T>((0, m), span, k, a, b, c, ldc, accumulate)
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule itself: one fma chain per output, in `p` order.
    fn chain<T: Elem>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c0: Option<&[T]>) -> Vec<T> {
        let mut c = vec![T::default(); m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = c0.map_or(T::default(), |c0| c0[i * n + j]);
                for p in 0..k {
                    acc = a[i * k + p].fma(b[p * n + j], acc);
                }
                c[i * n + j] = acc;
            }
        }
        c
    }

    fn data(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_shape_split_and_layout_follows_the_chain() {
        let shapes = [
            (1, 1, 1),
            (7, 5, 3),
            (13, 300, 17),
            (64, 513, 10),
            (130, 64, 40),
            (6, 257, 16),
            (200, 9, 300),
        ];
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            let a = data(m * k, s as u64 + 1);
            let b = data(k * n, s as u64 + 100);
            let c0 = data(m * n, s as u64 + 200);
            let want = chain(m, k, n, &a, &b, None);
            let want_acc = chain(m, k, n, &a, &b, Some(&c0));
            // A and B transposed in memory too.
            let at: Vec<f32> = (0..m * k).map(|x| a[(x % m) * k + x / m]).collect();
            let bt: Vec<f32> = (0..k * n).map(|x| b[(x % k) * n + x / k]).collect();
            for parts in [1, 2, 3, 8] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let av = if ta {
                        View {
                            ptr: at.as_ptr(),
                            rs: 1,
                            cs: m as isize,
                        }
                    } else {
                        View {
                            ptr: a.as_ptr(),
                            rs: k as isize,
                            cs: 1,
                        }
                    };
                    let bv = if tb {
                        View {
                            ptr: bt.as_ptr(),
                            rs: 1,
                            cs: k as isize,
                        }
                    } else {
                        View {
                            ptr: b.as_ptr(),
                            rs: n as isize,
                            cs: 1,
                        }
                    };
                    let mut c = vec![f32::NAN; m * n];
                    // SAFETY: the views describe the vectors above.
                    unsafe { gemm(m, k, n, av, bv, c.as_mut_ptr(), n, false, parts) };
                    let same = c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{k}x{n} parts={parts} ta={ta} tb={tb}");
                    let mut c = c0.clone();
                    // SAFETY: as above.
                    unsafe { gemm(m, k, n, av, bv, c.as_mut_ptr(), n, true, parts) };
                    let same = c
                        .iter()
                        .zip(&want_acc)
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "accumulate {m}x{k}x{n} parts={parts} ta={ta} tb={tb}");
                }
            }
            // f64 through its own tile.
            let a64: Vec<f64> = a.iter().map(|&x| f64::from(x) / 3.0).collect();
            let b64: Vec<f64> = b.iter().map(|&x| f64::from(x) / 7.0).collect();
            let want64 = chain(m, k, n, &a64, &b64, None);
            let mut c = vec![f64::NAN; m * n];
            let (av, bv) = (
                View {
                    ptr: a64.as_ptr(),
                    rs: k as isize,
                    cs: 1,
                },
                View {
                    ptr: b64.as_ptr(),
                    rs: n as isize,
                    cs: 1,
                },
            );
            // SAFETY: as above.
            unsafe { gemm(m, k, n, av, bv, c.as_mut_ptr(), n, false, 2) };
            assert!(
                c.iter()
                    .zip(&want64)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "f64 {m}x{k}x{n}"
            );
        }
    }

    #[test]
    fn the_portable_kernel_gives_the_same_bits() {
        let (m, k, n) = (6, 40, 16);
        let (a, b) = (data(m * k, 5), data(k * n, 6));
        let mut ap = vec![0.0f32; m * k];
        let mut bp = vec![0.0f32; k * n];
        // SAFETY: the buffers hold the packed panels.
        unsafe {
            pack_a(
                m,
                k,
                View {
                    ptr: a.as_ptr(),
                    rs: k as isize,
                    cs: 1,
                },
                0,
                0,
                ap.as_mut_ptr(),
                6,
            );
            pack_b(
                k,
                n,
                View {
                    ptr: b.as_ptr(),
                    rs: n as isize,
                    cs: 1,
                },
                0,
                0,
                bp.as_mut_ptr(),
                16,
            );
        }
        let mut c1 = vec![0.0f32; m * n];
        let mut c2 = vec![0.0f32; m * n];
        // SAFETY: one full tile each.
        unsafe {
            let ap = Strided {
                ptr: ap.as_ptr(),
                si: 1,
                sp: 6,
            };
            portable::<f32, 6, 16>(k, ap, bp.as_ptr(), c1.as_mut_ptr(), n, false);
            (<f32 as Tile>::kernel(16).micro)(k, ap, bp.as_ptr(), c2.as_mut_ptr(), n, false);
        }
        assert_eq!(
            c1.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            c2.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(c1, chain(m, k, n, &a, &b, None));
    }
}
