//! 2-D convolution (NCHW, PyTorch's cross-correlation) and its two
//! gradients, as every engine computes them: per image and group, the
//! image's windows are copied into a scratch matrix that stays in cache
//! (im2col) and multiplied by the weights with [`crate::gemm`]; images are
//! spread over the `--threads` pool.
//!
//! - forward: `y[n, g] = W[g] (O/g × C/g·KH·KW) @ cols(x[n, g]) (C/g·KH·KW × P)`;
//! - gradient of the input: `cols = W[g]ᵀ @ dy[n, g]`, then each column
//!   added back into the image positions it was read from (col2im), in
//!   C order of the window;
//! - gradient of the weights: `dW[g]ᵀ = Σ_n cols(x[n, g]) @ dy[n, g]ᵀ`, summed
//!   over fixed blocks of images and the blocks' sums then added in order,
//!   so the result does not depend on the number of threads.
//!
//! `P = OH·OW`; element `(c, kh, kw, oh, ow)` of the windows reads input
//! position `(oh·sh + kh·dh − ph, ow·sw + kw·dw − pw)`, zero outside.

use rayon::prelude::*;

use crate::gemm;

/// The geometry of a convolution (all lengths; validated by the caller's
/// type rule).
#[derive(Clone, Copy, Debug)]
pub struct Geom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub dil: [usize; 2],
    pub groups: usize,
}

impl Geom {
    fn out(&self, a: usize) -> usize {
        let (n, k) = if a == 0 {
            (self.h, self.kh)
        } else {
            (self.w, self.kw)
        };
        let span = self.dil[a] * (k - 1) + 1;
        (n + 2 * self.pad[a]).saturating_sub(span) / self.stride[a] + 1
    }
    fn p(&self) -> usize {
        self.out(0) * self.out(1)
    }
    /// Rows of a group's window matrix: `C/g · KH · KW`.
    fn kk(&self) -> usize {
        self.c / self.groups * self.kh * self.kw
    }
    fn valid(&self) -> bool {
        self.groups > 0
            && self.c.is_multiple_of(self.groups)
            && self.o.is_multiple_of(self.groups)
            && self.kh > 0
            && self.kw > 0
            && self.stride.iter().all(|&s| s > 0)
            && self.dil.iter().all(|&d| d > 0)
            && self.h + 2 * self.pad[0] > self.dil[0] * (self.kh - 1)
            && self.w + 2 * self.pad[1] > self.dil[1] * (self.kw - 1)
    }
}

/// Floats the convolution runs on.
pub trait Elem: gemm::Elem + std::ops::Add<Output = Self> {}
impl Elem for f32 {}
impl Elem for f64 {}

/// The columns `[lo, hi)` of an output row whose input column
/// `ow·s + off` lies in `0..w`.
fn inside(ow: usize, w: usize, s: usize, off: isize) -> (usize, usize) {
    // ceil(-off / s) and floor((w - 1 - off) / s) + 1, clamped to [0, ow].
    let lo = if off >= 0 {
        0
    } else {
        ((-off) as usize).div_ceil(s)
    };
    let last = w as isize - 1 - off;
    let hi = if last < 0 { 0 } else { last as usize / s + 1 };
    let lo = lo.min(ow);
    (lo, hi.clamp(lo, ow))
}

/// For every row `(c, kh, kw, oh)` of one image group's window matrix, in
/// order: `f(row start in the matrix, Some(input row start, column offset)
/// when the row reads inside the image, [lo, hi))`.
fn each_row(g: &Geom, mut f: impl FnMut(usize, Option<(usize, isize)>, (usize, usize))) {
    let (oh, ow) = (g.out(0), g.out(1));
    let cg = g.c / g.groups;
    let mut at = 0;
    for c in 0..cg {
        for i in 0..g.kh {
            for j in 0..g.kw {
                let off = (j * g.dil[1]) as isize - g.pad[1] as isize;
                let (lo, hi) = inside(ow, g.w, g.stride[1], off);
                for y in 0..oh {
                    let ih = (y * g.stride[0] + i * g.dil[0]) as isize - g.pad[0] as isize;
                    let row = (ih >= 0 && (ih as usize) < g.h)
                        .then(|| ((c * g.h + ih as usize) * g.w, off));
                    f(at, row, (lo, hi));
                    at += ow;
                }
            }
        }
    }
}

/// `cols[q, p]` (`C/g·KH·KW × OH·OW`) of one image's group `x` (`[C/g, H, W]`).
fn im2col<T: Elem>(g: &Geom, x: &[T], cols: &mut [T]) {
    let (ow, s) = (g.out(1), g.stride[1]);
    each_row(g, |at, row, (lo, hi)| {
        let out = &mut cols[at..at + ow];
        match row {
            None => out.fill(T::default()),
            Some((base, off)) => {
                out[..lo].fill(T::default());
                out[hi..].fill(T::default());
                let start = (base as isize + (lo * s) as isize + off) as usize;
                if s == 1 {
                    // (A loop: rows are short, a memcpy call costs more.)
                    for (o, &v) in out[lo..hi].iter_mut().zip(&x[start..start + (hi - lo)]) {
                        *o = v;
                    }
                } else {
                    for (k, o) in out[lo..hi].iter_mut().enumerate() {
                        *o = x[start + k * s];
                    }
                }
            }
        }
    });
}

/// Every element of `cols` added into the image position it was read from
/// (col2im), rows in order.
fn col2im<T: Elem>(g: &Geom, cols: &[T], dx: &mut [T]) {
    let s = g.stride[1];
    each_row(g, |at, row, (lo, hi)| {
        if let Some((base, off)) = row {
            let start = (base as isize + (lo * s) as isize + off) as usize;
            let src = &cols[at + lo..at + hi];
            if s == 1 {
                for (d, &v) in dx[start..start + src.len()].iter_mut().zip(src) {
                    *d = *d + v;
                }
            } else {
                for (k, &v) in src.iter().enumerate() {
                    let d = &mut dx[start + k * s];
                    *d = *d + v;
                }
            }
        }
    });
}

/// `c (m × n) = [c +] a (m × k) @ b (k × n)`, each given by (pointer, column
/// stride, row stride).
#[allow(clippy::too_many_arguments)]
unsafe fn mm<T: Elem>(
    (m, n, k): (usize, usize, usize),
    c: *mut T,
    (a, acs, ars): (*const T, isize, isize),
    (b, bcs, brs): (*const T, isize, isize),
    accumulate: bool,
) {
    let a = gemm::View {
        ptr: a,
        rs: ars,
        cs: acs,
    };
    let b = gemm::View {
        ptr: b,
        rs: brs,
        cs: bcs,
    };
    gemm::gemm(m, k, n, a, b, c, n, accumulate, 1)
}

/// `y = conv2d(x, w)`: `x` `[N, C, H, W]`, `w` `[O, C/g, KH, KW]`, `y` `[N, O, OH, OW]`.
pub fn forward<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T]) {
    if !g.valid() || g.n == 0 || g.p() == 0 {
        return;
    }
    let (p, kk, cg, og) = (g.p(), g.kk(), g.c / g.groups, g.o / g.groups);
    y.par_chunks_mut(g.o * p).enumerate().for_each_init(
        || vec![T::default(); kk * p],
        |cols, (n, yn)| {
            for gi in 0..g.groups {
                let xg = &x[(n * g.c + gi * cg) * g.h * g.w..][..cg * g.h * g.w];
                im2col(g, xg, cols);
                let wg = &w[gi * og * kk..][..og * kk];
                let out = &mut yn[gi * og * p..][..og * p];
                // SAFETY: the slices hold the matrices the strides describe.
                unsafe {
                    mm(
                        (og, p, kk),
                        out.as_mut_ptr(),
                        (wg.as_ptr(), 1, kk as isize),
                        (cols.as_ptr(), 1, p as isize),
                        false,
                    )
                }
            }
        },
    );
}

/// `dx` of `y = conv2d(x, w)` given `dy`: `dx` `[N, C, H, W]`.
pub fn grad_input<T: Elem>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    dx.iter_mut().for_each(|v| *v = T::default());
    if !g.valid() || g.n == 0 || g.p() == 0 {
        return;
    }
    let (p, kk, cg, og) = (g.p(), g.kk(), g.c / g.groups, g.o / g.groups);
    dx.par_chunks_mut(g.c * g.h * g.w)
        .enumerate()
        .for_each_init(
            || vec![T::default(); kk * p],
            |cols, (n, dxn)| {
                for gi in 0..g.groups {
                    let dyg = &dy[(n * g.o + gi * og) * p..][..og * p];
                    let wg = &w[gi * og * kk..][..og * kk];
                    // cols (kk × p) = W[g]ᵀ (kk × og) @ dy[n, g] (og × p)
                    // SAFETY: as in `forward`.
                    unsafe {
                        mm(
                            (kk, p, og),
                            cols.as_mut_ptr(),
                            (wg.as_ptr(), kk as isize, 1),
                            (dyg.as_ptr(), 1, p as isize),
                            false,
                        )
                    }
                    let dxg = &mut dxn[gi * cg * g.h * g.w..][..cg * g.h * g.w];
                    col2im(g, cols, dxg);
                }
            },
        );
}

/// `dw` of `y = conv2d(x, w)` given `dy`: `dw` `[O, C/g, KH, KW]`.
pub fn grad_weight<T: Elem>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    dw.iter_mut().for_each(|v| *v = T::default());
    if !g.valid() || g.n == 0 || g.p() == 0 {
        return;
    }
    let (p, kk, cg, og) = (g.p(), g.kk(), g.c / g.groups, g.o / g.groups);
    // Fixed blocks of images (independent of the thread count).
    let block = g.n.div_ceil(8);
    let starts: Vec<usize> = (0..g.n).step_by(block).collect();
    let partial: Vec<Vec<T>> = starts
        .par_iter()
        .map(|&s| {
            let mut acc = vec![T::default(); dw.len()];
            let mut cols = vec![T::default(); kk * p];
            for n in s..(s + block).min(g.n) {
                for gi in 0..g.groups {
                    let xg = &x[(n * g.c + gi * cg) * g.h * g.w..][..cg * g.h * g.w];
                    im2col(g, xg, &mut cols);
                    let dyg = &dy[(n * g.o + gi * og) * p..][..og * p];
                    let out = &mut acc[gi * og * kk..][..og * kk];
                    // dW[g]ᵀ (kk × og) += cols (kk × p) @ dy[n, g]ᵀ (p × og): the
                    // big operand read in its own layout.
                    // SAFETY: as in `forward`.
                    unsafe {
                        mm(
                            (kk, og, p),
                            out.as_mut_ptr(),
                            (cols.as_ptr(), 1, p as isize),
                            (dyg.as_ptr(), p as isize, 1),
                            true,
                        )
                    }
                }
            }
            acc
        })
        .collect();
    // The blocks' sums (each group's dWᵀ) added in order, transposed back.
    for gi in 0..g.groups {
        for o in 0..og {
            for q in 0..kk {
                let at = gi * og * kk;
                let mut v = partial[0][at + q * og + o];
                for part in &partial[1..] {
                    v = v + part[at + q * og + o];
                }
                dw[at + o * kk + q] = v;
            }
        }
    }
}

/// What `weft_rt_conv2d_*` computes.
pub const FORWARD: i64 = 0;
pub const GRAD_INPUT: i64 = 1;
pub const GRAD_WEIGHT: i64 = 2;

/// The C entry: `kind` [`FORWARD`] (`a` = x, `b` = w, `out` = y),
/// [`GRAD_INPUT`] (`a` = dy, `b` = w, `out` = dx) or [`GRAD_WEIGHT`] (`a` = x,
/// `b` = dy, `out` = dw); `dims` = n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh,
/// dw, groups.
///
/// # Safety
/// The pointers hold the tensors of the geometry; `out` overlaps neither.
unsafe fn conv_c<T: Elem>(kind: i64, dims: &[i64; 14], a: *const T, b: *const T, out: *mut T) {
    let u = |i: usize| usize::try_from(dims[i]).unwrap_or(0);
    let g = Geom {
        n: u(0),
        c: u(1),
        h: u(2),
        w: u(3),
        o: u(4),
        kh: u(5),
        kw: u(6),
        stride: [u(7), u(8)],
        pad: [u(9), u(10)],
        dil: [u(11), u(12)],
        groups: u(13),
    };
    if !g.valid() {
        return;
    }
    let x_len = g.n * g.c * g.h * g.w;
    let w_len = g.o * (g.c / g.groups) * g.kh * g.kw;
    let y_len = g.n * g.o * g.p();
    let s = |p: *const T, n: usize| -> &[T] {
        if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(p, n)
        }
    };
    let m = |p: *mut T, n: usize| -> &mut [T] {
        if n == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(p, n)
        }
    };
    match kind {
        FORWARD => forward(&g, s(a, x_len), s(b, w_len), m(out, y_len)),
        GRAD_INPUT => grad_input(&g, s(a, y_len), s(b, w_len), m(out, x_len)),
        GRAD_WEIGHT => grad_weight(&g, s(a, x_len), s(b, y_len), m(out, w_len)),
        _ => {}
    }
}

/// # Safety
/// See [`conv_c`]; `dims` points to 14 values.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_conv2d_f32(
    kind: i64,
    dims: *const i64,
    a: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    if let Some(d) = dims.cast::<[i64; 14]>().as_ref() {
        conv_c(kind, d, a, b, out)
    }
}

/// # Safety
/// See [`conv_c`]; `dims` points to 14 values.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_conv2d_f64(
    kind: i64,
    dims: *const i64,
    a: *const f64,
    b: *const f64,
    out: *mut f64,
) {
    if let Some(d) = dims.cast::<[i64; 14]>().as_ref() {
        conv_c(kind, d, a, b, out)
    }
}
