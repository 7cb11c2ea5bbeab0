//! Dead-code elimination and common-subexpression elimination.
//!
//! After this pass: every node is needed by an output or an update (inputs
//! and params are always kept: they are the program's interface), no two
//! nodes have the same op and the same operands, and no node is an identity
//! (a reshape, broadcast or cast to its operand's own type, an identity
//! transpose, a product by a literal one — which the gradient of a sum
//! leaves behind; `x * 1` is `x` exactly, a signalling NaN staying
//! signalling).

use std::collections::HashMap;

use super::rebuild;
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op};
use crate::ir::types::Scalar;

pub fn run(g: &Graph) -> Graph {
    // A second round removes what the first one's replacements left dead
    // (the literal one of a dropped product).
    once(&once(g))
}

fn once(g: &Graph) -> Graph {
    let live = live_nodes(g);
    // An output that is a param shows the param after the last update, one
    // computed from it the value during the last step: such an output is
    // never replaced by the param itself.
    let outputs: std::collections::HashSet<NodeId> = g.outputs.iter().map(|(_, id)| *id).collect();
    let mut seen: HashMap<(String, Vec<NodeId>), NodeId> = HashMap::new();
    rebuild(g, |out, id, args| {
        if !live[id.index()] {
            return None;
        }
        let n = g.node(id);
        let may_become = |out: &Graph, x: NodeId| {
            *out.ty(x) == n.ty
                && !(outputs.contains(&id) && matches!(out.node(x).op, Op::Param { .. }))
        };
        if is_identity(&n.op) && args.len() == 1 && may_become(out, args[0]) {
            return Some(args[0]);
        }
        if let (Op::Binary(BinaryOp::Mul), [a, b]) = (&n.op, args.as_slice()) {
            if is_one(out, *a) && may_become(out, *b) {
                return Some(*b);
            }
            if is_one(out, *b) && may_become(out, *a) {
                return Some(*a);
            }
        }
        let key = (format!("{:?}", n.op), args.clone());
        let keyed = !matches!(n.op, Op::Input { .. } | Op::Param { .. });
        if keyed {
            if let Some(&prev) = seen.get(&key) {
                return Some(prev);
            }
        }
        let new = out.add(n.op.clone(), &args, n.span);
        if keyed {
            seen.insert(key, new);
        }
        Some(new)
    })
}

/// Whether `id` is the literal one, possibly broadcast or reshaped.
fn is_one(g: &Graph, mut id: NodeId) -> bool {
    loop {
        let n = g.node(id);
        match &n.op {
            Op::Literal { value, .. } => {
                return matches!(value, Scalar::Float(v) if *v == 1.0)
                    || matches!(value, Scalar::Int(1))
            }
            Op::Broadcast { .. } | Op::Reshape { .. } => match n.args.first() {
                Some(&a) => id = a,
                None => return false,
            },
            _ => return false,
        }
    }
}

fn is_identity(op: &Op) -> bool {
    match op {
        Op::Reshape { .. } | Op::Broadcast { .. } | Op::Cast { .. } => true,
        Op::Transpose { perm } => perm.iter().enumerate().all(|(i, &p)| i == p),
        _ => false,
    }
}

/// Nodes reachable backwards from the outputs, the updates, the inputs and the params.
pub fn live_nodes(g: &Graph) -> Vec<bool> {
    let mut live = vec![false; g.len()];
    let mut stack: Vec<NodeId> = Vec::new();
    stack.extend(g.outputs.iter().map(|(_, id)| *id));
    stack.extend(g.updates.iter().map(|(_, id)| *id));
    stack.extend(g.until.iter().copied());
    stack.extend(g.inputs.iter().map(|(_, id)| *id));
    stack.extend(g.params.iter().map(|p| p.node));
    while let Some(id) = stack.pop() {
        if id.index() >= live.len() || live[id.index()] {
            continue;
        }
        live[id.index()] = true;
        stack.extend(g.node(id).args.iter().copied());
    }
    live
}
