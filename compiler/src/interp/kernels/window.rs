//! Sliding windows (`Op::Window`, `Op::WindowGrad`; `ir/window.rs`),
//! written directly from the definition: output element `(.., kh, kw, oh,
//! ow)` is input element `(.., oh·sh + kh·dh − ph, ow·sw + kw·dw − pw)`, or
//! the fill value outside the input. The adjoint adds window elements into
//! their input positions in C order of the window tensor.

use ndarray::{ArrayD, Dimension, IxDyn};
use weft_runtime::RunError;

use super::create;
use crate::interp::dims::ConcreteType;
use crate::interp::internal;
use crate::interp::tensor::Tensor;
use crate::ir::types::Scalar;
use crate::ir::window::Window;

/// The lengths `(lead, h, w, oh, ow)` of a window over `shape`.
fn geometry(win: &Window, shape: &[usize]) -> Result<(Vec<usize>, [usize; 4]), RunError> {
    let bad = || internal(format!("window ({win}) of shape {shape:?}"));
    let r = shape.len().checked_sub(2).ok_or_else(bad)?;
    let (h, w) = (shape[r], shape[r + 1]);
    let oh = win.out_len(0, h as u64).ok_or_else(bad)? as usize;
    let ow = win.out_len(1, w as u64).ok_or_else(bad)? as usize;
    Ok((shape[..r].to_vec(), [h, w, oh, ow]))
}

/// The input position read by window element `(kh, kw, oh, ow)`, if inside.
fn source(win: &Window, [h, w, _, _]: [usize; 4], k: [usize; 4]) -> Option<(usize, usize)> {
    let ih = win.source(0, k[2] as i64, k[0] as i64);
    let iw = win.source(1, k[3] as i64, k[1] as i64);
    let inside = |i: i64, n: usize| (0..n as i64).contains(&i);
    (inside(ih, h) && inside(iw, w)).then_some((ih as usize, iw as usize))
}

/// Every window position `(lead.., kh, kw, oh, ow)` in C order.
fn positions(lead: &[usize], win: &Window, [_, _, oh, ow]: [usize; 4]) -> Vec<Vec<usize>> {
    let mut shape = lead.to_vec();
    shape.extend([win.kernel[0] as usize, win.kernel[1] as usize, oh, ow]);
    ndarray::indices(IxDyn(&shape))
        .into_iter()
        .map(|i| i.slice().to_vec())
        .collect()
}

pub fn window(x: &Tensor, win: &Window, fill: Scalar) -> Result<Tensor, RunError> {
    let (lead, g) = geometry(win, x.shape())?;
    let fill = create::literal(fill, x.dtype())?;
    fn run<T: Copy>(
        x: &ArrayD<T>,
        fill: &ArrayD<T>,
        win: &Window,
        lead: &[usize],
        g: [usize; 4],
    ) -> Result<ArrayD<T>, RunError> {
        let f = *fill
            .iter()
            .next()
            .ok_or_else(|| internal("an empty fill value".into()))?;
        let r = lead.len();
        let all = positions(lead, win, g);
        let mut out = Vec::with_capacity(all.len());
        for p in &all {
            let k = [p[r], p[r + 1], p[r + 2], p[r + 3]];
            out.push(match source(win, g, k) {
                Some((ih, iw)) => {
                    let mut at = p[..r].to_vec();
                    at.extend([ih, iw]);
                    x[IxDyn(&at)]
                }
                None => f,
            });
        }
        let mut shape = lead.to_vec();
        shape.extend([win.kernel[0] as usize, win.kernel[1] as usize, g[2], g[3]]);
        crate::interp::tensor::array(&shape, out)
    }
    Ok(match (x, &fill) {
        (Tensor::F32(x), Tensor::F32(f)) => Tensor::F32(run(x, f, win, &lead, g)?),
        (Tensor::F64(x), Tensor::F64(f)) => Tensor::F64(run(x, f, win, &lead, g)?),
        (Tensor::I32(x), Tensor::I32(f)) => Tensor::I32(run(x, f, win, &lead, g)?),
        (Tensor::I64(x), Tensor::I64(f)) => Tensor::I64(run(x, f, win, &lead, g)?),
        (Tensor::U8(x), Tensor::U8(f)) => Tensor::U8(run(x, f, win, &lead, g)?),
        (Tensor::Bool(x), Tensor::Bool(f)) => Tensor::Bool(run(x, f, win, &lead, g)?),
        _ => {
            return Err(internal(format!(
                "window of {} filled with {}",
                x.dtype(),
                fill.dtype()
            )))
        }
    })
}

pub fn window_grad(src: &Tensor, win: &Window, out: &ConcreteType) -> Result<Tensor, RunError> {
    let (lead, g) = geometry(win, &out.shape)?;
    let all = positions(&lead, win, g);
    if all.len() != src.len() {
        return Err(internal(format!(
            "window_grad of {} into {out}",
            src.concrete_type()
        )));
    }
    fn run<T: Copy>(
        z: &mut ArrayD<T>,
        s: &ArrayD<T>,
        all: &[Vec<usize>],
        win: &Window,
        g: [usize; 4],
        add: fn(T, T) -> T,
    ) {
        for p in all {
            let r = p.len() - 4;
            if let Some((ih, iw)) = source(win, g, [p[r], p[r + 1], p[r + 2], p[r + 3]]) {
                let mut at = p[..r].to_vec();
                at.extend([ih, iw]);
                let at = IxDyn(&at);
                z[&at] = add(z[&at], s[IxDyn(p)]);
            }
        }
    }
    let mut z = Tensor::zeros(out)?;
    match (&mut z, src) {
        (Tensor::F32(z), Tensor::F32(s)) => run(z, s, &all, win, g, |a, b| a + b),
        (Tensor::F64(z), Tensor::F64(s)) => run(z, s, &all, win, g, |a, b| a + b),
        (Tensor::I32(z), Tensor::I32(s)) => run(z, s, &all, win, g, i32::wrapping_add),
        (Tensor::I64(z), Tensor::I64(s)) => run(z, s, &all, win, g, i64::wrapping_add),
        (Tensor::Bool(z), Tensor::Bool(s)) => run(z, s, &all, win, g, |a, b| a | b),
        _ => {
            return Err(internal(format!(
                "window_grad of {} into {out}",
                src.dtype()
            )))
        }
    }
    Ok(z)
}
