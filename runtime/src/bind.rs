//! Binding a run's data to a program: `--input` values and `--param` files
//! are read, checked against the declared types, and bind the size names;
//! params without a file get their declared initialiser. `weft run` and
//! built executables both bind through here, so they report bad data with
//! the same messages and exit statuses.
//!
//! Order and rules (the messages are part of the interface):
//! - names are checked first ([`check_names`]): an unknown `--input`/`--param`
//!   name is a usage error (exit 2) listing the program's names; a declared
//!   input that is not given is bad data (exit 3);
//! - inputs bind sizes in declaration order, then `--param` files, in the
//!   params' declaration order; the first binding of a size wins and a
//!   conflict names who bound it first;
//! - a value must have the declared dtype exactly (no conversion: an `f16`
//!   file for an `f32` input is an error), the declared rank and every
//!   literal length;
//! - `NAME=NUMBER` is accepted for rank-0 inputs only: an integer fits any
//!   numeric dtype (in range), a float only float dtypes, `true`/`false` only bool;
//! - derived sizes (`N + 1`) bind nothing: once inputs and `--param` files are
//!   read, each is computed from the size names, in order (a value that
//!   overflows or is not positive is bad data), and then the axes that
//!   declare one are checked against its value; params are initialised last.

use std::path::{Path, PathBuf};

use crate::error::RunError;
use crate::flags::{InputArg, ScalarLit};
use crate::npy::{read_npy_file, DType, Data, NpyArray};
use crate::program::{DimSpec, Init, ProgramDesc, SizeEvalError, TensorDecl};
use crate::rng;

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
    desc: &ProgramDesc,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> Result<(), RunError> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in inputs {
        if !desc.inputs.iter().any(|d| &d.name == name) {
            let list = name_list(
                desc.inputs.iter().map(|d| d.name.as_str()),
                "the program has no inputs",
            );
            let list = if desc.inputs.is_empty() {
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
        if !desc.params.iter().any(|p| &p.decl.name == name) {
            let list = name_list(
                desc.params.iter().map(|p| p.decl.name.as_str()),
                "the program has no params",
            );
            let list = if desc.params.is_empty() {
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

/// An input's value: read into memory, or mapped from its file.
pub enum InputValue {
    Array(NpyArray),
    Mapped(crate::mmap::Mapped),
}

impl InputValue {
    /// The value in memory (a mapped file is copied).
    pub fn into_array(self) -> NpyArray {
        match self {
            InputValue::Array(a) => a,
            InputValue::Mapped(m) => {
                let n = m.shape.iter().product::<usize>() * m.dtype.itemsize();
                // SAFETY: the mapping holds `n` data bytes after `offset` (checked at open).
                let bytes = unsafe { std::slice::from_raw_parts(m.data_ptr(), n) };
                crate::buf::npy_from_bytes(m.dtype, m.shape.clone(), bytes)
            }
        }
    }
}

impl std::fmt::Debug for InputValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputValue::Array(a) => a.fmt(f),
            InputValue::Mapped(m) => write!(f, "mapped {:?} {:?}", m.dtype, m.shape),
        }
    }
}

/// The bound data of a run.
#[derive(Debug)]
pub struct Bound {
    /// The length of each size ([`ProgramDesc::n_dims`] entries): a size
    /// name when some input or `--param` file binds it, a derived size when
    /// the size names it uses are bound.
    pub dims: Vec<Option<usize>>,
    /// Values of `desc.inputs`, in order.
    pub inputs: Vec<InputValue>,
    /// Values of `desc.params`, in order (read or initialised).
    pub params: Vec<NpyArray>,
}

impl Bound {
    /// Every size, in index order (the size names, then the derived sizes:
    /// `weft_step`'s `dims`), or the data error for the first unbound one.
    pub fn all_dims(&self, desc: &ProgramDesc) -> Result<Vec<usize>, RunError> {
        (0..desc.n_dims())
            .map(|k| {
                self.dims
                    .get(k)
                    .copied()
                    .flatten()
                    .ok_or_else(|| unbound(unbound_name(desc, &self.dims, k)))
            })
            .collect()
    }

    /// The lengths of a declared shape; fails when a size is unbound.
    pub fn shape_of(&self, desc: &ProgramDesc, d: &TensorDecl) -> Result<Vec<usize>, RunError> {
        resolve_shape(desc, &self.dims, d)
    }
}

/// The size name to report when size `k` has no value: `k`'s own name, or
/// for a derived size the first unbound size name it uses.
fn unbound_name<'d>(desc: &'d ProgramDesc, dims: &[Option<usize>], k: usize) -> &'d str {
    let first = desc
        .size_names_of(k)
        .into_iter()
        .find(|&j| dims.get(j).copied().flatten().is_none());
    desc.dim_name(first.unwrap_or(k))
}

fn unbound(name: &str) -> RunError {
    RunError::data(format!(
        "size {name} is not bound: no input (or --param file) has it in its type"
    ))
}

/// The lengths of a declared shape, given the size bindings `dims`.
pub fn resolve_shape(
    desc: &ProgramDesc,
    dims: &[Option<usize>],
    d: &TensorDecl,
) -> Result<Vec<usize>, RunError> {
    d.shape
        .iter()
        .map(|s| match *s {
            DimSpec::Lit(n) => usize::try_from(n)
                .map_err(|_| RunError::data(format!("size {n} is too large for this machine"))),
            DimSpec::Size(k) => dims
                .get(k)
                .copied()
                .flatten()
                .ok_or_else(|| unbound(unbound_name(desc, dims, k))),
        })
        .collect()
}

/// `[6, 4]`.
pub fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// `f32[6, 4]`, `i64`.
pub fn concrete_text(dtype: DType, shape: &[usize]) -> String {
    if shape.is_empty() {
        dtype.to_string()
    } else {
        format!("{dtype}{}", shape_text(shape))
    }
}

/// The number of bytes of a value, or None when it exceeds `isize::MAX`.
pub fn byte_size(dtype: DType, shape: &[usize]) -> Option<usize> {
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))?
        .checked_mul(dtype.itemsize())?;
    (n <= isize::MAX as usize).then_some(n)
}

struct Binder<'d> {
    desc: &'d ProgramDesc,
    dims: Vec<Option<usize>>,
    /// Size index → who bound it, e.g. "input `x`".
    origin: Vec<Option<String>>,
    /// Axes declared as a derived size, checked once it is computed.
    pending: Vec<PendingAxis>,
}

/// An axis of a value whose declared length is derived size `k`.
struct PendingAxis {
    /// "input `x`".
    who: String,
    /// Where the value was read from (the file).
    source: String,
    /// The declared type's text, `f32[N + 1]`.
    declared: String,
    /// The value's concrete type, `f32[5]`.
    found: String,
    axis: usize,
    k: usize,
    /// The axis' length.
    n: usize,
}

impl Binder<'_> {
    /// Checks a value's dtype and shape (read from `source`) against
    /// `declared` and binds its sizes.
    fn check_shape(
        &mut self,
        who: &str,
        source: &str,
        declared: &TensorDecl,
        dtype: DType,
        shape: &[usize],
    ) -> Result<(), RunError> {
        let found = concrete_text(dtype, shape);
        let declared_text = self.desc.type_text(declared);
        let mismatch = |why: String| {
            RunError::data(format!(
                "{who} expects {declared_text} but {source} holds {found}{why}"
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
            if let DimSpec::Lit(want) = d {
                if *want != n as u64 {
                    return Err(mismatch(format!(" (axis {axis} must be {want})")));
                }
            }
        }
        for (axis, (d, &n)) in declared.shape.iter().zip(shape).enumerate() {
            if let DimSpec::Size(k) = *d {
                if k >= self.desc.dims.len() && k < self.desc.n_dims() {
                    self.pending.push(PendingAxis {
                        who: who.to_string(),
                        source: source.to_string(),
                        declared: declared_text.clone(),
                        found: found.clone(),
                        axis,
                        k,
                        n,
                    });
                    continue;
                }
                let name = self.desc.dim_name(k);
                match self.dims.get(k).copied() {
                    Some(Some(old)) if old != n => {
                        let first = self.origin[k].as_deref().unwrap_or("an earlier binding");
                        return Err(RunError::data(format!(
                            "size {name} is {old} (from {first}) but {who} has {n} on axis {axis}"
                        )));
                    }
                    Some(Some(_)) => {}
                    Some(None) => {
                        self.dims[k] = Some(n);
                        self.origin[k] = Some(who.to_string());
                    }
                    None => {
                        return Err(RunError::data(format!(
                            "{who}: the program refers to an undeclared size"
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// `N = 1, M = 2`: the size names that size `k` uses, with their values.
    fn bindings(&self, k: usize) -> String {
        let parts: Vec<String> = self
            .desc
            .size_names_of(k)
            .into_iter()
            .map(|j| {
                let v = self.dims.get(j).copied().flatten();
                let v = v.map_or_else(|| "?".to_string(), |v| v.to_string());
                format!("{} = {v}", self.desc.dim_name(j))
            })
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" at {}", parts.join(", "))
        }
    }

    /// Computes every derived size whose size names are bound, in order.
    fn derive(&mut self) -> Result<(), RunError> {
        let desc = self.desc;
        for (i, d) in desc.derived.iter().enumerate() {
            let k = desc.dims.len() + i;
            let names = desc.size_names_of(k);
            if names.iter().any(|&j| self.dims[j].is_none()) {
                continue;
            }
            let text = &d.text;
            // A length beyond i64 (an empty array's other axis) cannot be
            // computed with: an overflow.
            let too_large = std::cell::Cell::new(false);
            let value = d.eval(|j| {
                let n = self.dims.get(j).copied().flatten()?;
                Some(i64::try_from(n).unwrap_or_else(|_| {
                    too_large.set(true);
                    0
                }))
            });
            let at = self.bindings(k);
            let value = if too_large.get() {
                Err(SizeEvalError::Overflow)
            } else {
                value
            };
            let v = match value {
                Ok(None) => continue,
                Ok(Some(v)) => v,
                Err(SizeEvalError::Overflow) => {
                    return Err(RunError::data(format!("size {text} overflows{at}")))
                }
                Err(SizeEvalError::Divisor(b)) => {
                    return Err(RunError::data(format!(
                        "size {text} divides by {b}{at}: a divisor must be positive"
                    )))
                }
            };
            if v <= 0 {
                return Err(RunError::data(format!(
                    "size {text} is {v}{at}: every length must be positive"
                )));
            }
            let v = usize::try_from(v)
                .map_err(|_| RunError::data(format!("size {text} overflows{at}")))?;
            self.dims[k] = Some(v);
        }
        Ok(())
    }

    /// Checks the axes declared as a derived size against its value.
    fn check_pending(&self) -> Result<(), RunError> {
        for p in &self.pending {
            let want = self
                .dims
                .get(p.k)
                .copied()
                .flatten()
                .ok_or_else(|| unbound(unbound_name(self.desc, &self.dims, p.k)))?;
            if want != p.n {
                return Err(RunError::data(format!(
                    "{} expects {} but {} holds {} (axis {} must be {} = {want})",
                    p.who,
                    p.declared,
                    p.source,
                    p.found,
                    p.axis,
                    self.desc.dim_name(p.k)
                )));
            }
        }
        Ok(())
    }

    fn read_checked(
        &mut self,
        who: &str,
        path: &Path,
        declared: &TensorDecl,
    ) -> Result<NpyArray, RunError> {
        let arr =
            read_npy_file(path).map_err(|e| RunError::data(format!("{who}: {}", e.message)))?;
        let source = path.display().to_string();
        self.check_shape(who, &source, declared, arr.dtype(), &arr.shape)?;
        Ok(arr)
    }
}

fn scalar(dtype: DType, v: Data) -> NpyArray {
    debug_assert_eq!(v.dtype(), dtype);
    NpyArray {
        shape: Vec::new(),
        data: v,
    }
}

/// A scalar from the command line as a rank-0 array of `declared`'s dtype.
fn scalar_input(
    desc: &ProgramDesc,
    who: &str,
    declared: &TensorDecl,
    lit: ScalarLit,
) -> Result<NpyArray, RunError> {
    let name = &declared.name;
    let declared_text = desc.type_text(declared);
    let shown = match lit {
        ScalarLit::Int(v) => format!("the number {v}"),
        ScalarLit::Float(v) => format!("the number {v:?}"),
        ScalarLit::Bool(v) => format!("`{v}`"),
    };
    if declared.rank() != 0 {
        return Err(RunError::data(format!(
            "{who} expects {declared_text} but was given {shown}; a number is only accepted for a scalar input: pass --input {name}=FILE.npy"
        )));
    }
    let wrong = || {
        RunError::data(format!(
            "{who} expects {declared_text} but was given {shown}"
        ))
    };
    let d = declared.dtype;
    Ok(match (lit, d) {
        (ScalarLit::Int(v), DType::F32) => scalar(d, Data::F32(vec![v as f32])),
        (ScalarLit::Int(v), DType::F64) => scalar(d, Data::F64(vec![v as f64])),
        (ScalarLit::Int(v), DType::I32) => scalar(
            d,
            Data::I32(vec![i32::try_from(v).map_err(|_| {
                RunError::data(format!(
                    "{who} expects i32 but was given {shown}, which does not fit i32"
                ))
            })?]),
        ),
        (ScalarLit::Int(v), DType::I64) => scalar(d, Data::I64(vec![v])),
        (ScalarLit::Float(v), DType::F32) => scalar(d, Data::F32(vec![v as f32])),
        (ScalarLit::Float(v), DType::F64) => scalar(d, Data::F64(vec![v])),
        (ScalarLit::Bool(v), DType::Bool) => scalar(d, Data::Bool(vec![v])),
        _ => return Err(wrong()),
    })
}

/// A zeroed vector of `n` elements, or an error instead of an abort when
/// the memory is not there.
fn try_vec<T: Clone + Default>(
    n: usize,
    what: impl FnOnce() -> RunError,
) -> Result<Vec<T>, RunError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| what())?;
    v.resize(n, T::default());
    Ok(v)
}

/// The initial value of a param of dtype `dtype` and concrete `shape`.
/// `Err` only when memory runs out (the descriptor was validated).
pub fn init_value(init: &Init, dtype: DType, shape: &[usize]) -> Result<NpyArray, RunError> {
    let ty = concrete_text(dtype, shape);
    let bytes = byte_size(dtype, shape)
        .ok_or_else(|| RunError::data(format!("a value of type {ty} is too large")))?;
    let n = bytes / dtype.itemsize().max(1);
    let oom = || {
        RunError::data(format!(
            "not enough memory for a value of type {ty} ({bytes} bytes)"
        ))
    };
    let last = shape.last().copied().unwrap_or(1).max(1);
    let iota = |i: usize| if shape.is_empty() { 0 } else { i % last };
    let bad = || RunError::data(format!("a param of type {ty} cannot start from {init:?}"));
    let data = match (*init, dtype) {
        (Init::Full(v), _) => {
            let v = match v {
                ScalarLit::Float(x)
                    if matches!(dtype, DType::I32 | DType::I64)
                        && x.fract() == 0.0
                        && x.abs() < 9.0e15 =>
                {
                    ScalarLit::Int(x as i64)
                }
                v => v,
            };
            match (v, dtype) {
                (ScalarLit::Float(x), DType::F32) => Data::F32(fill(n, x as f32, oom)?),
                (ScalarLit::Float(x), DType::F64) => Data::F64(fill(n, x, oom)?),
                (ScalarLit::Int(x), DType::F32) => Data::F32(fill(n, x as f32, oom)?),
                (ScalarLit::Int(x), DType::F64) => Data::F64(fill(n, x as f64, oom)?),
                (ScalarLit::Int(x), DType::I32) => {
                    Data::I32(fill(n, i32::try_from(x).map_err(|_| bad())?, oom)?)
                }
                (ScalarLit::Int(x), DType::I64) => Data::I64(fill(n, x, oom)?),
                (ScalarLit::Bool(x), DType::Bool) => Data::Bool(fill(n, x, oom)?),
                _ => return Err(bad()),
            }
        }
        (Init::Normal { mean, std, seed }, DType::F32) => {
            let mut v = try_vec(n, oom)?;
            rng::fill_normal_f32(seed, mean, std, &mut v);
            Data::F32(v)
        }
        (Init::Normal { mean, std, seed }, DType::F64) => {
            let mut v = try_vec(n, oom)?;
            rng::fill_normal_f64(seed, mean, std, &mut v);
            Data::F64(v)
        }
        (Init::Uniform { lo, hi, seed }, DType::F32) => {
            let mut v = try_vec(n, oom)?;
            rng::fill_uniform_f32(seed, lo, hi, &mut v);
            Data::F32(v)
        }
        (Init::Uniform { lo, hi, seed }, DType::F64) => {
            let mut v = try_vec(n, oom)?;
            rng::fill_uniform_f64(seed, lo, hi, &mut v);
            Data::F64(v)
        }
        (Init::Iota, DType::F32) => Data::F32(from_fn(n, |i| iota(i) as f32, oom)?),
        (Init::Iota, DType::F64) => Data::F64(from_fn(n, |i| iota(i) as f64, oom)?),
        (Init::Iota, DType::I32) => Data::I32(from_fn(n, |i| iota(i) as i32, oom)?),
        (Init::Iota, DType::I64) => Data::I64(from_fn(n, |i| iota(i) as i64, oom)?),
        _ => return Err(bad()),
    };
    Ok(NpyArray {
        shape: shape.to_vec(),
        data,
    })
}

fn fill<T: Clone>(n: usize, v: T, oom: impl FnOnce() -> RunError) -> Result<Vec<T>, RunError> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| oom())?;
    out.resize(n, v);
    Ok(out)
}

fn from_fn<T>(
    n: usize,
    f: impl Fn(usize) -> T,
    oom: impl FnOnce() -> RunError,
) -> Result<Vec<T>, RunError> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| oom())?;
    out.extend((0..n).map(f));
    Ok(out)
}

/// Binds every input and param. Names must have been checked ([`check_names`]).
/// With `map`, large input files are memory-mapped where their layout allows
/// ([`crate::mmap`]).
pub fn bind(
    desc: &ProgramDesc,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
    map: bool,
) -> Result<Bound, RunError> {
    let mut b = Binder {
        desc,
        dims: vec![None; desc.n_dims()],
        origin: vec![None; desc.n_dims()],
        pending: Vec::new(),
    };
    let mut bound_inputs = Vec::with_capacity(desc.inputs.len());
    for declared in &desc.inputs {
        let name = &declared.name;
        let who = format!("input `{name}`");
        let given = inputs.iter().find(|(n, _)| n == name).map(|(_, a)| a);
        let arr = match given {
            None => {
                let hint = if declared.rank() == 0 {
                    "NUMBER or FILE.npy"
                } else {
                    "FILE.npy"
                };
                return Err(RunError::data(format!(
                    "{who} was not given: expected {}; pass --input {name}={hint}",
                    desc.type_text(declared)
                )));
            }
            Some(InputArg::File(path)) => {
                let mapped = if map {
                    crate::mmap::Mapped::open(path)
                        .map_err(|e| RunError::data(format!("{who}: {}", e.message)))?
                } else {
                    None
                };
                match mapped {
                    Some(m) => {
                        let source = path.display().to_string();
                        b.check_shape(&who, &source, declared, m.dtype, &m.shape)?;
                        InputValue::Mapped(m)
                    }
                    None => InputValue::Array(b.read_checked(&who, path, declared)?),
                }
            }
            Some(InputArg::Scalar(lit)) => {
                InputValue::Array(scalar_input(desc, &who, declared, *lit)?)
            }
        };
        bound_inputs.push(arr);
    }
    let mut from_files: Vec<Option<NpyArray>> = vec![None; desc.params.len()];
    for (i, p) in desc.params.iter().enumerate() {
        if let Some((_, path)) = params.iter().find(|(n, _)| *n == p.decl.name) {
            let who = format!("param `{}`", p.decl.name);
            from_files[i] = Some(b.read_checked(&who, path, &p.decl)?);
        }
    }
    b.derive()?;
    b.check_pending()?;
    let mut values = Vec::with_capacity(desc.params.len());
    for (p, file) in desc.params.iter().zip(from_files) {
        let arr = match file {
            Some(a) => a,
            None => {
                let name = &p.decl.name;
                let who = format!("param `{name}`");
                let unbound = p.decl.shape.iter().find_map(|d| match *d {
                    DimSpec::Size(k) if b.dims.get(k).copied().flatten().is_none() => {
                        Some(unbound_name(desc, &b.dims, k))
                    }
                    _ => None,
                });
                if let Some(s) = unbound {
                    return Err(RunError::data(format!(
                        "param `{name}` has type {}, but no input binds size {s}; pass --param {name}=FILE.npy",
                        desc.type_text(&p.decl)
                    )));
                }
                let shape = resolve_shape(desc, &b.dims, &p.decl).map_err(|e| e.context(&who))?;
                if byte_size(p.decl.dtype, &shape).is_none() {
                    return Err(RunError::data(too_large(
                        &desc.type_text(&p.decl),
                        p.decl.dtype,
                        &shape,
                    ))
                    .context(&who));
                }
                init_value(&p.init, p.decl.dtype, &shape).map_err(|e| e.context(&who))?
            }
        };
        values.push(arr);
    }
    Ok(Bound {
        dims: b.dims,
        inputs: bound_inputs,
        params: values,
    })
}

/// Checks one value's dtype, rank and literal lengths against `declared`
/// (its size names are bound later, with everything else).
pub fn check_value(
    desc: &ProgramDesc,
    declared: &TensorDecl,
    who: &str,
    dtype: DType,
    shape: &[usize],
) -> Result<(), RunError> {
    let mut b = Binder {
        desc,
        dims: vec![None; desc.n_dims()],
        origin: vec![None; desc.n_dims()],
        pending: Vec::new(),
    };
    b.check_shape(who, "the array given", declared, dtype, shape)
}

/// The sizes bound by values already in memory (a library's inputs and
/// the params it was given, docs/embedding.md): `inputs[i]` is input `i`'s
/// dtype and shape (None: not given), `params[i]` a param's when it has a
/// value. The checks and messages are [`bind`]'s, the value's source being
/// `the array given`.
pub fn bind_shapes(
    desc: &ProgramDesc,
    inputs: &[Option<(DType, &[usize])>],
    params: &[Option<(DType, &[usize])>],
) -> Result<Vec<Option<usize>>, RunError> {
    let mut b = Binder {
        desc,
        dims: vec![None; desc.n_dims()],
        origin: vec![None; desc.n_dims()],
        pending: Vec::new(),
    };
    for (i, declared) in desc.inputs.iter().enumerate() {
        let who = format!("input `{}`", declared.name);
        match inputs.get(i).copied().flatten() {
            Some((dtype, shape)) => {
                b.check_shape(&who, "the array given", declared, dtype, shape)?
            }
            None => {
                return Err(RunError::usage(format!(
                    "{who} was not given: expected {}",
                    desc.type_text(declared)
                )))
            }
        }
    }
    for (i, p) in desc.params.iter().enumerate() {
        if let Some((dtype, shape)) = params.get(i).copied().flatten() {
            let who = format!("param `{}`", p.decl.name);
            b.check_shape(&who, "the array given", &p.decl, dtype, shape)?;
        }
    }
    b.derive()?;
    b.check_pending()?;
    Ok(b.dims)
}

#[cfg(test)]
mod tests;

/// The message for a value whose size overflows the address space: its
/// declared type, and its sizes when they differ (`f32[B, 4]` at `B = ..`).
pub fn too_large(declared: &str, dtype: DType, shape: &[usize]) -> String {
    let concrete = concrete_text(dtype, shape);
    if declared == concrete {
        format!("a value of type {declared} is too large to hold in memory")
    } else {
        format!("a value of type {declared} would be {concrete}, too large to hold in memory")
    }
}
