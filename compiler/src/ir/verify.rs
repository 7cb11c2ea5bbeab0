//! The IR verifier, run after every pass: operands precede their users (so
//! index order is topological), edges mirror `args`, every node's type is what
//! its op's type rule gives, the program's interface points at valid nodes of
//! the right kind, and nodes a pass promised to remove are gone.

use super::graph::Graph;
use super::op::{infer, Op};
use super::types::TensorType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `grad` nodes may still be present.
    BeforeAutodiff,
    /// No `grad` node remains.
    AfterAutodiff,
}

pub fn verify(g: &Graph, stage: Stage) -> Result<(), Vec<String>> {
    let mut errs: Vec<String> = g.bugs.clone();
    for id in g.ids() {
        let n = g.node(id);
        let at = |m: String| format!("%{} ({}): {m}", id.index(), n.op.name());
        for &a in &n.args {
            if a.index() >= id.index() {
                errs.push(at(format!("operand %{} does not precede it", a.index())));
            }
        }
        if errs
            .iter()
            .any(|e| e.starts_with(&format!("%{} ", id.index())))
        {
            continue;
        }
        let mut from_edges: Vec<(u32, usize)> = g
            .dag
            .edges_directed(id, petgraph::Direction::Incoming)
            .map(|e| (*e.weight(), petgraph::visit::EdgeRef::source(&e).index()))
            .collect();
        from_edges.sort_unstable();
        let want: Vec<(u32, usize)> = n
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| (i as u32, a.index()))
            .collect();
        if from_edges != want {
            errs.push(at("edges do not match operands".into()));
        }
        let tys: Vec<&TensorType> = n.args.iter().map(|&a| g.ty(a)).collect();
        match infer(&n.op, &tys) {
            Ok(t) if t == n.ty => {}
            Ok(t) => errs.push(at(format!("has type {} but its rule gives {t}", n.ty))),
            Err(e) => errs.push(at(e.to_string())),
        }
        if stage == Stage::AfterAutodiff && n.op == Op::Grad {
            errs.push(at("grad node left after autodiff".into()));
        }
    }
    let valid = |id: petgraph::graph::NodeIndex<u32>| id.index() < g.len();
    for (name, id) in &g.inputs {
        if !valid(*id) || !matches!(&g.node(*id).op, Op::Input { name: n, .. } if n == name) {
            errs.push(format!("input {name} does not point at its input node"));
        }
    }
    for f in &g.feeds {
        if !f.name.starts_with('#')
            || !valid(f.node)
            || !matches!(&g.node(f.node).op, Op::Input { name: n, .. } if *n == f.name)
        {
            errs.push(format!("feed {} does not point at its input node", f.name));
        }
    }
    for p in &g.params {
        if !valid(p.node)
            || !matches!(&g.node(p.node).op, Op::Param { name: n, .. } if *n == p.name)
        {
            errs.push(format!("param {} does not point at its param node", p.name));
        }
    }
    for (name, id) in &g.outputs {
        if !valid(*id) {
            errs.push(format!("output {name} points at no node"));
        }
    }
    for id in &g.until {
        if !valid(*id) {
            errs.push("an until condition points at no node".to_string());
        } else if g.ty(*id).dtype != crate::ir::types::DType::Bool || g.ty(*id).rank() != 0 {
            errs.push(format!("until %{} is not a bool scalar", id.index()));
        }
    }
    let index = g.param_indices();
    for (name, id) in &g.updates {
        match index.get(name.as_str()).map(|&i| &g.params[i]) {
            None => errs.push(format!("update of {name}, which is not a param")),
            Some(p) if valid(*id) && *g.ty(*id) != p.ty => errs.push(format!(
                "update {name} has type {}, param is {}",
                g.ty(*id),
                p.ty
            )),
            Some(_) if !valid(*id) => errs.push(format!("update {name} points at no node")),
            Some(_) => {}
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}
