//! The view as Graphviz DOT: inputs, params, lets, outputs, updates and
//! untils in distinct shapes and colours; lets computed by `grad` dashed
//! and purple, and the edges into them; function calls as clusters (nested
//! as the calls are), record leaves (`net.w1`) grouped by record; with a
//! profile, lets filled from white through yellow to red by their share of
//! the run's time, which their labels give; a legend.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::trace::Profile;
use super::view::{Kind, View};

const GRAD: &str = "#7c3aed";

/// Time per vertex (µs) and the total, from a profile.
pub struct Times {
    pub per_vertex: Vec<Option<f64>>,
    pub total_us: f64,
}

/// Distributes a profile's time over the view's vertices: a `let` name goes
/// to the drawn lets of that name (else the outputs, else the library calls
/// holding a `let` of that name), a gradient's name (`d_loss/d_w1`) to the
/// let bound to `grad(loss, w1)`, `update:w1` and `output:y` to those items;
/// split equally when several share it.
pub fn times(view: &View, p: &Profile) -> Times {
    let mut per_vertex: Vec<Option<f64>> = vec![None; view.vertices.len()];
    let mut names: Vec<(&String, &f64)> = p.per_let.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    for (name, us) in names {
        let of = |kind: Kind| -> Vec<usize> {
            (0..view.vertices.len())
                .filter(|&v| view.vertices[v].kind == kind && view.vertices[v].name == *name)
                .collect()
        };
        let item = |kind: Kind, prefix: &str| -> Vec<usize> {
            let Some(n) = name.strip_prefix(prefix) else {
                return Vec::new();
            };
            (0..view.vertices.len())
                .filter(|&v| view.vertices[v].kind == kind && view.vertices[v].name == n)
                .collect()
        };
        let mut to = of(Kind::Let);
        if to.is_empty() {
            to = view.gradients.get(name).cloned().unwrap_or_default();
        }
        if to.is_empty() {
            to = item(Kind::Update, "update:");
        }
        if to.is_empty() {
            to = item(Kind::Output, "output:");
        }
        if to.is_empty() {
            to = of(Kind::Output);
        }
        if to.is_empty() {
            to = view.hidden_lets.get(name).cloned().unwrap_or_default();
            to.sort_unstable();
            to.dedup();
        }
        for &v in &to {
            *per_vertex[v].get_or_insert(0.0) += us / to.len() as f64;
        }
    }
    Times {
        per_vertex,
        total_us: p.total_us,
    }
}

/// `title` is the graph's label (the program's file).
pub fn render(view: &View, title: &str, times: Option<&Times>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph weft {{");
    let mut title = title.to_string();
    if let Some(t) = times {
        let _ = write!(title, "\ntime: {:.3} ms", t.total_us / 1e3);
    }
    let _ = writeln!(
        s,
        "  graph [label=\"{}\", labelloc=t, fontname=\"Helvetica\", fontsize=14, rankdir=TB];",
        esc(&title)
    );
    let _ = writeln!(s, "  node [fontname=\"Helvetica\", fontsize=11];");
    let _ = writeln!(s, "  edge [color=\"#555555\", arrowsize=0.7];");
    // Vertices by cluster (None: the top level), clusters by parent.
    let mut members: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (v, vert) in view.vertices.iter().enumerate() {
        members.entry(vert.cluster).or_default().push(v);
    }
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (c, cl) in view.clusters.iter().enumerate() {
        children.entry(cl.parent).or_default().push(c);
    }
    let ctx = Ctx {
        view,
        times,
        members: &members,
        children: &children,
    };
    ctx.scope(&mut s, None, 1);
    for &(from, to) in &view.edges {
        if view.vertices[to].grad {
            let _ = writeln!(s, "  v{from} -> v{to} [style=dashed, color=\"{GRAD}\"];");
        } else {
            let _ = writeln!(s, "  v{from} -> v{to};");
        }
    }
    legend(&mut s, times.is_some());
    s.push_str("}\n");
    s
}

struct Ctx<'a> {
    view: &'a View,
    times: Option<&'a Times>,
    members: &'a BTreeMap<Option<usize>, Vec<usize>>,
    children: &'a BTreeMap<Option<usize>, Vec<usize>>,
}

impl Ctx<'_> {
    /// The vertices and nested clusters of cluster `c` (None: the top level).
    fn scope(&self, s: &mut String, c: Option<usize>, depth: usize) {
        let pad = "  ".repeat(depth);
        // Record leaves (`net.w1`) grouped by kind and record.
        let mut records: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for &v in self.members.get(&c).map(Vec::as_slice).unwrap_or(&[]) {
            let vert = &self.view.vertices[v];
            match vert.name.split_once('.') {
                Some((root, _)) if !matches!(vert.kind, Kind::Result | Kind::Grad) => {
                    records.entry((vert.kind.word(), root)).or_default().push(v);
                }
                _ => self.vertex(s, v, &pad),
            }
        }
        for (k, ((kind, root), vs)) in records.into_iter().enumerate() {
            let id = c.map_or("top".to_string(), |c| c.to_string());
            let _ = writeln!(s, "{pad}subgraph cluster_record_{id}_{k} {{");
            let _ = writeln!(
                s,
                "{pad}  label=\"{kind} {}\"; style=\"rounded,dashed\"; color=\"#9ca3af\"; fontsize=10;",
                esc(root)
            );
            for v in vs {
                self.vertex(s, v, &format!("{pad}  "));
            }
            let _ = writeln!(s, "{pad}}}");
        }
        for &k in self.children.get(&c).map(Vec::as_slice).unwrap_or(&[]) {
            let cl = &self.view.clusters[k];
            let _ = writeln!(s, "{pad}subgraph cluster_call_{k} {{");
            let (color, fill) = if cl.library {
                ("#6b7280", "#f3f4f6")
            } else {
                ("#2563eb", "#eff6ff")
            };
            let _ = writeln!(
                s,
                "{pad}  label=\"{}\"; style=\"rounded,filled\"; color=\"{color}\"; fillcolor=\"{fill}\"; fontsize=11;",
                esc(&cl.label)
            );
            self.scope(s, Some(k), depth + 1);
            let _ = writeln!(s, "{pad}}}");
        }
    }

    fn vertex(&self, s: &mut String, v: usize, pad: &str) {
        let vert = &self.view.vertices[v];
        let mut label = match vert.kind {
            Kind::Output | Kind::Update => {
                format!("{} {}\n{}", vert.kind.word(), vert.name, vert.ty)
            }
            Kind::Input
            | Kind::Feed
            | Kind::Param
            | Kind::Let
            | Kind::Grad
            | Kind::Result
            | Kind::Until => format!("{}\n{}", vert.name, vert.ty),
        };
        if let Some(at) = &vert.at {
            let _ = write!(label, "\n{at}");
        }
        let time = self
            .times
            .and_then(|t| t.per_vertex.get(v).copied().flatten().map(|us| (us, t)));
        if let Some((us, t)) = time {
            let share = if t.total_us > 0.0 {
                us / t.total_us
            } else {
                0.0
            };
            let _ = write!(label, "\n{:.3} ms ({:.1}%)", us / 1e3, share * 100.0);
        }
        let mut attrs = vec![format!("label=\"{}\"", esc(&label))];
        let (shape, style, fill) = match vert.kind {
            Kind::Input => ("box", "rounded,filled", "#dbeafe"),
            Kind::Feed => ("box", "rounded,filled,dashed", "#dbeafe"),
            Kind::Param => ("box3d", "filled", "#dcfce7"),
            Kind::Let | Kind::Grad => ("ellipse", "filled", "#ffffff"),
            Kind::Result => ("box", "rounded,filled", "#ffffff"),
            Kind::Output => ("doubleoctagon", "filled", "#fde7f3"),
            Kind::Update => ("cds", "filled", "#dcfce7"),
            Kind::Until => ("octagon", "filled", "#e5e7eb"),
        };
        let mut style = style.to_string();
        let mut fill = fill.to_string();
        if let Some((us, t)) = time {
            fill = heat(us, t);
        }
        if vert.grad {
            style.push_str(",dashed");
            attrs.push(format!("color=\"{GRAD}\", fontcolor=\"{GRAD}\""));
        }
        attrs.push(format!(
            "shape={shape}, style=\"{style}\", fillcolor=\"{fill}\""
        ));
        let _ = writeln!(s, "{pad}v{v} [{}];", attrs.join(", "));
    }
}

/// White → yellow → red by the vertex's share of the time, relative to
/// the largest share (the hottest `let` is red).
fn heat(us: f64, t: &Times) -> String {
    let max = t.per_vertex.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    let x = if max > 0.0 {
        (us / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (g, b) = if x <= 0.5 {
        (255.0, 255.0 * (1.0 - 2.0 * x))
    } else {
        (255.0 * (2.0 - 2.0 * x), 0.0)
    };
    format!("#ff{:02x}{:02x}", g.round() as u8, b.round() as u8)
}

fn legend(s: &mut String, profiled: bool) {
    s.push_str("  subgraph cluster_legend {\n");
    s.push_str("    label=\"legend\"; style=\"rounded\"; color=\"#9ca3af\"; fontsize=10;\n");
    s.push_str("    node [fontsize=9, width=0, height=0, margin=\"0.06,0.03\"];\n");
    let mut items = vec![
        (
            "input",
            "shape=box, style=\"rounded,filled\", fillcolor=\"#dbeafe\"",
        ),
        ("param", "shape=box3d, style=filled, fillcolor=\"#dcfce7\""),
        ("let", "shape=ellipse"),
        (
            "grad(..)",
            "shape=ellipse, style=dashed, color=\"#7c3aed\", fontcolor=\"#7c3aed\"",
        ),
        ("call result", "shape=box, style=rounded"),
        (
            "output",
            "shape=doubleoctagon, style=filled, fillcolor=\"#fde7f3\"",
        ),
        ("update", "shape=cds, style=filled, fillcolor=\"#dcfce7\""),
    ];
    if profiled {
        items.push((
            "some time",
            "shape=box, style=filled, fillcolor=\"#ffff80\"",
        ));
        items.push((
            "most time",
            "shape=box, style=filled, fillcolor=\"#ff0000\"",
        ));
    }
    for (k, (label, attrs)) in items.iter().enumerate() {
        let _ = writeln!(s, "    legend{k} [label=\"{label}\", {attrs}];");
    }
    let row: Vec<String> = (0..items.len()).map(|k| format!("legend{k}")).collect();
    let _ = writeln!(s, "    {{ rank=same; {}; }}", row.join("; "));
    let _ = writeln!(s, "    {} [style=invis];", row.join(" -> "));
    s.push_str("  }\n");
}

/// A DOT string's contents: quotes and backslashes escaped, line breaks as
/// DOT's centred `\n`.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
