//! `Conv2d` and its two gradients, written directly from PyTorch's
//! definition with plain loops, accumulating in `f64` (the oracle for the
//! runtime's im2col + GEMM): `y[n, o, i, j] = Σ_{c, a, b} x[n, g·C/g + c,
//! i·sh + a·dh − ph, j·sw + b·dw − pw] · w[o, c, a, b]`, `g = o div (O/g)`.

use weft_runtime::RunError;

use crate::interp::dims::ConcreteType;
use crate::interp::internal;
use crate::interp::tensor::{array, Tensor};
use crate::ir::window::Window;
use crate::ops::num::Float;

/// Which of the three products.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Forward,
    GradInput,
    GradWeight,
}

/// Calls `f(x index, w index, y index)` for every term of the convolution
/// of `x` (`[n, c, h, w]`) by `w` (`[o, c/g, kh, kw]`) into `[n, o, oh, ow]`.
fn terms(
    win: &Window,
    groups: usize,
    xs: &[usize],
    ws: &[usize],
    ys: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (ys[2], ys[3]);
    let og = o / groups;
    for b in 0..n {
        for oc in 0..o {
            let g = oc / og;
            for i in 0..oh {
                for j in 0..ow {
                    let yi = ((b * o + oc) * oh + i) * ow + j;
                    for ci in 0..cg {
                        for a in 0..kh {
                            for q in 0..kw {
                                let r = win.source(0, i as i64, a as i64);
                                let t = win.source(1, j as i64, q as i64);
                                if r < 0 || t < 0 || r >= h as i64 || t >= wd as i64 {
                                    continue;
                                }
                                let xi = ((b * c + g * cg + ci) * h + r as usize) * wd + t as usize;
                                let wi = ((oc * cg + ci) * kh + a) * kw + q;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn run<T: Float>(
    kind: Kind,
    win: &Window,
    groups: usize,
    (a, b): (&[T], &[T]),
    shapes: [&[usize]; 3],
    out_len: usize,
) -> Vec<T> {
    let [xs, ws, ys] = shapes;
    let mut acc = vec![0.0f64; out_len];
    terms(win, groups, xs, ws, ys, |xi, wi, yi| match kind {
        Kind::Forward => acc[yi] += a[xi].to_f64() * b[wi].to_f64(),
        Kind::GradInput => acc[xi] += a[yi].to_f64() * b[wi].to_f64(),
        Kind::GradWeight => acc[wi] += a[xi].to_f64() * b[yi].to_f64(),
    });
    acc.into_iter().map(T::from_f64).collect()
}

/// `out` of the given kind from operands `(x, w)`, `(dy, w)` or `(x, dy)`.
pub fn conv2d(
    kind: Kind,
    win: &Window,
    groups: u64,
    a: &Tensor,
    b: &Tensor,
    out: &ConcreteType,
) -> Result<Tensor, RunError> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let so = out.shape.clone();
    let shapes: [&[usize]; 3] = match kind {
        Kind::Forward => [&sa, &sb, &so],
        Kind::GradInput => [&so, &sb, &sa],
        Kind::GradWeight => [&sa, &so, &sb],
    };
    if shapes.iter().any(|s| s.len() != 4) || groups == 0 {
        return Err(internal(format!("conv2d of shapes {sa:?} and {sb:?}")));
    }
    let n: usize = so.iter().product();
    let g = groups as usize;
    let v = match (a, b) {
        (Tensor::F32(x), Tensor::F32(y)) => {
            let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
            let (x, y) = (x.as_slice().unwrap_or(&[]), y.as_slice().unwrap_or(&[]));
            Tensor::F32(array(&so, run(kind, win, g, (x, y), shapes, n))?)
        }
        (Tensor::F64(x), Tensor::F64(y)) => {
            let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
            let (x, y) = (x.as_slice().unwrap_or(&[]), y.as_slice().unwrap_or(&[]));
            Tensor::F64(array(&so, run(kind, win, g, (x, y), shapes, n))?)
        }
        _ => {
            return Err(internal(format!(
                "conv2d of {} and {}",
                a.dtype(),
                b.dtype()
            )))
        }
    };
    Ok(v)
}
