//! Dead-code elimination and common-subexpression elimination.
//!
//! After this pass: every node is needed by an output or an update (inputs
//! and params are always kept: they are the program's interface), no two
//! nodes have the same op and the same operands, and no node is an identity
//! (a reshape, broadcast or cast to its operand's own type, an identity
//! transpose).

use std::collections::HashMap;

use super::rebuild;
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;

pub fn run(g: &Graph) -> Graph {
    let live = live_nodes(g);
    let mut seen: HashMap<(String, Vec<NodeId>), NodeId> = HashMap::new();
    rebuild(g, |out, id, args| {
        if !live[id.index()] {
            return None;
        }
        let n = g.node(id);
        if is_identity(&n.op) && args.len() == 1 && *out.ty(args[0]) == n.ty {
            return Some(args[0]);
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
