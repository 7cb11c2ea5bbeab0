//! Checking and elaboration of a whole program: scopes, items, lets,
//! outputs and updates. Expressions are in `expr`, builtin calls in
//! `builtins`, function calls and type resolution in `calls`.
//!
//! Top-level items are evaluated on demand and memoised, so they may come in
//! any order; an item met again while it is being evaluated is a cycle.

mod builtins;
mod calls;
mod expr;

use std::collections::HashMap;

use weft_grammar::ast::{Expr, ExprKind, Ident, Item, Pattern, Span};

use super::diag::Diagnostic;
use super::{suggest, Module, Options};
use crate::ir::graph::{Graph, Init, NodeId, ParamDecl};
use crate::ir::op::{Distribution, Op};
use crate::ir::types::{DType, Dim, Scalar, TensorType};
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
    /// A size (a `dim`, a size parameter, or a literal axis length) used as a value.
    Size(Dim),
    DType(DType),
    Module(usize),
    /// `(module, item)` of a `fn`.
    Func(usize, usize),
    Builtin(&'static str),
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
}

pub(crate) fn elaborate(modules: &[Module], opts: &Options) -> (Graph, Vec<Diagnostic>) {
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
    (e.g, e.diags)
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

    fn build_scope(&mut self, m: usize) -> HashMap<String, Entry> {
        let module = &self.modules[m];
        let mut scope: HashMap<String, Entry> = HashMap::new();
        let mut first: HashMap<String, Span> = HashMap::new();
        let mut declare = |this: &mut Self, name: &Ident, entry: Entry| {
            if let Some(prev) = first.get(&name.name) {
                this.diags.push(
                    Diagnostic::error(
                        "E0202",
                        format!("`{}` is declared twice", name.name),
                        name.span,
                    )
                    .label("declared again here")
                    .with(*prev, "first declared here")
                    .help("rename one of them"),
                );
                return;
            }
            first.insert(name.name.clone(), name.span);
            scope.insert(name.name.clone(), entry);
        };
        for (i, item) in module.program.items.iter().enumerate() {
            if !module.is_main
                && matches!(
                    item,
                    Item::Input { .. }
                        | Item::Param { .. }
                        | Item::Output { .. }
                        | Item::Update { .. }
                )
            {
                self.diags.push(
                    Diagnostic::error(
                        "E0218",
                        format!("module `{}` may only declare `fn`, `const`, `dim`, `let` and `use` items", module.name),
                        item.span(),
                    )
                    .label("not allowed in a module"),
                );
                continue;
            }
            match item {
                Item::Use {
                    module: mname,
                    names,
                    span,
                } => {
                    let target = self
                        .modules
                        .iter()
                        .position(|x| x.name == mname.name && !x.is_main);
                    let Some(t) = target else {
                        let known: Vec<&str> = super::STDLIB.iter().map(|(n, _)| *n).collect();
                        let mut d = Diagnostic::error(
                            "E0204",
                            format!("no module named `{}`", mname.name),
                            mname.span,
                        )
                        .label("not found")
                        .note(format!(
                            "a module is a standard-library module ({}) or a file `{}.weft` next to the program",
                            known.join(", "),
                            mname.name
                        ));
                        if let Some(s) = suggest(&mname.name, known.into_iter()) {
                            d = d.help(format!("did you mean `{s}`?"));
                        }
                        self.diags.push(d);
                        match names {
                            None => declare(self, mname, Entry::Poisoned),
                            Some(ns) => ns.iter().for_each(|n| declare(self, n, Entry::Poisoned)),
                        }
                        continue;
                    };
                    match names {
                        None => declare(self, mname, Entry::Module(t)),
                        Some(ns) => {
                            let _ = span;
                            for n in ns {
                                declare(self, n, Entry::Import(t, n.name.clone(), n.span));
                            }
                        }
                    }
                }
                Item::Dim { name, .. }
                | Item::Const { name, .. }
                | Item::Input { name, .. }
                | Item::Param { name, .. } => declare(self, name, Entry::Item(i)),
                Item::Fn(f) => {
                    declare(self, &f.name, Entry::Item(i));
                    let mut seen: HashMap<&str, Span> = HashMap::new();
                    let names = f
                        .size_params
                        .iter()
                        .map(|s| &s.name)
                        .chain(f.params.iter().map(|p| &p.name));
                    for n in names {
                        if let Some(prev) = seen.insert(n.name.as_str(), n.span) {
                            self.diags.push(
                                Diagnostic::error(
                                    "E0202",
                                    format!(
                                        "`{}` is declared twice in the signature of `{}`",
                                        n.name, f.name.name
                                    ),
                                    n.span,
                                )
                                .label("declared again here")
                                .with(prev, "first declared here"),
                            );
                        }
                    }
                }
                Item::Let(l) => {
                    let mut names = Vec::new();
                    pattern_names(&l.pat, &mut names);
                    for n in &names {
                        declare(self, n, Entry::Item(i));
                    }
                }
                Item::Output {
                    name,
                    value: Some(_),
                    ..
                } => declare(self, name, Entry::Item(i)),
                Item::Output { value: None, .. } | Item::Update { .. } | Item::Error { .. } => {}
            }
        }
        scope
    }

    /// Reports `use M.{name}` of a name that `M` does not declare.
    fn check_imports(&mut self) {
        for m in 0..self.scopes.len() {
            let imports: Vec<(usize, String, Span)> = self.scopes[m]
                .values()
                .filter_map(|e| match e {
                    Entry::Import(t, n, s) => Some((*t, n.clone(), *s)),
                    _ => None,
                })
                .collect();
            for (t, n, s) in imports {
                if !self.scopes[t].contains_key(&n) {
                    self.member(t, &n, s);
                }
            }
        }
    }

    /// Evaluates every item of the main module, in source order, and records
    /// outputs and updates.
    fn run_main(&mut self) {
        let main = &self.modules[0];
        // Evaluate items in dependency order first, so that the on-demand
        // evaluation below never recurses deeply, whatever the source order.
        for i in self.dependency_order(0) {
            self.eval_item(0, i);
        }
        self.frames.push(Frame {
            module: 0,
            vars: HashMap::new(),
            bindings: Bindings::default(),
        });
        let mut out_names: HashMap<String, Span> = HashMap::new();
        let mut updated: HashMap<String, Span> = HashMap::new();
        for (i, item) in main.program.items.iter().enumerate() {
            match item {
                Item::Output {
                    name,
                    value,
                    span: item_span,
                } => {
                    if let Some(prev) = out_names.get(&name.name) {
                        let d = Diagnostic::error(
                            "E0202",
                            format!("output `{}` is declared twice", name.name),
                            name.span,
                        )
                        .label("second output of this name")
                        .with(*prev, "first output here");
                        self.err(d);
                        continue;
                    }
                    out_names.insert(name.name.clone(), name.span);
                    let v = match value {
                        Some(_) => self.eval_item(0, i),
                        None => self.lookup(&name.name, name.span),
                    };
                    let span = value.as_ref().map(|e| e.span).unwrap_or(name.span);
                    if let Some(node) = self.output_node(&v, span, *item_span) {
                        self.g.set_label(node, &name.name);
                        self.g.outputs.push((name.name.clone(), node));
                    }
                }
                Item::Update { name, value, span } => {
                    self.elab_update(name, value, *span, &mut updated);
                }
                Item::Fn(_) | Item::Use { .. } | Item::Error { .. } => {}
                _ => {
                    self.eval_item(0, i);
                }
            }
        }
        self.frames.pop();
    }

    /// The value items of module `m` (lets, outputs with a value, inputs,
    /// params, consts, dims) in an order where each comes after the items its
    /// expression names: an iterative depth-first post-order. Cycles are left
    /// for `eval_item` to report.
    fn dependency_order(&self, m: usize) -> Vec<usize> {
        let items = &self.modules[m].program.items;
        let deps = |i: usize| -> Vec<usize> {
            let mut names = Vec::new();
            match &items[i] {
                Item::Let(l) => free_names(&l.value, &mut names),
                Item::Output { value: Some(e), .. } => free_names(e, &mut names),
                Item::Param { init, .. } => free_names(init, &mut names),
                _ => {}
            }
            names
                .iter()
                .filter_map(|n| match self.scopes[m].get(n) {
                    Some(Entry::Item(j)) if *j != i => Some(*j),
                    _ => None,
                })
                .collect()
        };
        let mut state = vec![0u8; items.len()]; // 0 new, 1 open, 2 done
        let mut order = Vec::new();
        for root in 0..items.len() {
            if state[root] != 0
                || matches!(
                    items[root],
                    Item::Fn(_) | Item::Use { .. } | Item::Error { .. }
                )
            {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>)> = vec![(root, deps(root))];
            state[root] = 1;
            while let Some((node, pending)) = stack.last_mut() {
                match pending.pop() {
                    Some(next) if state[next] == 0 && !matches!(items[next], Item::Fn(_)) => {
                        state[next] = 1;
                        let d = deps(next);
                        stack.push((next, d));
                    }
                    Some(_) => {}
                    None => {
                        let node = *node;
                        state[node] = 2;
                        order.push(node);
                        stack.pop();
                    }
                }
            }
        }
        order
    }

    fn output_node(&mut self, v: &Val, span: Span, item_span: Span) -> Option<NodeId> {
        match v {
            Val::Error => None,
            Val::Tuple(_) => {
                self.err(
                    Diagnostic::error("E0313", "an output must be a tensor, not a tuple", span)
                        .label("this is a tuple")
                        .with(item_span, "in this output")
                        .help("destructure it with `let (a, b) = ..` and output each part"),
                );
                None
            }
            _ => self.tensor_of(v, span, None),
        }
    }

    fn elab_update(
        &mut self,
        name: &Ident,
        value: &Expr,
        span: Span,
        updated: &mut HashMap<String, Span>,
    ) {
        let target = self.lookup(&name.name, name.span);
        let pty = match &target {
            Val::Tensor(id) => match &self.g.node(*id).op {
                Op::Param { ty, .. } => Some(ty.clone()),
                _ => None,
            },
            Val::Error => return,
            _ => None,
        };
        let v = self.expr(value);
        let Some(pty) = pty else {
            let d = Diagnostic::error(
                "E0206",
                format!("`{}` is not a param", name.name),
                name.span,
            )
            .label("only a `param` can be updated")
            .help(format!("declare it as `param {}: TYPE = INIT`", name.name));
            self.err(d);
            return;
        };
        if let Some(prev) = updated.get(&name.name) {
            let d = Diagnostic::error(
                "E0207",
                format!("param `{}` is updated twice", name.name),
                name.span,
            )
            .label("second update")
            .with(*prev, "first update here")
            .note("all updates of a step are assigned together, so each param has at most one");
            self.err(d);
            return;
        }
        updated.insert(name.name.clone(), name.span);
        let Some(node) = self.coerce_to(&v, &pty, value.span, "an update", span) else {
            return;
        };
        self.g.updates.push((name.name.clone(), node));
    }

    /// Checks that `v` has exactly type `want` (a weak scalar adopts it) and
    /// returns its node.
    pub(crate) fn coerce_to(
        &mut self,
        v: &Val,
        want: &TensorType,
        span: Span,
        what: &str,
        decl_span: Span,
    ) -> Option<NodeId> {
        if let Val::Error = v {
            return None;
        }
        if let (Val::Static(_) | Val::Size(_), true) = (v, want.shape.is_empty()) {
            return self.tensor_of(v, span, Some(want.dtype));
        }
        let got = self.type_str(v);
        let node = match v {
            Val::Tensor(id) => Some(*id),
            _ => None,
        };
        match node {
            Some(id) if self.g.ty(id) == want => Some(id),
            _ => {
                let mut d = Diagnostic::error(
                    "E0310",
                    format!("mismatched types: {what} must be `{want}`, found `{got}`"),
                    span,
                )
                .label(format!("this is `{got}`"))
                .with(decl_span, format!("expected `{want}` because of this"));
                if let Some(id) = node {
                    let t = self.g.ty(id).clone();
                    if t.shape == want.shape && t.dtype != want.dtype {
                        d = d.help(format!("convert it with `cast(.., {})`", want.dtype));
                    }
                }
                self.err(d);
                None
            }
        }
    }

    /// Finds a name: function locals first, then the current module's items.
    pub(crate) fn lookup(&mut self, name: &str, span: Span) -> Val {
        let (module, local) = match self.frames.last() {
            Some(f) => (f.module, f.vars.get(name).cloned()),
            None => (0, None),
        };
        if let Some(v) = local {
            return v;
        }
        if let Some(entry) = self.scopes[module].get(name).cloned() {
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
        if let Some(b) = builtins::lookup(name) {
            return Val::Builtin(b);
        }
        if let Some(d) = DType::parse(name) {
            return Val::DType(d);
        }
        let mut cands: Vec<String> = self.scopes[module].keys().cloned().collect();
        if let Some(f) = self.frames.last() {
            cands.extend(f.vars.keys().cloned());
        }
        cands.extend(builtins::NAMES.iter().map(|s| s.to_string()));
        let mut d = Diagnostic::error("E0201", format!("cannot find `{name}` in this scope"), span)
            .label("not found");
        if let Some(s) = suggest(name, cands.iter().map(|s| s.as_str())) {
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
        self.frames.push(Frame {
            module: m,
            vars: HashMap::new(),
            bindings: Bindings::default(),
        });
        let v = self.eval_item_inner(m, i);
        self.frames.pop();
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
                let Some(t) = self.resolve_type(ty) else {
                    return Val::Error;
                };
                let id = self.g.add(
                    Op::Input {
                        name: name.name.clone(),
                        ty: t,
                    },
                    &[],
                    Some(name.span),
                );
                self.g.inputs.push((name.name.clone(), id));
                Val::Tensor(id)
            }
            Item::Param { name, ty, init, .. } => {
                let t = self.resolve_type(ty);
                let init = self.param_init(init, t.as_ref());
                let (Some(t), Some(init)) = (t, init) else {
                    return Val::Error;
                };
                let id = self.g.add(
                    Op::Param {
                        name: name.name.clone(),
                        ty: t.clone(),
                    },
                    &[],
                    Some(name.span),
                );
                self.g.params.push(ParamDecl {
                    name: name.name.clone(),
                    ty: t,
                    init,
                    node: id,
                });
                Val::Tensor(id)
            }
            Item::Let(l) => {
                let v = self.expr(&l.value);
                let v = self.let_value(v, l.value.span);
                let v = match &l.ty {
                    Some(te) => match self.resolve_type(te) {
                        Some(t) => {
                            match self.coerce_to(&v, &t, l.value.span, "this `let`", te.span) {
                                Some(id) => Val::Tensor(id),
                                None => Val::Error,
                            }
                        }
                        None => Val::Error,
                    },
                    None => v,
                };
                self.bind_pattern_check(&l.pat, &v);
                if let (Pattern::Name(n), Val::Tensor(id)) = (&l.pat, &v) {
                    self.g.set_label(*id, &n.name);
                }
                v
            }
            Item::Fn(_) => Val::Func(m, i),
            Item::Output { value: Some(e), .. } => self.expr(e),
            Item::Output { value: None, .. }
            | Item::Update { .. }
            | Item::Use { .. }
            | Item::Error { .. } => Val::Error,
        }
    }

    fn eval_const(&mut self, name: &Ident, value: &Expr) -> Val {
        let lit = static_literal(value);
        let Some(lit) = lit else {
            let d = Diagnostic::error(
                "E0211",
                format!("const `{}` must be a literal", name.name),
                value.span,
            )
            .label("not a literal")
            .help("a const is a number or `true`/`false`; use `let` for computed values");
            self.err(d);
            return Val::Error;
        };
        if let Some(text) = self.sets.get(&name.name).cloned() {
            return match parse_set_value(&text, lit) {
                Some(v) => Val::Static(v),
                None => {
                    // The CLI validates --set values before compiling; this guards library use.
                    let d = Diagnostic::error(
                        "E0211",
                        format!(
                            "--set {}={text}: not a value of the const's kind",
                            name.name
                        ),
                        value.span,
                    );
                    self.err(d);
                    Val::Error
                }
            };
        }
        Val::Static(lit)
    }

    /// `param` initialisers: a creation call whose shape is the param's type.
    fn param_init(&mut self, init: &Expr, ty: Option<&TensorType>) -> Option<Init> {
        let bad = |this: &mut Self, msg: &str| {
            let d = Diagnostic::error("E0316", format!("invalid param initialiser: {msg}"), init.span)
                .label("not a valid initialiser")
                .help("use zeros(), ones(), full(VALUE), normal(MEAN, STD, seed=K) or uniform(LO, HI, seed=K); the shape is the param's type");
            this.err(d);
            None
        };
        let ExprKind::Call {
            callee,
            args,
            kwargs,
        } = &init.kind
        else {
            return bad(self, "expected a creation call");
        };
        let ExprKind::Name(f) = &callee.kind else {
            return bad(self, "expected a creation call");
        };
        if args
            .first()
            .is_some_and(|a| matches!(a.kind, ExprKind::Tuple(_)))
        {
            return bad(
                self,
                &format!("the shape comes from the param's type: drop it and write `{}(..)` with the remaining arguments", f.name),
            );
        }
        let mut nums = Vec::new();
        for a in args {
            match static_literal(a).or_else(|| self.const_value(a)) {
                Some(v) => nums.push(v),
                None => return bad(self, "arguments must be literals or consts"),
            }
        }
        let mut seed = 0u64;
        for (k, v) in kwargs {
            match (
                k.name.as_str(),
                static_literal(v).or_else(|| self.const_value(v)),
            ) {
                ("seed", Some(Scalar::Int(s))) if s >= 0 => seed = s as u64,
                ("seed", _) => return bad(self, "seed must be a non-negative integer literal"),
                (other, _) => return bad(self, &format!("unknown keyword argument `{other}`")),
            }
        }
        let fl = |v: &Scalar| match v {
            Scalar::Float(f) => Some(*f),
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Bool(_) => None,
        };
        let dtype = ty.map(|t| t.dtype).unwrap_or(DType::F32);
        let init = match (f.name.as_str(), nums.as_slice()) {
            ("zeros", []) => Init::Full(zero_of(dtype, 0.0)),
            ("ones", []) => Init::Full(zero_of(dtype, 1.0)),
            ("full", [v]) => {
                if matches!(v, Scalar::Float(_)) && !dtype.is_float() {
                    return bad(self, &format!("a float value cannot fill a {dtype} param"));
                }
                match (v, dtype) {
                    (Scalar::Bool(b), DType::Bool) => Init::Full(Scalar::Bool(*b)),
                    (Scalar::Bool(_), _) | (_, DType::Bool) => {
                        return bad(self, "the value's kind does not match the param's dtype")
                    }
                    (v, d) => Init::Full(zero_of(d, fl(v).unwrap_or(0.0))),
                }
            }
            ("normal", [a, b]) | ("uniform", [a, b]) => {
                if !dtype.is_float() {
                    return bad(
                        self,
                        &format!("random initialisers need a float param, not {dtype}"),
                    );
                }
                let (Some(a), Some(b)) = (fl(a), fl(b)) else {
                    return bad(self, "numbers expected");
                };
                let dist = if f.name == "normal" {
                    if b < 0.0 {
                        return bad(self, "the standard deviation must not be negative");
                    }
                    Distribution::Normal { mean: a, std: b }
                } else {
                    Distribution::Uniform { lo: a, hi: b }
                };
                Init::Random { dist, seed }
            }
            ("arange", []) => Init::Iota,
            ("zeros" | "ones" | "full" | "normal" | "uniform" | "arange", _) => {
                return bad(self, &format!("wrong number of arguments to `{}`", f.name))
            }
            _ => return bad(self, &format!("`{}` is not a creation function", f.name)),
        };
        Some(init)
    }

    fn const_value(&mut self, e: &Expr) -> Option<Scalar> {
        match &e.kind {
            ExprKind::Name(n) => match self.lookup(&n.name, n.span) {
                Val::Static(s) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// A `let` makes a graph node: a bare literal or size becomes a tensor of
    /// its default dtype (f32, i32), and is no longer weak.
    pub(crate) fn let_value(&mut self, v: Val, span: Span) -> Val {
        match v {
            Val::Static(_) | Val::Size(_) => match self.tensor_of(&v, span, None) {
                Some(id) => Val::Tensor(id),
                None => Val::Error,
            },
            other => other,
        }
    }

    /// Binds a pattern inside a function body.
    pub(crate) fn bind_local(&mut self, p: &Pattern, v: &Val) {
        self.bind_pattern_check(p, v);
        let mut names = Vec::new();
        pattern_names(p, &mut names);
        for n in names {
            let part = find_in_pattern(p, v, &n.name).unwrap_or(Val::Error);
            if let (Val::Tensor(id), Pattern::Name(_)) = (&part, p) {
                self.g.set_label(*id, &n.name);
            }
            if let Some(f) = self.frames.last_mut() {
                if f.vars.contains_key(&n.name) {
                    // Shadowing a parameter or an earlier let: allowed in bodies? No: report.
                    let d = Diagnostic::error(
                        "E0202",
                        format!("`{}` is declared twice in this function", n.name),
                        n.span,
                    )
                    .label("declared again here");
                    self.err(d);
                    continue;
                }
            }
            if let Some(f) = self.frames.last_mut() {
                f.vars.insert(n.name.clone(), part);
            }
        }
    }

    /// Reports a tuple pattern that does not match the value's structure.
    fn bind_pattern_check(&mut self, p: &Pattern, v: &Val) {
        match (p, v) {
            (Pattern::Name(_), _) | (_, Val::Error) => {}
            (Pattern::Tuple(ps, span), Val::Tuple(vs)) => {
                if ps.len() != vs.len() {
                    let d = Diagnostic::error(
                        "E0313",
                        format!(
                            "this pattern has {} names but the value is a tuple of {}",
                            ps.len(),
                            vs.len()
                        ),
                        *span,
                    )
                    .label(format!("expected {} names", vs.len()));
                    self.err(d);
                    return;
                }
                for (p, v) in ps.iter().zip(vs) {
                    self.bind_pattern_check(p, v);
                }
            }
            (Pattern::Tuple(_, span), _) => {
                let t = self.type_str(v);
                let d = Diagnostic::error(
                    "E0313",
                    format!("cannot destructure `{t}`: it is not a tuple"),
                    *span,
                )
                .label("tuple pattern");
                self.err(d);
            }
        }
    }

    /// Checks each function of module `m` once on its own, with its size
    /// parameters as rigid names, before any call: a body is well typed for
    /// every binding of its size parameters, or it is reported here. Calls of
    /// a function that failed this check give `Val::Error`, silently.
    fn check_fns_generic(&mut self, m: usize) {
        let items = &self.modules[m].program.items;
        for (i, item) in items.iter().enumerate() {
            if let Item::Fn(f) = item {
                let before = self.diags.iter().filter(|d| d.is_error()).count();
                self.check_fn_generic(m, f);
                if self.diags.iter().filter(|d| d.is_error()).count() > before {
                    self.failed_fns.insert((m, i));
                }
            }
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
            Val::Size(d) => format!("size {d}"),
            Val::DType(d) => format!("dtype {d}"),
            Val::Module(m) => format!("module {}", self.modules[*m].name),
            Val::Func(..) => "function".into(),
            Val::Builtin(b) => format!("builtin function {b}"),
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
        | Item::Output { name, .. }
        | Item::Update { name, .. } => name.name.clone(),
        Item::Let(l) => {
            let mut v = Vec::new();
            pattern_names(&l.pat, &mut v);
            let names: Vec<String> = v.into_iter().map(|i| i.name).collect();
            names.join(", ")
        }
        Item::Fn(f) => f.name.name.clone(),
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

/// Every name an expression mentions (over-approximates: a member's base,
/// callees and keyword values included).
fn free_names(e: &Expr, out: &mut Vec<String>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(id) => out.push(id.name.clone()),
            ExprKind::Member(base, _) | ExprKind::Neg(base) => stack.push(base),
            ExprKind::Binary(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            ExprKind::Call {
                callee,
                args,
                kwargs,
            } => {
                stack.push(callee);
                stack.extend(args.iter());
                stack.extend(kwargs.iter().map(|(_, v)| v));
            }
            ExprKind::Index { base, indices } => {
                stack.push(base);
                for ix in indices {
                    match ix {
                        weft_grammar::ast::IndexItem::Index(x) => stack.push(x),
                        weft_grammar::ast::IndexItem::Slice {
                            start, end, step, ..
                        } => {
                            stack.extend([start, end, step].into_iter().flatten());
                        }
                    }
                }
            }
            ExprKind::Tuple(xs) => stack.extend(xs.iter()),
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        }
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
