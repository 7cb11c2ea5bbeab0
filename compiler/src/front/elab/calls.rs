//! Types written in the source, and calls of user functions.
//!
//! A call is checked by inlining: the arguments are unified with the
//! parameter types, which binds the function's size parameters (`N`), axis
//! runs (`..S`) and dtype parameters (`T`); then the body is elaborated with
//! those bindings, and its result is checked against the declared result type.

use std::collections::HashMap;

use weft_grammar::ast::{DimExpr, FnDef, GenericKind, Item, RetType, Span, Ty, TypeExpr};

use super::expr::{literal_meets, static_fits};
use super::{Elab, Frame, Val};
use crate::front::diag::Diagnostic;
use crate::front::suggest;
use crate::ir::op::Op;
use crate::ir::types::{shape_str, DType, Dim, Scalar, TensorType};

/// What a function's generic parameters are bound to during one call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bindings {
    pub sizes: HashMap<String, Dim>,
    pub runs: HashMap<String, Vec<Dim>>,
    pub dtypes: HashMap<String, DType>,
    /// `type P` parameters: a tensor or record type.
    pub types: HashMap<String, super::records::VTy>,
    /// Which argument bound each parameter first: (span, description).
    pub origin: HashMap<String, (Span, String)>,
}

const MAX_CALL_DEPTH: usize = 64;
/// The most graph nodes the front end builds before it stops inlining
/// (about 200 bytes each).
const MAX_GRAPH_NODES: usize = 1_000_000;

impl<'m> Elab<'m> {
    /// Resolves a written type in the current frame (size parameters, then the
    /// module's `dim`s).
    pub(crate) fn resolve_type(&mut self, te: &TypeExpr) -> Option<TensorType> {
        let b = self
            .frames
            .last()
            .map(|f| f.bindings.clone())
            .unwrap_or_default();
        let dtype = match DType::parse(&te.dtype.name) {
            Some(d) => d,
            None => match b.dtypes.get(&te.dtype.name) {
                Some(d) => *d,
                None => {
                    let names = DType::ALL.map(|d| d.name());
                    let mut d = Diagnostic::error(
                        "E0301",
                        format!("unknown dtype `{}`", te.dtype.name),
                        te.dtype.span,
                    )
                    .label("not a dtype")
                    .note("the dtypes are f32, f64, f16, bf16, i32, i64 and bool");
                    if let Some(s) = suggest(&te.dtype.name, names.into_iter()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    self.err(d);
                    return None;
                }
            },
        };
        let mut shape = Vec::new();
        let mut ok = true;
        for d in te.dims.iter().flatten() {
            match d {
                DimExpr::Lit(..) | DimExpr::Name(_) | DimExpr::Bin(..) => {
                    match self.type_dim(d, &b) {
                        Some(x) => shape.push(x),
                        None => ok = false,
                    }
                }
                DimExpr::Splat(id) => match b.runs.get(&id.name) {
                    Some(run) => shape.extend(run.iter().cloned()),
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0214",
                                format!("`..{}` is not a size parameter of this function", id.name),
                                id.span,
                            )
                            .label("unknown axis run")
                            .help(format!(
                                "declare it in the function's brackets: `fn f[..{}](..)`",
                                id.name
                            )),
                        );
                        ok = false;
                    }
                },
            }
        }
        ok.then(|| TensorType::new(dtype, shape))
    }

    pub(super) fn is_dim(&mut self, name: &str) -> bool {
        let module = self.frames.last().map(|f| f.module).unwrap_or(0);
        match self.scopes[module].get(name).cloned() {
            Some(super::Entry::Item(i)) => {
                matches!(self.modules[module].program.items[i], Item::Dim { .. })
            }
            _ => false,
        }
    }

    /// Whether `name` is a `const` of the current module.
    pub(crate) fn is_const(&self, name: &str) -> bool {
        let module = self.frames.last().map(|f| f.module).unwrap_or(0);
        match self.scopes[module].get(name) {
            Some(super::Entry::Item(i)) => {
                matches!(self.modules[module].program.items[*i], Item::Const { .. })
            }
            _ => false,
        }
    }

    pub(super) fn unknown_size(&mut self, name: &str, span: Span) {
        let d = Diagnostic::error("E0214", format!("unknown size name `{name}`"), span);
        let d = d.label("not a declared size").help(format!(
            "declare it with `dim {name}` or `const {name} = LENGTH`, or make it a size parameter of the function: `fn f[{name}](..)`"
        ));
        self.err(d);
    }

    /// Elaborates a call of user function `(m, i)`.
    pub(crate) fn call_fn(
        &mut self,
        m: usize,
        i: usize,
        call_span: Span,
        args: &[(Val, Span)],
        kwargs: &[(String, Val, Span)],
    ) -> Val {
        let Item::Fn(f) = &self.modules[m].program.items[i] else {
            return Val::Error;
        };
        if self.failed_fns.contains(&(m, i)) {
            return Val::Error;
        }
        if self.over_budget {
            return Val::Error;
        }
        let depth = self.call_stack.len() >= MAX_CALL_DEPTH;
        let size = self.g.len() > MAX_GRAPH_NODES;
        if depth || size {
            let what = if depth {
                format!("calls nested more than {MAX_CALL_DEPTH} deep")
            } else {
                format!("more than {MAX_GRAPH_NODES} operations")
            };
            let d = Diagnostic::error(
                "E0321",
                format!("inlining `{}` here makes the program too large: {what}", f.name.name),
                call_span,
            )
            .label("this call is inlined past the limit")
            .with(f.name.span, "defined here")
            .note("weft inlines every function at each call; a function that calls another several times multiplies the program's size at each level")
            .help("call expensive functions once and reuse the result with `let`");
            self.err(d);
            self.over_budget = true;
            return Val::Error;
        }
        if self.call_stack.iter().any(|(_, n)| *n == f.name.name) {
            let d = Diagnostic::error(
                "E0209",
                format!("function `{}` calls itself", f.name.name),
                call_span,
            )
            .label("recursive call")
            .with(f.name.span, "defined here")
            .note("weft functions are inlined at each call, so recursion is not allowed");
            self.err(d);
            return Val::Error;
        }
        // Match arguments to parameters.
        let mut bound: Vec<Option<(Val, Span)>> = vec![None; f.params.len()];
        if args.len() > f.params.len() {
            let d = Diagnostic::error(
                "E0210",
                format!(
                    "`{}` takes {} argument(s) but {} were given",
                    f.name.name,
                    f.params.len(),
                    args.len()
                ),
                args[f.params.len()].1,
            )
            .label("extra argument")
            .with(f.name.span, "defined here");
            self.err(d);
            return Val::Error;
        }
        for (k, a) in args.iter().enumerate() {
            bound[k] = Some(a.clone());
        }
        for (name, v, span) in kwargs {
            match f.params.iter().position(|p| p.name.name == *name) {
                Some(k) if bound[k].is_some() => {
                    let d = Diagnostic::error(
                        "E0210",
                        format!("argument `{name}` is given twice"),
                        *span,
                    )
                    .label("given again here");
                    self.err(d);
                    return Val::Error;
                }
                Some(k) => bound[k] = Some((v.clone(), *span)),
                None => {
                    let names: Vec<&str> = f.params.iter().map(|p| p.name.name.as_str()).collect();
                    let mut d = Diagnostic::error(
                        "E0210",
                        format!("`{}` has no parameter named `{name}`", f.name.name),
                        *span,
                    )
                    .label("unknown keyword argument")
                    .with(f.name.span, "defined here");
                    if let Some(s) = suggest(name, names.into_iter()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    self.err(d);
                    return Val::Error;
                }
            }
        }
        // Defaults are evaluated in the function's module.
        for (k, p) in f.params.iter().enumerate() {
            if bound[k].is_none() {
                match &p.default {
                    Some(e) => {
                        self.frames.push(Frame {
                            module: m,
                            vars: HashMap::new(),
                            bindings: Bindings::default(),
                        });
                        let v = self.expr(e);
                        self.frames.pop();
                        bound[k] = Some((v, e.span));
                    }
                    None => {
                        let d = Diagnostic::error(
                            "E0210",
                            format!(
                                "missing argument `{}` in call to `{}`",
                                p.name.name, f.name.name
                            ),
                            call_span,
                        )
                        .label(format!("`{}` is not given", p.name.name))
                        .with(p.name.span, "parameter declared here");
                        self.err(d);
                        return Val::Error;
                    }
                }
            }
        }
        let bound: Vec<(Val, Span)> = bound.into_iter().flatten().collect();
        if bound.iter().any(|(v, _)| matches!(v, Val::Error)) {
            return Val::Error;
        }
        // Records given for tensor-typed parameters: the call applies leaf by leaf.
        let is_type_param = |te: &TypeExpr| {
            te.dims.is_none()
                && f.size_params
                    .iter()
                    .any(|s| s.kind == GenericKind::Type && s.name.name == te.dtype.name)
        };
        let maps = f.params.iter().zip(&bound).any(|(p, (v, _))| {
            matches!(v, Val::Record(_)) && matches!(&p.ty, Ty::Tensor(te) if !is_type_param(te))
        });
        if maps {
            let what = format!("the call of `{}`", f.name.name);
            if let Some(r) = self.leafwise(&bound, &what, &mut |el, leaf| {
                el.call_bound(m, f, call_span, leaf)
            }) {
                return r;
            }
        }
        self.call_bound(m, f, call_span, &bound)
    }

    /// A call whose arguments are matched to the parameters, in order.
    fn call_bound(
        &mut self,
        m: usize,
        f: &'m FnDef,
        call_span: Span,
        bound: &[(Val, Span)],
    ) -> Val {
        // Unify parameter types with the arguments.
        let mut b = Bindings::default();
        let generics: Vec<(String, GenericKind)> = f
            .size_params
            .iter()
            .map(|s| (s.name.name.clone(), s.kind))
            .collect();
        for (p, (v, span)) in f.params.iter().zip(bound) {
            if let Err(d) = self.unify_ty(&p.ty, v, *span, &generics, &mut b, &p.name.name) {
                self.err(d.with(p.ty.span(), "parameter declared here"));
                return Val::Error;
            }
        }
        self.inline_body(m, f, call_span, b, bound)
    }

    /// Unifies a parameter's written type (tensor, record or `type P`) with an argument.
    fn unify_ty(
        &mut self,
        ty: &Ty,
        v: &Val,
        span: Span,
        generics: &[(String, GenericKind)],
        b: &mut Bindings,
        pname: &str,
    ) -> Result<(), Box<Diagnostic>> {
        match ty {
            Ty::Tensor(te)
                if te.dims.is_none()
                    && generics
                        .iter()
                        .any(|(g, k)| *k == GenericKind::Type && *g == te.dtype.name) =>
            {
                let got = match v {
                    Val::Static(s) => Some(super::records::VTy::Tensor(TensorType::new(
                        match s {
                            Scalar::Float(_) => DType::F32,
                            Scalar::Int(_) => DType::I32,
                            Scalar::Bool(_) => DType::Bool,
                        },
                        vec![],
                    ))),
                    other => self.vty(other),
                };
                let Some(got) = got else {
                    let t = self.type_str(v);
                    return Err(Box::new(
                        Diagnostic::error(
                            "E0311",
                            format!("argument `{pname}` must be a tensor or a record, found `{t}`"),
                            span,
                        )
                        .label(format!("this is `{t}`")),
                    ));
                };
                let name = &te.dtype.name;
                match b.types.get(name) {
                    Some(prev) if *prev != got && !matches!(v, Val::Static(_)) => {
                        let (ospan, odesc) =
                            b.origin.get(name).cloned().unwrap_or((span, String::new()));
                        Err(Box::new(
                            Diagnostic::error(
                                "E0311",
                                format!(
                                    "type parameter `{name}` is bound to both `{prev}` and `{got}`"
                                ),
                                span,
                            )
                            .label(format!(
                                "here `{name}` would be `{got}` (argument `{pname}`)"
                            ))
                            .with(ospan, format!("`{name}` is `{prev}` because of {odesc}"))
                            .note("a type parameter takes one type per call"),
                        ))
                    }
                    Some(_) => Ok(()),
                    None => {
                        b.types.insert(name.clone(), got);
                        b.origin
                            .insert(name.clone(), (span, format!("argument `{pname}`")));
                        Ok(())
                    }
                }
            }
            Ty::Tensor(te) => self.unify_arg(te, v, span, generics, b, pname),
            Ty::Record(fields, _) => {
                let Val::Record(vf) = v else {
                    let t = self.type_str(v);
                    return Err(Box::new(
                        Diagnostic::error(
                            "E0311",
                            format!("argument `{pname}` must be a record, found `{t}`"),
                            span,
                        )
                        .label(format!("this is `{t}`")),
                    ));
                };
                for (n, _) in vf {
                    if !fields.iter().any(|(m, _)| m.name == *n) {
                        return Err(Box::new(
                            Diagnostic::error(
                                "E0322",
                                format!("argument `{pname}` has a field `{n}` that the parameter's record type does not have"),
                                span,
                            )
                            .label("unexpected field"),
                        ));
                    }
                }
                for (n, t) in fields {
                    let Some(fv) = super::records::field(vf, &n.name) else {
                        return Err(Box::new(
                            Diagnostic::error(
                                "E0322",
                                format!("argument `{pname}` has no field `{}`", n.name),
                                span,
                            )
                            .label(format!("field `{}` is missing", n.name)),
                        ));
                    };
                    let fv = fv.clone();
                    self.unify_ty(t, &fv, span, generics, b, &format!("{pname}.{}", n.name))?;
                }
                Ok(())
            }
        }
    }

    fn inline_body(
        &mut self,
        m: usize,
        f: &'m FnDef,
        call_span: Span,
        b: Bindings,
        args: &[(Val, Span)],
    ) -> Val {
        let mut vars = HashMap::new();
        for (p, (v, _)) in f.params.iter().zip(args) {
            let v = match (v, &p.ty) {
                // A scalar parameter given a weak literal takes the declared dtype when it is a tensor type.
                (Val::Static(s), Ty::Tensor(te)) => Val::Static(coerce_static(*s, te, &b)),
                (other, _) => other.clone(),
            };
            vars.insert(p.name.name.clone(), v);
        }
        for (name, d) in &b.sizes {
            vars.entry(name.clone()).or_insert(Val::Size(d.clone()));
        }
        for (name, d) in &b.dtypes {
            vars.entry(name.clone()).or_insert(Val::DType(*d));
        }
        self.call_stack.push((call_span, f.name.name.clone()));
        let back = self.prov_enter(m, &f.name.name, call_span, false);
        self.frames.push(Frame {
            module: m,
            vars,
            bindings: b,
        });
        for l in &f.body {
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
            self.bind_local(&l.pat, &v);
        }
        let result = self.expr(&f.result);
        let out = self.check_result(f, result);
        self.frames.pop();
        self.prov_leave(back, &out);
        self.call_stack.pop();
        out
    }

    fn check_result(&mut self, f: &FnDef, result: Val) -> Val {
        if let Val::Error = result {
            return Val::Error;
        }
        match &f.ret {
            RetType::One(te) => {
                let Some(want) = self.resolve_ty(te) else {
                    return Val::Error;
                };
                self.coerce_vty(
                    &result,
                    &want,
                    f.result.span,
                    "the function's result",
                    te.span(),
                )
                .unwrap_or(Val::Error)
            }
            RetType::Tuple(tes, span) => {
                let Val::Tuple(vs) = &result else {
                    let t = self.type_str(&result);
                    let d = Diagnostic::error(
                        "E0310",
                        format!("the function's result must be a tuple, found `{t}`"),
                        f.result.span,
                    )
                    .label("not a tuple")
                    .with(*span, "tuple result declared here");
                    self.err(d);
                    return Val::Error;
                };
                if vs.len() != tes.len() {
                    let d = Diagnostic::error(
                        "E0310",
                        format!(
                            "the function returns a tuple of {} but its type says {}",
                            vs.len(),
                            tes.len()
                        ),
                        f.result.span,
                    )
                    .with(*span, "declared here");
                    self.err(d);
                    return Val::Error;
                }
                let mut out = Vec::new();
                for (te, v) in tes.iter().zip(vs.clone()) {
                    let Some(want) = self.resolve_ty(te) else {
                        return Val::Error;
                    };
                    match self.coerce_vty(
                        &v,
                        &want,
                        f.result.span,
                        "this part of the result",
                        te.span(),
                    ) {
                        Some(x) => out.push(x),
                        None => return Val::Error,
                    }
                }
                Val::Tuple(out)
            }
        }
    }

    /// Unifies one parameter type with an argument, extending the bindings.
    fn unify_arg(
        &mut self,
        te: &TypeExpr,
        v: &Val,
        span: Span,
        generics: &[(String, GenericKind)],
        b: &mut Bindings,
        pname: &str,
    ) -> Result<(), Box<Diagnostic>> {
        let is_size = |n: &str| {
            generics
                .iter()
                .any(|(g, k)| g == n && *k == GenericKind::Size)
        };
        let is_run = |n: &str| {
            generics
                .iter()
                .any(|(g, k)| g == n && *k == GenericKind::Run)
        };
        let dims: Vec<DimExpr> = te.dims.clone().unwrap_or_default();
        let got = match v {
            Val::Tensor(id) => self.g.ty(*id).clone(),
            Val::Static(s) => {
                if !dims.is_empty() {
                    return Err(Box::new(
                        Diagnostic::error(
                            "E0311",
                            format!(
                                "argument `{pname}` must be a tensor of type `{}`, found a literal",
                                type_text(te)
                            ),
                            span,
                        )
                        .label("a scalar literal"),
                    ));
                }
                // The dtype of a weak literal: the declared one, or a bound dtype parameter.
                let dn = &te.dtype.name;
                if let Some(d) = DType::parse(dn).or_else(|| b.dtypes.get(dn).copied()) {
                    if !static_fits(*s, d) {
                        return Err(Box::new(
                            literal_meets(*s, d, span).label(format!("argument `{pname}`")),
                        ));
                    }
                } else if is_size(dn) {
                    let d = match s {
                        Scalar::Float(_) => DType::F32,
                        Scalar::Int(_) => DType::I32,
                        Scalar::Bool(_) => DType::Bool,
                    };
                    b.dtypes.insert(dn.clone(), d);
                }
                return Ok(());
            }
            Val::Size(_) => {
                if !dims.is_empty() {
                    return Err(Box::new(Diagnostic::error(
                        "E0311",
                        format!("argument `{pname}` must be a tensor, found a size"),
                        span,
                    )));
                }
                return Ok(());
            }
            other => {
                let t = self.type_str(other);
                return Err(Box::new(
                    Diagnostic::error(
                        "E0311",
                        format!(
                            "argument `{pname}` must be `{}`, found `{t}`",
                            type_text(te)
                        ),
                        span,
                    )
                    .label(format!("this is `{t}`")),
                ));
            }
        };
        // dtype
        let dn = &te.dtype.name;
        let want_dtype = match DType::parse(dn) {
            Some(d) => Some(d),
            None if is_size(dn) => match b.dtypes.get(dn) {
                Some(d) => Some(*d),
                None => {
                    b.dtypes.insert(dn.clone(), got.dtype);
                    b.origin.insert(dn.clone(), (span, format!("`{pname}`")));
                    None
                }
            },
            None => Some(got.dtype), // unknown dtype: reported when the type is resolved
        };
        let mismatch = |this: &Self, why: String| {
            let _ = this;
            Diagnostic::error(
                "E0311",
                format!(
                    "argument `{pname}` has type `{got}`, which does not match `{}`",
                    type_text(te)
                ),
                span,
            )
            .label(format!("this is `{got}`"))
            .note(why)
        };
        if let Some(d) = want_dtype {
            if d != got.dtype {
                return Err(Box::new(
                    mismatch(self, format!("the dtype must be {d}, found {}", got.dtype))
                        .help(format!("convert it with `cast({pname}, {d})`")),
                ));
            }
        }
        // shape
        let splat = dims.iter().position(|d| matches!(d, DimExpr::Splat(_)));
        let fixed = dims.len() - usize::from(splat.is_some());
        let rank_ok = match splat {
            Some(_) => got.rank() >= fixed,
            None => got.rank() == fixed,
        };
        if !rank_ok {
            return Err(Box::new(mismatch(
                self,
                format!(
                    "expected {} axes, found {}",
                    if splat.is_some() {
                        format!("at least {fixed}")
                    } else {
                        fixed.to_string()
                    },
                    got.rank()
                ),
            )));
        }
        let mut pairs: Vec<(&DimExpr, Vec<Dim>)> = Vec::new();
        match splat {
            None => {
                for (d, g) in dims.iter().zip(&got.shape) {
                    pairs.push((d, vec![g.clone()]));
                }
            }
            Some(s) => {
                let tail = dims.len() - s - 1;
                for (k, d) in dims[..s].iter().enumerate() {
                    pairs.push((d, vec![got.shape[k].clone()]));
                }
                pairs.push((&dims[s], got.shape[s..got.rank() - tail].to_vec()));
                for (k, d) in dims[s + 1..].iter().enumerate() {
                    pairs.push((d, vec![got.shape[got.rank() - tail + k].clone()]));
                }
            }
        }
        let mut deferred: Vec<(usize, &DimExpr, Dim)> = Vec::new();
        for (axis, (d, g)) in pairs.into_iter().enumerate() {
            match d {
                DimExpr::Bin(..) => deferred.push((axis, d, g[0].clone())),
                DimExpr::Lit(n, _) => {
                    if g[0] != Dim::Lit((*n).max(0) as u64) {
                        return Err(Box::new(mismatch(
                            self,
                            format!("axis {axis} must be {n}, found {}", g[0]),
                        )));
                    }
                }
                DimExpr::Name(id) if is_size(&id.name) => match b.sizes.get(&id.name) {
                    Some(prev) if *prev != g[0] => {
                        let (ospan, odesc) = b
                            .origin
                            .get(&id.name)
                            .cloned()
                            .unwrap_or((span, String::new()));
                        return Err(Box::new(
                            Diagnostic::error(
                                "E0311",
                                format!(
                                    "size parameter `{}` is bound to both {} and {}",
                                    id.name, prev, g[0]
                                ),
                                span,
                            )
                            .label(format!(
                                "here `{}` would be {} (argument `{pname}` is `{got}`)",
                                id.name, g[0]
                            ))
                            .with(ospan, format!("`{}` is {prev} because of {odesc}", id.name))
                            .note("a size parameter takes one value per call"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        b.sizes.insert(id.name.clone(), g[0].clone());
                        b.origin.insert(
                            id.name.clone(),
                            (span, format!("argument `{pname}` (`{got}`)")),
                        );
                    }
                },
                DimExpr::Name(id) if self.is_const(&id.name) => {
                    let want = match self.lookup(&id.name, id.span) {
                        Val::Static(Scalar::Int(n)) if n >= 0 => Dim::Lit(n as u64),
                        _ => {
                            return Err(Box::new(mismatch(
                                self,
                                format!("const `{}` is not a size", id.name),
                            )))
                        }
                    };
                    if g[0] != want {
                        return Err(Box::new(mismatch(
                            self,
                            format!("axis {axis} must be {want} (`{}`), found {}", id.name, g[0]),
                        )));
                    }
                }
                DimExpr::Name(id) => {
                    if !self.is_dim(&id.name) {
                        self.unknown_size(&id.name, id.span);
                        return Err(Box::new(mismatch(self, "unknown size".into())));
                    }
                    if g[0] != Dim::sym(&id.name) {
                        return Err(Box::new(mismatch(
                            self,
                            format!("axis {axis} must be {}, found {}", id.name, g[0]),
                        )));
                    }
                }
                DimExpr::Splat(id) if is_run(&id.name) => match b.runs.get(&id.name) {
                    Some(prev) if *prev != g => {
                        return Err(Box::new(mismatch(
                            self,
                            format!(
                                "`..{}` is {} but here it would be {}",
                                id.name,
                                shape_str(prev),
                                shape_str(&g)
                            ),
                        )));
                    }
                    Some(_) => {}
                    None => {
                        b.runs.insert(id.name.clone(), g);
                    }
                },
                DimExpr::Splat(id) => {
                    return Err(Box::new(mismatch(
                        self,
                        format!(
                            "`..{}` is not declared as `..{}` in the function's brackets",
                            id.name, id.name
                        ),
                    )));
                }
            }
        }
        // Size expressions, once the plain size parameters are bound; each
        // may bind the one parameter it solves for.
        while !deferred.is_empty() {
            let mut progress = false;
            let mut unsolved = None;
            let mut left = Vec::new();
            for (axis, d, g) in deferred {
                let mut why = None;
                match self.match_size_expr(d, &g, b, &is_size, &mut why) {
                    None => {
                        return Err(Box::new(mismatch(
                            self,
                            format!("axis {axis}: `{d}` is not a size"),
                        )))
                    }
                    Some(true) => progress = true,
                    Some(false) if why.is_none() => {
                        return Err(Box::new(mismatch(
                            self,
                            format!("axis {axis} must be {d}, found {g}"),
                        )))
                    }
                    Some(false) => {
                        unsolved = unsolved.or(why.map(|w| (axis, d, w)));
                        left.push((axis, d, g));
                    }
                }
            }
            if !progress {
                if let Some((axis, d, w)) = unsolved {
                    return Err(Box::new(
                        mismatch(
                            self,
                            format!("size parameter `{w}` cannot be inferred from `{d}` (axis {axis})"),
                        )
                        .help(format!(
                            "a size parameter is inferred from a plain axis `{w}`, or from an expression in which it appears once and linearly, such as `2 * {w} + 1`"
                        )),
                    ));
                }
                break;
            }
            deferred = left;
        }
        Ok(())
    }

    /// Checks a function nobody calls, with rigid size parameters. Functions
    /// with dtype parameters, axis runs, or scalar parameters without a
    /// default are checked at their calls only.
    pub(crate) fn check_fn_generic(&mut self, m: usize, f: &'m FnDef) {
        if f.size_params.iter().any(|s| s.kind != GenericKind::Size) {
            return;
        }
        // Record types are checked at each call.
        let tensor = |t: &'m Ty| match t {
            Ty::Tensor(te) => Some(te),
            Ty::Record(..) => None,
        };
        if f.params.iter().any(|p| tensor(&p.ty).is_none()) || record_ret(&f.ret) {
            return;
        }
        let generic_dtype = |te: &TypeExpr| DType::parse(&te.dtype.name).is_none();
        if f.params
            .iter()
            .any(|p| tensor(&p.ty).is_some_and(generic_dtype))
            || generic_dtype_ret(&f.ret)
        {
            return;
        }
        // A scalar integer or bool parameter may be an axis or a flag, known only at a call.
        let scalar_static = |te: &TypeExpr| {
            te.dims.as_ref().is_none_or(|d| d.is_empty())
                && DType::parse(&te.dtype.name).is_some_and(|d| !d.is_float())
        };
        if f.params
            .iter()
            .any(|p| p.default.is_none() && tensor(&p.ty).is_some_and(scalar_static))
        {
            return;
        }
        let mut b = Bindings::default();
        for s in &f.size_params {
            b.sizes.insert(s.name.name.clone(), Dim::sym(&s.name.name));
        }
        let back = self.prov_enter(m, &f.name.name, f.name.span, true);
        self.frames.push(Frame {
            module: m,
            vars: HashMap::new(),
            bindings: b.clone(),
        });
        let mut args = Vec::new();
        let mut ok = true;
        for p in &f.params {
            let Some(te) = tensor(&p.ty) else {
                continue;
            };
            if te.dims.as_ref().is_none_or(|d| d.is_empty()) {
                if let Some(e) = &p.default {
                    let v = self.expr(e);
                    args.push((v, e.span));
                    continue;
                }
            }
            match self.resolve_type(te) {
                Some(t) => {
                    let id = self.g.add(
                        Op::Input {
                            name: format!("<{}>", p.name.name),
                            ty: t,
                        },
                        &[],
                        Some(p.name.span),
                    );
                    args.push((Val::Tensor(id), p.name.span));
                }
                None => ok = false,
            }
        }
        self.frames.pop();
        if ok {
            self.inline_body(m, f, f.name.span, b, &args);
            // The call frame is not a user call: drop the "in this call" labels it added.
            let name_span = f.name.span;
            for d in &mut self.diags {
                d.secondary.retain(|(s, _)| *s != name_span);
            }
        }
        self.prov_leave(back, &Val::Error);
    }
}

fn coerce_static(s: Scalar, te: &TypeExpr, b: &Bindings) -> Scalar {
    let d = DType::parse(&te.dtype.name).or_else(|| b.dtypes.get(&te.dtype.name).copied());
    match (s, d) {
        (Scalar::Int(i), Some(d)) if d.is_float() => Scalar::Float(i as f64),
        (s, _) => s,
    }
}

/// The type as written, e.g. `f32[N, K]`.
pub(crate) fn type_text(te: &TypeExpr) -> String {
    match &te.dims {
        None => te.dtype.name.clone(),
        Some(ds) => {
            let parts: Vec<String> = ds.iter().map(|d| d.to_string()).collect();
            format!("{}[{}]", te.dtype.name, parts.join(", "))
        }
    }
}

fn generic_dtype_ret(r: &RetType) -> bool {
    let generic = |t: &Ty| match t {
        Ty::Tensor(te) => DType::parse(&te.dtype.name).is_none(),
        Ty::Record(..) => true,
    };
    match r {
        RetType::One(t) => generic(t),
        RetType::Tuple(ts, _) => ts.iter().any(generic),
    }
}

fn record_ret(r: &RetType) -> bool {
    let rec = |t: &Ty| matches!(t, Ty::Record(..));
    match r {
        RetType::One(t) => rec(t),
        RetType::Tuple(ts, _) => ts.iter().any(rec),
    }
}
