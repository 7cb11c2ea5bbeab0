//! Scopes: the names each module declares and imports, duplicates, and the
//! dependency order in which the program's items are evaluated.

use std::collections::HashMap;

use weft_grammar::ast::{Expr, ExprKind, Ident, Item, ParamField, Span};

use super::{pattern_names, Elab, Entry};
use crate::front::diag::Diagnostic;
use crate::front::suggest;

impl<'m> Elab<'m> {
    pub(super) fn build_scope(&mut self, m: usize) -> HashMap<String, Entry> {
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
                        | Item::ParamRecord { .. }
                        | Item::Until { .. }
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
                        let known: Vec<&str> =
                            crate::front::STDLIB.iter().map(|(n, _)| *n).collect();
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
                | Item::Param { name, .. }
                | Item::ParamRecord { name, .. } => declare(self, name, Entry::Item(i)),
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
                Item::Output { value: None, .. }
                | Item::Update { .. }
                | Item::Until { .. }
                | Item::Error { .. } => {}
            }
        }
        scope
    }

    /// Reports `use M.{name}` of a name that `M` does not declare.
    pub(super) fn check_imports(&mut self) {
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
    pub(super) fn dependency_order(&self, m: usize) -> Vec<usize> {
        let items = &self.modules[m].program.items;
        let deps = |i: usize| -> Vec<usize> {
            let mut names = Vec::new();
            match &items[i] {
                Item::Let(l) => free_names(&l.value, &mut names),
                Item::Output { value: Some(e), .. } => free_names(e, &mut names),
                Item::Param { init, .. } => free_names(init, &mut names),
                Item::ParamRecord { fields, .. } => {
                    let mut stack: Vec<&ParamField> = fields.iter().collect();
                    while let Some(f) = stack.pop() {
                        match f {
                            ParamField::Leaf { init, .. } => free_names(init, &mut names),
                            ParamField::Record { fields, .. } => stack.extend(fields.iter()),
                        }
                    }
                }
                Item::Until { value, .. } => free_names(value, &mut names),
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
}

/// Every name an expression mentions (over-approximates: a member's base,
/// callees and keyword values included).
fn free_names(e: &Expr, out: &mut Vec<String>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(id) => out.push(id.name.clone()),
            ExprKind::Member(base, _) | ExprKind::Neg(base) | ExprKind::Not(base) => {
                stack.push(base)
            }
            ExprKind::List(items) => stack.extend(items.iter()),
            ExprKind::Str(_) => {}
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
            ExprKind::Record(fs) => stack.extend(fs.iter().map(|(_, x)| x)),
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        }
    }
}
