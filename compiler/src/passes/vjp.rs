//! The vector-Jacobian product of a program, for libraries (`weft build
//! --lib`, docs/embedding.md): a second program with the same inputs, params
//! and feeds, plus one *cotangent* input per floating output, whose outputs
//! are the gradients of `Σᵢ sum(outputᵢ · cotangentᵢ)` with respect to every
//! floating input and param — one forward step, no updates. It is built on
//! the checked graph with `Op::Grad` nodes, so the ordinary pass pipeline
//! (weft's own autodiff) differentiates it.
//!
//! An output that is a param (`output w`) is the value after the step's
//! update when the param has one (the update's expression), else the param.

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op, ReduceOp};
use crate::ir::types::{DType, Scalar};

/// The prefix of a cotangent input's name: `__cotangent.loss`.
pub const COTANGENT: &str = "__cotangent";
/// The prefixes of the gradient outputs: `__grad_input.x`, `__grad_param.w`.
pub const GRAD_INPUT: &str = "__grad_input";
pub const GRAD_PARAM: &str = "__grad_param";

/// The node whose value output `id` shows after one step.
fn output_value(g: &Graph, id: NodeId) -> NodeId {
    if let Op::Param { name, .. } = &g.node(id).op {
        if let Some((_, u)) = g.updates.iter().find(|(p, _)| p == name) {
            return *u;
        }
    }
    id
}

/// The VJP program's graph (before the pass pipeline).
pub fn vjp_graph(g: &Graph) -> Graph {
    let mut v = g.clone();
    let outputs = std::mem::take(&mut v.outputs);
    v.updates.clear();
    v.until.clear();
    let mut loss = v.literal(Scalar::Float(0.0), DType::F64, None);
    for (name, id) in &outputs {
        let value = output_value(g, *id);
        let ty = v.ty(value).clone();
        if !ty.dtype.is_float() {
            continue;
        }
        let ct = v.add(
            Op::Input {
                name: format!("{COTANGENT}.{name}"),
                ty: ty.clone(),
            },
            &[],
            None,
        );
        v.inputs.push((format!("{COTANGENT}.{name}"), ct));
        let prod = v.binary(BinaryOp::Mul, value, ct, None);
        let axes: Vec<usize> = (0..ty.rank()).collect();
        let s = v.reduce(ReduceOp::Sum, prod, &axes, None);
        let s = v.reshape(s, &[], None);
        let s = v.cast(s, DType::F64, None);
        loss = v.binary(BinaryOp::Add, loss, s, None);
    }
    for (name, id) in &g.inputs {
        if g.ty(*id).dtype.is_float() {
            let d = v.add(Op::Grad, &[loss, *id], None);
            v.outputs.push((format!("{GRAD_INPUT}.{name}"), d));
        }
    }
    for p in &g.params {
        if p.ty.dtype.is_float() {
            let d = v.add(Op::Grad, &[loss, p.node], None);
            v.outputs.push((format!("{GRAD_PARAM}.{}", p.name), d));
        }
    }
    v
}
