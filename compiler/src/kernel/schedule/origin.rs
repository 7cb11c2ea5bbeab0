//! Where each kernel's work comes from in the source: the `let`s and lines
//! that `--stats`, `--profile` and `weft graph` name it by.

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;

/// The `let` each node's value goes into: its own label, or else the
/// owner of its first user that has one (a fused temporary belongs to the
/// `let` that consumes it, a gradient's parts to the gradient). Computed
/// backwards over the graph, whose index order is topological.
pub(super) fn owners(g: &Graph) -> Vec<Option<String>> {
    let mut users: Vec<Vec<NodeId>> = vec![Vec::new(); g.len()];
    for id in g.ids() {
        for a in &g.node(id).args {
            users[a.index()].push(id);
        }
    }
    // An unlabelled value an update or output reads is named by it.
    let mut named: Vec<Option<String>> = vec![None; g.len()];
    for (p, id) in &g.updates {
        named[id.index()].get_or_insert_with(|| format!("update:{p}"));
    }
    for (o, id) in &g.outputs {
        named[id.index()].get_or_insert_with(|| format!("output:{o}"));
    }
    let mut own: Vec<Option<String>> = vec![None; g.len()];
    for id in g.ids().collect::<Vec<_>>().into_iter().rev() {
        let n = g.node(id);
        own[id.index()] = match (&n.op, &n.label) {
            (Op::Input { .. } | Op::Param { .. } | Op::Literal { .. }, _) => None,
            (_, Some(l)) => Some(l.clone()),
            (_, None) => named[id.index()].clone().or_else(|| {
                users[id.index()]
                    .iter()
                    .find_map(|u| own[u.index()].clone())
            }),
        };
    }
    own
}

/// What a kernel computing graph nodes `nodes` computes of the source: the
/// `let`s they go into ([`owners`]) and their source spans.
pub(super) fn origin(
    g: &Graph,
    owners: &[Option<String>],
    nodes: &[NodeId],
) -> crate::kernel::Origin {
    let mut o = crate::kernel::Origin::default();
    let mut ids: Vec<NodeId> = nodes.to_vec();
    ids.sort();
    ids.dedup();
    for id in ids {
        let n = g.node(id);
        if matches!(
            n.op,
            Op::Literal { .. } | Op::Input { .. } | Op::Param { .. }
        ) {
            continue;
        }
        if let Some(name) = &owners[id.index()] {
            if !o.lets.contains(name) {
                o.lets.push(name.clone());
            }
        }
        if let Some(s) = n.span {
            if !o.spans.contains(&s) {
                o.spans.push(s);
            }
        }
    }
    o
}
