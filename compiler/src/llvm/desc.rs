//! The descriptor text of docs/abi.md and the globals that hold it.

use std::fmt::Write;

use inkwell::module::Linkage;

use super::gen::Gen;
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

/// `weft_program_desc` and `weft_program_desc_len`.
pub(crate) fn globals(g: &Gen, text: &str) {
    let bytes = g.ctx.const_string(text.as_bytes(), false);
    let d = g
        .module
        .add_global(bytes.get_type(), None, "weft_program_desc");
    d.set_initializer(&bytes);
    d.set_constant(true);
    d.set_linkage(Linkage::External);
    let i64t = g.ctx.i64_type();
    let l = g.module.add_global(i64t, None, "weft_program_desc_len");
    l.set_initializer(&i64t.const_int(text.len() as u64, false));
    l.set_constant(true);
    l.set_linkage(Linkage::External);
}
