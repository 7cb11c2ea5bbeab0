//! `weft run --cache DIR` (language.md §14), the graph half: which values
//! of a lowered graph depend only on inputs and constants (not on params,
//! `step` or any other feed), the canonical text of what each is computed
//! from (its key, with the bytes of the inputs it reads), and the two
//! graphs that replace the program when some are cached: one computing the
//! missing values, and the program reading every cached value as an input.
//! The CLI stores and loads the values (compiler/cli/src/cache.rs).
//!
//! Loading a value instead of computing it gives the same bits: every
//! engine follows the kernel IR's fixed order of operations (§14), which a
//! value materialised in another program does not change.

use std::fmt::Write;

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;

/// A value the rest of the step reads that depends only on inputs and
/// constants.
#[derive(Clone, Debug, PartialEq)]
pub struct Invariant {
    pub node: NodeId,
    /// The computation, canonically: one line per node of its cone (the
    /// nodes it is computed from), operands renumbered within the cone,
    /// inputs by name and type. Equal texts (and equal input bytes) are
    /// equal values.
    pub text: String,
    /// The inputs of the cone, by name, in order of appearance.
    pub inputs: Vec<String>,
}

/// Whether each node depends only on inputs and constants.
fn invariant(g: &Graph) -> Vec<bool> {
    let feeds: Vec<NodeId> = g.feeds.iter().map(|f| f.node).collect();
    let mut inv = vec![false; g.len()];
    for id in g.ids() {
        let n = g.node(id);
        inv[id.index()] = match &n.op {
            Op::Param { .. } => false,
            Op::Input { .. } => !feeds.contains(&id),
            _ => n.args.iter().all(|a| inv[a.index()]),
        };
    }
    inv
}

/// Ops that only view or re-type their operand (cheaper to recompute from
/// a cached operand than to cache).
fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Broadcast { .. } | Op::Reshape { .. } | Op::Transpose { .. }
    )
}

/// The invariant values the step reads: invariant nodes used by a node that
/// is not invariant, or by the program's interface (outputs, updates,
/// `until`); a view of an invariant value gives way to the value it views.
/// Nodes without operands (inputs, literals, sizes, `iota`) are never
/// cached: there is nothing to save. A key must hold the sizes its cone's
/// types name: the CLI adds every input's dtype and shape to each key.
pub fn frontier(g: &Graph) -> Vec<Invariant> {
    let inv = invariant(g);
    let mut want = vec![false; g.len()];
    for id in g.ids() {
        if inv[id.index()] {
            continue;
        }
        for a in &g.node(id).args {
            want[a.index()] = true;
        }
    }
    for id in g
        .outputs
        .iter()
        .chain(&g.updates)
        .map(|(_, id)| *id)
        .chain(g.until.iter().copied())
    {
        want[id.index()] = true;
    }
    // Views give way to what they view (backwards: index order is topological).
    for id in g.ids().collect::<Vec<_>>().into_iter().rev() {
        let n = g.node(id);
        if want[id.index()] && inv[id.index()] && is_view(&n.op) {
            want[id.index()] = false;
            for a in &n.args {
                want[a.index()] = true;
            }
        }
    }
    // The `let`s those values' own expressions read are kept too: editing
    // the last line of a pipeline changes the value it computes, not what
    // it is computed from.
    let worth = |id: NodeId| {
        let n = g.node(id);
        inv[id.index()] && !n.args.is_empty() && !is_view(&n.op)
    };
    let first: Vec<NodeId> = g
        .ids()
        .filter(|id| want[id.index()] && worth(*id))
        .collect();
    for f in first {
        let mut stack: Vec<NodeId> = g.node(f).args.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(a) = stack.pop() {
            if !seen.insert(a) || !inv[a.index()] {
                continue;
            }
            let n = g.node(a);
            if n.label.is_some() && worth(a) {
                want[a.index()] = true;
            } else {
                stack.extend(n.args.iter().copied());
            }
        }
    }
    g.ids()
        .filter(|id| {
            let n = g.node(*id);
            want[id.index()] && inv[id.index()] && !n.args.is_empty() && !is_view(&n.op)
        })
        .map(|id| cone(g, id))
        .collect()
}

/// The canonical text of `id`'s cone.
fn cone(g: &Graph, id: NodeId) -> Invariant {
    let mut seen = vec![false; g.len()];
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut seen[n.index()], true) {
            stack.extend(g.node(n).args.iter().copied());
        }
    }
    let mut number = vec![usize::MAX; g.len()];
    let mut text = String::new();
    let mut inputs = Vec::new();
    for (k, n) in g.ids().filter(|n| seen[n.index()]).enumerate() {
        number[n.index()] = k;
        let node = g.node(n);
        if let Op::Input { name, .. } = &node.op {
            inputs.push(name.clone());
        }
        let args: Vec<String> = node
            .args
            .iter()
            .map(|a| format!("%{}", number[a.index()]))
            .collect();
        let _ = writeln!(
            text,
            "%{k} = {:?} ({}) : {}",
            node.op,
            args.join(", "),
            node.ty
        );
    }
    Invariant {
        node: id,
        text,
        inputs,
    }
}

/// `g` with each of `nodes` replaced by a new input `names[i]` (after the
/// program's own inputs); every node keeps its index.
fn substitute(g: &Graph, nodes: &[NodeId], names: &[String]) -> Graph {
    let mut added = Vec::new();
    let mut out = crate::passes::rebuild(g, |out, id, args| {
        let n = g.node(id);
        match nodes.iter().position(|&c| c == id) {
            Some(i) => {
                let new = out.add(
                    Op::Input {
                        name: names[i].clone(),
                        ty: n.ty.clone(),
                    },
                    &[],
                    n.span,
                );
                added.push((i, new));
                Some(new)
            }
            None => Some(out.add(n.op.clone(), &args, n.span)),
        }
    });
    added.sort_by_key(|&(i, _)| i);
    out.inputs
        .extend(added.into_iter().map(|(i, id)| (names[i].clone(), id)));
    out
}

/// A one-step program computing `nodes` of `g` as outputs named `names`,
/// reading the values `known` (already cached) as inputs `known_names`.
pub fn prefix(
    g: &Graph,
    (known, known_names): (&[NodeId], &[String]),
    nodes: &[NodeId],
    names: &[String],
) -> Graph {
    let mut p = substitute(g, known, known_names);
    p.outputs = names.iter().cloned().zip(nodes.iter().copied()).collect();
    p.updates.clear();
    p.until.clear();
    let mut p = p.simplified();
    // Params and feeds the values do not read are not bound nor computed.
    let live: Vec<bool> = {
        let mut live = vec![false; p.len()];
        let mut stack: Vec<NodeId> = p.outputs.iter().map(|(_, id)| *id).collect();
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut live[n.index()], true) {
                stack.extend(p.node(n).args.iter().copied());
            }
        }
        live
    };
    p.params.retain(|d| live[d.node.index()]);
    p.feeds.retain(|f| live[f.node.index()]);
    p
}

/// `g` with each of `nodes` read from a new input `names[i]` (after the
/// program's own inputs), and what only they needed removed.
pub fn with_inputs(g: &Graph, nodes: &[NodeId], names: &[String]) -> Graph {
    substitute(g, nodes, names).simplified()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{compile, Input, Stage};

    fn lowered(text: &str) -> Graph {
        let c = compile(
            Input {
                name: "t.weft".into(),
                text: text.into(),
                loader: &crate::front::NoFiles,
                sets: Vec::new(),
                deny_warnings: false,
            },
            Stage::Lowered,
            &mut |_, _| {},
        );
        c.graph.expect("compiles")
    }

    const PIPE: &str = "dim N\ninput x: f32[N, 4]\nparam w: f32[4] = ones()\n\
        let feats = tanh(x * 2.0) + 1.0\nlet scaled = feats * w\n\
        update w = w - 0.1 * mean(scaled, axis=0)\noutput s = sum(scaled)\n";

    #[test]
    fn the_frontier_is_what_param_dependent_values_read() {
        let g = lowered(PIPE);
        let f = frontier(&g);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].inputs, vec!["x".to_string()]);
        assert!(f[0].text.contains("Tanh"), "{}", f[0].text);
        assert!(!f[0].text.contains("Param"), "{}", f[0].text);
        // The same computation in another program has the same text.
        let other = PIPE.replace("output s = sum(scaled)", "output t = max(scaled)");
        let f2 = frontier(&lowered(&other));
        assert_eq!(f2[0].text, f[0].text);
        // A changed upstream expression changes it.
        let changed = PIPE.replace("x * 2.0", "x * 3.0");
        assert_ne!(frontier(&lowered(&changed))[0].text, f[0].text);
    }

    #[test]
    fn split_graphs_keep_the_interface() {
        let g = lowered(PIPE);
        let f = frontier(&g);
        let names = vec!["cache_0".to_string()];
        let nodes = vec![f[0].node];
        let p = prefix(&g, (&[], &[]), &nodes, &names);
        assert_eq!(p.outputs.len(), 1);
        assert!(p.params.is_empty() && p.updates.is_empty());
        let m = with_inputs(&g, &nodes, &names);
        let ins: Vec<&str> = m.inputs.iter().map(|(n, _)| n.as_str()).collect();
        assert!(ins.contains(&"cache_0"), "{ins:?}");
        assert_eq!(m.updates.len(), 1);
        assert!(
            !m.ids()
                .any(|id| matches!(m.node(id).op, Op::Unary(crate::ir::op::UnaryOp::Tanh))),
            "the cached computation is gone from the program"
        );
        assert!(crate::ir::verify::verify(&m, crate::ir::verify::Stage::AfterAutodiff).is_ok());
        assert!(crate::ir::verify::verify(&p, crate::ir::verify::Stage::AfterAutodiff).is_ok());
    }
}
