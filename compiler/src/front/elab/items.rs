//! Items: the driver over the program's items, outputs, updates, consts,
//! param initialisers, `let` bindings and patterns, and the generic check of
//! functions.

use std::collections::HashMap;

use weft_grammar::ast::{Expr, ExprKind, Ident, Item, Pattern, Span};

use super::calls::Bindings;
use super::provenance::ItemKind;
use super::{
    find_in_pattern, parse_set_value, pattern_names, static_literal, zero_of, Elab, Frame, Val,
};
use crate::front::diag::Diagnostic;
use crate::ir::graph::{Init, NodeId};
use crate::ir::op::{Distribution, Op};
use crate::ir::types::{DType, Scalar, TensorType};

impl<'m> Elab<'m> {
    pub(super) fn run_main(&mut self) {
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
                    let from = self.g.outputs.len();
                    let v = match value {
                        Some(_) => self.eval_item(0, i),
                        None => self.lookup(&name.name, name.span),
                    };
                    let span = value.as_ref().map(|e| e.span).unwrap_or(name.span);
                    if let Val::Record(_) = v {
                        self.record_outputs(&name.name, &v, span, *item_span);
                    } else if let Some(node) = self.output_node(&v, span, *item_span) {
                        self.g.set_label(node, &name.name);
                        self.g.outputs.push((name.name.clone(), node));
                    }
                    self.prov_items(ItemKind::Output, from, *item_span);
                }
                Item::Update { name, value, span } => {
                    let from = self.g.updates.len();
                    self.elab_update(name, value, *span, &mut updated);
                    self.prov_items(ItemKind::Update, from, *span);
                }
                Item::Until { value, span } => {
                    let from = self.g.until.len();
                    self.elab_until(value, *span);
                    self.prov_items(ItemKind::Until, from, *span);
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
    pub(super) fn output_node(&mut self, v: &Val, span: Span, item_span: Span) -> Option<NodeId> {
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

    pub(super) fn elab_update(
        &mut self,
        name: &Ident,
        value: &Expr,
        span: Span,
        updated: &mut HashMap<String, Span>,
    ) {
        let target = self.lookup(&name.name, name.span);
        if let Val::Record(_) = target {
            self.update_record(name, &target, value, span, updated);
            return;
        }
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
        if !self.first_update(name, updated) {
            return;
        }
        let Some(node) = self.coerce_to(&v, &pty, value.span, "an update", span) else {
            return;
        };
        self.g.updates.push((name.name.clone(), node));
    }

    /// Records the update of `name`; false (and E0207) when it has one already.
    fn first_update(&mut self, name: &Ident, updated: &mut HashMap<String, Span>) -> bool {
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
            return false;
        }
        updated.insert(name.name.clone(), name.span);
        true
    }

    /// `update r = EXPR` of a record param: one update per leaf.
    fn update_record(
        &mut self,
        name: &Ident,
        target: &Val,
        value: &Expr,
        span: Span,
        updated: &mut HashMap<String, Span>,
    ) {
        let leaves = super::records::leaves(target, &name.name);
        let mut params = Vec::with_capacity(leaves.len());
        for (path, leaf) in &leaves {
            match leaf {
                Val::Tensor(id) => match &self.g.node(*id).op {
                    Op::Param { name: pn, .. } => params.push(pn.clone()),
                    _ => {
                        let d = Diagnostic::error(
                            "E0206",
                            format!("`{}` is not a param: its leaf `{path}` is not", name.name),
                            name.span,
                        )
                        .label("only a `param` can be updated");
                        self.err(d);
                        return;
                    }
                },
                _ => return,
            }
        }
        let v = self.expr(value);
        if !self.first_update(name, updated) {
            return;
        }
        let Some(want) = self.vty(target) else {
            return;
        };
        let Some(v) = self.coerce_vty(&v, &want, value.span, "an update", span) else {
            return;
        };
        for (p, (_, leaf)) in params.into_iter().zip(super::records::leaves(&v, "")) {
            if let Val::Tensor(id) = leaf {
                self.g.updates.push((p, id));
            }
        }
    }

    /// `until EXPR`: a bool scalar, evaluated like a `let` of each step.
    fn elab_until(&mut self, value: &Expr, span: Span) {
        let v = self.expr(value);
        let ok = match &v {
            Val::Error => return,
            Val::Tensor(id) => {
                let t = self.g.ty(*id);
                t.dtype == DType::Bool && t.rank() == 0
            }
            _ => false,
        };
        if !ok {
            let t = self.type_str(&v);
            let mut d = Diagnostic::error(
                "E0326",
                format!("`until` needs a `bool` scalar, found `{t}`"),
                value.span,
            )
            .label(format!("this is `{t}`"))
            .with(span, "the run's stopping condition");
            if let Val::Tensor(id) = &v {
                let ty = self.g.ty(*id);
                d = if ty.dtype == DType::Bool {
                    d.help("reduce it to one value first, e.g. with `max(cast(c, i32)) > 0` or a comparison of a reduction")
                } else {
                    d.help("compare it: `until loss < 0.01`")
                };
            }
            self.err(d);
            return;
        }
        if let Val::Tensor(id) = v {
            self.g.until.push(id);
        }
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
    pub(super) fn eval_const(&mut self, name: &Ident, value: &Expr) -> Val {
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
    pub(super) fn param_init(&mut self, init: &Expr, ty: Option<&TensorType>) -> Option<Init> {
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
            // A seed is an integer, or a tuple of them (`seed=(4, 2)`).
            let parts: Vec<&Expr> = match (&v.kind, k.name.as_str()) {
                (ExprKind::Tuple(xs), "seed") => xs.iter().collect(),
                _ => vec![v],
            };
            let mut lits = Vec::with_capacity(parts.len());
            for p in &parts {
                match static_literal(p).or_else(|| self.const_value(p)) {
                    Some(Scalar::Int(s)) if s >= 0 => lits.push(s as u64),
                    _ => lits.clear(),
                }
                if lits.is_empty() {
                    break;
                }
            }
            match k.name.as_str() {
                "seed" if !lits.is_empty() => seed = weft_runtime::feed::seed_of(&lits),
                "seed" => return bad(self, "a param's seed is a non-negative integer literal or const, or a tuple of them (step and rank are not known when params start)"),
                other => return bad(self, &format!("unknown keyword argument `{other}`")),
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

    pub(super) fn const_value(&mut self, e: &Expr) -> Option<Scalar> {
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
        self.prov_let(p, v);
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
    pub(super) fn bind_pattern_check(&mut self, p: &Pattern, v: &Val) {
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
    pub(super) fn check_fns_generic(&mut self, m: usize) {
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
}
