//! The pass pipeline over the graph IR, as data: [`PIPELINE`] lists the passes
//! in order; [`run_pipeline`] runs them, verifying the IR after each one and
//! offering the IR to a dump hook (`--dump-after=PASS`).
//!
//! The front end's elaboration is the pipeline's source ("elaborate"); every
//! pass after it is a function from graph to graph.

pub mod autodiff;
pub mod simplify;
pub mod vjp;

use crate::ir::graph::{FeedDecl, Graph, NodeId};
use crate::ir::verify::{verify, Stage};

pub struct Pass {
    pub name: &'static str,
    /// What the IR satisfies after this pass.
    pub stage: Stage,
    pub run: fn(&Graph) -> Result<Graph, String>,
}

pub const PIPELINE: &[Pass] = &[
    Pass {
        name: "autodiff",
        stage: Stage::AfterAutodiff,
        run: autodiff::run,
    },
    Pass {
        name: "simplify",
        stage: Stage::AfterAutodiff,
        run: simplify_pass,
    },
];

fn simplify_pass(g: &Graph) -> Result<Graph, String> {
    Ok(simplify::run(g))
}

/// Names accepted by `--dump-after`.
pub fn pass_names() -> Vec<&'static str> {
    let mut v = vec!["elaborate"];
    v.extend(PIPELINE.iter().map(|p| p.name));
    v
}

/// Runs every pass; `dump(name, graph)` sees the IR after elaboration and
/// after each pass. An error is a compiler bug (invalid IR), never a user error.
pub fn run_pipeline(g: Graph, dump: &mut dyn FnMut(&str, &Graph)) -> Result<Graph, String> {
    check(&g, "elaborate", Stage::BeforeAutodiff)?;
    dump("elaborate", &g);
    let mut g = g;
    for pass in PIPELINE {
        g = (pass.run)(&g)
            .map_err(|e| format!("internal compiler error in pass {}: {e}", pass.name))?;
        check(&g, pass.name, pass.stage)?;
        dump(pass.name, &g);
    }
    Ok(g)
}

fn check(g: &Graph, pass: &str, stage: Stage) -> Result<(), String> {
    verify(g, stage).map_err(|errs| {
        format!(
            "internal compiler error: invalid IR after pass {pass}:\n  {}",
            errs.join("\n  ")
        )
    })
}

/// Copies `g` into a new graph node by node, in order. For each old node,
/// `image(new, old_id, new_args)` returns the node that stands for it in the
/// new graph (it may build several nodes, or reuse one); `None` drops the node
/// (only valid for nodes nothing kept uses). The program's interface is remapped.
pub fn rebuild(
    g: &Graph,
    mut image: impl FnMut(&mut Graph, NodeId, Vec<NodeId>) -> Option<NodeId>,
) -> Graph {
    let mut out = Graph {
        dims: g.dims.clone(),
        ..Graph::default()
    };
    let mut map: Vec<Option<NodeId>> = vec![None; g.len()];
    for id in g.ids() {
        let args: Option<Vec<NodeId>> = g.node(id).args.iter().map(|a| map[a.index()]).collect();
        let Some(args) = args else { continue };
        map[id.index()] = image(&mut out, id, args);
        if let Some(new) = map[id.index()] {
            if let Some(l) = &g.node(id).label {
                out.set_label(new, l);
            }
        }
    }
    let remap = |id: NodeId, what: &str, out: &mut Graph| -> NodeId {
        map[id.index()].unwrap_or_else(|| {
            out.bugs.push(format!("{what} lost its node"));
            id
        })
    };
    for (n, id) in &g.inputs {
        let new = remap(*id, n, &mut out);
        out.inputs.push((n.clone(), new));
    }
    // A feed nothing uses is dropped with its node (the run need not compute it).
    for f in &g.feeds {
        if let Some(new) = map[f.node.index()] {
            out.feeds.push(FeedDecl {
                node: new,
                ..f.clone()
            });
        }
    }
    for p in &g.params {
        let mut p = p.clone();
        p.node = remap(p.node, &p.name, &mut out);
        out.params.push(p);
    }
    for (n, id) in &g.outputs {
        let new = remap(*id, n, &mut out);
        out.outputs.push((n.clone(), new));
    }
    for (n, id) in &g.updates {
        let new = remap(*id, n, &mut out);
        out.updates.push((n.clone(), new));
    }
    for id in &g.until {
        let new = remap(*id, "until", &mut out);
        out.until.push(new);
    }
    out.bugs.extend(g.bugs.iter().cloned());
    out
}
