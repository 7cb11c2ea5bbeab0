//! Records (the contract's section 9): a structure of the front end only.
//!
//! A record value is a [`Val::Record`] whose leaves are ordinary tensor
//! nodes; a record param, input, update or output is one graph param, input,
//! update or output per leaf, named by its dotted path (`net.out.w`). So the
//! graph, the passes, the scheduler and every engine see plain tensors:
//! records cost nothing at run time.
//!
//! Leaf-wise application: an operator or elementwise builtin, and a call of
//! a user function whose parameter is a tensor type, given record arguments
//! of one type (other arguments are shared by every leaf), is applied to
//! each leaf and gives a record of the results (a tuple of records when the
//! function returns a tuple), in the first record's field order.

use std::fmt;

use weft_grammar::ast::{Ident, Span, Ty};

use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::front::suggest;
use crate::ir::types::TensorType;

/// The type of a value that may be a record.
#[derive(Clone, Debug)]
pub(crate) enum VTy {
    Tensor(TensorType),
    /// Fields in declaration order.
    Record(Vec<(String, VTy)>),
}

impl PartialEq for VTy {
    /// Two record types are equal when they have the same field names, in any
    /// order, with equal types.
    fn eq(&self, other: &VTy) -> bool {
        match (self, other) {
            (VTy::Tensor(a), VTy::Tensor(b)) => a == b,
            (VTy::Record(a), VTy::Record(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(n, t)| b.iter().find(|(m, _)| m == n).is_some_and(|(_, u)| u == t))
            }
            _ => false,
        }
    }
}

impl fmt::Display for VTy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VTy::Tensor(t) => write!(f, "{t}"),
            VTy::Record(fields) => {
                f.write_str("{")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {t}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl VTy {
    /// The leaves with their dotted paths below `prefix`, in field order.
    pub(crate) fn leaves(&self, prefix: &str) -> Vec<(String, TensorType)> {
        let mut out = Vec::new();
        self.leaves_into(prefix, &mut out);
        out
    }

    fn leaves_into(&self, prefix: &str, out: &mut Vec<(String, TensorType)>) {
        match self {
            VTy::Tensor(t) => out.push((prefix.to_string(), t.clone())),
            VTy::Record(fields) => {
                for (n, t) in fields {
                    t.leaves_into(&format!("{prefix}.{n}"), out);
                }
            }
        }
    }
}

/// What [`Elab::leafwise`] applies to each leaf: the arguments, records
/// replaced by their leaf.
pub(crate) type LeafFn<'f, 'm> = dyn FnMut(&mut Elab<'m>, &[(Val, Span)]) -> Val + 'f;

/// The leaves of a value with their dotted paths below `prefix`, in field order.
pub(crate) fn leaves(v: &Val, prefix: &str) -> Vec<(String, Val)> {
    let mut out = Vec::new();
    fn go(v: &Val, prefix: &str, out: &mut Vec<(String, Val)>) {
        match v {
            Val::Record(fields) => {
                for (n, f) in fields {
                    go(f, &format!("{prefix}.{n}"), out);
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    go(v, prefix, &mut out);
    out
}

/// A value of `like`'s structure whose leaves are taken, in order, from `it`.
pub(crate) fn rebuild(like: &Val, it: &mut dyn Iterator<Item = Val>) -> Val {
    match like {
        Val::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, f)| (n.clone(), rebuild(f, it)))
                .collect(),
        ),
        _ => it.next().unwrap_or(Val::Error),
    }
}

/// Field `name` of record fields.
pub(crate) fn field<'v>(fields: &'v [(String, Val)], name: &str) -> Option<&'v Val> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

impl<'m> Elab<'m> {
    /// The type of a tensor or record value (None for other values).
    pub(crate) fn vty(&self, v: &Val) -> Option<VTy> {
        match v {
            Val::Tensor(id) => Some(VTy::Tensor(self.g.ty(*id).clone())),
            Val::Record(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for (n, f) in fields {
                    out.push((n.clone(), self.vty(f)?));
                }
                Some(VTy::Record(out))
            }
            _ => None,
        }
    }

    /// Resolves a written type: a tensor type, a record type, or a bound
    /// `type P` parameter.
    pub(crate) fn resolve_ty(&mut self, ty: &Ty) -> Option<VTy> {
        match ty {
            Ty::Tensor(te) => {
                if te.dims.is_none() {
                    let bound = self
                        .frames
                        .last()
                        .and_then(|f| f.bindings.types.get(&te.dtype.name).cloned());
                    if let Some(t) = bound {
                        return Some(t);
                    }
                }
                self.resolve_type(te).map(VTy::Tensor)
            }
            Ty::Record(fields, _) => {
                if !self.unique_fields(fields.iter().map(|(n, _)| n)) {
                    return None;
                }
                let mut out = Vec::with_capacity(fields.len());
                for (n, t) in fields {
                    out.push((n.name.clone(), self.resolve_ty(t)?));
                }
                Some(VTy::Record(out))
            }
        }
    }

    /// Reports a field name written twice (E0202); true when all are distinct.
    pub(crate) fn unique_fields<'a>(&mut self, names: impl Iterator<Item = &'a Ident>) -> bool {
        let mut seen: Vec<&Ident> = Vec::new();
        let mut ok = true;
        for n in names {
            if let Some(prev) = seen.iter().find(|p| p.name == n.name) {
                self.err(
                    Diagnostic::error(
                        "E0202",
                        format!("field `{}` is declared twice", n.name),
                        n.span,
                    )
                    .label("second field of this name")
                    .with(prev.span, "first declared here"),
                );
                ok = false;
            }
            seen.push(n);
        }
        ok
    }

    /// Checks that `v` has type `want` (a weak scalar adopts a scalar tensor
    /// type) and returns it, with record fields in `want`'s order.
    pub(crate) fn coerce_vty(
        &mut self,
        v: &Val,
        want: &VTy,
        span: Span,
        what: &str,
        decl_span: Span,
    ) -> Option<Val> {
        match want {
            VTy::Tensor(t) => {
                if let Val::Record(_) = v {
                    let got = self.type_str(v);
                    self.err(
                        Diagnostic::error(
                            "E0310",
                            format!("mismatched types: {what} must be `{t}`, found a record"),
                            span,
                        )
                        .label(format!("this is `{got}`"))
                        .with(decl_span, format!("expected `{t}` because of this")),
                    );
                    return None;
                }
                self.coerce_to(v, t, span, what, decl_span).map(Val::Tensor)
            }
            VTy::Record(fields) => {
                let got = self.vty(v);
                let ok = match (&got, v) {
                    (Some(g), _) => g == want,
                    (None, Val::Error) => return None,
                    (None, _) => false,
                };
                if !ok {
                    let got_s = self.type_str(v);
                    let mut d = Diagnostic::error(
                        "E0322",
                        format!("mismatched types: {what} must be `{want}`, found `{got_s}`"),
                        span,
                    )
                    .label(format!("this is `{got_s}`"))
                    .with(decl_span, format!("expected `{want}` because of this"));
                    if let Some(g) = &got {
                        if let Some(note) = record_difference(want, g) {
                            d = d.note(note);
                        }
                    }
                    self.err(d);
                    return None;
                }
                let Val::Record(vf) = v else {
                    return None;
                };
                let mut out = Vec::with_capacity(fields.len());
                for (n, t) in fields {
                    let f = field(vf, n)?.clone();
                    out.push((n.clone(), self.coerce_vty(&f, t, span, what, decl_span)?));
                }
                Some(Val::Record(out))
            }
        }
    }

    /// Leaf-wise application. When no argument is a record, None: the caller
    /// goes on as for tensors. Otherwise every record argument must have the
    /// first one's type (E0322), and `f` is applied to each leaf (records
    /// replaced by their leaf, other arguments as given); the result is a
    /// record of the results, or a tuple of records when every result is a
    /// tuple of the same length.
    pub(crate) fn leafwise(
        &mut self,
        args: &[(Val, Span)],
        what: &str,
        f: &mut LeafFn<'_, 'm>,
    ) -> Option<Val> {
        let first = args.iter().position(|(v, _)| matches!(v, Val::Record(_)))?;
        let Some(t0) = self.vty(&args[first].0) else {
            return Some(Val::Error);
        };
        for (v, s) in &args[first + 1..] {
            if let Val::Record(_) = v {
                let Some(t) = self.vty(v) else {
                    return Some(Val::Error);
                };
                if t != t0 {
                    let mut d = Diagnostic::error(
                        "E0322",
                        format!("{what}: records of different types: `{t0}` and `{t}`"),
                        *s,
                    )
                    .label(format!("this is `{t}`"))
                    .with(args[first].1, format!("this is `{t0}`"));
                    if let Some(note) = record_difference(&t0, &t) {
                        d = d.note(note);
                    }
                    d = d.help("leaf-wise operations need records of one type: the same field names with equal types");
                    self.err(d);
                    return Some(Val::Error);
                }
            }
        }
        Some(self.map_leaves(args, first, f))
    }

    fn map_leaves(&mut self, args: &[(Val, Span)], first: usize, f: &mut LeafFn<'_, 'm>) -> Val {
        let Val::Record(fields) = args[first].0.clone() else {
            // A leaf: apply.
            return f(self, args);
        };
        let mut results: Vec<(String, Val)> = Vec::with_capacity(fields.len());
        for (name, _) in &fields {
            let sub: Vec<(Val, Span)> = args
                .iter()
                .map(|(v, s)| match v {
                    Val::Record(fs) => (field(fs, name).cloned().unwrap_or(Val::Error), *s),
                    other => (other.clone(), *s),
                })
                .collect();
            let r = self.map_leaves(&sub, first, f);
            if let Val::Error = r {
                return Val::Error;
            }
            results.push((name.clone(), r));
        }
        // A tuple result at every field: a tuple of records.
        let arity = match results.first() {
            Some((_, Val::Tuple(vs))) => Some(vs.len()),
            _ => None,
        };
        if let Some(n) = arity {
            if results
                .iter()
                .all(|(_, v)| matches!(v, Val::Tuple(vs) if vs.len() == n))
            {
                let parts = (0..n)
                    .map(|k| {
                        Val::Record(
                            results
                                .iter()
                                .map(|(name, v)| match v {
                                    Val::Tuple(vs) => (name.clone(), vs[k].clone()),
                                    _ => (name.clone(), Val::Error),
                                })
                                .collect(),
                        )
                    })
                    .collect();
                return Val::Tuple(parts);
            }
        }
        Val::Record(results)
    }

    /// `r.name` on a record value (E0323 for an unknown field).
    pub(crate) fn record_field(
        &mut self,
        fields: &[(String, Val)],
        name: &Ident,
        base_span: Span,
    ) -> Val {
        if let Some(v) = field(fields, &name.name) {
            return v.clone();
        }
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        let mut d = Diagnostic::error(
            "E0323",
            format!("this record has no field `{}`", name.name),
            name.span,
        )
        .label("unknown field")
        .with(base_span, format!("its fields are: {}", names.join(", ")));
        if let Some(s) = suggest(&name.name, names.iter().copied()) {
            d = d.help(format!("a field with a similar name exists: `{s}`"));
        }
        self.err(d);
        Val::Error
    }
}

/// What differs between two record types, for a note.
fn record_difference(want: &VTy, got: &VTy) -> Option<String> {
    let (VTy::Record(a), VTy::Record(b)) = (want, got) else {
        return None;
    };
    for (n, t) in a {
        match b.iter().find(|(m, _)| m == n) {
            None => return Some(format!("field `{n}` is missing")),
            Some((_, u)) if u != t => {
                return Some(match record_difference(t, u) {
                    Some(inner) => format!("in field `{n}`: {inner}"),
                    None => format!("field `{n}` is `{u}`, not `{t}`"),
                })
            }
            Some(_) => {}
        }
    }
    b.iter()
        .find(|(m, _)| !a.iter().any(|(n, _)| n == m))
        .map(|(m, _)| format!("field `{m}` is not expected"))
}
