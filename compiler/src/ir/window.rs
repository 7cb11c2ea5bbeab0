//! Sliding windows over the last two axes: what convolution and pooling
//! share. `Op::Window` extracts every window of a tensor `[.., H, W]` into
//! `[.., KH, KW, OH, OW]` (im2col, with a fill value where a window reaches
//! into the padding); `Op::WindowGrad` is its adjoint, adding each window
//! element back into `[.., H, W]` (col2im; padding positions are dropped).
//! `conv2d` is a window followed by a matrix product, the pools a window
//! followed by a reduction (see `front/elab/builtins/conv.rs`).
//!
//! Element `(kh, kw, oh, ow)` of a window reads input position
//! `(oh·sh + kh·dh − ph, ow·sw + kw·dw − pw)`: PyTorch's cross-correlation
//! with zero padding, stride and dilation.

use std::fmt;

use super::size::Poly;

/// The geometry of a 2-D window, per axis `[h, w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub kernel: [u64; 2],
    pub stride: [u64; 2],
    pub padding: [u64; 2],
    pub dilation: [u64; 2],
}

impl Window {
    /// The output length along axis `a` (0: height, 1: width) for an input of
    /// length `n`: `(n + 2p − d·(k − 1) − 1) div s + 1`, or None when no
    /// window fits (an empty output) or the geometry is degenerate.
    pub fn out_len(&self, a: usize, n: u64) -> Option<u64> {
        // A window fits exactly when the length is at least 1.
        let len = self.out_poly(a, &Poly::constant(i64::try_from(n).ok()?))?;
        u64::try_from(len.as_constant()?).ok().filter(|&l| l >= 1)
    }

    /// [`Window::out_len`] of a size expression `n`:
    /// `(n + 2p − d·(k − 1) − 1) div s + 1` as a polynomial.
    pub fn out_poly(&self, a: usize, n: &Poly) -> Option<Poly> {
        let (k, s, p, d) = (
            self.kernel[a],
            self.stride[a],
            self.padding[a],
            self.dilation[a],
        );
        if k == 0 || s == 0 || d == 0 {
            return None;
        }
        let i = |v: u64| i64::try_from(v).ok();
        let shift = i(p)?.checked_mul(2)? - i(d)?.checked_mul(i(k)? - 1)? - 1;
        n.add(&Poly::constant(shift))?
            .div(s)?
            .add(&Poly::constant(1))
    }

    /// The input position (may be outside `0..n`) read by output position
    /// `o` and kernel position `k` along axis `a`.
    pub fn source(&self, a: usize, o: i64, k: i64) -> i64 {
        o * self.stride[a] as i64 + k * self.dilation[a] as i64 - self.padding[a] as i64
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |v: [u64; 2]| format!("{}x{}", v[0], v[1]);
        write!(
            f,
            "kernel={}, stride={}, padding={}, dilation={}",
            p(self.kernel),
            p(self.stride),
            p(self.padding),
            p(self.dilation)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn output_lengths_follow_pytorch() {
        let w = |k, s, p, d| Window {
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
        };
        // torch.nn.functional.conv2d output sizes, worked by hand.
        assert_eq!(w(3, 1, 1, 1).out_len(0, 32), Some(32));
        assert_eq!(w(3, 2, 1, 1).out_len(0, 32), Some(16));
        assert_eq!(w(3, 1, 0, 2).out_len(0, 7), Some(3));
        assert_eq!(w(2, 2, 0, 1).out_len(0, 5), Some(2));
        assert_eq!(w(5, 1, 0, 1).out_len(0, 4), None);
        assert_eq!(w(5, 1, 1, 1).out_len(0, 3), Some(1));
        assert_eq!(w(3, 0, 0, 1).out_len(0, 3), None);
        assert_eq!(w(3, 2, 1, 1).source(0, 0, 0), -1);
        assert_eq!(w(3, 2, 1, 2).source(0, 3, 2), 9);
    }
}
