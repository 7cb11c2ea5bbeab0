//! The descriptor text of docs/abi.md: what the JIT hands the runtime's
//! driver, and what the LLVM backend (weft-llvm) stores in the object.

use std::fmt::Write;

use crate::ir::graph::Init;
use crate::ir::op::Distribution;
use crate::ir::types::{Dim, Scalar, TensorType};
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
            Dim::Sym(name) => {
                write!(s, " ${}", p.dim_index(name).unwrap_or(usize::MAX)).unwrap_or(())
            }
        }
    }
    s
}

/// The descriptor of `p` (docs/abi.md, "The descriptor").
pub fn descriptor(p: &Program) -> String {
    let mut s = String::from("weft-program 1\n");
    let mut line = |l: String| {
        s.push_str(l.trim_end());
        s.push('\n');
    };
    line(format!("dims {}", p.dims.join(" ")));
    for (name, t) in &p.inputs {
        line(format!("input {name} {}", ty(p, t)));
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
    for (i, e) in p.errors.iter().enumerate() {
        line(format!("error {} {}", i + 1, e.replace('\n', " ")));
    }
    s
}
