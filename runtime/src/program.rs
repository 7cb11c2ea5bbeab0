//! The program descriptor of a built program (docs/abi.md, "The descriptor"):
//! what the runtime must know about a program to bind its data and drive its
//! steps, and nothing about how it computes.
//!
//! [`parse_descriptor`] reads the text form strictly: every record and field
//! is checked, every index is checked against what it indexes, and a
//! malformed descriptor is an `Err` naming the line, never a panic. The
//! interpreter builds a [`ProgramDesc`] directly from its graph, so built
//! programs and `weft run` bind data through the same code ([`crate::bind`]).

use std::fmt;

use crate::feed::{Dist, Feed, SeedPart};
use crate::flags::ScalarLit;
use crate::npy::DType;

/// The descriptor format version this runtime reads.
pub const DESCRIPTOR_VERSION: u32 = 1;

/// One axis length: a literal, or size `k` (an index into the full dims
/// space: a size name of [`ProgramDesc::dims`], or a derived size of
/// [`ProgramDesc::derived`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimSpec {
    Lit(u64),
    Size(usize),
}

/// A named value of a declared type.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDecl {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<DimSpec>,
}

impl TensorDecl {
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// How a param without a `--param` file starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every element is the value (an integral float is accepted for an
    /// integer dtype).
    Full(ScalarLit),
    /// `mean + std * normal(seed, i)` for element `i` (C order).
    Normal { mean: f64, std: f64, seed: u64 },
    /// `lo + (hi - lo) * uniform(seed, i)`.
    Uniform { lo: f64, hi: f64, seed: u64 },
    /// The position along the last axis (0 for a scalar).
    Iota,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    pub decl: TensorDecl,
    pub init: Init,
}

/// Where an output's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputSrc {
    /// `outputs[i]` of `weft_step`.
    Step(usize),
    /// The value of param `p` after the last update.
    Param(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputDecl {
    pub decl: TensorDecl,
    pub src: OutputSrc,
}

/// A value the run supplies to each step (see [`crate::feed`]): an extra
/// input of the step, after the program's own inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedDecl {
    /// Named `#...`, so that no `--input` can give it.
    pub decl: TensorDecl,
    pub feed: Feed<DimSpec>,
}

/// One step of a derived size's postfix code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeOp {
    /// Push the value of size `k` (an index into the full dims space; must
    /// be < this derived size's own index).
    Dim(usize),
    /// Push an integer (may be negative).
    Lit(i64),
    /// Pop b, pop a, push a + b.
    Add,
    /// Pop b, pop a, push a * b.
    Mul,
    /// Pop b, pop a, push floor(a / b) (b must be positive: otherwise a data
    /// error at run time; a validation error if b is a literal <= 0 pushed
    /// right before).
    Div,
}

/// A size computed from others: `dims[k]` for k >= desc.dims.len().
#[derive(Clone, Debug, PartialEq)]
pub struct DerivedDim {
    /// How a user wrote / the compiler prints it, e.g. `N + M - 1`: used in
    /// messages and type texts.
    pub text: String,
    /// Postfix code that leaves exactly one value on the stack.
    pub code: Vec<SizeOp>,
}

/// Why a derived size has no value although every size it uses is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeEvalError {
    /// An intermediate value or the result does not fit `i64`.
    Overflow,
    /// A `div` by this value, which is not positive.
    Divisor(i64),
}

impl DerivedDim {
    /// The value of the code, given the value of each size it pushes
    /// (`value(k)`): `Ok(None)` when one of them is `None` (unbound).
    /// Checked arithmetic; `div` floors. The code must be well formed
    /// ([`ProgramDesc::validate`]); a malformed one yields `Ok(None)`.
    pub fn eval(&self, value: impl Fn(usize) -> Option<i64>) -> Result<Option<i64>, SizeEvalError> {
        let mut stack: Vec<i64> = Vec::with_capacity(self.code.len());
        for op in &self.code {
            let v = match *op {
                SizeOp::Dim(k) => match value(k) {
                    Some(v) => v,
                    None => return Ok(None),
                },
                SizeOp::Lit(v) => v,
                SizeOp::Add | SizeOp::Mul | SizeOp::Div => {
                    let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                        return Ok(None);
                    };
                    match op {
                        SizeOp::Add => a.checked_add(b),
                        SizeOp::Mul => a.checked_mul(b),
                        _ if b <= 0 => return Err(SizeEvalError::Divisor(b)),
                        _ => a.checked_div_euclid(b),
                    }
                    .ok_or(SizeEvalError::Overflow)?
                }
            };
            stack.push(v);
        }
        Ok(match stack[..] {
            [v] => Some(v),
            _ => None,
        })
    }
}

/// Checks the text of derived size `k`: not empty, no spaces around it, no
/// newline or other control character.
fn check_text(k: usize, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("the text of size ${k} is empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "the text of size ${k} contains a control character"
        ));
    }
    if text.trim() != text {
        return Err(format!("the text of size ${k} has spaces around it"));
    }
    Ok(())
}

/// Checks the code of the size of index `own` (its stack never underflows
/// and ends with one value; it pushes only earlier sizes; no `div` by a
/// literal <= 0).
fn check_code(own: usize, code: &[SizeOp]) -> Result<(), String> {
    let mut depth = 0usize;
    let mut prev = None;
    for op in code {
        match *op {
            SizeOp::Dim(j) if j >= own => {
                return Err(format!(
                    "size ${own} uses ${j}, which is not an earlier size"
                ))
            }
            SizeOp::Dim(_) | SizeOp::Lit(_) => depth += 1,
            SizeOp::Add | SizeOp::Mul | SizeOp::Div => {
                if depth < 2 {
                    return Err(format!("the code of size ${own} pops an empty stack"));
                }
                if let (SizeOp::Div, Some(SizeOp::Lit(b))) = (op, prev) {
                    if b <= 0 {
                        return Err(format!("the code of size ${own} divides by {b}"));
                    }
                }
                depth -= 1;
            }
        }
        prev = Some(*op);
    }
    if depth != 1 {
        return Err(format!(
            "the code of size ${own} leaves {depth} values, not 1"
        ));
    }
    Ok(())
}

/// Everything the runtime knows about a program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgramDesc {
    /// Size names: the first entries of `weft_step`'s `dims` array, in order.
    pub dims: Vec<String>,
    /// Derived sizes: `dims[dims.len() + i]` of `weft_step` is `derived[i]`,
    /// computed from the size names (and earlier derived sizes) at binding.
    pub derived: Vec<DerivedDim>,
    pub inputs: Vec<TensorDecl>,
    pub params: Vec<ParamDecl>,
    /// Feeds: `weft_step`'s `inputs[inputs.len() + i]` is feed `i`.
    pub feeds: Vec<FeedDecl>,
    /// Every output, in declaration order.
    pub outputs: Vec<OutputDecl>,
    /// Step outputs (bool scalars, not printed) that end the run after a
    /// step in which one is true (`until`).
    pub until: Vec<usize>,
    /// `updates[i]` is the param that `weft_step`'s `updates[i]` replaces.
    pub updates: Vec<usize>,
    /// Step error code → message.
    pub errors: Vec<(u32, String)>,
    /// CPU features the program's code was compiled to use (`requires`
    /// records, LLVM's names: `avx2`, `fma`, `avx512f`, ...).
    pub requires: Vec<String>,
    /// What each kernel computes of the source (`kernel` records), for
    /// `--stats` and `--profile`; may be absent.
    pub kernels: Vec<KernelDesc>,
}

/// A `kernel K KIND LINES LETS` record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelDesc {
    /// `map`, `reduce`, `matmul`, ...
    pub kind: String,
    /// Source lines: `12`, or `nn.weft:40` in another file.
    pub lines: Vec<String>,
    /// The `let`s it computes.
    pub lets: Vec<String>,
}

impl KernelDesc {
    /// `h, logits (19, 20)`: what `--stats` prints.
    pub fn source(&self) -> String {
        source_text(&self.lets, &self.lines)
    }
}

/// A kernel's source as `--stats` shows it: `h, logits (19, 20)`, `-`
/// for no `let`.
pub fn source_text(lets: &[String], lines: &[String]) -> String {
    let lets = if lets.is_empty() {
        "-".to_string()
    } else {
        lets.join(", ")
    };
    if lines.is_empty() {
        lets
    } else {
        format!("{lets} ({})", lines.join(", "))
    }
}

impl ProgramDesc {
    /// The number of sizes: the size names, then the derived sizes (the
    /// length of `weft_step`'s `dims` array).
    pub fn n_dims(&self) -> usize {
        self.dims.len() + self.derived.len()
    }

    /// How size `k` is written: its name, or a derived size's text (`N + 1`);
    /// `?` when there is no size `k`.
    pub fn dim_name(&self, k: usize) -> &str {
        match self.dims.get(k) {
            Some(name) => name,
            None => k
                .checked_sub(self.dims.len())
                .and_then(|i| self.derived.get(i))
                .map_or("?", |d| d.text.as_str()),
        }
    }

    /// The size names (indices into [`ProgramDesc::dims`], increasing) that
    /// size `k` depends on: `[k]` for a size name, those its code uses,
    /// directly or through earlier derived sizes, for a derived size.
    pub fn size_names_of(&self, k: usize) -> Vec<usize> {
        let n = self.dims.len();
        if k >= self.n_dims() {
            return Vec::new();
        }
        let mut seen = vec![false; self.n_dims()];
        let mut todo = vec![k];
        while let Some(j) = todo.pop() {
            if std::mem::replace(&mut seen[j], true) || j < n {
                continue;
            }
            if let Some(d) = self.derived.get(j - n) {
                // Only earlier sizes: a malformed code cannot loop.
                todo.extend(d.code.iter().filter_map(|op| match *op {
                    SizeOp::Dim(x) if x < j => Some(x),
                    _ => None,
                }));
            }
        }
        (0..n).filter(|&j| seen[j]).collect()
    }

    /// `f32[B, 4]`, `f32[N + 1]`, `i64` — a declared type as the user wrote it.
    pub fn type_text(&self, d: &TensorDecl) -> String {
        if d.shape.is_empty() {
            return d.dtype.to_string();
        }
        let parts: Vec<String> = d
            .shape
            .iter()
            .map(|s| match *s {
                DimSpec::Lit(n) => n.to_string(),
                DimSpec::Size(k) if k < self.n_dims() => self.dim_name(k).to_string(),
                DimSpec::Size(k) => format!("${k}"),
            })
            .collect();
        format!("{}[{}]", d.dtype, parts.join(", "))
    }

    /// The number of step outputs (`outputs[]` of `weft_step`): the
    /// outputs computed by the step, and the `until` conditions.
    pub fn step_outputs(&self) -> usize {
        self.outputs
            .iter()
            .filter(|o| matches!(o.src, OutputSrc::Step(_)))
            .count()
            + self.until.len()
    }

    /// Whether the program's values change from step to step without an
    /// update (a feed of `step`, a batch, a per-step seed): it then runs
    /// every one of its steps.
    pub fn steps_matter(&self) -> bool {
        !self.updates.is_empty() || self.feeds.iter().any(|f| f.feed.per_step())
    }

    /// The message of step error `code`.
    pub fn error_message(&self, code: i32) -> Option<&str> {
        let code = u32::try_from(code).ok()?;
        self.errors
            .iter()
            .find(|(k, _)| *k == code)
            .map(|(_, m)| m.as_str())
    }

    /// Checks every cross-reference and that each init fits its dtype.
    pub fn validate(&self) -> Result<(), DescError> {
        let err = |m: String| {
            Err(DescError {
                line: 0,
                message: m,
            })
        };
        let mut names: Vec<&str> = Vec::new();
        for d in &self.dims {
            if !is_identifier(d) {
                return err(format!("size name `{d}` is not an identifier"));
            }
            if names.contains(&d.as_str()) {
                return err(format!("size name `{d}` is declared twice"));
            }
            names.push(d);
        }
        for (i, d) in self.derived.iter().enumerate() {
            let k = self.dims.len() + i;
            check_text(k, &d.text).or_else(err)?;
            check_code(k, &d.code).or_else(err)?;
        }
        let n_dims = self.n_dims();
        let check_decl = |what: &str, d: &TensorDecl, seen: &mut Vec<String>| {
            if !is_path(&d.name) {
                return Err(format!("{what} name `{}` is not an identifier", d.name));
            }
            if seen.contains(&d.name) {
                return Err(format!("{what} `{}` is declared twice", d.name));
            }
            seen.push(d.name.clone());
            for s in &d.shape {
                if let DimSpec::Size(k) = s {
                    if *k >= n_dims {
                        let derived = match self.derived.len() {
                            0 => String::new(),
                            n => format!(" and {n} derived sizes"),
                        };
                        return Err(format!(
                            "{what} `{}` uses size ${k}, but there are {} size names{derived}",
                            d.name,
                            self.dims.len()
                        ));
                    }
                }
            }
            Ok(())
        };
        let mut seen = Vec::new();
        for d in &self.inputs {
            check_decl("input", d, &mut seen).or_else(err)?;
        }
        let mut seen = Vec::new();
        for p in &self.params {
            check_decl("param", &p.decl, &mut seen).or_else(err)?;
            check_init(&p.decl, &p.init).or_else(err)?;
        }
        let mut seen = Vec::new();
        for f in &self.feeds {
            let d = &f.decl;
            let plain = TensorDecl {
                name: d.name.strip_prefix('#').unwrap_or("#").to_string(),
                ..d.clone()
            };
            check_decl("feed", &plain, &mut seen).or_else(err)?;
            if !d.name.starts_with('#') {
                return err(format!("feed name `{}` does not start with #", d.name));
            }
            let ok = match &f.feed {
                Feed::Step | Feed::Rank | Feed::World => d.dtype == DType::I64 && d.rank() == 0,
                Feed::Batch { rows, size, .. } => {
                    let rows_ok = match rows {
                        DimSpec::Size(k) => *k < n_dims,
                        DimSpec::Lit(_) => true,
                    };
                    rows_ok
                        && d.dtype == DType::I64
                        && d.shape == [DimSpec::Lit(*size)]
                        && *size > 0
                }
                Feed::Random { .. } => matches!(d.dtype, DType::F32 | DType::F64),
            };
            if !ok {
                return err(format!("feed `{}` has the wrong type for its kind", d.name));
            }
        }
        let mut step_seen = vec![false; self.step_outputs()];
        let first_until = step_seen.len() - self.until.len();
        for (k, &u) in self.until.iter().enumerate() {
            if u != first_until + k {
                return err(format!(
                    "until condition {k} is step output {u}, not {}",
                    first_until + k
                ));
            }
            step_seen[u] = true;
        }
        for o in &self.outputs {
            check_decl("output", &o.decl, &mut seen).or_else(err)?;
            match o.src {
                OutputSrc::Step(i) => match step_seen.get_mut(i) {
                    Some(s) if !*s => *s = true,
                    Some(_) => return err(format!("step output {i} is named twice")),
                    None => {
                        return err(format!(
                            "output `{}` is step output {i}, but there are {} step outputs",
                            o.decl.name,
                            step_seen.len()
                        ))
                    }
                },
                OutputSrc::Param(p) => match self.params.get(p) {
                    Some(pd) if pd.decl.dtype == o.decl.dtype && pd.decl.shape == o.decl.shape => {}
                    Some(_) => {
                        return err(format!(
                            "output `{}` has another type than param {p}",
                            o.decl.name
                        ))
                    }
                    None => {
                        return err(format!(
                            "output `{}` is param {p}, but there are {} params",
                            o.decl.name,
                            self.params.len()
                        ))
                    }
                },
            }
        }
        let mut updated = vec![false; self.params.len()];
        for &p in &self.updates {
            match updated.get_mut(p) {
                Some(u) if !*u => *u = true,
                Some(_) => return err(format!("param {p} is updated twice")),
                None => {
                    return err(format!(
                        "update of param {p}, but there are {} params",
                        self.params.len()
                    ))
                }
            }
        }
        let mut codes = Vec::new();
        for (k, _) in &self.errors {
            if *k == 0 || *k > i32::MAX as u32 {
                return err(format!("error code {k} is out of range"));
            }
            if codes.contains(k) {
                return err(format!("error code {k} is declared twice"));
            }
            codes.push(*k);
        }
        Ok(())
    }
}

/// Whether `init` can initialise a value declared as `d`.
fn check_init(d: &TensorDecl, init: &Init) -> Result<(), String> {
    let bad = |what: &str| {
        Err(format!(
            "param `{}` of dtype {} cannot start from {what}",
            d.name, d.dtype
        ))
    };
    let float = matches!(d.dtype, DType::F32 | DType::F64);
    match (init, d.dtype) {
        (Init::Full(ScalarLit::Bool(_)), DType::Bool) => Ok(()),
        (Init::Full(ScalarLit::Bool(_)), _) | (Init::Full(_), DType::Bool) => bad("that value"),
        (Init::Full(ScalarLit::Int(v)), DType::I32) if i32::try_from(*v).is_err() => {
            bad("a value out of i32's range")
        }
        (Init::Full(ScalarLit::Float(v)), DType::I32 | DType::I64) => {
            let int = v.fract() == 0.0 && v.abs() < 9.0e15;
            if !int || (d.dtype == DType::I32 && i32::try_from(*v as i64).is_err()) {
                bad("a non-integral value")
            } else {
                Ok(())
            }
        }
        (Init::Full(_), _) => Ok(()),
        (Init::Normal { .. } | Init::Uniform { .. }, _) if float => Ok(()),
        (Init::Normal { .. } | Init::Uniform { .. }, _) => bad("random values"),
        (Init::Iota, DType::Bool) => bad("iota"),
        (Init::Iota, _) => Ok(()),
    }
}

/// A malformed descriptor: a bug in the compiler that made it, or a damaged
/// executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescError {
    /// 1-based line, or 0 when the problem is not on one line.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "malformed program descriptor, line {}: {}",
                self.line, self.message
            )
        } else {
            write!(f, "malformed program descriptor: {}", self.message)
        }
    }
}

impl std::error::Error for DescError {}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The name of an input, param or output: an identifier, or the dotted path
/// of a record's leaf (`net.out.w`).
pub fn is_path(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

/// The fields of one line, consumed left to right.
struct Fields<'a> {
    it: std::slice::Iter<'a, &'a str>,
}

impl<'a> Fields<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        self.it
            .next()
            .copied()
            .ok_or_else(|| format!("missing {what}"))
    }

    fn end(&mut self) -> Result<(), String> {
        match self.it.next() {
            None => Ok(()),
            Some(f) => Err(format!("unexpected field `{f}`")),
        }
    }

    fn usize(&mut self, what: &str) -> Result<usize, String> {
        let f = self.next(what)?;
        parse_uint(f)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("{what} `{f}` is not a non-negative integer"))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let f = self.next(what)?;
        parse_uint(f).ok_or_else(|| format!("{what} `{f}` is not a non-negative integer"))
    }

    fn f64(&mut self, what: &str) -> Result<f64, String> {
        let f = self.next(what)?;
        parse_float(f).ok_or_else(|| format!("{what} `{f}` is not a number"))
    }

    fn dtype(&mut self) -> Result<DType, String> {
        let f = self.next("dtype")?;
        Ok(match f {
            "f32" => DType::F32,
            "f64" => DType::F64,
            "i32" => DType::I32,
            "i64" => DType::I64,
            "bool" => DType::Bool,
            "u8" => DType::U8,
            "f16" | "bf16" => return Err(format!("dtype {f} is not supported by this runtime")),
            _ => return Err(format!("unknown dtype `{f}`")),
        })
    }

    /// `name dtype rank dims..`
    fn decl(&mut self) -> Result<TensorDecl, String> {
        self.decl_named(|n| is_path(n).then(|| n.to_string()))
    }

    /// A dim: `$k` or a literal.
    fn dim(&mut self) -> Result<DimSpec, String> {
        let f = self.next("dim")?;
        Ok(match f.strip_prefix('$') {
            Some(k) => DimSpec::Size(
                parse_uint(k)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| format!("size reference `{f}` is malformed"))?,
            ),
            None => DimSpec::Lit(
                parse_uint(f).ok_or_else(|| format!("dim `{f}` is not a non-negative integer"))?,
            ),
        })
    }

    /// `name dtype rank dims..`, the name checked by `valid`.
    fn decl_named(&mut self, valid: impl Fn(&str) -> Option<String>) -> Result<TensorDecl, String> {
        let raw = self.next("name")?;
        let name = valid(raw).ok_or_else(|| format!("name `{raw}` is not an identifier"))?;
        let dtype = self.dtype()?;
        let rank = self.usize("rank")?;
        if rank > 64 {
            return Err(format!("rank {rank} is too large"));
        }
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(self.dim()?);
        }
        Ok(TensorDecl { name, dtype, shape })
    }
}

/// Digits only (no sign, no leading `+`), in range.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A number as Rust's `{:?}` writes an `f64` (or an integer, `inf`, `nan`).
fn parse_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// `full V`: an integer, a float, or `true`/`false`.
fn parse_full(s: &str) -> Option<ScalarLit> {
    match s {
        "true" => return Some(ScalarLit::Bool(true)),
        "false" => return Some(ScalarLit::Bool(false)),
        _ => {}
    }
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(ScalarLit::Int);
    }
    parse_float(s).map(ScalarLit::Float)
}

/// Parses a descriptor (docs/abi.md). Strict: the first line is
/// `weft-program 1`, the second `dims ...`; every other line is one
/// `size`, `input`, `param`, `feed`, `output`, `update`, `until`, `error` or
/// `requires` record; fields are separated by single spaces; a final newline
/// is optional.
pub fn parse_descriptor(bytes: &[u8]) -> Result<ProgramDesc, DescError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DescError {
        line: 0,
        message: format!("not UTF-8 text ({e})"),
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut desc = ProgramDesc::default();
    let mut lines = text.split('\n').enumerate();
    let at = |line: usize| {
        move |message: String| DescError {
            line: line + 1,
            message,
        }
    };
    match lines.next() {
        Some((_, l)) if l == format!("weft-program {DESCRIPTOR_VERSION}") => {}
        Some((_, l)) if l.starts_with("weft-program ") => {
            return Err(at(0)(format!(
                "version `{}` is not {DESCRIPTOR_VERSION}: the program was built by another weft",
                &l["weft-program ".len()..]
            )))
        }
        _ => return Err(at(0)("the first line is not `weft-program 1`".into())),
    }
    match lines.next() {
        Some((i, l)) if l == "dims" || l.starts_with("dims ") => {
            for d in l.split(' ').skip(1) {
                if !is_identifier(d) {
                    return Err(at(i)(format!("size name `{d}` is not an identifier")));
                }
                desc.dims.push(d.to_string());
            }
        }
        _ => return Err(at(1)("the second line is not `dims ...`".into())),
    }
    for (i, line) in lines {
        record(&mut desc, line).map_err(at(i))?;
    }
    desc.validate()?;
    Ok(desc)
}

fn record(desc: &mut ProgramDesc, line: &str) -> Result<(), String> {
    if line.is_empty() {
        return Err("empty line".into());
    }
    if let Some(rest) = line.strip_prefix("requires ") {
        desc.requires
            .extend(rest.split(' ').filter(|f| !f.is_empty()).map(String::from));
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix("size ") {
        desc.derived.push(size_record(desc, rest)?);
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix("kernel ") {
        desc.kernels.push(kernel_record(desc.kernels.len(), rest)?);
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix("error ") {
        let (code, message) = rest
            .split_once(' ')
            .ok_or_else(|| "error record without a message".to_string())?;
        let code = parse_uint(code)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| format!("error code `{code}` is not a positive integer"))?;
        desc.errors.push((code, message.to_string()));
        return Ok(());
    }
    let fields: Vec<&str> = line.split(' ').collect();
    if fields.iter().any(|f| f.is_empty()) {
        return Err("fields must be separated by single spaces".into());
    }
    let mut f = Fields {
        it: fields[1..].iter(),
    };
    match fields[0] {
        "input" => {
            let d = f.decl()?;
            desc.inputs.push(d);
        }
        "param" => {
            let decl = f.decl()?;
            let init = match f.next("init")? {
                "full" => {
                    let v = f.next("value")?;
                    Init::Full(parse_full(v).ok_or_else(|| format!("`{v}` is not a value"))?)
                }
                "normal" => Init::Normal {
                    mean: f.f64("mean")?,
                    std: f.f64("std")?,
                    seed: f.u64("seed")?,
                },
                "uniform" => Init::Uniform {
                    lo: f.f64("lo")?,
                    hi: f.f64("hi")?,
                    seed: f.u64("seed")?,
                },
                "iota" => Init::Iota,
                other => return Err(format!("unknown init `{other}`")),
            };
            desc.params.push(ParamDecl { decl, init });
        }
        "output" => {
            let decl = f.decl()?;
            let src = match f.next("source")? {
                "step" => OutputSrc::Step(f.usize("step output index")?),
                "param" => OutputSrc::Param(f.usize("param index")?),
                other => return Err(format!("unknown output source `{other}`")),
            };
            desc.outputs.push(OutputDecl { decl, src });
        }
        "update" => desc.updates.push(f.usize("param index")?),
        "until" => desc.until.push(f.usize("step output index")?),
        "feed" => {
            let decl = f.decl_named(|n| {
                n.strip_prefix('#')
                    .filter(|rest| is_identifier(rest))
                    .map(|_| n.to_string())
            })?;
            let feed = match f.next("feed kind")? {
                "step" => Feed::Step,
                "rank" => Feed::Rank,
                "world" => Feed::World,
                "batch" => {
                    let rows = f.dim()?;
                    let size = f.u64("batch size")?;
                    let shuffle = match f.next("shuffle")? {
                        "-" => None,
                        k => Some(parse_uint(k).ok_or_else(|| {
                            format!("shuffle `{k}` is not a non-negative integer")
                        })?),
                    };
                    Feed::Batch {
                        rows,
                        size,
                        shuffle,
                    }
                }
                kind @ ("normal" | "uniform") => {
                    let (a, b) = (f.f64("first parameter")?, f.f64("second parameter")?);
                    let dist = if kind == "normal" {
                        Dist::Normal { mean: a, std: b }
                    } else {
                        Dist::Uniform { lo: a, hi: b }
                    };
                    if f.next("seed")? != "seed" {
                        return Err("expected `seed` before the seed tuple".into());
                    }
                    let mut seed = Vec::new();
                    for p in f.it.by_ref() {
                        seed.push(match *p {
                            "step" => SeedPart::Step,
                            "rank" => SeedPart::Rank,
                            k => SeedPart::Lit(parse_uint(k).ok_or_else(|| {
                                format!("seed part `{k}` is not a non-negative integer")
                            })?),
                        });
                    }
                    if seed.is_empty() {
                        return Err("empty seed tuple".into());
                    }
                    Feed::Random { dist, seed }
                }
                other => return Err(format!("unknown feed kind `{other}`")),
            };
            desc.feeds.push(FeedDecl { decl, feed });
        }
        other => return Err(format!("unknown record `{other}`")),
    }
    f.end()
}

/// The fields of a `size $K CODE.. = TEXT` record after `size `: `K` must
/// be the next size's index.
fn size_record(desc: &ProgramDesc, rest: &str) -> Result<DerivedDim, String> {
    let (head, text) = match rest.split_once(" = ") {
        Some((head, text)) => (head, text),
        None => match rest.strip_suffix(" =") {
            Some(head) => (head, ""),
            None => return Err("size record without ` = TEXT`".into()),
        },
    };
    let fields: Vec<&str> = head.split(' ').collect();
    if fields.iter().any(|f| f.is_empty()) {
        return Err("fields must be separated by single spaces".into());
    }
    let own = desc.n_dims();
    let size_ref = |f: &str| {
        f.strip_prefix('$')
            .and_then(parse_uint)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("size reference `{f}` is malformed"))
    };
    let k = size_ref(fields[0])?;
    if k != own {
        return Err(format!("size record `${k}` is not the next size, ${own}"));
    }
    let mut code = Vec::with_capacity(fields.len() - 1);
    for &f in &fields[1..] {
        code.push(match f {
            "+" => SizeOp::Add,
            "*" => SizeOp::Mul,
            "div" => SizeOp::Div,
            _ if f.starts_with('$') => SizeOp::Dim(size_ref(f)?),
            _ => {
                let digits = f.strip_prefix('-').unwrap_or(f);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("unknown size operation `{f}`"));
                }
                SizeOp::Lit(
                    f.parse()
                        .map_err(|_| format!("size literal `{f}` is out of range"))?,
                )
            }
        });
    }
    check_code(k, &code)?;
    check_text(k, text)?;
    Ok(DerivedDim {
        text: text.to_string(),
        code,
    })
}

/// `K KIND LINES LETS`, `K` the next kernel's index; LINES and LETS are
/// comma-separated, or `-` for none.
fn kernel_record(own: usize, rest: &str) -> Result<KernelDesc, String> {
    let f: Vec<&str> = rest.split(' ').collect();
    let [k, kind, lines, lets] = f[..] else {
        return Err("a kernel record is `kernel K KIND LINES LETS`".into());
    };
    if parse_uint(k) != Some(own as u64) {
        return Err(format!("kernel record `{k}` is not the next kernel, {own}"));
    }
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!("`{kind}` is not a kernel kind"));
    }
    let list = |s: &str| -> Result<Vec<String>, String> {
        if s == "-" {
            return Ok(Vec::new());
        }
        let v: Vec<String> = s.split(',').map(String::from).collect();
        if v.iter().any(|x| x.is_empty()) {
            return Err(format!("empty entry in `{s}`"));
        }
        Ok(v)
    };
    Ok(KernelDesc {
        kind: kind.to_string(),
        lines: list(lines)?,
        lets: list(lets)?,
    })
}

#[cfg(test)]
mod tests;
