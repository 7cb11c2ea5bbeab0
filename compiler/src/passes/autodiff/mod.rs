//! Reverse-mode automatic differentiation, as a graph-to-graph pass: the
//! backward graph is built at compile time, so nothing is taped at run time.
//!
//! Expects: a verified graph that may hold `grad(y, x)` nodes (`y` a float
//! scalar, `x` any float node: an input, a param or an intermediate node).
//!
//! Guarantees: **the IR no longer contains any `Op::Grad` node**; each one is
//! replaced by ordinary primitive nodes computing `dy/dx`, with `x`'s exact
//! type. Every other node is copied unchanged and in order, and the program's
//! interface (inputs, params, outputs, updates) is remapped. The pass emits
//! freely (e.g. repeated zero tensors): the `simplify` pass that follows removes
//! dead and duplicate nodes.
//!
//! The sweep. Nodes are copied in index (topological) order. At the first
//! `grad` node whose `y` is some node Y, one backward sweep from Y serves every
//! `grad` of the graph with that same Y (the several `grad`s of one loss share
//! one backward pass):
//! 1. the requested x's are those `grad(Y, x)` nodes' x's already copied; an x
//!    that comes later than the first such `grad` is not an ancestor of Y, and
//!    its gradient is zeros;
//! 2. the *active* nodes are those that are both ancestors of Y (or Y) and
//!    descendants of a requested x (or an x itself), through float nodes only;
//!    `stop_gradient` ends descent. Only they get adjoints;
//! 3. the seed is a literal 1 of Y's dtype; walking the active nodes in reverse
//!    index order, each node's accumulated adjoint goes through its rule
//!    ([`rules::vjp`]) and the contributions to its active operands are summed
//!    with `add` (a node used several times gets the sum);
//! 4. each `grad(Y, x)` becomes x's adjoint (zeros of x's type if nothing
//!    reached it), labelled `d_Y/d_x`. Where that adjoint node is also used
//!    by other nodes of the backward graph, or is the adjoint of several x's
//!    (`y = a + b`), the grad gets a private identity node (a `reshape` to its
//!    own shape) instead, so that a later `grad` *with respect to* this grad
//!    result counts only the program's uses of it, not the backward graph's.
//!
//! The sweep runs on the graph being built, where every earlier `grad` has
//! already been expanded into ordinary IR; so an outer `grad` differentiates
//! through an inner one's backward graph (nested `grad`, e.g. a Hessian-vector
//! product). The rules only emit differentiable primitives, which makes this
//! sound.
//!
//! Derivative rules, and the tie rules at non-smooth points, are in
//! [`rules`]. An `Err` from this pass is a compiler bug, never a user error.

pub mod rules;

#[cfg(test)]
mod eval;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use super::rebuild;
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op};
use crate::ir::types::Scalar;
use rules::Fwd;
use weft_grammar::ast::Span;

pub fn run(g: &Graph) -> Result<Graph, String> {
    if !g.ids().any(|id| g.node(id).op == Op::Grad) {
        return Ok(g.clone());
    }
    let bugs_before = g.bugs.len();
    // mine[old] = the node standing for `old` in the new graph.
    let mut mine: Vec<Option<NodeId>> = vec![None; g.len()];
    // Results of grad nodes resolved by an earlier sweep.
    let mut done: HashMap<NodeId, NodeId> = HashMap::new();
    let mut err: Option<String> = None;
    let out = rebuild(g, |out, id, args| {
        if err.is_some() {
            return None;
        }
        let n = g.node(id);
        let new = if n.op != Op::Grad {
            out.add(n.op.clone(), &args, n.span)
        } else if let Some(&r) = done.get(&id) {
            r
        } else {
            match expand(g, out, id, &mine, &mut done) {
                Ok(r) => r,
                Err(e) => {
                    err = Some(e);
                    return None;
                }
            }
        };
        mine[id.index()] = Some(new);
        Some(new)
    });
    if let Some(e) = err {
        return Err(e);
    }
    if out.bugs.len() > bugs_before {
        return Err(format!(
            "autodiff built ill-typed nodes: {}",
            out.bugs[bugs_before..].join("; ")
        ));
    }
    Ok(out)
}

/// Expands the grad node `gid` (the first one not yet resolved for its `y`):
/// one sweep for all the grad nodes sharing its `y`, whose results go in `done`.
fn expand(
    g: &Graph,
    out: &mut Graph,
    gid: NodeId,
    mine: &[Option<NodeId>],
    done: &mut HashMap<NodeId, NodeId>,
) -> Result<NodeId, String> {
    let node = g.node(gid);
    let (&y_old, &x_old) = match node.args.as_slice() {
        [y, x] => (y, x),
        _ => return Err(format!("grad node %{} without two operands", gid.index())),
    };
    let span = node.span;
    let new_of = |old: NodeId| {
        mine.get(old.index())
            .copied()
            .flatten()
            .ok_or_else(|| format!("grad operand %{} was not copied", old.index()))
    };
    if x_old.index() > y_old.index() {
        // x comes after y: not an ancestor of y.
        let ty = g.ty(x_old).clone();
        return Ok(out.full(0.0, &ty, span));
    }
    // The grad nodes served by this sweep: same y, x already copied.
    let group: Vec<(NodeId, NodeId)> = g
        .ids()
        .filter(|&k| k.index() >= gid.index())
        .filter_map(|k| {
            let n = g.node(k);
            match (&n.op, n.args.as_slice()) {
                (Op::Grad, [y, x]) if *y == y_old && x.index() < gid.index() => Some((k, *x)),
                _ => None,
            }
        })
        .collect();
    let wrt: Vec<NodeId> = group
        .iter()
        .map(|&(_, x)| new_of(x))
        .collect::<Result<_, _>>()?;
    let adj = sweep(out, new_of(y_old)?, &wrt, span)?;
    let y_name = name_of(g, y_old);
    let claims = |a: NodeId| adj.iter().filter(|&&b| b == Some(a)).count();
    for (i, &(k, x)) in group.iter().enumerate() {
        let ty = g.ty(x).clone();
        let kspan = g.node(k).span;
        let r = match adj[i] {
            // An adjoint that other nodes use, or that serves several grads, gets
            // a private identity node: `grad` with respect to this grad result
            // must see only its own uses (see the module header).
            Some(a) if *out.ty(a) == ty && (has_users(out, a) || claims(a) > 1) => out.add(
                Op::Reshape {
                    shape: ty.shape.clone(),
                },
                &[a],
                kspan,
            ),
            Some(a) if *out.ty(a) == ty => a,
            Some(a) => {
                return Err(format!(
                    "the adjoint of %{} has type {}, not {ty}",
                    x.index(),
                    out.ty(a)
                ))
            }
            None => out.full(0.0, &ty, kspan),
        };
        if let (Some(yn), Some(xn)) = (&y_name, name_of(g, x)) {
            out.set_label(r, &format!("d_{yn}/d_{xn}"));
        }
        done.insert(k, r);
    }
    done.get(&gid)
        .copied()
        .ok_or_else(|| "grad node missing from its own sweep".into())
}

fn has_users(g: &Graph, id: NodeId) -> bool {
    g.dag
        .neighbors_directed(id, petgraph::Direction::Outgoing)
        .next()
        .is_some()
}

/// A node's user-facing name: its input/param name or its `let` label.
fn name_of(g: &Graph, id: NodeId) -> Option<String> {
    let n = g.node(id);
    match &n.op {
        Op::Input { name, .. } | Op::Param { name, .. } => Some(name.clone()),
        _ => n.label.clone(),
    }
}

/// One backward sweep in `out` from the float scalar `y`: the adjoint of each
/// of `wrt` (None where no gradient reaches it). See the module header.
fn sweep(
    out: &mut Graph,
    y: NodeId,
    wrt: &[NodeId],
    span: Option<Span>,
) -> Result<Vec<Option<NodeId>>, String> {
    let n = y.index() + 1;
    let float = |g: &Graph, id: NodeId| g.ty(id).dtype.is_float();
    let Some(lo) = wrt.iter().map(|x| x.index()).filter(|&i| i < n).min() else {
        return Ok(vec![None; wrt.len()]);
    };
    // Descendants of the requested x's, through float nodes.
    let mut desc = vec![false; n];
    for &x in wrt {
        if x.index() < n && float(out, x) {
            desc[x.index()] = true;
        }
    }
    for i in lo..n {
        let id = NodeId::new(i);
        let node = out.node(id);
        if !desc[i]
            && float(out, id)
            && node.op != Op::StopGradient
            && node.args.iter().any(|a| a.index() < n && desc[a.index()])
        {
            desc[i] = true;
        }
    }
    if !desc[y.index()] {
        return Ok(vec![None; wrt.len()]);
    }
    // Active: descendants that are ancestors of y.
    let mut active = vec![false; n];
    active[y.index()] = true;
    for i in (lo..n).rev() {
        if active[i] {
            for a in &out.node(NodeId::new(i)).args {
                if a.index() < i && desc[a.index()] {
                    active[a.index()] = true;
                }
            }
        }
    }
    let mut adj: Vec<Option<NodeId>> = vec![None; n];
    let dtype = out.ty(y).dtype;
    adj[y.index()] = Some(out.literal(Scalar::Float(1.0), dtype, span));
    for i in (lo..n).rev() {
        let Some(ct) = adj[i].filter(|_| active[i]) else {
            continue;
        };
        let node = out.node(NodeId::new(i)).clone();
        let need: Vec<bool> = node.args.iter().map(|a| active[a.index()]).collect();
        if !need.iter().any(|&b| b) {
            continue;
        }
        let fwd = Fwd {
            op: &node.op,
            args: &node.args,
            out: NodeId::new(i),
            span: node.span,
            need: &need,
        };
        let contribs = rules::vjp(out, &fwd, ct)?;
        if contribs.len() != node.args.len() {
            return Err(format!(
                "the rule of {} gave {} cotangents",
                node.op.name(),
                contribs.len()
            ));
        }
        for (k, (&a, c)) in node.args.iter().zip(contribs).enumerate() {
            let Some(c) = c.filter(|_| need[k]) else {
                continue;
            };
            if out.ty(c) != out.ty(a) {
                return Err(format!(
                    "the rule of {} gave a cotangent of type {} for an operand of type {}",
                    node.op.name(),
                    out.ty(c),
                    out.ty(a)
                ));
            }
            let slot = &mut adj[a.index()];
            *slot = Some(match *slot {
                None => c,
                Some(prev) => out.binary(BinaryOp::Add, prev, c, node.span),
            });
        }
    }
    Ok(wrt
        .iter()
        .map(|x| adj.get(x.index()).copied().flatten())
        .collect())
}
