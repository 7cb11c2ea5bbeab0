//! Reverse-mode automatic differentiation (placeholder until the pass lands).
use crate::ir::graph::Graph;
use crate::ir::op::Op;

pub fn run(g: &Graph) -> Result<Graph, String> {
    if g.ids().any(|id| g.node(id).op == Op::Grad) {
        return Err("autodiff is not implemented yet".into());
    }
    Ok(g.clone())
}
