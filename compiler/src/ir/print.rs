//! The deterministic text form of the graph IR. Snapshot tests and
//! `--dump-after` print through it.

use std::fmt::Write;

use super::graph::{Graph, Init};
use super::op::{Distribution, Op};
use super::types::shape_str;

fn dist_str(d: &Distribution) -> String {
    match d {
        Distribution::Normal { mean, std } => format!("normal(mean={mean}, std={std}"),
        Distribution::Uniform { lo, hi } => format!("uniform(lo={lo}, hi={hi}"),
    }
}

/// The op with its attributes, e.g. `reduce_sum[axes=0,1]`.
pub fn op_str(op: &Op) -> String {
    let name = op.name();
    match op {
        Op::Input { name: n, .. } | Op::Param { name: n, .. } => format!("{name} {n}"),
        Op::Literal { value, .. } => format!("{name} {value}"),
        Op::SizeOf { dims, .. } => format!("{name}{}", shape_str(dims)),
        Op::Iota { axis, .. } => format!("{name}[axis={axis}]"),
        Op::Random { dist, seed, .. } => format!("{}, seed={seed})", dist_str(dist)),
        Op::Cast { to } => format!("{name}[{to}]"),
        Op::Broadcast { shape } | Op::Reshape { shape } => format!("{name}{}", shape_str(shape)),
        Op::Transpose { perm } => format!("{name}{perm:?}"),
        Op::Slice {
            axis,
            start,
            step,
            len,
        } => {
            format!("{name}[axis={axis}, start={start}, step={step}, len={len}]")
        }
        Op::SliceGrad {
            axis, start, step, ..
        } => {
            format!("{name}[axis={axis}, start={start}, step={step}]")
        }
        Op::Concat { axis } | Op::ArgMax { axis } => format!("{name}[axis={axis}]"),
        Op::Reduce { axes, .. } => format!("{name}{axes:?}"),
        Op::Cumsum { axis, reverse } => format!("{name}[axis={axis}, reverse={reverse}]"),
        Op::Conv2d { win, groups }
        | Op::Conv2dGradInput { win, groups, .. }
        | Op::Conv2dGradWeight { win, groups, .. } => format!("{name}[{win}, groups={groups}]"),
        Op::Window { win, fill } => format!("{name}[{win}, fill={fill}]"),
        Op::WindowGrad { win, .. } => format!("{name}[{win}]"),
        Op::Unary(_)
        | Op::Binary(_)
        | Op::Select
        | Op::Gather
        | Op::ScatterAdd { .. }
        | Op::MatMul
        | Op::StopGradient
        | Op::AllSum
        | Op::Grad => name.to_string(),
    }
}

pub fn print(g: &Graph) -> String {
    let mut s = String::new();
    for d in &g.dims {
        let _ = writeln!(s, "dim {d}");
    }
    for p in &g.params {
        let init = match &p.init {
            Init::Full(v) => format!("full({v})"),
            Init::Random { dist, seed } => format!("{}, seed={seed})", dist_str(dist)),
            Init::Iota => "arange".to_string(),
        };
        let _ = writeln!(s, "param {}: {} = {init}", p.name, p.ty);
    }
    for id in g.ids() {
        let n = g.node(id);
        let args: Vec<String> = n.args.iter().map(|a| format!("%{}", a.index())).collect();
        let mut line = format!("%{} = {}", id.index(), op_str(&n.op));
        if !args.is_empty() {
            let _ = write!(line, " {}", args.join(", "));
        }
        let _ = write!(line, " : {}", n.ty);
        if let Some(l) = &n.label {
            let _ = write!(line, "  // {l}");
        }
        let _ = writeln!(s, "{line}");
    }
    for (name, id) in &g.outputs {
        let _ = writeln!(s, "output {name} = %{}", id.index());
    }
    for (name, id) in &g.updates {
        let _ = writeln!(s, "update {name} = %{}", id.index());
    }
    for f in &g.feeds {
        let _ = writeln!(s, "feed {} = %{}  // {:?}", f.name, f.node.index(), f.feed);
    }
    for id in &g.until {
        let _ = writeln!(s, "until %{}", id.index());
    }
    s
}
