//! Shape kernels: `Broadcast`, `Reshape` (C order), `Transpose`, `Slice`,
//! `SliceGrad`, `Concat`, `Gather` and `ScatterAdd`.
//!
//! Run-time range checks (a slice longer than its axis, a gather index out of
//! range) are [`RunError`]s with exit status 3: a size name may be bound to
//! an axis too short for a slice the checker could not rule out. Gather and
//! scatter indices count from the end when negative, like NumPy's.

use ndarray::{ArrayD, Axis, IxDyn, Slice};
use weft_runtime::RunError;

use super::internal;
use crate::interp::dims::{checked_numel, shape_text, ConcreteType};
use crate::interp::tensor::{array, map_same, Tensor};

pub fn broadcast(a: &Tensor, shape: &[usize]) -> Result<Tensor, RunError> {
    let bad = || {
        internal(format!(
            "{} does not broadcast to {}",
            shape_text(a.shape()),
            shape_text(shape)
        ))
    };
    Ok(map_same!(a, x => x.broadcast(IxDyn(shape)).ok_or_else(bad)?.to_owned()))
}

pub fn reshape(a: &Tensor, shape: &[usize]) -> Result<Tensor, RunError> {
    if checked_numel(shape) != Some(a.len()) {
        return Err(internal(format!(
            "reshape of {} to {} changes the element count",
            shape_text(a.shape()),
            shape_text(shape)
        )));
    }
    Ok(map_same!(a, x => array(shape, x.iter().cloned().collect())?))
}

pub fn transpose(a: &Tensor, perm: &[usize]) -> Result<Tensor, RunError> {
    let mut seen = vec![false; a.shape().len()];
    let valid = perm.len() == seen.len()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(internal(format!(
            "transpose {perm:?} of {}",
            shape_text(a.shape())
        )));
    }
    Ok(map_same!(a, x => x.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()))
}

/// The positions `start, start+step, ..` (`len` of them) of an axis of
/// length `n`, as an ndarray slice; `start < 0` counts from the end.
fn slice_range(what: &str, n: usize, start: i64, step: u64, len: usize) -> Result<Slice, RunError> {
    let out_of_range = || {
        RunError::data(format!(
            "{what}: {len} elements from {start} in steps of {step} do not fit an axis of length {n}"
        ))
    };
    let n_i = i64::try_from(n).map_err(|_| out_of_range())?;
    let s = if start < 0 {
        start.checked_add(n_i).ok_or_else(out_of_range)?
    } else {
        start
    };
    if s < 0 || s > n_i || step == 0 {
        return Err(out_of_range());
    }
    let s = s as usize;
    let end = if len == 0 {
        s
    } else {
        let last = (len - 1)
            .checked_mul(usize::try_from(step).map_err(|_| out_of_range())?)
            .and_then(|d| d.checked_add(s))
            .ok_or_else(out_of_range)?;
        if last >= n {
            return Err(out_of_range());
        }
        last + 1
    };
    let (s, end, step) = (
        isize::try_from(s),
        isize::try_from(end),
        isize::try_from(step),
    );
    match (s, end, step) {
        (Ok(s), Ok(e), Ok(st)) => Ok(Slice::new(s, Some(e), st)),
        _ => Err(out_of_range()),
    }
}

pub fn slice(
    a: &Tensor,
    axis: usize,
    start: i64,
    step: u64,
    len: usize,
) -> Result<Tensor, RunError> {
    let n = *a
        .shape()
        .get(axis)
        .ok_or_else(|| internal(format!("slice axis {axis}")))?;
    let sl = slice_range(&format!("slice along axis {axis}"), n, start, step, len)?;
    Ok(map_same!(a, x => x.slice_axis(Axis(axis), sl).as_standard_layout().into_owned()))
}

/// Zeros of type `out` with `a` written at the positions `Slice` would read.
pub fn slice_grad(
    a: &Tensor,
    out: &ConcreteType,
    axis: usize,
    start: i64,
    step: u64,
) -> Result<Tensor, RunError> {
    let n = *out
        .shape
        .get(axis)
        .ok_or_else(|| internal(format!("slice_grad axis {axis}")))?;
    let len = *a
        .shape()
        .get(axis)
        .ok_or_else(|| internal(format!("slice_grad axis {axis}")))?;
    let sl = slice_range(
        &format!("slice_grad along axis {axis}"),
        n,
        start,
        step,
        len,
    )?;
    let mut z = Tensor::zeros(out)?;
    macro_rules! put {
        ($($v:ident),*) => {
            match (&mut z, a) {
                $((Tensor::$v(z), Tensor::$v(x)) => {
                    let mut dst = z.slice_axis_mut(Axis(axis), sl);
                    if dst.shape() != x.shape() {
                        return Err(internal(format!("slice_grad of {} into {out}", shape_text(x.shape()))));
                    }
                    dst.assign(x);
                })*
                _ => return Err(internal(format!("slice_grad of {} into {out}", a.dtype()))),
            }
        };
    }
    put!(F32, F64, I32, I64, Bool);
    Ok(z)
}

pub fn concat(args: &[&Tensor], axis: usize) -> Result<Tensor, RunError> {
    let first = args
        .first()
        .ok_or_else(|| internal("concat of nothing".to_string()))?;
    let bad = || {
        internal(format!(
            "concat of operands that differ: {:?}",
            args.iter()
                .map(|t| t.concrete_type().to_string())
                .collect::<Vec<_>>()
        ))
    };
    macro_rules! join {
        ($($v:ident),*) => {
            match first {
                $(Tensor::$v(_) => {
                    let views = args
                        .iter()
                        .map(|t| match t { Tensor::$v(x) => Ok(x.view()), _ => Err(bad()) })
                        .collect::<Result<Vec<_>, _>>()?;
                    Tensor::$v(ndarray::concatenate(Axis(axis), &views).map_err(|_| bad())?)
                })*
            }
        };
    }
    Ok(join!(F32, F64, I32, I64, U8, Bool))
}

/// The integer indices of `idx` in C order, as i64.
fn indices(idx: &Tensor, what: &str) -> Result<Vec<i64>, RunError> {
    match idx {
        Tensor::I32(a) => Ok(a.iter().map(|&i| i64::from(i)).collect()),
        Tensor::I64(a) => Ok(a.iter().copied().collect()),
        Tensor::U8(a) => Ok(a.iter().map(|&i| i64::from(i)).collect()),
        other => Err(internal(format!("{what} index of dtype {}", other.dtype()))),
    }
}

/// Row `i` of a table of `n` rows (negative `i` counts from the end).
fn row(what: &str, i: i64, n: usize) -> Result<usize, RunError> {
    let n_i = i64::try_from(n).unwrap_or(i64::MAX);
    let r = if i < 0 { i.checked_add(n_i) } else { Some(i) };
    match r {
        Some(r) if r >= 0 && r < n_i => Ok(r as usize),
        _ => Err(RunError::data(format!(
            "{what}: index {i} is out of range for a table of {n} rows (valid: -{n} to {})",
            n as i128 - 1
        ))),
    }
}

/// `table[idx]`: shape `idx.shape + table.shape[1..]`.
pub fn gather(table: &Tensor, idx: &Tensor) -> Result<Tensor, RunError> {
    let tshape = table.shape();
    let (&n, rest) = tshape
        .split_first()
        .ok_or_else(|| internal("gather from a scalar".into()))?;
    let width: usize = rest.iter().product();
    let rows = indices(idx, "gather")?;
    let rows: Vec<usize> = rows
        .iter()
        .map(|&i| row("gather", i, n))
        .collect::<Result<_, _>>()?;
    let mut shape = idx.shape().to_vec();
    shape.extend_from_slice(rest);
    checked_numel(&shape).ok_or_else(|| RunError::data("gather: result too large".to_string()))?;
    fn pick<T: Clone>(
        t: &ArrayD<T>,
        rows: &[usize],
        width: usize,
        shape: &[usize],
    ) -> Result<ArrayD<T>, RunError> {
        let t = t.as_standard_layout();
        let flat = t
            .as_slice()
            .ok_or_else(|| internal("standard layout is contiguous".into()))?;
        let mut out = Vec::with_capacity(rows.len() * width);
        for &r in rows {
            out.extend_from_slice(&flat[r * width..(r + 1) * width]);
        }
        array(shape, out)
    }
    Ok(map_same!(table, t => pick(t, &rows, width, &shape)?))
}

/// Rows of `g` added into zeros of type `out` at the rows `idx` names.
pub fn scatter_add(idx: &Tensor, g: &Tensor, out: &ConcreteType) -> Result<Tensor, RunError> {
    let (&n, rest) = out
        .shape
        .split_first()
        .ok_or_else(|| internal("scatter_add into a scalar".into()))?;
    let width: usize = rest.iter().product();
    let rows = indices(idx, "scatter_add")?;
    let rows: Vec<usize> = rows
        .iter()
        .map(|&i| row("scatter_add", i, n))
        .collect::<Result<_, _>>()?;
    if rows.len().checked_mul(width) != Some(g.len()) {
        return Err(internal(format!(
            "scatter_add of {} by {} rows",
            g.concrete_type(),
            rows.len()
        )));
    }
    fn add<T: Copy>(
        z: &mut ArrayD<T>,
        g: &ArrayD<T>,
        rows: &[usize],
        width: usize,
        f: fn(T, T) -> T,
    ) -> Result<(), RunError> {
        let g = g.as_standard_layout();
        let src = g
            .as_slice()
            .ok_or_else(|| internal("standard layout is contiguous".into()))?;
        let dst = z
            .as_slice_mut()
            .ok_or_else(|| internal("fresh zeros are contiguous".into()))?;
        for (k, &r) in rows.iter().enumerate() {
            let d = &mut dst[r * width..(r + 1) * width];
            for (o, &v) in d.iter_mut().zip(&src[k * width..(k + 1) * width]) {
                *o = f(*o, v);
            }
        }
        Ok(())
    }
    let mut z = Tensor::zeros(out)?;
    match (&mut z, g) {
        (Tensor::F32(z), Tensor::F32(g)) => add(z, g, &rows, width, |a, b| a + b)?,
        (Tensor::F64(z), Tensor::F64(g)) => add(z, g, &rows, width, |a, b| a + b)?,
        (Tensor::I32(z), Tensor::I32(g)) => add(z, g, &rows, width, i32::wrapping_add)?,
        (Tensor::I64(z), Tensor::I64(g)) => add(z, g, &rows, width, i64::wrapping_add)?,
        (Tensor::Bool(z), Tensor::Bool(g)) => add(z, g, &rows, width, |a, b| a | b)?,
        _ => return Err(internal(format!("scatter_add of {} into {out}", g.dtype()))),
    }
    Ok(z)
}
