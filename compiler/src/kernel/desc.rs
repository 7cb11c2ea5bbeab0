//! The descriptor text of docs/abi.md: what the JIT hands the runtime's
//! driver, and what the LLVM backend (weft-llvm) stores in the object.

use std::fmt::Write;

use crate::ir::graph::{Dist, Feed, Init, SeedPart};
use crate::ir::op::Distribution;
use crate::ir::size::PostOp;
use crate::ir::types::{Dim, Poly, Scalar, TensorType};
use crate::kernel::{OutputSrc, Program};

fn num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{v:?}")
    }
}

fn ty(p: &Program, t: &TensorType) -> String {
    let mut s = format!("{} {}", t.dtype, t.shape.len());
    for d in &t.shape {
        match d {
            Dim::Lit(n) => write!(s, " {n}").unwrap_or(()),
            Dim::Sym(_) | Dim::Expr(_) => {
                write!(s, " ${}", p.dim_slot(d).unwrap_or(usize::MAX)).unwrap_or(())
            }
        }
    }
    s
}

/// A derived size's postfix code (docs/abi.md, `size` records).
fn size_code(p: &Program, e: &Poly) -> String {
    let base = p.base_dims();
    let code = e
        .postfix(&|n| p.dims[..base].iter().position(|d| d == n))
        .unwrap_or_default();
    let parts: Vec<String> = code
        .iter()
        .map(|op| match op {
            PostOp::Dim(k) => format!("${k}"),
            PostOp::Lit(v) => v.to_string(),
            PostOp::Add => "+".into(),
            PostOp::Mul => "*".into(),
            PostOp::Div => "div".into(),
        })
        .collect();
    parts.join(" ")
}

/// A feed's kind and arguments (docs/abi.md).
fn feed_text(p: &Program, f: &Feed<Dim>) -> String {
    match f {
        Feed::Step => "step".into(),
        Feed::Rank => "rank".into(),
        Feed::World => "world".into(),
        Feed::Batch {
            rows,
            size,
            shuffle,
        } => {
            let rows = match rows {
                Dim::Lit(n) => n.to_string(),
                Dim::Sym(_) | Dim::Expr(_) => {
                    format!("${}", p.dim_slot(rows).unwrap_or(usize::MAX))
                }
            };
            let sh = shuffle.map_or("-".to_string(), |k| k.to_string());
            format!("batch {rows} {size} {sh}")
        }
        Feed::Random { dist, seed } => {
            let d = match dist {
                Dist::Normal { mean, std } => format!("normal {} {}", num(*mean), num(*std)),
                Dist::Uniform { lo, hi } => format!("uniform {} {}", num(*lo), num(*hi)),
            };
            let parts: Vec<String> = seed
                .iter()
                .map(|s| match s {
                    SeedPart::Lit(k) => k.to_string(),
                    SeedPart::Step => "step".into(),
                    SeedPart::Rank => "rank".into(),
                })
                .collect();
            format!("{d} seed {}", parts.join(" "))
        }
    }
}

/// The descriptor of `p` (docs/abi.md, "The descriptor").
pub fn descriptor(p: &Program) -> String {
    let mut s = String::from("weft-program 1\n");
    let mut line = |l: String| {
        s.push_str(l.trim_end());
        s.push('\n');
    };
    let base = p.base_dims();
    line(format!("dims {}", p.dims[..base].join(" ")));
    for (i, e) in p.derived.iter().enumerate() {
        line(format!("size ${} {} = {e}", base + i, size_code(p, e)));
    }
    let user = p.user_inputs();
    for (name, t) in &p.inputs[..user] {
        line(format!("input {name} {}", ty(p, t)));
    }
    for ((name, t), f) in p.inputs[user..].iter().zip(&p.feeds) {
        line(format!("feed {name} {} {}", ty(p, t), feed_text(p, f)));
    }
    for prm in &p.params {
        let init = match &prm.init {
            Init::Full(Scalar::Float(v)) => format!("full {}", num(*v)),
            Init::Full(Scalar::Int(v)) => format!("full {v}"),
            Init::Full(Scalar::Bool(v)) => format!("full {v}"),
            Init::Random {
                dist: Distribution::Normal { mean, std },
                seed,
            } => {
                format!("normal {} {} {seed}", num(*mean), num(*std))
            }
            Init::Random {
                dist: Distribution::Uniform { lo, hi },
                seed,
            } => {
                format!("uniform {} {} {seed}", num(*lo), num(*hi))
            }
            Init::Iota => "iota".into(),
        };
        line(format!("param {} {} {init}", prm.name, ty(p, &prm.ty)));
    }
    for (name, t, src) in &p.outputs {
        let src = match src {
            OutputSrc::Step(k) => format!("step {k}"),
            OutputSrc::Param(k) => format!("param {k}"),
        };
        line(format!("output {name} {} {src}", ty(p, t)));
    }
    for u in &p.updates {
        line(format!("update {u}"));
    }
    for u in &p.until {
        line(format!("until {u}"));
    }
    for (i, e) in p.errors.iter().enumerate() {
        line(format!("error {} {}", i + 1, e.replace('\n', " ")));
    }
    // What each kernel computes of the source (`--stats`, `--profile`).
    let list = |v: &[String]| {
        let parts: Vec<String> = v
            .iter()
            .map(|x| x.replace([' ', ','], "_"))
            .filter(|x| !x.is_empty())
            .collect();
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(",")
        }
    };
    for (k, kern) in p.kernels.iter().enumerate() {
        let o = p.origins.get(k).cloned().unwrap_or_default();
        line(format!(
            "kernel {k} {} {} {}",
            kern.kind(),
            list(&o.lines),
            list(&o.lets)
        ));
    }
    s
}
