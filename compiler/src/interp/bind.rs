//! Binding a run's data to the program: `--input` values and `--param`
//! files are read, checked against the declared types, and bind the size
//! names; params without a file get their declared initialiser.
//!
//! Order and rules (the messages are part of the interface):
//! - names are checked first: an unknown `--input`/`--param` name is a usage
//!   error (exit 2) listing the program's names; a declared input that is
//!   not given is bad data (exit 3);
//! - inputs bind sizes in declaration order, then `--param` files, in the
//!   params' declaration order; the first binding of a size wins and a
//!   conflict names who bound it first;
//! - a value must have the declared dtype exactly (no conversion: an `f16`
//!   file for an `f32` input is an error), the declared rank and every
//!   literal length;
//! - `NAME=NUMBER` is accepted for rank-0 inputs only: an integer fits any
//!   numeric dtype (in range), a float only float dtypes, `true`/`false` only bool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use weft_runtime::{read_npy_file, InputArg, RunError, ScalarLit};

use super::dims::{shape_text, DimEnv};
use super::kernels::create;
use super::tensor::{npy_dtype, Tensor};
use crate::ir::graph::{Graph, Init, NodeId};
use crate::ir::types::{DType, Dim, TensorType};

/// `a, b, c` or a phrase when empty.
fn name_list<'a>(names: impl Iterator<Item = &'a str>, none: &str) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        none.to_string()
    } else {
        v.join(", ")
    }
}

/// Usage errors in `--input`/`--param` names (exit 2).
pub fn check_names(
    g: &Graph,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> Result<(), RunError> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in inputs {
        if !g.inputs.iter().any(|(n, _)| n == name) {
            let list = name_list(
                g.inputs.iter().map(|(n, _)| n.as_str()),
                "the program has no inputs",
            );
            let list = if g.inputs.is_empty() {
                list
            } else {
                format!("the program's inputs are: {list}")
            };
            return Err(RunError::usage(format!("no input named `{name}`; {list}")));
        }
        if seen.contains(&name.as_str()) {
            return Err(RunError::usage(format!("input `{name}` is given twice")));
        }
        seen.push(name);
    }
    seen.clear();
    for (name, _) in params {
        if g.param(name).is_none() {
            let list = name_list(
                g.params.iter().map(|p| p.name.as_str()),
                "the program has no params",
            );
            let list = if g.params.is_empty() {
                list
            } else {
                format!("the program's params are: {list}")
            };
            return Err(RunError::usage(format!("no param named `{name}`; {list}")));
        }
        if seen.contains(&name.as_str()) {
            return Err(RunError::usage(format!("param `{name}` is given twice")));
        }
        seen.push(name);
    }
    Ok(())
}

/// The bound data of a run.
pub struct Bound {
    pub env: DimEnv,
    /// Input node → value.
    pub inputs: Vec<(NodeId, Tensor)>,
    /// Values of `g.params`, in order.
    pub params: Vec<Tensor>,
}

struct Binder {
    env: DimEnv,
    /// Size name → who bound it, e.g. "input `x`".
    origin: HashMap<String, String>,
}

impl Binder {
    /// Checks `t` (read from `source`) against `declared` and binds its sizes.
    fn check(
        &mut self,
        who: &str,
        source: &str,
        declared: &TensorType,
        t: &Tensor,
    ) -> Result<(), RunError> {
        let found = format!(
            "{}{}",
            t.dtype(),
            if t.shape().is_empty() {
                String::new()
            } else {
                shape_text(t.shape())
            }
        );
        self.check_shape(who, source, declared, t.dtype(), t.shape(), &found)
    }

    fn check_shape(
        &mut self,
        who: &str,
        source: &str,
        declared: &TensorType,
        dtype: DType,
        shape: &[usize],
        found: &str,
    ) -> Result<(), RunError> {
        let mismatch = |why: String| {
            RunError::data(format!(
                "{who} expects {declared} but {source} holds {found}{why}"
            ))
        };
        if dtype != declared.dtype {
            return Err(mismatch(String::new()));
        }
        if shape.len() != declared.rank() {
            return Err(mismatch(format!(
                " (rank {}, not {})",
                shape.len(),
                declared.rank()
            )));
        }
        for (axis, (d, &n)) in declared.shape.iter().zip(shape).enumerate() {
            if let Dim::Lit(want) = d {
                if *want != n as u64 {
                    return Err(mismatch(format!(" (axis {axis} must be {want})")));
                }
            }
        }
        for (axis, (d, &n)) in declared.shape.iter().zip(shape).enumerate() {
            if let Dim::Sym(s) = d {
                if let Err(old) = self.env.bind(s, n) {
                    let first = self
                        .origin
                        .get(&**s)
                        .map_or("an earlier binding", |o| o.as_str());
                    return Err(RunError::data(format!(
                        "size {s} is {old} (from {first}) but {who} has {n} on axis {axis}"
                    )));
                }
                self.origin
                    .entry(s.to_string())
                    .or_insert_with(|| who.to_string());
            }
        }
        Ok(())
    }

    fn read_checked(
        &mut self,
        who: &str,
        path: &Path,
        declared: &TensorType,
    ) -> Result<Tensor, RunError> {
        let arr =
            read_npy_file(path).map_err(|e| RunError::data(format!("{who}: {}", e.message)))?;
        let source = path.display().to_string();
        let found = format!(
            "{}{}",
            arr.dtype(),
            if arr.shape.is_empty() {
                String::new()
            } else {
                shape_text(&arr.shape)
            }
        );
        match npy_dtype(arr.dtype()) {
            Some(d) if d == declared.dtype => {}
            _ => {
                return Err(RunError::data(format!(
                    "{who} expects {declared} but {source} holds {found}"
                )))
            }
        }
        let t = Tensor::from_npy(arr).map_err(|e| e.context(who))?;
        self.check(who, &source, declared, &t)?;
        Ok(t)
    }
}

/// A scalar from the command line as a rank-0 tensor of `declared`'s dtype.
fn scalar_input(
    who: &str,
    name: &str,
    declared: &TensorType,
    lit: ScalarLit,
) -> Result<Tensor, RunError> {
    let shown = match lit {
        ScalarLit::Int(v) => format!("the number {v}"),
        ScalarLit::Float(v) => format!("the number {v:?}"),
        ScalarLit::Bool(v) => format!("`{v}`"),
    };
    if declared.rank() != 0 {
        return Err(RunError::data(format!(
            "{who} expects {declared} but was given {shown}; a number is only accepted for a scalar input: pass --input {name}=FILE.npy"
        )));
    }
    let wrong = || RunError::data(format!("{who} expects {declared} but was given {shown}"));
    fn one<T: Clone>(v: T) -> ArrayD<T> {
        ArrayD::from_elem(IxDyn(&[]), v)
    }
    Ok(match (lit, declared.dtype) {
        (ScalarLit::Int(v), DType::F32) => Tensor::F32(one(v as f32)),
        (ScalarLit::Int(v), DType::F64) => Tensor::F64(one(v as f64)),
        (ScalarLit::Int(v), DType::I32) => Tensor::I32(one(i32::try_from(v).map_err(|_| {
            RunError::data(format!(
                "{who} expects i32 but was given {shown}, which does not fit i32"
            ))
        })?)),
        (ScalarLit::Int(v), DType::I64) => Tensor::I64(one(v)),
        (ScalarLit::Float(v), DType::F32) => Tensor::F32(one(v as f32)),
        (ScalarLit::Float(v), DType::F64) => Tensor::F64(one(v)),
        (ScalarLit::Bool(v), DType::Bool) => Tensor::Bool(one(v)),
        _ => return Err(wrong()),
    })
}

/// Binds every input and param. Names must have been checked ([`check_names`]).
pub fn bind(
    g: &Graph,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> Result<Bound, RunError> {
    let mut b = Binder {
        env: DimEnv::new(),
        origin: HashMap::new(),
    };
    let mut bound_inputs = Vec::new();
    for (name, id) in &g.inputs {
        let declared = g.ty(*id);
        let who = format!("input `{name}`");
        let given = inputs.iter().find(|(n, _)| n == name).map(|(_, a)| a);
        let t = match given {
            None => {
                let hint = if declared.rank() == 0 {
                    "NUMBER or FILE.npy"
                } else {
                    "FILE.npy"
                };
                return Err(RunError::data(format!(
                    "{who} was not given: expected {declared}; pass --input {name}={hint}"
                )));
            }
            Some(InputArg::File(path)) => b.read_checked(&who, path, declared)?,
            Some(InputArg::Scalar(lit)) => scalar_input(&who, name, declared, *lit)?,
        };
        bound_inputs.push((*id, t));
    }
    let mut from_files: Vec<Option<Tensor>> = vec![None; g.params.len()];
    for (i, p) in g.params.iter().enumerate() {
        if let Some((_, path)) = params.iter().find(|(n, _)| *n == p.name) {
            let who = format!("param `{}`", p.name);
            from_files[i] = Some(b.read_checked(&who, path, &p.ty)?);
        }
    }
    let mut values = Vec::with_capacity(g.params.len());
    for (p, file) in g.params.iter().zip(from_files) {
        let t = match file {
            Some(t) => t,
            None => {
                let ct = b.env.resolve(&p.ty).map_err(|e| {
                    match p.ty.shape.iter().find_map(|d| match d {
                        Dim::Sym(s) if b.env.get(s).is_none() => Some(s.clone()),
                        _ => None,
                    }) {
                        Some(s) => RunError::data(format!(
                            "param `{}` has type {}, but no input binds size {s}; pass --param {}=FILE.npy",
                            p.name, p.ty, p.name
                        )),
                        None => e.context(format!("param `{}`", p.name)),
                    }
                })?;
                super::probe_memory(&ct).map_err(|e| e.context(format!("param `{}`", p.name)))?;
                match &p.init {
                    Init::Full(v) => create::full(*v, &ct)?,
                    Init::Random { dist, seed } => create::random(&ct, *dist, *seed)?,
                    Init::Iota if ct.shape.is_empty() => {
                        create::full(crate::ir::types::Scalar::Int(0), &ct)?
                    }
                    Init::Iota => create::iota(&ct, ct.shape.len() - 1)?,
                }
            }
        };
        values.push(t);
    }
    Ok(Bound {
        env: b.env,
        inputs: bound_inputs,
        params: values,
    })
}
