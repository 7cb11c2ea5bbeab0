//! Binding a run's data to the program: a thin adapter over
//! `weft_runtime::bind`, which built executables use too, so that `weft run`
//! and a built program report bad data with exactly the same messages and
//! exit statuses (the rules are documented there).
//!
//! The graph's interface (size names, inputs, params and their initialisers)
//! becomes a [`ProgramDesc`]; the runtime's bound `.npy` arrays become
//! interpreter tensors and its size bindings a [`DimEnv`].

use std::path::PathBuf;

use std::sync::Arc;
use weft_runtime::bind as rt;

use weft_runtime::program::{
    DerivedDim, DimSpec, Init as RtInit, ParamDecl, ProgramDesc, SizeOp, TensorDecl,
};
use weft_runtime::{InputArg, RunError, ScalarLit};

use super::dims::DimEnv;
use super::internal;
use super::tensor::{f16_unsupported, Tensor};
use crate::ir::graph::{Graph, Init, NodeId};
use crate::ir::op::Distribution;
use crate::ir::size::PostOp;
use crate::ir::types::{DType, Dim, Poly, Scalar, TensorType};

/// The runtime's dtype of a weft dtype (`bf16` has none: the interpreter
/// refuses `f16`/`bf16` programs before binding).
pub(super) fn rt_dtype(d: DType) -> Result<weft_runtime::DType, RunError> {
    use weft_runtime::DType as N;
    Ok(match d {
        DType::F16 => N::F16,
        DType::F32 => N::F32,
        DType::F64 => N::F64,
        DType::I32 => N::I32,
        DType::I64 => N::I64,
        DType::U8 => N::U8,
        DType::Bool => N::Bool,
        DType::BF16 => return Err(f16_unsupported(d)),
    })
}

/// The size names of the interface: those of the inputs' and params'
/// types, then those only size expressions use, in order of appearance.
fn size_names(g: &Graph, derived: &[Arc<Poly>]) -> Vec<String> {
    let mut dims: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !dims.iter().any(|x| x == s) {
            dims.push(s.to_string());
        }
    };
    let types = g
        .inputs
        .iter()
        .map(|(_, id)| g.ty(*id))
        .chain(g.params.iter().map(|p| &p.ty));
    for t in types {
        for d in &t.shape {
            if let Dim::Sym(s) = d {
                add(s);
            }
        }
    }
    for e in derived {
        for s in e.names() {
            add(&s);
        }
    }
    dims
}

/// The runtime's postfix code of a derived size.
fn size_code(dims: &[String], e: &Poly) -> Result<Vec<SizeOp>, RunError> {
    let code = e
        .postfix(&|n| dims.iter().position(|d| d == n))
        .ok_or_else(|| internal(format!("size {e} uses an unknown size name")))?;
    Ok(code
        .into_iter()
        .map(|op| match op {
            PostOp::Dim(k) => SizeOp::Dim(k),
            PostOp::Lit(v) => SizeOp::Lit(v),
            PostOp::Add => SizeOp::Add,
            PostOp::Mul => SizeOp::Mul,
            PostOp::Div => SizeOp::Div,
        })
        .collect())
}

fn decl(
    dims: &[String],
    derived: &[Arc<Poly>],
    name: &str,
    ty: &TensorType,
) -> Result<TensorDecl, RunError> {
    let unknown = || internal(format!("the type {ty} of `{name}` uses an unknown size"));
    let shape = ty
        .shape
        .iter()
        .map(|d| match d {
            Dim::Lit(n) => Ok(DimSpec::Lit(*n)),
            Dim::Sym(s) => dims
                .iter()
                .position(|x| **x == **s)
                .map(DimSpec::Size)
                .ok_or_else(unknown),
            Dim::Expr(p) => derived
                .iter()
                .position(|q| q == p)
                .map(|i| DimSpec::Size(dims.len() + i))
                .ok_or_else(unknown),
        })
        .collect::<Result<_, _>>()?;
    Ok(TensorDecl {
        name: name.to_string(),
        dtype: rt_dtype(ty.dtype)?,
        shape,
    })
}

/// The descriptor of `g`'s interface: what binding needs (no outputs, updates
/// or step errors).
pub fn describe(g: &Graph) -> Result<ProgramDesc, RunError> {
    let derived = g.size_exprs();
    let dims = size_names(g, &derived);
    let mut inputs = Vec::new();
    for (name, id) in &g.inputs {
        inputs.push(decl(&dims, &derived, name, g.ty(*id))?);
    }
    let mut params = Vec::new();
    for p in &g.params {
        let init = match p.init {
            Init::Full(Scalar::Float(v)) => RtInit::Full(ScalarLit::Float(v)),
            Init::Full(Scalar::Int(v)) => RtInit::Full(ScalarLit::Int(v)),
            Init::Full(Scalar::Bool(v)) => RtInit::Full(ScalarLit::Bool(v)),
            Init::Random {
                dist: Distribution::Normal { mean, std },
                seed,
            } => RtInit::Normal { mean, std, seed },
            Init::Random {
                dist: Distribution::Uniform { lo, hi },
                seed,
            } => RtInit::Uniform { lo, hi, seed },
            Init::Iota => RtInit::Iota,
        };
        params.push(ParamDecl {
            decl: decl(&dims, &derived, &p.name, &p.ty)?,
            init,
        });
    }
    let derived = derived
        .iter()
        .map(|e| {
            Ok(DerivedDim {
                text: e.to_string(),
                code: size_code(&dims, e)?,
            })
        })
        .collect::<Result<_, RunError>>()?;
    let desc = ProgramDesc {
        dims,
        derived,
        inputs,
        params,
        ..ProgramDesc::default()
    };
    desc.validate()
        .map_err(|e| internal(format!("the program's interface: {}", e.message)))?;
    Ok(desc)
}

/// Usage errors in `--input`/`--param` names (exit 2).
pub fn check_names(
    g: &Graph,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> Result<(), RunError> {
    rt::check_names(&describe(g)?, inputs, params)
}

/// The bound data of a run.
pub struct Bound {
    pub env: DimEnv,
    /// Input node → value.
    pub inputs: Vec<(NodeId, Tensor)>,
    /// Values of `g.params`, in order.
    pub params: Vec<Tensor>,
}

/// Binds every input and param. Names must have been checked ([`check_names`]).
pub fn bind(
    g: &Graph,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> Result<Bound, RunError> {
    let desc = describe(g)?;
    let bound = rt::bind(&desc, inputs, params, false)?;
    let mut env = DimEnv::new();
    for (name, n) in desc.dims.iter().zip(&bound.dims) {
        if let Some(n) = n {
            env.bind(name, *n)
                .map_err(|_| internal(format!("size {name} bound twice")))?;
        }
    }
    let mut tensors = Vec::with_capacity(bound.inputs.len());
    for ((name, id), arr) in g.inputs.iter().zip(bound.inputs) {
        let t =
            Tensor::from_npy(arr.into_array()).map_err(|e| e.context(format!("input `{name}`")))?;
        tensors.push((*id, t));
    }
    let mut values = Vec::with_capacity(bound.params.len());
    for (p, arr) in g.params.iter().zip(bound.params) {
        values.push(Tensor::from_npy(arr).map_err(|e| e.context(format!("param `{}`", p.name)))?);
    }
    Ok(Bound {
        env,
        inputs: tensors,
        params: values,
    })
}
