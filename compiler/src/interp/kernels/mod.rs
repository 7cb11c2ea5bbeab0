//! The interpreter's kernels: [`eval`] computes one node of the graph IR
//! from its operand values, for every op but `Grad` (removed by autodiff)
//! and `Input`/`Param` (bound by the driver).
//!
//! Kernels follow the op documentation in `ir/op.rs` exactly; the numeric
//! rules the documentation leaves open are stated in each submodule's header:
//! [`elementwise`] (NaN, integer division and powers, casts), [`reduce`]
//! (reduction order and precision, argmax, matmul), [`shape`] (run-time range
//! checks), [`create`] (literals, iota, random numbers).
//!
//! A kernel never panics: operands that break the op's type rule are a
//! compiler bug, reported as an internal [`RunError`]; bad run-time data (an
//! index out of range) is a [`RunError`] with exit status 3.

pub mod collective;
pub mod conv;
pub mod create;
pub mod elementwise;

pub mod reduce;
pub mod shape;
pub mod window;

use weft_runtime::RunError;

use super::dims::{shape_text, ConcreteType, DimEnv};
use super::internal;
use super::tensor::Tensor;
use crate::ir::op::Op;

/// Fails unless every operand has the first one's shape.
pub(crate) fn same_shape(what: &str, args: &[&Tensor]) -> Result<(), RunError> {
    let first = args.first().map(|t| t.shape()).unwrap_or(&[]);
    if let Some(t) = args.iter().find(|t| t.shape() != first) {
        return Err(internal(format!(
            "{what} of shapes {} and {}",
            shape_text(first),
            shape_text(t.shape())
        )));
    }
    Ok(())
}

fn arg<'a>(op: &Op, args: &[&'a Tensor], i: usize) -> Result<&'a Tensor, RunError> {
    args.get(i)
        .copied()
        .ok_or_else(|| internal(format!("{} is missing operand {i}", op.name())))
}

/// Computes `op` on `args`; `out` is the node's type resolved through `dims`.
/// The result always has type `out` (checked).
pub fn eval(
    op: &Op,
    args: &[&Tensor],
    out: &ConcreteType,
    dims: &DimEnv,
) -> Result<Tensor, RunError> {
    if let Some(n) = op.arity() {
        if args.len() != n {
            return Err(internal(format!(
                "{} takes {n} operands, got {}",
                op.name(),
                args.len()
            )));
        }
    }
    let a = |i| arg(op, args, i);
    let t = match op {
        Op::Input { name, .. } | Op::Param { name, .. } => {
            return Err(internal(format!(
                "{} `{name}` evaluated as a kernel",
                op.name()
            )))
        }
        Op::Grad => return Err(internal("a grad node reached the interpreter".into())),
        Op::Literal { value, dtype } => create::literal(*value, *dtype)?,
        Op::SizeOf { dims: ds, dtype } => create::size_of(&dims.resolve_dims(ds)?, *dtype)?,
        Op::Iota { axis, .. } => create::iota(out, *axis)?,
        Op::Random { dist, seed, .. } => create::random(out, *dist, *seed)?,
        Op::Unary(u) => elementwise::unary(*u, a(0)?)?,
        Op::Binary(b) => elementwise::binary(*b, a(0)?, a(1)?)?,
        Op::Select => elementwise::select(a(0)?, a(1)?, a(2)?)?,
        Op::Cast { to } => elementwise::cast(a(0)?, *to)?,
        Op::StopGradient => elementwise::identity(a(0)?),
        Op::AllSum => collective::all_sum(a(0)?)?,
        Op::Broadcast { .. } => shape::broadcast(a(0)?, &out.shape)?,
        Op::Reshape { .. } => shape::reshape(a(0)?, &out.shape)?,
        Op::Transpose { perm } => shape::transpose(a(0)?, perm)?,
        Op::Slice {
            axis, start, step, ..
        } => {
            let len = *out
                .shape
                .get(*axis)
                .ok_or_else(|| internal(format!("slice axis {axis} of {out}")))?;
            shape::slice(a(0)?, *axis, *start, *step, len)?
        }
        Op::SliceGrad {
            axis, start, step, ..
        } => shape::slice_grad(a(0)?, out, *axis, *start, *step)?,
        Op::Concat { axis } => shape::concat(args, *axis)?,
        Op::Gather => shape::gather(a(0)?, a(1)?)?,
        Op::ScatterAdd { .. } => shape::scatter_add(a(0)?, a(1)?, out)?,
        Op::Conv2d { win, groups } => {
            conv::conv2d(conv::Kind::Forward, win, *groups, a(0)?, a(1)?, out)?
        }
        Op::Conv2dGradInput { win, groups, .. } => {
            conv::conv2d(conv::Kind::GradInput, win, *groups, a(0)?, a(1)?, out)?
        }
        Op::Conv2dGradWeight { win, groups, .. } => {
            conv::conv2d(conv::Kind::GradWeight, win, *groups, a(0)?, a(1)?, out)?
        }
        Op::Cumsum { axis, reverse } => reduce::cumsum(a(0)?, *axis, *reverse)?,
        Op::Window { win, fill } => window::window(a(0)?, win, *fill)?,
        Op::WindowGrad { win, .. } => window::window_grad(a(0)?, win, out)?,
        Op::Reduce { op: r, axes } => reduce::reduce(*r, a(0)?, axes)?,
        Op::ArgMax { axis } => reduce::argmax(a(0)?, *axis)?,
        Op::MatMul => reduce::matmul(a(0)?, a(1)?)?,
    };
    if t.dtype() != out.dtype || t.shape() != out.shape.as_slice() {
        return Err(internal(format!(
            "{} produced {} where its type is {out}",
            op.name(),
            t.concrete_type()
        )));
    }
    Ok(t)
}
