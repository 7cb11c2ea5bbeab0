//! The lowering of the window kernels (`Kernel::Window`, im2col, and
//! `Kernel::WindowGrad`, its adjoint col2im; `ir/window.rs`), written once
//! against [`LoopEmit`] like the other dedicated kernels of [`super::lower`].
//!
//! Each output row `(b, kh, kw, oh)` reads input row `ih = oh·sh + kh·dh −
//! ph` at columns `iw = ow·sw + c` with `c = kw·dw − pw`. The columns that
//! fall inside the input form one range `lo ≤ ow < hi`, computed per row
//! (empty when `ih` is outside), so the inner loops have no bounds checks:
//! `Window` fills `[0, lo)`, copies `[lo, hi)` (contiguous when `sw = 1`)
//! and fills `[hi, OW)`; `WindowGrad` adds `[lo, hi)` into the input row.
//! The order of the additions is C order of the window tensor, in every
//! engine.

use super::lower::{accumulate, add, index, mul, numel, zero, LoopEmit, LoopError, LoopResult};
use super::{Kernel, Program};
use crate::ir::types::Dim;
use crate::ir::window::Window;
use crate::ops::{IBin, ICmp, Val};

/// `floor(a / s)` for `s ≥ 1`.
fn floor_div<E: LoopEmit>(e: &mut E, a: E::V, s: E::V) -> LoopResult<E::V> {
    let q = e.int_binary(IBin::SDiv, a, s)?;
    let r = e.int_binary(IBin::SRem, a, s)?;
    let z = index(e, 0)?;
    let rneg = e.icmp(ICmp::Slt, r, z)?;
    let one = index(e, 1)?;
    let q1 = e.int_binary(IBin::Sub, q, one)?;
    Ok(e.select(rneg, q1, q)?)
}

/// `min(max(v, lo), hi)`.
fn clamp<E: LoopEmit>(e: &mut E, v: E::V, lo: E::V, hi: E::V) -> LoopResult<E::V> {
    let v = e.int_binary(IBin::SMax, v, lo)?;
    Ok(e.int_binary(IBin::SMin, v, hi)?)
}

/// One output row of a window tensor.
struct Row<V> {
    /// Index of the row's first element in the window tensor.
    win: V,
    /// Index of input element `(b, ih, 0)` (meaningless for an empty range).
    src: V,
    /// The columns `[lo, hi)` that read inside the input.
    lo: V,
    hi: V,
    /// The column stride `sw` and the row length `OW`.
    sw: V,
    ow: V,
}

/// What [`rows`] calls per row.
type RowFn<'a, E> = dyn FnMut(&mut E, Row<<E as crate::ops::Emit>::V>) -> LoopResult<()> + 'a;

/// Calls `body` for every output row `(b, kh, kw, oh)`, in C order.
fn rows<E: LoopEmit>(
    e: &mut E,
    (lead, hw, ohw, win): (&[Dim], &[Dim; 2], &[Dim; 2], &Window),
    body: &mut RowFn<'_, E>,
) -> LoopResult<()> {
    let nl = numel(e, lead)?;
    let (h, w) = (e.dim(&hw[0])?, e.dim(&hw[1])?);
    let (oh, ow) = (e.dim(&ohw[0])?, e.dim(&ohw[1])?);
    let c = |e: &mut E, v: u64| index(e, i64::try_from(v).unwrap_or(i64::MAX));
    let (kh, kw) = (c(e, win.kernel[0])?, c(e, win.kernel[1])?);
    let (sh, sw) = (c(e, win.stride[0])?, c(e, win.stride[1])?);
    let (dh, dw) = (c(e, win.dilation[0])?, c(e, win.dilation[1])?);
    let (ph, pw) = (c(e, win.padding[0])?, c(e, win.padding[1])?);
    e.for_range(nl, &mut |e, b| {
        e.for_range(kh, &mut |e, i| {
            e.for_range(kw, &mut |e, j| {
                // Columns: iw = x·sw + off; inside when 0 ≤ iw < w, i.e.
                // ceil(−off / sw) ≤ x ≤ floor((w − 1 − off) / sw).
                let jd = mul(e, j, dw)?;
                let off = e.int_binary(IBin::Sub, jd, pw)?;
                let z = index(e, 0)?;
                let one = index(e, 1)?;
                let neg = e.int_binary(IBin::Sub, z, off)?;
                let s1 = e.int_binary(IBin::Sub, sw, one)?;
                let num = add(e, neg, s1)?;
                let lo = floor_div(e, num, sw)?;
                let lo = clamp(e, lo, z, ow)?;
                let wm = e.int_binary(IBin::Sub, w, one)?;
                let num = e.int_binary(IBin::Sub, wm, off)?;
                let hi = floor_div(e, num, sw)?;
                let hi = add(e, hi, one)?;
                let hi = clamp(e, hi, lo, ow)?;
                e.for_range(oh, &mut |e, y| {
                    // ih = y·sh + i·dh − ph
                    let a = mul(e, y, sh)?;
                    let k = mul(e, i, dh)?;
                    let a = add(e, a, k)?;
                    let ih = e.int_binary(IBin::Sub, a, ph)?;
                    let z = index(e, 0)?;
                    let ge = e.icmp(ICmp::Sge, ih, z)?;
                    let lt = e.icmp(ICmp::Slt, ih, h)?;
                    let ok = e.int_binary(IBin::And, ge, lt)?;
                    let lo = e.select(ok, lo, z)?;
                    let hi = e.select(ok, hi, z)?;
                    // Input row (b, ih) shifted by the column offset.
                    let r = mul(e, b, h)?;
                    let r = add(e, r, ih)?;
                    let r = mul(e, r, w)?;
                    let src = add(e, r, off)?;
                    // The window tensor's row: (((b·kh + i)·kw + j)·oh + y)·ow.
                    let t = mul(e, b, kh)?;
                    let t = add(e, t, i)?;
                    let t = mul(e, t, kw)?;
                    let t = add(e, t, j)?;
                    let t = mul(e, t, oh)?;
                    let t = add(e, t, y)?;
                    let win = mul(e, t, ow)?;
                    body(
                        e,
                        Row {
                            win,
                            src,
                            lo,
                            hi,
                            sw,
                            ow,
                        },
                    )
                })
            })
        })
    })
}

/// The code (or effect) of `Kernel::Window` or `Kernel::WindowGrad`.
pub(super) fn lower<E: LoopEmit>(e: &mut E, prog: &Program, kern: &Kernel) -> LoopResult<()> {
    match kern {
        Kernel::Window {
            out,
            src,
            lead,
            hw,
            ohw,
            win,
            fill,
        } => {
            let d = prog.buffers[*out].dtype;
            let fill = Val::constant(*fill, d).map_err(|x| LoopError::Emit(x.to_string()))?;
            rows(e, (lead, hw, ohw, win), &mut |e, r| {
                let (sw, ow) = (r.sw, r.ow);
                let fill_range = |e: &mut E, from: E::V, n: E::V| {
                    e.for_range(n, &mut |e, t| {
                        let x = add(e, from, t)?;
                        let at = add(e, r.win, x)?;
                        let f = e.konst(fill)?;
                        e.store(*out, at, f)
                    })
                };
                let z = index(e, 0)?;
                fill_range(e, z, r.lo)?;
                let n = e.int_binary(IBin::Sub, r.hi, r.lo)?;
                e.for_range(n, &mut |e, t| {
                    let x = add(e, r.lo, t)?;
                    let xs = mul(e, x, sw)?;
                    let from = add(e, r.src, xs)?;
                    let v = e.load(*src, from)?;
                    let at = add(e, r.win, x)?;
                    e.store(*out, at, v)
                })?;
                let rest = e.int_binary(IBin::Sub, ow, r.hi)?;
                fill_range(e, r.hi, rest)
            })
        }
        Kernel::WindowGrad {
            out,
            src,
            lead,
            hw,
            ohw,
            win,
        } => {
            let d = prog.buffers[*out].dtype;
            zero(e, prog, *out)?;
            rows(e, (lead, hw, ohw, win), &mut |e, r| {
                let sw = r.sw;
                let n = e.int_binary(IBin::Sub, r.hi, r.lo)?;
                e.for_range(n, &mut |e, t| {
                    let x = add(e, r.lo, t)?;
                    let xs = mul(e, x, sw)?;
                    let to = add(e, r.src, xs)?;
                    let from = add(e, r.win, x)?;
                    let acc = e.load(*out, to)?;
                    let v = e.load(*src, from)?;
                    let v = accumulate(e, d, acc, v)?;
                    e.store(*out, to, v)
                })
            })
        }
        Kernel::Map { .. }
        | Kernel::Reduce { .. }
        | Kernel::ArgMax { .. }
        | Kernel::MatMul { .. }
        | Kernel::Conv { .. }
        | Kernel::Gather { .. }
        | Kernel::ScatterAdd { .. }
        | Kernel::Concat { .. }
        | Kernel::SliceGrad { .. }
        | Kernel::Cumsum { .. }
        | Kernel::Random { .. }
        | Kernel::Check { .. }
        | Kernel::AllReduce { .. } => Err(LoopError::Emit("not a window kernel".into())),
    }
}
