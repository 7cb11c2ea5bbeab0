//! Reductions (`Reduce`, `ArgMax`) and `MatMul`.
//!
//! Order and precision, fixed so results do not depend on layout:
//! - float reductions follow the semantics table's order (`ops::reduce`):
//!   over the last axis in sixteen interleaved partials and one tree,
//!   otherwise sequentially in C order of the reduced axes; `f32` sums
//!   accumulate in `f64` and round once at the end, `f64` accumulates in
//!   `f64`, integers wrap. A sum over nothing is 0.
//! - `max`/`min` propagate NaN (a lane holding a NaN gives NaN); on `bool`
//!   they are any/all. Over an axis of length 0 they are an error (exit 3),
//!   like NumPy's "zero-size array to reduction operation".
//! - `argmax` gives the first index of the maximum; a NaN counts as the
//!   maximum (the first NaN wins), like NumPy; an empty axis is an error.
//! - float `matmul` is ndarray's `general_mat_mul` (matrixmultiply: blocked,
//!   accumulating in the dtype) per batch entry; integer `matmul` is a plain
//!   i-k-j loop with wrapping arithmetic.

use ndarray::{Array3, ArrayD, Axis, IxDyn};
use weft_runtime::RunError;

use super::internal;
use crate::interp::dims::shape_text;
use crate::interp::tensor::{array, Tensor};
use crate::ir::op::{BinaryOp, ReduceOp};
use crate::ir::types::DType;
use crate::ops::num::{Float, Int};

/// `a`'s elements with `lane_axes` moved last (the others keep their order),
/// in C order: each run of `lane` consecutive elements is one output position.
fn lanes<T: Clone>(a: &ArrayD<T>, lane_axes: &[usize]) -> (Vec<T>, usize) {
    let rank = a.ndim();
    let mut perm: Vec<usize> = (0..rank).filter(|x| !lane_axes.contains(x)).collect();
    perm.extend_from_slice(lane_axes);
    let lane: usize = lane_axes.iter().map(|&x| a.shape()[x]).product();
    let v = a.view().permuted_axes(IxDyn(&perm));
    (v.iter().cloned().collect(), lane)
}

/// Applies `f` to every lane; `out_shape` has as many elements as there are lanes.
fn per_lane<T: Clone, U>(
    a: &ArrayD<T>,
    lane_axes: &[usize],
    out_shape: &[usize],
    f: impl Fn(&[T]) -> U,
) -> Result<ArrayD<U>, RunError> {
    let (flat, lane) = lanes(a, lane_axes);
    let nout: usize = out_shape.iter().product();
    let out: Vec<U> = (0..nout)
        .map(|o| f(&flat[o * lane..(o + 1) * lane]))
        .collect();
    array(out_shape, out)
}

fn sum_float<T: Float>(s: &[T]) -> T {
    // From the table's identity, -0; a sum over nothing is +0.
    if s.is_empty() {
        return T::ZERO;
    }
    // The table's addition: its NaN rule (the first NaN wins) does not
    // depend on the order this compiler gives a commutative `+`'s operands.
    let add = |acc: f64, x: f64| BinaryOp::Add.eval_float(acc, x).unwrap_or(acc);
    T::from_f64(s.iter().fold(-0.0f64, |acc, &x| add(acc, x.to_f64())))
}

fn fold_first<T: Copy>(s: &[T], f: impl Fn(T, T) -> T) -> T {
    // Callers rule out empty lanes first.
    s[1..].iter().fold(s[0], |acc, &x| f(acc, x))
}

/// A lane folded in the table's interleaved order (`ops::reduce`'s header):
/// element `t` of the lane lies at index `t mod n` of the last axis, and
/// goes to partial `(t mod n) mod 16`; the partials, each from the table's
/// identity, meet in the table's tree. Values are computed in `f64` (exact
/// for max/min, the accumulator of sums and products).
fn interleaved<T: Float>(op: ReduceOp, s: &[T], n: usize) -> T {
    if s.is_empty() {
        // Only a sum or a product: max/min over nothing fail before.
        return T::from_f64(if op == ReduceOp::Prod { 1.0 } else { 0.0 });
    }
    let init = match op.identity(DType::F64) {
        Ok(crate::ops::Val::F64(v)) => v,
        _ => f64::NAN,
    };
    let mut p = [crate::ops::Val::F64(init); crate::ops::PARTIALS];
    for (t, &x) in s.iter().enumerate() {
        let j = (t % n.max(1)) % crate::ops::PARTIALS;
        p[j] = op
            .fold(p[j], crate::ops::Val::F64(x.to_f64()))
            .unwrap_or(p[j]);
    }
    match op.combine(DType::F64, p) {
        Ok(crate::ops::Val::F64(v)) => T::from_f64(v),
        _ => T::from_f64(f64::NAN),
    }
}

fn reduce_float<T: Float>(
    op: ReduceOp,
    a: &ArrayD<T>,
    axes: &[usize],
    out: &[usize],
) -> Result<ArrayD<T>, RunError> {
    let rank = a.ndim();
    if op.interleaved(DType::F64, rank, axes) {
        let n = a.shape()[rank - 1];
        return per_lane(a, axes, out, |s| interleaved(op, s, n));
    }
    match op {
        ReduceOp::Sum => per_lane(a, axes, out, sum_float),
        ReduceOp::Max => per_lane(a, axes, out, |s| {
            fold_first(s, |x, y| BinaryOp::Max.eval_float(x, y).unwrap_or(x))
        }),
        ReduceOp::Min => per_lane(a, axes, out, |s| {
            fold_first(s, |x, y| BinaryOp::Min.eval_float(x, y).unwrap_or(x))
        }),
        ReduceOp::Prod => per_lane(a, axes, out, |s| {
            // In f64 like the sum, by the table's NaN rule.
            let mul = |acc: f64, x: f64| BinaryOp::Mul.eval_float(acc, x).unwrap_or(acc);
            T::from_f64(s.iter().fold(1.0f64, |acc, &x| mul(acc, x.to_f64())))
        }),
    }
}

fn reduce_int<T: Int>(
    op: ReduceOp,
    a: &ArrayD<T>,
    axes: &[usize],
    out: &[usize],
) -> Result<ArrayD<T>, RunError> {
    match op {
        ReduceOp::Sum => per_lane(a, axes, out, |s| {
            s.iter().fold(T::ZERO, |acc, &x| acc.wadd(x))
        }),
        ReduceOp::Max => per_lane(a, axes, out, |s| fold_first(s, Ord::max)),
        ReduceOp::Min => per_lane(a, axes, out, |s| fold_first(s, Ord::min)),
        ReduceOp::Prod => per_lane(a, axes, out, |s| {
            s.iter().fold(T::ONE, |acc, &x| acc.wmul(x))
        }),
    }
}

/// `Reduce{op, axes}`: the reduced axes stay, with length 1.
pub fn reduce(op: ReduceOp, a: &Tensor, axes: &[usize]) -> Result<Tensor, RunError> {
    let shape = a.shape();
    if !axes.windows(2).all(|w| w[0] < w[1]) || axes.iter().any(|&x| x >= shape.len()) {
        return Err(internal(format!(
            "reduce axes {axes:?} of {}",
            shape_text(shape)
        )));
    }
    let mut out = shape.to_vec();
    for &x in axes {
        out[x] = 1;
    }
    let lane: usize = axes.iter().map(|&x| shape[x]).product();
    if lane == 0 && op.empty(DType::I64).is_none() && out.iter().product::<usize>() > 0 {
        return Err(RunError::data(format!(
            "{} over an axis of length 0 (of a value of shape {}): it has no identity",
            op.name(),
            shape_text(shape)
        )));
    }
    Ok(match a {
        Tensor::F32(x) => Tensor::F32(reduce_float(op, x, axes, &out)?),
        Tensor::F64(x) => Tensor::F64(reduce_float(op, x, axes, &out)?),
        Tensor::I32(x) => Tensor::I32(reduce_int(op, x, axes, &out)?),
        Tensor::I64(x) => Tensor::I64(reduce_int(op, x, axes, &out)?),
        Tensor::Bool(x) => Tensor::Bool(match op {
            ReduceOp::Max => per_lane(x, axes, &out, |s| s.iter().any(|&b| b))?,
            ReduceOp::Min => per_lane(x, axes, &out, |s| s.iter().all(|&b| b))?,
            ReduceOp::Sum | ReduceOp::Prod => {
                return Err(internal(format!("{} of bool", op.name())))
            }
        }),
        Tensor::U8(_) => return Err(internal(format!("{} of u8", op.name()))),
    })
}

fn argmax_lane<T: PartialOrd + Copy>(s: &[T], is_nan: impl Fn(T) -> bool) -> i64 {
    let mut best = 0usize;
    for (i, &v) in s.iter().enumerate().skip(1) {
        let b = s[best];
        if is_nan(b) {
            break;
        }
        if is_nan(v) || v > b {
            best = i;
        }
    }
    best as i64
}

/// `ArgMax{axis}`: the axis is dropped; the result is `i64`.
pub fn argmax(a: &Tensor, axis: usize) -> Result<Tensor, RunError> {
    let shape = a.shape();
    if axis >= shape.len() {
        return Err(internal(format!(
            "argmax axis {axis} of {}",
            shape_text(shape)
        )));
    }
    let mut out = shape.to_vec();
    out.remove(axis);
    if shape[axis] == 0 && out.iter().product::<usize>() > 0 {
        return Err(RunError::data(format!(
            "argmax along an axis of length 0 (of a value of shape {})",
            shape_text(shape)
        )));
    }
    let ax = [axis];
    Ok(Tensor::I64(match a {
        Tensor::F32(x) => per_lane(x, &ax, &out, |s| argmax_lane(s, f32::is_nan))?,
        Tensor::F64(x) => per_lane(x, &ax, &out, |s| argmax_lane(s, f64::is_nan))?,
        Tensor::I32(x) => per_lane(x, &ax, &out, |s| argmax_lane(s, |_| false))?,
        Tensor::I64(x) => per_lane(x, &ax, &out, |s| argmax_lane(s, |_| false))?,
        Tensor::Bool(x) => per_lane(x, &ax, &out, |s| argmax_lane(s, |_| false))?,
        Tensor::U8(_) => return Err(internal("argmax of u8".into())),
    }))
}

/// The sizes of `[.., M, K] @ [.., K, N]`: (batch, M, K, N, output shape).
fn matmul_dims(
    a: &[usize],
    b: &[usize],
) -> Result<(usize, usize, usize, usize, Vec<usize>), RunError> {
    let (ra, rb) = (a.len(), b.len());
    if ra < 2 || ra != rb || a[..ra - 2] != b[..rb - 2] || a[ra - 1] != b[rb - 2] {
        return Err(internal(format!(
            "matmul of {} and {}",
            shape_text(a),
            shape_text(b)
        )));
    }
    let batch: usize = a[..ra - 2].iter().product();
    let (m, k, n) = (a[ra - 2], a[ra - 1], b[rb - 1]);
    let mut out = a[..ra - 1].to_vec();
    out.push(n);
    Ok((batch, m, k, n, out))
}

fn matmul_float<T: Float>(a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, RunError> {
    let (batch, m, k, n, shape) = matmul_dims(a.shape(), b.shape())?;
    let bad = |e: ndarray::ShapeError| internal(format!("matmul reshape: {e}"));
    let a3 = a.to_shape((batch, m, k)).map_err(bad)?;
    let b3 = b.to_shape((batch, k, n)).map_err(bad)?;
    let mut c = Array3::<T>::zeros((batch, m, n));
    for i in 0..batch {
        let mut ci = c.index_axis_mut(Axis(0), i);
        ndarray::linalg::general_mat_mul(
            T::ONE,
            &a3.index_axis(Axis(0), i),
            &b3.index_axis(Axis(0), i),
            T::ZERO,
            &mut ci,
        );
    }
    c.into_shape_with_order(IxDyn(&shape)).map_err(bad)
}

fn matmul_int<T: Int>(a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, RunError> {
    let (batch, m, k, n, shape) = matmul_dims(a.shape(), b.shape())?;
    let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
    let contiguous = || internal("standard layout is contiguous".into());
    let (a, b) = (
        a.as_slice().ok_or_else(contiguous)?,
        b.as_slice().ok_or_else(contiguous)?,
    );
    let count = batch.checked_mul(m).and_then(|x| x.checked_mul(n));
    let mut c = vec![T::ZERO; count.ok_or_else(|| internal("matmul result too large".into()))?];
    for bi in 0..batch {
        let (a, b) = (
            &a[bi * m * k..(bi + 1) * m * k],
            &b[bi * k * n..(bi + 1) * k * n],
        );
        let c = &mut c[bi * m * n..(bi + 1) * m * n];
        for i in 0..m {
            for p in 0..k {
                let x = a[i * k + p];
                for j in 0..n {
                    c[i * n + j] = c[i * n + j].wadd(x.wmul(b[p * n + j]));
                }
            }
        }
    }
    array(&shape, c)
}

pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, RunError> {
    Ok(match (a, b) {
        (Tensor::F32(x), Tensor::F32(y)) => Tensor::F32(matmul_float(x, y)?),
        (Tensor::F64(x), Tensor::F64(y)) => Tensor::F64(matmul_float(x, y)?),
        (Tensor::I32(x), Tensor::I32(y)) => Tensor::I32(matmul_int(x, y)?),
        (Tensor::I64(x), Tensor::I64(y)) => Tensor::I64(matmul_int(x, y)?),
        _ => {
            return Err(internal(format!(
                "matmul of {} and {}",
                a.dtype(),
                b.dtype()
            )))
        }
    })
}

/// `Cumsum`: running sums along `axis` in the operand's dtype, element by
/// element in order (from the end when `reverse`), as NumPy's `cumsum`.
pub fn cumsum(a: &Tensor, axis: usize, reverse: bool) -> Result<Tensor, RunError> {
    if axis >= a.shape().len() {
        return Err(internal(format!(
            "cumsum axis {axis} of {}",
            shape_text(a.shape())
        )));
    }
    fn run<T: Copy>(
        x: &ArrayD<T>,
        axis: usize,
        reverse: bool,
        add: impl Fn(T, T) -> T,
    ) -> ArrayD<T> {
        let mut out = x.clone();
        for mut lane in out.lanes_mut(Axis(axis)) {
            let n = lane.len();
            for t in 1..n {
                let (prev, cur) = if reverse {
                    (n - t, n - 1 - t)
                } else {
                    (t - 1, t)
                };
                lane[cur] = add(lane[prev], lane[cur]);
            }
        }
        out
    }
    Ok(match a {
        Tensor::F32(x) => Tensor::F32(run(x, axis, reverse, |p, v| {
            BinaryOp::Add.eval_float(p, v).unwrap_or(p)
        })),
        Tensor::F64(x) => Tensor::F64(run(x, axis, reverse, |p, v| {
            BinaryOp::Add.eval_float(p, v).unwrap_or(p)
        })),
        Tensor::I32(x) => Tensor::I32(run(x, axis, reverse, i32::wrapping_add)),
        Tensor::I64(x) => Tensor::I64(run(x, axis, reverse, i64::wrapping_add)),
        Tensor::U8(_) | Tensor::Bool(_) => {
            return Err(internal(format!("cumsum of {}", a.dtype())))
        }
    })
}
