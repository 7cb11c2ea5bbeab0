//! Checking and elaboration of a whole program: scopes, items, lets,
//! outputs and updates. Expressions are in `expr`, builtin calls in
//! `builtins`, function calls and type resolution in `calls`.
//!
//! Top-level items are evaluated on demand and memoised, so they may come in
//! any order; an item met again while it is being evaluated is a cycle.

mod builtins;
mod calls;
mod expr;
mod index;
mod items;
mod literal;
mod logic;
mod op_errors;
mod provenance;
mod record_items;
mod records;
mod scope;
mod sizes;

use std::collections::HashMap;

use weft_grammar::ast::{Expr, ExprKind, Ident, Item, Pattern, Span};

use super::diag::Diagnostic;
use super::{suggest, Module, Options};
use crate::ir::graph::{Graph, NodeId};

use crate::ir::types::{DType, Dim, Scalar};
use calls::Bindings;

/// The longest chain of items evaluated inside one another (`let a2 = a1 ..`
/// above `let a1 = a0 ..`). The CLI runs the compiler on a large stack; this
/// bound keeps deeper programs an error instead of a crash.
const MAX_ITEM_DEPTH: usize = 20_000;

/// A value during elaboration.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Tensor(NodeId),
    /// A compile-time scalar: a literal or a `const`. Weak: it takes the dtype of
    /// the tensor it meets.
    Static(Scalar),
    Tuple(Vec<Val>),
    /// A string literal (`einsum`'s spec).
    Str(String),
    /// A tensor literal `[..]`, weak until it meets a tensor (`literal.rs`).
    Lit {
        shape: Vec<u64>,
        values: Vec<Scalar>,
    },
    /// A record: fields in declaration order, each a tensor or a record.
    Record(Vec<(String, Val)>),
    /// A size (a `dim`, a size parameter, or a literal axis length) used as a value.
    Size(Dim),
    DType(DType),
    Module(usize),
    /// `(module, item)` of a `fn`.
    Func(usize, usize),
    Builtin(builtins::Builtin),
    /// The result of an ill-typed expression, already reported.
    Error,
}

#[derive(Clone, Debug)]
enum Entry {
    /// Item index in the module (a destructuring `let` has one entry per name).
    Item(usize),
    Module(usize),
    /// `use M.{name}`: (module, name, span of the import).
    Import(usize, String, Span),
    /// A name whose declaration failed (an unknown module): already reported.
    Poisoned,
}

enum Slot {
    InProgress,
    Done(Val),
}

/// Local names of a function being inlined.
struct Frame {
    module: usize,
    vars: HashMap<String, Val>,
    bindings: Bindings,
}

pub(crate) struct Elab<'m> {
    modules: &'m [Module],
    scopes: Vec<HashMap<String, Entry>>,
    pub(crate) g: Graph,
    diags: Vec<Diagnostic>,
    slots: HashMap<(usize, usize), Slot>,
    /// Items being evaluated, for cycle messages.
    eval_stack: Vec<(String, Span)>,
    /// Calls being inlined: (call span, function name).
    call_stack: Vec<(Span, String)>,
    frames: Vec<Frame>,
    sets: HashMap<String, String>,
    /// Functions whose generic check failed.
    failed_fns: std::collections::HashSet<(usize, usize)>,
    /// Set once E0321 (the inlining budget) is reported: later calls fail quietly.
    over_budget: bool,
    /// Names of the main module that some expression looked up (for the
    /// unused-`let` warning).
    used: std::collections::HashSet<String>,
    /// Where the graph's nodes come from (`provenance.rs`), handed to the
    /// graph at the end.
    prov: crate::ir::provenance::Provenance,
    /// The call whose body is being elaborated (an index of `prov.calls`).
    prov_at: Option<u32>,
}

/// What elaboration gives: the graph, the diagnostics, and the names of the
/// main module that were used.
pub(crate) struct Elaborated {
    pub graph: Graph,
    pub diags: Vec<Diagnostic>,
    pub used: std::collections::HashSet<String>,
}

pub(crate) fn elaborate(modules: &[Module], opts: &Options) -> Elaborated {
    let mut e = Elab {
        modules,
        scopes: Vec::new(),
        g: Graph::new(),
        diags: Vec::new(),
        slots: HashMap::new(),
        eval_stack: Vec::new(),
        call_stack: Vec::new(),
        frames: Vec::new(),
        sets: opts.sets.iter().cloned().collect(),
        failed_fns: Default::default(),
        over_budget: false,
        used: Default::default(),
        prov: Default::default(),
        prov_at: None,
    };
    for m in 0..modules.len() {
        let s = e.build_scope(m);
        e.scopes.push(s);
    }
    e.check_imports();
    for (m, module) in modules.iter().enumerate() {
        if module.is_main || !super::STDLIB.iter().any(|(n, _)| *n == module.name) {
            e.check_fns_generic(m);
        }
    }
    e.run_main();
    e.finish_provenance();
    Elaborated {
        graph: e.g,
        diags: e.diags,
        used: e.used,
    }
}

/// The names a pattern binds, in order.
pub(crate) fn pattern_names_of(p: &Pattern, out: &mut Vec<Ident>) {
    pattern_names(p, out)
}

fn pattern_names(p: &Pattern, out: &mut Vec<Ident>) {
    match p {
        Pattern::Name(i) => out.push(i.clone()),
        Pattern::Tuple(ps, _) => ps.iter().for_each(|p| pattern_names(p, out)),
    }
}

impl<'m> Elab<'m> {
    pub(crate) fn err(&mut self, d: Diagnostic) {
        let mut d = d;
        // An error inside the standard library is the caller's: point at the
        // outermost call from user code, and show where in the library it arose.
        if self.is_stdlib(d.primary.file) {
            if let Some((call, name)) = self
                .call_stack
                .iter()
                .find(|(s, _)| !self.is_stdlib(s.file))
                .cloned()
            {
                let inner = std::mem::replace(&mut d.primary, call);
                let label = std::mem::replace(&mut d.label, format!("in this call to `{name}`"));
                d.secondary.retain(|(s, _)| !self.is_stdlib(s.file));
                d.secondary
                    .insert(0, (inner, format!("inside `{name}`: {label}")));
                self.diags.push(d);
                return;
            }
        }
        for (span, name) in self.call_stack.iter().rev() {
            d = d.with(*span, format!("in this call to `{name}`"));
        }
        self.diags.push(d);
    }

    fn is_stdlib(&self, file: weft_grammar::ast::FileId) -> bool {
        self.modules.iter().any(|m| {
            m.file == file && !m.is_main && super::STDLIB.iter().any(|(n, _)| *n == m.name)
        })
    }

    pub(crate) fn lookup(&mut self, name: &str, span: Span) -> Val {
        let (module, local) = match self.frames.last() {
            Some(f) => (f.module, f.vars.get(name).cloned()),
            None => (0, None),
        };
        if let Some(v) = local {
            return v;
        }
        if let Some(entry) = self.scopes[module].get(name).cloned() {
            if module == 0 {
                self.used.insert(name.to_string());
            }
            return match entry {
                Entry::Item(i) => {
                    let v = self.eval_item(module, i);
                    self.project(module, i, name, v)
                }
                Entry::Module(t) => Val::Module(t),
                Entry::Import(t, n, s) => self.member(t, &n, s),
                Entry::Poisoned => Val::Error,
            };
        }
        if let Some(v) = self.run_value(name, span) {
            return v;
        }
        if let Some(b) = builtins::Builtin::lookup(name) {
            return Val::Builtin(b);
        }
        if let Some(d) = DType::parse(name) {
            return Val::DType(d);
        }
        let mut cands: Vec<String> = self.scopes[module].keys().cloned().collect();
        if let Some(f) = self.frames.last() {
            cands.extend(f.vars.keys().cloned());
        }
        cands.extend(builtins::Builtin::all().map(|b| b.name().to_string()));
        let mut d = Diagnostic::error("E0201", format!("cannot find `{name}` in this scope"), span)
            .label("not found");
        if name == "True" || name == "False" || name == "TRUE" || name == "FALSE" {
            d = d.help(format!(
                "booleans are written `{}`",
                name.to_ascii_lowercase()
            ));
        } else if crate::front::source::STDLIB.iter().any(|(m, _)| *m == name) {
            d = d.help(format!(
                "`{name}` is a standard library module: add `use {name}` at the top of the file"
            ));
        } else if let Some(s) = suggest(name, cands.iter().map(|s| s.as_str())) {
            d = d.help(format!("a name with a similar spelling exists: `{s}`"));
        }
        self.err(d);
        Val::Error
    }

    /// `M.name`.
    pub(crate) fn member(&mut self, m: usize, name: &str, span: Span) -> Val {
        match self.scopes[m].get(name).cloned() {
            Some(Entry::Item(i)) => {
                let v = self.eval_item(m, i);
                self.project(m, i, name, v)
            }
            Some(Entry::Module(t)) => Val::Module(t),
            Some(Entry::Import(t, n, s)) => self.member(t, &n, s),
            Some(Entry::Poisoned) => Val::Error,
            None if !self.modules[m].is_main
                && builtins::Builtin::in_module(&self.modules[m].name, name).is_some() =>
            {
                builtins::Builtin::in_module(&self.modules[m].name, name)
                    .map_or(Val::Error, Val::Builtin)
            }
            None => {
                let mname = self.modules[m].name.clone();
                let mut d = Diagnostic::error(
                    "E0205",
                    format!("module `{mname}` has no item named `{name}`"),
                    span,
                )
                .label("not in the module");
                let cands: Vec<String> = self.scopes[m].keys().cloned().collect();
                if let Some(s) = suggest(name, cands.iter().map(|s| s.as_str())) {
                    d = d.help(format!("did you mean `{mname}.{s}`?"));
                }
                self.err(d);
                Val::Error
            }
        }
    }

    /// The part of a destructuring `let` that binds `name`.
    fn project(&mut self, m: usize, i: usize, name: &str, v: Val) -> Val {
        if let Item::Let(l) = &self.modules[m].program.items[i] {
            if let Pattern::Tuple(..) = l.pat {
                return find_in_pattern(&l.pat, &v, name).unwrap_or(Val::Error);
            }
        }
        v
    }

    /// Evaluates top-level item `i` of module `m` once.
    fn eval_item(&mut self, m: usize, i: usize) -> Val {
        match self.slots.get(&(m, i)) {
            Some(Slot::Done(v)) => return v.clone(),
            Some(Slot::InProgress) => {
                let item = &self.modules[m].program.items[i];
                let name = item_name(item);
                let pos = self
                    .eval_stack
                    .iter()
                    .position(|(n, _)| *n == name)
                    .unwrap_or(0);
                let cycle: Vec<(String, Span)> = self.eval_stack[pos..].to_vec();
                let path: Vec<String> = cycle.iter().map(|(n, _)| format!("`{n}`")).collect();
                let mut d = Diagnostic::error(
                    "E0203",
                    format!("cycle among lets: {} → `{name}`", path.join(" → ")),
                    item.span(),
                )
                .label(format!("`{name}` depends on itself"))
                .note("a program is a graph: a value cannot depend on itself; carry state across steps with `param` and `update`");
                for (n, s) in cycle.iter().skip(1) {
                    d = d.with(*s, format!("`{n}` is part of the cycle"));
                }
                self.diags.push(d);
                self.slots.insert((m, i), Slot::Done(Val::Error));
                return Val::Error;
            }
            None => {}
        }
        let item = &self.modules[m].program.items[i];
        if self.eval_stack.len() >= MAX_ITEM_DEPTH {
            let d = Diagnostic::error(
                "E0219",
                format!("more than {MAX_ITEM_DEPTH} items are being evaluated inside one another at `{}`", item_name(item)),
                item.span(),
            )
            .label("dependency chain too long")
            .help("split the computation, or carry state across steps with `param` and `update`");
            self.diags.push(d);
            self.slots.insert((m, i), Slot::Done(Val::Error));
            return Val::Error;
        }
        self.slots.insert((m, i), Slot::InProgress);
        self.eval_stack.push((item_name(item), item.span()));
        // Items are evaluated outside any function: their own module's scope.
        let saved_calls = std::mem::take(&mut self.call_stack);
        let saved_call = self.prov_top();
        self.frames.push(Frame {
            module: m,
            vars: HashMap::new(),
            bindings: Bindings::default(),
        });
        let v = self.eval_item_inner(m, i);
        self.frames.pop();
        self.prov_back(saved_call);
        self.call_stack = saved_calls;
        self.eval_stack.pop();
        if let Some(Slot::InProgress) = self.slots.get(&(m, i)) {
            self.slots.insert((m, i), Slot::Done(v.clone()));
        }
        match self.slots.get(&(m, i)) {
            Some(Slot::Done(v)) => v.clone(),
            _ => Val::Error,
        }
    }

    fn eval_item_inner(&mut self, m: usize, i: usize) -> Val {
        let item = &self.modules[m].program.items[i];
        match item {
            Item::Dim { name, .. } => {
                if !self.g.dims.contains(&name.name) {
                    self.g.dims.push(name.name.clone());
                }
                Val::Size(Dim::sym(&name.name))
            }
            Item::Const { name, value, .. } => self.eval_const(name, value),
            Item::Input { name, ty, .. } => {
                let Some(t) = self.resolve_ty(ty) else {
                    return Val::Error;
                };
                self.declare_input(&name.name, name.span, &t)
            }
            Item::Param {
                name,
                ty: Some(ty),
                init,
                ..
            } => {
                let t = self.resolve_type(ty);
                let init = self.param_init(init, t.as_ref());
                let (Some(t), Some(init)) = (t, init) else {
                    return Val::Error;
                };
                self.declare_param(&name.name, name.span, t, init)
            }
            Item::Param {
                name,
                ty: None,
                init,
                ..
            } => self.param_like(name, init),
            Item::ParamRecord { name, fields, .. } => self.param_record(name, fields),
            Item::Let(l) => {
                let v = self.expr(&l.value);
                let v = self.let_value(v, l.value.span);
                let v = match &l.ty {
                    Some(te) => match self.resolve_ty(te) {
                        Some(t) => self
                            .coerce_vty(&v, &t, l.value.span, "this `let`", te.span())
                            .unwrap_or(Val::Error),
                        None => Val::Error,
                    },
                    None => v,
                };
                self.bind_pattern_check(&l.pat, &v);
                self.prov_let(&l.pat, &v);
                if let (Pattern::Name(n), Val::Tensor(id)) = (&l.pat, &v) {
                    self.g.set_label(*id, &n.name);
                }
                v
            }
            Item::Fn(_) => Val::Func(m, i),
            Item::Output { value: Some(e), .. } => self.expr(e),
            Item::Output { value: None, .. }
            | Item::Update { .. }
            | Item::Until { .. }
            | Item::Use { .. }
            | Item::Error { .. } => Val::Error,
        }
    }

    /// A readable type for messages: `f32[B, 128]`, `float literal`, `a tuple`...
    pub(crate) fn type_str(&self, v: &Val) -> String {
        match v {
            Val::Tensor(id) => self.g.ty(*id).to_string(),
            Val::Static(Scalar::Float(_)) => "float literal".into(),
            Val::Static(Scalar::Int(_)) => "integer literal".into(),
            Val::Static(Scalar::Bool(_)) => "bool literal".into(),
            Val::Tuple(vs) => {
                let parts: Vec<String> = vs.iter().map(|v| self.type_str(v)).collect();
                format!("({})", parts.join(", "))
            }
            Val::Record(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(n, v)| format!("{n}: {}", self.type_str(v)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Val::Str(_) => "string literal".into(),
            Val::Lit { shape, .. } => {
                let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
                format!("tensor literal [{}]", dims.join(", "))
            }
            Val::Size(d) => format!("size {d}"),
            Val::DType(d) => format!("dtype {d}"),
            Val::Module(m) => format!("module {}", self.modules[*m].name),
            Val::Func(..) => "function".into(),
            Val::Builtin(b) => format!("builtin function {}", b.name()),
            Val::Error => "{error}".into(),
        }
    }
}

fn zero_of(dtype: DType, v: f64) -> Scalar {
    if dtype.is_float() {
        Scalar::Float(v)
    } else if dtype == DType::Bool {
        Scalar::Bool(v != 0.0)
    } else {
        Scalar::Int(v as i64)
    }
}

fn item_name(item: &Item) -> String {
    match item {
        Item::Use { module, .. } => module.name.clone(),
        Item::Dim { name, .. }
        | Item::Const { name, .. }
        | Item::Input { name, .. }
        | Item::Param { name, .. }
        | Item::ParamRecord { name, .. }
        | Item::Output { name, .. }
        | Item::Update { name, .. } => name.name.clone(),
        Item::Let(l) => {
            let mut v = Vec::new();
            pattern_names(&l.pat, &mut v);
            let names: Vec<String> = v.into_iter().map(|i| i.name).collect();
            names.join(", ")
        }
        Item::Fn(f) => f.name.name.clone(),
        Item::Until { .. } => "until".into(),
        Item::Error { .. } => "?".into(),
    }
}

fn find_in_pattern(p: &Pattern, v: &Val, name: &str) -> Option<Val> {
    match (p, v) {
        (Pattern::Name(n), _) => (n.name == name).then(|| v.clone()),
        (Pattern::Tuple(ps, _), Val::Tuple(vs)) if ps.len() == vs.len() => ps
            .iter()
            .zip(vs)
            .find_map(|(p, v)| find_in_pattern(p, v, name)),
        (Pattern::Tuple(..), _) => Some(Val::Error),
    }
}

/// A literal, possibly negated: `3`, `-0.5`, `true`.
pub(crate) fn static_literal(e: &Expr) -> Option<Scalar> {
    match &e.kind {
        ExprKind::Int(i) => Some(Scalar::Int(*i)),
        ExprKind::Float(f) => Some(Scalar::Float(*f)),
        ExprKind::Bool(b) => Some(Scalar::Bool(*b)),
        ExprKind::Neg(inner) => match static_literal(inner)? {
            Scalar::Int(i) => Some(Scalar::Int(i.checked_neg()?)),
            Scalar::Float(f) => Some(Scalar::Float(-f)),
            Scalar::Bool(_) => None,
        },
        _ => None,
    }
}

/// Parses a `--set` value as the same kind as the const's literal.
pub fn parse_set_value(text: &str, like: Scalar) -> Option<Scalar> {
    let t = text.trim();
    match like {
        Scalar::Bool(_) => match t {
            "true" => Some(Scalar::Bool(true)),
            "false" => Some(Scalar::Bool(false)),
            _ => None,
        },
        Scalar::Int(_) => t.parse::<i64>().ok().map(Scalar::Int),
        Scalar::Float(_) => t.parse::<f64>().ok().map(Scalar::Float),
    }
}
