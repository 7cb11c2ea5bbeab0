//! The program's graph at the level it was written, built from the
//! elaborated graph and its provenance side table
//! ([`weft_compiler::ir::provenance`]): one vertex per input, feed, param,
//! `let` (a record's per leaf), output, update and `until`, and one per
//! tensor a function call returns; calls as clusters. An edge goes from each
//! vertex to the vertices its value is computed from, through the unnamed
//! primitive nodes in between.
//!
//! Calls of the standard library are clusters holding their result only:
//! their `let`s and the calls inside them are not the user's program. The
//! check of each function body on its own (dead nodes of the elaborated
//! graph) is left out.

use std::collections::HashMap;

use weft_compiler::front::source::SourceMap;
use weft_compiler::ir::graph::{Graph, NodeId};
use weft_compiler::ir::op::Op;
use weft_compiler::ir::provenance::{Moment, Provenance};
use weft_grammar::ast::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Input,
    /// A value the run supplies per step (`step()`, a batch's rows, ..).
    Feed,
    Param,
    Let,
    /// A `grad(..)` no `let` names (an argument, say).
    Grad,
    /// A tensor a function call returns.
    Result,
    Output,
    Update,
    Until,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Feed => "feed",
            Kind::Param => "param",
            Kind::Let => "let",
            Kind::Grad => "grad",
            Kind::Result => "result",
            Kind::Output => "output",
            Kind::Update => "update",
            Kind::Until => "until",
        }
    }
}

pub struct Vertex {
    pub kind: Kind,
    pub name: String,
    /// `f32[B, 16]`.
    pub ty: String,
    /// `line 12`, or `FILE:12` in another file than the program's.
    pub at: Option<String>,
    /// The cluster (call) it is drawn in.
    pub cluster: Option<usize>,
    /// Its value comes from `grad(..)`.
    pub grad: bool,
}

pub struct Cluster {
    /// `dense (line 19)`.
    pub label: String,
    pub parent: Option<usize>,
    pub library: bool,
}

pub struct View {
    pub vertices: Vec<Vertex>,
    /// (from, to): `to` is computed from `from`.
    pub edges: Vec<(usize, usize)>,
    pub clusters: Vec<Cluster>,
    /// The names of `let`s inside library calls (not drawn), with the
    /// result vertices of the call drawn for them: a profile's time for
    /// such a `let` goes to its call.
    pub hidden_lets: HashMap<String, Vec<usize>>,
    /// A gradient as profiles name it, `d_loss/d_w1` (what the autodiff
    /// pass labels `grad(loss, w1)`'s result), with the vertices drawn for
    /// it (the `let` bound to it, or its `grad(..)` vertex).
    pub gradients: HashMap<String, Vec<usize>>,
}

/// Builds the view of `g`, an elaborated graph (`Stage::Checked`); `main` is
/// the program's file, whose positions are shown as bare line numbers.
pub fn build(g: &Graph, map: &SourceMap, main: FileId) -> Result<View, String> {
    let prov = g
        .provenance
        .as_deref()
        .ok_or("internal compiler error: the elaborated graph has no provenance table")?;
    let at = |s: Span| {
        let (line, _) = map.line_col(s);
        if s.file == main {
            format!("line {line}")
        } else {
            let name = map.name(s.file);
            let base = name.rsplit('/').next().unwrap_or(&name).to_string();
            format!("{base}:{line}")
        }
    };
    let calls = Calls::new(prov, &at);
    let mut b = Builder {
        g,
        vertices: Vec::new(),
        bound: vec![Vec::new(); g.len()],
    };
    // Inputs, feeds and params, bound as their nodes are built.
    let span_at = |id: NodeId| g.node(id).span.map(&at);
    for (name, id) in &g.inputs {
        b.binding(Kind::Input, name, *id, span_at(*id), None, built(*id));
    }
    for f in &g.feeds {
        let name = f.name.trim_start_matches('#');
        b.binding(
            Kind::Feed,
            name,
            f.node,
            span_at(f.node),
            None,
            built(f.node),
        );
    }
    for p in &g.params {
        b.binding(
            Kind::Param,
            &p.name,
            p.node,
            span_at(p.node),
            None,
            built(p.node),
        );
    }
    // Lets and call results, in the order they were bound.
    let mut named: Vec<Named> = Vec::new();
    let mut hidden_owner: Vec<(String, usize)> = Vec::new();
    for l in &prov.lets {
        match calls.let_place(l.call) {
            Place::Drawn(cluster) => {
                named.push(Named {
                    at: l.at,
                    kind: Kind::Let,
                    node: l.node,
                    name: l.name.clone(),
                    place: Some(at(l.span)),
                    cluster,
                });
            }
            Place::InLibrary(c) => hidden_owner.push((l.name.clone(), c)),
            Place::Hidden => {}
        }
    }
    for (c, site) in prov.calls.iter().enumerate() {
        let Some(cluster) = calls.drawn[c] else {
            continue;
        };
        for (i, &node) in site.results.iter().enumerate() {
            let name = if site.results.len() == 1 {
                "result".to_string()
            } else {
                format!("result.{i}")
            };
            named.push(Named {
                at: site.ended,
                kind: Kind::Result,
                node,
                name,
                place: None,
                cluster: Some(cluster),
            });
        }
    }
    named.sort_by_key(|n| n.at);
    let mut result_vertices: HashMap<usize, Vec<usize>> = HashMap::new();
    for n in named {
        let v = b.binding(n.kind, &n.name, n.node, n.place, n.cluster, n.at);
        if let (Kind::Result, Some(c)) = (n.kind, n.cluster) {
            result_vertices.entry(c).or_default().push(v);
        }
    }
    let mut hidden_lets: HashMap<String, Vec<usize>> = HashMap::new();
    for (name, c) in hidden_owner {
        if let Some(vs) = calls.drawn[c].and_then(|cl| result_vertices.get(&cl)) {
            hidden_lets
                .entry(name)
                .or_default()
                .extend(vs.iter().copied());
        }
    }
    // Gradients no `let` names, so that the gradient subgraph shows.
    for id in g.ids() {
        let named_by_let = b.bound[id.index()]
            .iter()
            .any(|&(_, v)| b.vertices[v].0.kind == Kind::Let);
        if !matches!(g.node(id).op, Op::Grad) || named_by_let {
            continue;
        }
        let Place::Drawn(cluster) = calls.let_place(prov.call_of(id)) else {
            continue;
        };
        let name_of = |a: Option<&NodeId>| {
            a.and_then(|a| b.latest(*a, built(id)))
                .map_or("..".to_string(), |v| b.vertices[v].0.name.clone())
        };
        let args = &g.node(id).args;
        let name = format!("grad({}, {})", name_of(args.first()), name_of(args.get(1)));
        b.binding(Kind::Grad, &name, id, span_at(id), cluster, built(id));
    }
    // The program's items, which nothing reads.
    for (list, kind) in [
        (&prov.outputs, Kind::Output),
        (&prov.updates, Kind::Update),
        (&prov.until, Kind::Until),
    ] {
        for o in list {
            b.item(kind, &o.name, o.node, Some(at(o.span)), o.at);
        }
    }
    let mut gradients: HashMap<String, Vec<usize>> = HashMap::new();
    let user_name = |id: NodeId| {
        let n = g.node(id);
        match &n.op {
            Op::Input { name, .. } | Op::Param { name, .. } => Some(name.clone()),
            _ => n.label.clone(),
        }
    };
    for id in g.ids() {
        let args = &g.node(id).args;
        if !matches!(g.node(id).op, Op::Grad) || args.len() < 2 {
            continue;
        }
        if let (Some(y), Some(x)) = (user_name(args[0]), user_name(args[1])) {
            let vs = gradients.entry(format!("d_{y}/d_{x}")).or_default();
            vs.extend(b.bound[id.index()].iter().map(|&(_, v)| v));
            vs.sort_unstable();
            vs.dedup();
        }
    }
    let edges = b.edges();
    let vertices = b.vertices.into_iter().map(|(v, ..)| v).collect();
    Ok(View {
        vertices,
        edges,
        clusters: calls.clusters,
        hidden_lets,
        gradients,
    })
}

/// A `let` or a call's result, before it becomes a vertex.
struct Named {
    at: Moment,
    kind: Kind,
    node: NodeId,
    name: String,
    place: Option<String>,
    cluster: Option<usize>,
}

/// The moment node `id` was built (before any binding of it).
fn built(id: NodeId) -> Moment {
    Moment {
        nodes: id.index() + 1,
        seq: 0,
    }
}

/// Where a `let` is drawn.
enum Place {
    /// At the top level or in a call's cluster.
    Drawn(Option<usize>),
    /// Inside a library call (drawn as that call, the index of its site).
    InLibrary(usize),
    /// In the check of a body: not at all.
    Hidden,
}

/// The calls drawn as clusters: neither inside the check of a body nor
/// inside a library call. Calls at one place (a function applied to each
/// leaf of a record) are one cluster.
struct Calls<'p> {
    prov: &'p Provenance,
    /// Per call site: its cluster, when drawn.
    drawn: Vec<Option<usize>>,
    clusters: Vec<Cluster>,
}

impl<'p> Calls<'p> {
    fn new(prov: &'p Provenance, at: &dyn Fn(Span) -> String) -> Calls<'p> {
        let n = prov.calls.len();
        let mut drawn: Vec<Option<usize>> = vec![None; n];
        let mut clusters: Vec<Cluster> = Vec::new();
        let mut by_place: HashMap<(&str, Span, Option<usize>), usize> = HashMap::new();
        for (c, site) in prov.calls.iter().enumerate() {
            // Parents come before their calls.
            let parent = site.parent.map(|p| p as usize).filter(|&p| p < c);
            let visible = match parent {
                None => !site.checking,
                Some(p) => !site.checking && drawn[p].is_some() && !prov.calls[p].library,
            };
            if !visible {
                continue;
            }
            let parent_cluster = parent.and_then(|p| drawn[p]);
            let key = (site.function.as_str(), site.span, parent_cluster);
            let id = *by_place.entry(key).or_insert_with(|| {
                clusters.push(Cluster {
                    label: format!("{} ({})", site.function, at(site.span)),
                    parent: parent_cluster,
                    library: site.library,
                });
                clusters.len() - 1
            });
            drawn[c] = Some(id);
        }
        Calls {
            prov,
            drawn,
            clusters,
        }
    }

    fn let_place(&self, call: Option<u32>) -> Place {
        let Some(c) = call.map(|c| c as usize) else {
            return Place::Drawn(None);
        };
        if self.prov.in_checking(call) {
            return Place::Hidden;
        }
        match self.drawn.get(c).copied().flatten() {
            Some(cl) if !self.prov.calls[c].library => Place::Drawn(Some(cl)),
            _ => {
                // The outermost library call around it, which is drawn.
                let chain = self.prov.chain(call);
                match chain
                    .iter()
                    .map(|&c| c as usize)
                    .find(|&c| self.drawn[c].is_some() && self.prov.calls[c].library)
                {
                    Some(lib) => Place::InLibrary(lib),
                    None => Place::Hidden,
                }
            }
        }
    }
}

struct Builder<'g> {
    g: &'g Graph,
    /// Vertices, each with the node it reads and when.
    vertices: Vec<(Vertex, NodeId, Moment)>,
    /// Per node: the vertices binding it, in the order they were bound.
    bound: Vec<Vec<(Moment, usize)>>,
}

impl Builder<'_> {
    /// A vertex that names its node from `at` on: what is computed from
    /// the node later is computed from it (until another binding).
    fn binding(
        &mut self,
        kind: Kind,
        name: &str,
        node: NodeId,
        place: Option<String>,
        cluster: Option<usize>,
        at: Moment,
    ) -> usize {
        let v = self.item(kind, name, node, place, at);
        self.vertices[v].0.cluster = cluster;
        if let Some(list) = self.bound.get_mut(node.index()) {
            let k = list.partition_point(|&(m, _)| m <= at);
            list.insert(k, (at, v));
        }
        v
    }

    fn item(
        &mut self,
        kind: Kind,
        name: &str,
        node: NodeId,
        place: Option<String>,
        at: Moment,
    ) -> usize {
        self.vertices.push((
            Vertex {
                kind,
                name: name.to_string(),
                ty: self.g.ty(node).to_string(),
                at: place,
                cluster: None,
                grad: false,
            },
            node,
            at,
        ));
        self.vertices.len() - 1
    }

    /// The vertex naming node `id` just before `at`.
    fn latest(&self, id: NodeId, at: Moment) -> Option<usize> {
        let list = self.bound.get(id.index())?;
        let k = list.partition_point(|&(m, _)| m < at);
        k.checked_sub(1).map(|k| list[k].1)
    }

    /// The edges, and each vertex's `grad` flag. Node order is a
    /// topological order: what each node is computed from (the vertices
    /// naming its operands when it was built, or what those were computed
    /// from) is known before its users need it.
    fn edges(&mut self) -> Vec<(usize, usize)> {
        let n = self.g.len();
        let mut from: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut grad = vec![false; n];
        for id in self.g.ids() {
            let node = self.g.node(id);
            let mut srcs = Vec::new();
            let mut gr = matches!(node.op, Op::Grad);
            for a in &node.args {
                match self.latest(*a, built(id)) {
                    Some(v) => srcs.push(v),
                    None => {
                        srcs.extend_from_slice(&from[a.index()]);
                        gr |= grad[a.index()];
                    }
                }
            }
            srcs.sort_unstable();
            srcs.dedup();
            from[id.index()] = srcs;
            grad[id.index()] = gr;
        }
        let mut edges = Vec::new();
        for v in 0..self.vertices.len() {
            let (_, node, at) = self.vertices[v];
            let i = node.index();
            match self.latest(node, at) {
                Some(prev) => edges.push((prev, v)),
                None => {
                    edges.extend(from[i].iter().map(|&f| (f, v)));
                    self.vertices[v].0.grad = grad[i];
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        edges
    }
}
