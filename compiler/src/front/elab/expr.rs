//! Expressions: literals, names, operators with NumPy broadcasting and weak
//! literals, `@`, indexing and slicing, calls and tuples.

use weft_grammar::ast::{BinOp, Expr, ExprKind, Span};

use super::builtins::Builtin;
use super::op_errors::{op_diagnostic, Site};
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Op, UnaryOp};
use crate::ir::types::{broadcast_shapes, shape_str, DType, Dim, Scalar, TensorType};
use crate::ops::{self, Exact, OpError, Val as OVal};

/// One call argument: its value, its span and its expression.
pub(crate) type Arg<'e> = (Val, Span, &'e Expr);

impl<'m> Elab<'m> {
    pub(crate) fn expr(&mut self, e: &Expr) -> Val {
        match &e.kind {
            ExprKind::Int(i) => Val::Static(Scalar::Int(*i)),
            ExprKind::Float(f) => Val::Static(Scalar::Float(*f)),
            ExprKind::Bool(b) => Val::Static(Scalar::Bool(*b)),
            ExprKind::Str(s) => Val::Str(s.clone()),
            ExprKind::Name(id) => self.lookup(&id.name, id.span),
            ExprKind::Member(base, name) => match self.expr(base) {
                Val::Module(m) => self.member(m, &name.name, name.span),
                Val::Record(fields) => self.record_field(&fields, name, base.span),
                // `x.T`: the axes reversed, as `transpose(x)`.
                Val::Tensor(x) if name.name == "T" => {
                    let r = self.g.ty(x).rank();
                    let perm: Vec<usize> = (0..r).rev().collect();
                    Val::Tensor(self.g.transpose(x, &perm, Some(e.span)))
                }
                Val::Error => Val::Error,
                other => {
                    let t = self.type_str(&other);
                    let mut d = Diagnostic::error("E0212", format!("`{t}` has no member `{}`", name.name), base.span)
                        .label("not a module or a record")
                        .note("`M.f` names item `f` of a module `M` brought in by `use M`; `r.f` reads field `f` of a record `r`; a tensor has only `x.T`");
                    if matches!(other, Val::Tensor(_)) && Builtin::lookup(&name.name).is_some() {
                        d = d.help(format!("call the builtin: `{}(..)`", name.name));
                    }
                    self.err(d);
                    Val::Error
                }
            },
            ExprKind::Neg(inner) => {
                let v = self.expr(inner);
                let (is, span) = (inner.span, e.span);
                if let Some(r) = self.leafwise(&[(v.clone(), is)], "`-`", &mut |el, a| {
                    el.negate(a[0].0.clone(), is, span)
                }) {
                    return r;
                }
                self.negate(v, inner.span, e.span)
            }
            ExprKind::List(items) => self.list(items, e.span),
            ExprKind::Not(inner) => {
                let v = self.expr(inner);
                self.logical_not(v, inner.span, e.span)
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.expr(a);
                let vb = self.expr(b);
                let (sa, sb, span, op) = (a.span, b.span, e.span, *op);
                let Some(bop) = ir_binop(op) else {
                    return match op {
                        BinOp::MatMul => self.matmul((va, sa), (vb, sb), span),
                        _ => self.logical2(op, (va, sa), (vb, sb), span),
                    };
                };
                {
                    let what = format!("`{}`", op.symbol());
                    let args = [(va.clone(), sa), (vb.clone(), sb)];
                    if let Some(r) = self.leafwise(&args, &what, &mut |el, a| {
                        el.elementwise2(
                            bop,
                            op.symbol(),
                            (a[0].0.clone(), sa),
                            (a[1].0.clone(), sb),
                            span,
                        )
                    }) {
                        return r;
                    }
                }
                self.elementwise2(bop, op.symbol(), (va, sa), (vb, sb), span)
            }
            ExprKind::Call {
                callee,
                args,
                kwargs,
            } => {
                let f = self.expr(callee);
                if let Val::Error = f {
                    return Val::Error;
                }
                let avals: Vec<Arg> = args.iter().map(|a| (self.expr(a), a.span, a)).collect();
                let kvals: Vec<(String, Val, Span)> = kwargs
                    .iter()
                    .map(|(k, v)| (k.name.clone(), self.expr(v), v.span))
                    .collect();
                match f {
                    Val::Builtin(name) => self.call_builtin(name, e.span, &avals, &kvals),
                    Val::Func(m, i) => {
                        let plain: Vec<(Val, Span)> =
                            avals.iter().map(|(v, s, _)| (v.clone(), *s)).collect();
                        self.call_fn(m, i, e.span, &plain, &kvals)
                    }
                    other => {
                        let t = self.type_str(&other);
                        self.err(
                            Diagnostic::error(
                                "E0208",
                                format!("`{t}` is not a function"),
                                callee.span,
                            )
                            .label("cannot be called"),
                        );
                        Val::Error
                    }
                }
            }
            ExprKind::Index { base, indices } => {
                let v = self.expr(base);
                self.index(v, base.span, indices, e.span)
            }
            ExprKind::Tuple(items) => Val::Tuple(items.iter().map(|x| self.expr(x)).collect()),
            ExprKind::Record(fields) => {
                if !self.unique_fields(fields.iter().map(|(n, _)| n)) {
                    return Val::Error;
                }
                let mut out = Vec::with_capacity(fields.len());
                for (n, x) in fields {
                    let v = self.expr(x);
                    let v = match v {
                        Val::Tensor(_) | Val::Record(_) | Val::Error => v,
                        Val::Static(_) | Val::Size(_) => self.let_value(v, x.span),
                        other => {
                            let t = self.type_str(&other);
                            self.err(
                                Diagnostic::error(
                                    "E0313",
                                    format!(
                                        "a record field must be a tensor or a record, found `{t}`"
                                    ),
                                    x.span,
                                )
                                .label(format!("this is `{t}`")),
                            );
                            Val::Error
                        }
                    };
                    if let Val::Error = v {
                        return Val::Error;
                    }
                    out.push((n.name.clone(), v));
                }
                Val::Record(out)
            }
            ExprKind::Error => Val::Error,
        }
    }

    /// A value as a tensor node. A weak scalar becomes a literal of `dtype`
    /// (or its default: f32 for floats, i32 for integers).
    pub(crate) fn tensor_of(
        &mut self,
        v: &Val,
        span: Span,
        dtype: Option<DType>,
    ) -> Option<NodeId> {
        match v {
            Val::Tensor(id) => Some(*id),
            Val::Lit { shape, values } => self.lit_tensor(shape, values, span, dtype),
            Val::Static(s) => {
                let d = dtype.unwrap_or(match s {
                    Scalar::Float(_) => DType::F32,
                    Scalar::Int(_) => DType::I32,
                    Scalar::Bool(_) => DType::Bool,
                });
                if !static_fits(*s, d) {
                    self.err(literal_meets(*s, d, span));
                    return None;
                }
                Some(self.g.literal(*s, d, Some(span)))
            }
            Val::Size(Dim::Lit(n)) => {
                let d = dtype.unwrap_or(DType::I32);
                if !d.is_numeric() {
                    self.err(literal_meets(Scalar::Int(*n as i64), d, span));
                    return None;
                }
                Some(self.g.literal(Scalar::Int(*n as i64), d, Some(span)))
            }
            Val::Size(Dim::Expr(p)) => {
                let dt = dtype.unwrap_or(DType::I32);
                if !dt.is_numeric() {
                    self.err(literal_meets(Scalar::Int(0), dt, span));
                    return None;
                }
                let v = self.size_value(p, span);
                Some(self.g.cast(v, dt, Some(span)))
            }
            Val::Size(d) => {
                let dt = dtype.unwrap_or(DType::I32);
                if !dt.is_numeric() {
                    self.err(literal_meets(Scalar::Int(0), dt, span));
                    return None;
                }
                Some(self.g.add(
                    Op::SizeOf {
                        dims: vec![d.clone()],
                        dtype: dt,
                    },
                    &[],
                    Some(span),
                ))
            }
            Val::Error => None,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error("E0313", format!("expected a tensor, found `{t}`"), span)
                        .label(format!("this is `{t}`")),
                );
                None
            }
        }
    }

    /// The value of a size expression as an `i64` scalar computed from its
    /// size names (it may be zero or negative: a value, not a length).
    fn size_value(&mut self, p: &crate::ir::types::Poly, span: Span) -> NodeId {
        use crate::ir::size::Atom;
        let s = Some(span);
        let lit = |this: &mut Self, v: i64| this.g.literal(Scalar::Int(v), DType::I64, s);
        let mut total = lit(self, 0);
        for (atoms, c) in p.terms() {
            let mut t = lit(self, c);
            for a in atoms {
                let f = match a {
                    Atom::Name(n) => self.g.add(
                        Op::SizeOf {
                            dims: vec![Dim::Sym(n.clone())],
                            dtype: DType::I64,
                        },
                        &[],
                        s,
                    ),
                    Atom::Div(q, d) => {
                        let inner = self.size_value(q, span);
                        let d = lit(self, *d as i64);
                        self.g.binary(BinaryOp::FloorDiv, inner, d, s)
                    }
                };
                t = self.g.binary(BinaryOp::Mul, t, f, s);
            }
            total = self.g.binary(BinaryOp::Add, total, t, s);
        }
        total
    }

    /// The dtype of a tensor operand; None for a weak scalar.
    fn strong_dtype(&self, v: &Val) -> Option<DType> {
        match v {
            Val::Tensor(id) => Some(self.g.ty(*id).dtype),
            _ => None,
        }
    }

    fn negate(&mut self, v: Val, inner: Span, span: Span) -> Val {
        match v {
            Val::Static(Scalar::Int(i)) => match i.checked_neg() {
                Some(n) => Val::Static(Scalar::Int(n)),
                None => Val::Static(Scalar::Float(-(i as f64))),
            },
            Val::Static(Scalar::Float(f)) => Val::Static(Scalar::Float(-f)),
            Val::Size(Dim::Lit(n)) => Val::Static(Scalar::Int(-(n as i64))),
            Val::Lit { shape, values } => {
                let neg = |v: &Scalar| match v {
                    Scalar::Int(i) => i.checked_neg().map(Scalar::Int),
                    Scalar::Float(f) => Some(Scalar::Float(-f)),
                    Scalar::Bool(_) => None,
                };
                match values.iter().map(neg).collect::<Option<Vec<Scalar>>>() {
                    Some(values) => Val::Lit { shape, values },
                    None => {
                        let v = Val::Lit { shape, values };
                        match self.tensor_of(&v, inner, None) {
                            Some(id) => self.negate(Val::Tensor(id), inner, span),
                            None => Val::Error,
                        }
                    }
                }
            }
            Val::Error => Val::Error,
            other => {
                if !self.check_numeric(&other, inner, "-") {
                    return Val::Error;
                }
                match self.tensor_of(&other, inner, None) {
                    // u8 wraps: -x is 256 - x, computed in i32 (see `u8_binary`).
                    Some(id) if self.g.ty(id).dtype == DType::U8 => {
                        let w = self.g.cast(id, DType::I32, Some(inner));
                        let n = self.g.unary(UnaryOp::Neg, w, Some(span));
                        Val::Tensor(self.g.cast(n, DType::U8, Some(span)))
                    }
                    Some(id) => Val::Tensor(self.g.unary(UnaryOp::Neg, id, Some(span))),
                    None => Val::Error,
                }
            }
        }
    }

    /// Reports arithmetic on bool (or on non-tensors).
    pub(crate) fn check_numeric(&mut self, v: &Val, span: Span, what: &str) -> bool {
        let dt = match v {
            Val::Tensor(id) => self.g.ty(*id).dtype,
            Val::Static(Scalar::Bool(_)) => DType::Bool,
            Val::Static(_) | Val::Size(_) => return true,
            Val::Lit { values, .. } if !values.iter().all(|v| matches!(v, Scalar::Bool(_))) => {
                return true
            }
            Val::Error => return false,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error(
                        "E0313",
                        format!("`{what}` needs a tensor, found `{t}`"),
                        span,
                    )
                    .label(format!("this is `{t}`")),
                );
                return false;
            }
        };
        if dt == DType::Bool {
            self.err(
                Diagnostic::error("E0305", format!("`{what}` is not defined on bool"), span)
                    .label("this is bool")
                    .help("convert it with `cast(.., f32)` or `cast(.., i32)` first"),
            );
            return false;
        }
        true
    }

    /// Elementwise binary op with weak literals and NumPy broadcasting.
    pub(crate) fn elementwise2(
        &mut self,
        op: BinaryOp,
        sym: &str,
        (a, sa): (Val, Span),
        (b, sb): (Val, Span),
        span: Span,
    ) -> Val {
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        let a = self.settle_lit(a, sa, &b);
        let b = self.settle_lit(b, sb, &a);
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        // `N + 1`, `2 * N`: sizes stay sizes (a shape argument may use them).
        if let Some(v) = size_arith(op, &a, &b) {
            return v;
        }
        if let (Some(x), Some(y)) = (as_static(&a), as_static(&b)) {
            match fold(op, x, y) {
                Ok(Some(v)) => return Val::Static(v),
                Ok(None) => {}
                Err(Overflow) => {
                    self.err(
                        Diagnostic::error(
                            "E0319",
                            format!("the integer constant `{x} {sym} {y}` overflows i64"),
                            span,
                        )
                        .label("this constant does not fit i64")
                        .note("weft folds integer literals exactly, and never wraps a constant silently")
                        .help("use float literals (`2.0`) if an approximate value will do"),
                    );
                    return Val::Error;
                }
            }
        }
        for (v, s) in [(&a, sa), (&b, sb)] {
            if !matches!(v, Val::Tensor(_) | Val::Static(_) | Val::Size(_)) {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error("E0313", format!("`{sym}` needs tensors, found `{t}`"), s)
                        .label(format!("this is `{t}`")),
                );
                return Val::Error;
            }
        }
        let Some(dtype) = self.common_dtype((&a, sa), (&b, sb), span, sym) else {
            return Val::Error;
        };
        // `u8` operands are computed in `i32` by the graph (`Graph::binary`):
        // the op must be defined there.
        let computed = if dtype == DType::U8 {
            DType::I32
        } else {
            dtype
        };
        if let Err(e) = op.result(computed) {
            let operand = if self.strong_dtype(&a) == Some(dtype) {
                sa
            } else {
                sb
            };
            self.err(op_diagnostic(&e, Site::Operator { sym, span, operand }));
            return Val::Error;
        }
        if op == BinaryOp::Div && dtype.is_int() {
            self.err(
                Diagnostic::error("E0305", "`/` is not defined on integer tensors", span)
                    .label(format!("{dtype} operands"))
                    .help(format!("convert to a float first: `cast(.., f32)` (weft has no implicit {dtype} → float promotion)")),
            );
            return Val::Error;
        }
        let (Some(x), Some(y)) = (
            self.tensor_of(&a, sa, Some(dtype)),
            self.tensor_of(&b, sb, Some(dtype)),
        ) else {
            return Val::Error;
        };
        self.broadcast_binary(op, sym, (x, sa), (y, sb), span)
    }

    /// `x op y` after NumPy broadcasting of the operands (E0302 when their
    /// shapes do not broadcast).
    fn broadcast_binary(
        &mut self,
        op: BinaryOp,
        sym: &str,
        (x, sa): (NodeId, Span),
        (y, sb): (NodeId, Span),
        span: Span,
    ) -> Val {
        let (xs, ys) = (self.g.shape_of(x), self.g.shape_of(y));
        match broadcast_shapes(&xs, &ys) {
            Ok(shape) => {
                let x = self.g.broadcast(x, &shape, Some(sa));
                let y = self.g.broadcast(y, &shape, Some(sb));
                // (The graph computes u8 operands in i32: `Graph::binary`.)
                Val::Tensor(self.g.binary(op, x, y, Some(span)))
            }
            Err(axis) => {
                let (tx, ty) = (self.g.ty(x).clone(), self.g.ty(y).clone());
                self.err(broadcast_error(&tx, sa, &ty, sb, span, axis, sym));
                Val::Error
            }
        }
    }

    /// The dtype two operands share: equal tensor dtypes, or the tensor's dtype
    /// when the other is a weak scalar that fits it.
    pub(crate) fn common_dtype(
        &mut self,
        (a, sa): (&Val, Span),
        (b, sb): (&Val, Span),
        span: Span,
        sym: &str,
    ) -> Option<DType> {
        let dtype = match (self.strong_dtype(a), self.strong_dtype(b)) {
            (Some(x), Some(y)) if x != y => {
                let (ta, tb) = (self.type_str(a), self.type_str(b));
                let wider = if x == DType::F64 || y == DType::F64 {
                    DType::F64
                } else {
                    x
                };
                self.err(
                    Diagnostic::error(
                        "E0303",
                        format!("mismatched dtypes: `{ta}` {sym} `{tb}`"),
                        span,
                    )
                    .label(format!("{x} and {y} do not mix"))
                    .with(sa, format!("this is `{ta}`"))
                    .with(sb, format!("this is `{tb}`"))
                    .note("weft never converts between tensor dtypes implicitly")
                    .help(format!("convert one side, e.g. `cast(.., {wider})`")),
                );
                return None;
            }
            (Some(x), _) | (None, Some(x)) => x,
            (None, None) => {
                if matches!(a, Val::Static(Scalar::Float(_)))
                    || matches!(b, Val::Static(Scalar::Float(_)))
                {
                    DType::F32
                } else if matches!(a, Val::Static(Scalar::Bool(_)))
                    || matches!(b, Val::Static(Scalar::Bool(_)))
                {
                    DType::Bool
                } else {
                    DType::I32
                }
            }
        };
        // Weak operands must fit the dtype.
        for (v, s) in [(a, sa), (b, sb)] {
            if let Val::Static(x) = v {
                if !static_fits(*x, dtype) {
                    let other = if s == sa { sb } else { sa };
                    self.err(literal_meets(*x, dtype, s).with(other, format!("this is {dtype}")));
                    return None;
                }
            }
        }
        Some(dtype)
    }

    /// `a @ b` with NumPy's matmul semantics.
    pub(crate) fn matmul(&mut self, (a, sa): (Val, Span), (b, sb): (Val, Span), span: Span) -> Val {
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        let (Val::Tensor(x), Val::Tensor(y)) = (&a, &b) else {
            let (s, v) = if matches!(a, Val::Tensor(_)) {
                (sb, &b)
            } else {
                (sa, &a)
            };
            let t = self.type_str(v);
            self.err(
                Diagnostic::error(
                    "E0306",
                    format!("matmul needs tensors of rank ≥ 1, found `{t}`"),
                    s,
                )
                .label(format!("this is `{t}`"))
                .help("for scaling by a scalar use `*`"),
            );
            return Val::Error;
        };
        let (tx, ty) = (self.g.ty(*x).clone(), self.g.ty(*y).clone());
        if tx.dtype != ty.dtype {
            self.err(
                Diagnostic::error("E0303", format!("mismatched dtypes: `{tx}` @ `{ty}`"), span)
                    .label("matmul operands must have one dtype")
                    .with(sa, format!("this is `{tx}`"))
                    .with(sb, format!("this is `{ty}`"))
                    .help(format!("convert one side, e.g. `cast(.., {})`", tx.dtype)),
            );
            return Val::Error;
        }
        if !tx.dtype.is_numeric() || !ops::arithmetic(tx.dtype) {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("matmul is not defined on {}", tx.dtype),
                    span,
                )
                .label(format!("{} operands", tx.dtype))
                .help("convert them first: `cast(.., f32)`"),
            );
            return Val::Error;
        }
        for (t, s) in [(&tx, sa), (&ty, sb)] {
            if t.rank() == 0 {
                self.err(
                    Diagnostic::error("E0306", format!("matmul of a scalar `{t}`"), s)
                        .label("rank 0")
                        .help("for scaling by a scalar use `*`"),
                );
                return Val::Error;
            }
        }
        let mut xs = tx.shape.clone();
        let mut ys = ty.shape.clone();
        let (a1, b1) = (xs.len() == 1, ys.len() == 1);
        if a1 {
            xs.insert(0, Dim::Lit(1));
        }
        if b1 {
            ys.push(Dim::Lit(1));
        }
        let (k1, k2) = (&xs[xs.len() - 1], &ys[ys.len() - 2]);
        if k1 != k2 {
            let d = Diagnostic::error(
                "E0306",
                format!("matmul inner axes disagree: `{tx}` @ `{ty}`"),
                span,
            )
            .label(format!("contracting {k1} with {k2}"))
            .with(sa, format!("this is `{tx}`: its last axis is {k1}"))
            .with(
                sb,
                format!(
                    "this is `{ty}`: {} is {k2}",
                    if b1 {
                        "its only axis"
                    } else {
                        "its second-to-last axis"
                    }
                ),
            )
            .note("`a @ b` contracts the last axis of `a` with the second-to-last axis of `b`");
            let d = if ty.rank() >= 2 && ty.shape[ty.rank() - 1] == *k1 {
                d.help("the right operand looks transposed: try `transpose(..)`")
            } else {
                d
            };
            self.err(d);
            return Val::Error;
        }
        let bx = &xs[..xs.len() - 2];
        let by = &ys[..ys.len() - 2];
        let batch = match broadcast_shapes(bx, by) {
            Ok(s) => s,
            Err(axis) => {
                self.err(
                    Diagnostic::error(
                        "E0306",
                        format!("matmul batch axes do not broadcast: `{tx}` @ `{ty}`"),
                        span,
                    )
                    .label("batch axes disagree")
                    .with(sa, format!("batch axes {}", shape_str(bx)))
                    .with(sb, format!("batch axes {}", shape_str(by)))
                    .note(format!(
                        "batch axis -{axis} (counting from the last batch axis) differs"
                    )),
                );
                return Val::Error;
            }
        };
        let x = self.g.reshape(*x, &xs, Some(sa));
        let y = self.g.reshape(*y, &ys, Some(sb));
        let mut fx = batch.clone();
        fx.extend(xs[xs.len() - 2..].iter().cloned());
        let mut fy = batch.clone();
        fy.extend(ys[ys.len() - 2..].iter().cloned());
        let x = self.g.broadcast(x, &fx, Some(sa));
        let y = self.g.broadcast(y, &fy, Some(sb));
        let r = self.g.add(Op::MatMul, &[x, y], Some(span));
        let mut out = batch;
        if !a1 {
            out.push(xs[xs.len() - 2].clone());
        }
        if !b1 {
            out.push(ys[ys.len() - 1].clone());
        }
        Val::Tensor(self.g.reshape(r, &out, Some(span)))
    }

    /// The value of a compile-time integer argument (a literal, a const, a literal size).
    pub(crate) fn static_int(&mut self, v: &Val, span: Span, what: &str) -> Option<i64> {
        match v {
            Val::Static(Scalar::Int(i)) => Some(*i),
            Val::Size(Dim::Lit(n)) => Some(*n as i64),
            Val::Error => None,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("{what} must be a compile-time integer, found `{t}`"),
                        span,
                    )
                    .label("not an integer literal")
                    .note("axes, indices and slice bounds are fixed when the program is compiled"),
                );
                None
            }
        }
    }
}

/// The elementwise op of an operator (None: `@`, `and`, `or`, which are not).
pub(crate) fn ir_binop(op: BinOp) -> Option<BinaryOp> {
    Some(match op {
        BinOp::Add => BinaryOp::Add,
        BinOp::Sub => BinaryOp::Sub,
        BinOp::Mul => BinaryOp::Mul,
        BinOp::Div => BinaryOp::Div,
        BinOp::Rem => BinaryOp::Rem,
        BinOp::Pow => BinaryOp::Pow,
        BinOp::Lt => BinaryOp::Lt,
        BinOp::Le => BinaryOp::Le,
        BinOp::Gt => BinaryOp::Gt,
        BinOp::Ge => BinaryOp::Ge,
        BinOp::Eq => BinaryOp::Eq,
        BinOp::Ne => BinaryOp::Ne,
        BinOp::MatMul | BinOp::And | BinOp::Or => return None,
    })
}

/// Whether a weak literal may take `d` (the table's rule, range included).
pub(crate) fn static_fits(s: Scalar, d: DType) -> bool {
    ops::literal_fits(s, d).is_ok()
}

/// The diagnostic for a literal that cannot take `d`.
pub(crate) fn literal_meets(s: Scalar, d: DType, span: Span) -> Diagnostic {
    let e = ops::literal_fits(s, d)
        .err()
        .unwrap_or(OpError::NotDefined {
            op: "a literal",
            dtype: d,
        });
    op_diagnostic(&e, Site::Literal { value: s, span })
}

/// `a op b` for sizes and integer constants, when at least one is a size
/// name or expression, the op is `+`, `-` or `*`, and the result is not a
/// negative constant.
fn size_arith(op: BinaryOp, a: &Val, b: &Val) -> Option<Val> {
    let poly = |v: &Val| match v {
        Val::Size(d) => Some(d.poly()),
        Val::Static(Scalar::Int(i)) => Some(crate::ir::types::Poly::constant(*i)),
        _ => None,
    };
    let symbolic = |v: &Val| matches!(v, Val::Size(Dim::Sym(_) | Dim::Expr(_)));
    if !(symbolic(a) || symbolic(b)) {
        return None;
    }
    let (x, y) = (poly(a)?, poly(b)?);
    let r = match op {
        BinaryOp::Add => x.add(&y)?,
        BinaryOp::Sub => x.sub(&y)?,
        BinaryOp::Mul => x.mul(&y)?,
        _ => return None,
    };
    match r.as_constant() {
        Some(c) => Some(Val::Static(Scalar::Int(c))),
        None => Dim::from_poly(r).map(Val::Size),
    }
}

fn as_static(v: &Val) -> Option<Scalar> {
    match v {
        Val::Static(s) => Some(*s),
        Val::Size(Dim::Lit(n)) => Some(Scalar::Int(*n as i64)),
        _ => None,
    }
}

/// A weak integer constant whose exact value does not fit `i64`.
pub(crate) struct Overflow;

/// Folds an op on two compile-time scalars with the semantics table:
/// integers exactly ([`BinaryOp::eval_exact`]; an overflow is an error, never
/// a wrap), anything else in `f64` ([`BinaryOp::eval`]), so a constant folds
/// to what a tensor would compute. None when it must be reported (bool
/// arithmetic) or computed at run time.
fn fold(op: BinaryOp, a: Scalar, b: Scalar) -> Result<Option<Scalar>, Overflow> {
    use Scalar::*;
    let from = |v: OVal| match v {
        OVal::F64(r) => Some(Float(r)),
        OVal::I64(r) => Some(Int(r)),
        OVal::Bool(r) => Some(Bool(r)),
        OVal::F32(_) | OVal::I32(_) | OVal::U8(_) => None,
    };
    let f = |s: Scalar| match s {
        Float(x) => x,
        Int(i) => i as f64,
        Bool(b) => f64::from(u8::from(b)),
    };
    Ok(match (a, b) {
        (Bool(x), Bool(y)) => op.eval(OVal::Bool(x), OVal::Bool(y)).ok().and_then(from),
        (Bool(_), _) | (_, Bool(_)) => None,
        (Int(i), Int(j)) => match op.eval_exact(i, j) {
            Exact::Int(r) => Some(Int(r)),
            Exact::Overflow => return Err(Overflow),
            Exact::NotInt if op.is_comparison() => {
                op.eval(OVal::I64(i), OVal::I64(j)).ok().and_then(from)
            }
            Exact::NotInt => op
                .eval(OVal::F64(f(a)), OVal::F64(f(b)))
                .ok()
                .and_then(from),
        },
        (Float(_) | Int(_), Float(_) | Int(_)) => op
            .eval(OVal::F64(f(a)), OVal::F64(f(b)))
            .ok()
            .and_then(from),
    })
}

/// The E0302 diagnostic: which axis disagrees, both full types, and a hint.
pub(crate) fn broadcast_error(
    tx: &TensorType,
    sa: Span,
    ty: &TensorType,
    sb: Span,
    span: Span,
    axis_from_end: usize,
    sym: &str,
) -> Diagnostic {
    let da = &tx.shape[tx.rank() - axis_from_end];
    let db = &ty.shape[ty.rank() - axis_from_end];
    let mut d = Diagnostic::error(
        "E0302",
        format!("cannot broadcast `{tx}` {sym} `{ty}`"),
        span,
    )
    .label(format!("shapes {} and {} are incompatible", shape_str(&tx.shape), shape_str(&ty.shape)))
    .with(sa, format!("this is `{tx}`"))
    .with(sb, format!("this is `{ty}`"))
    .note(format!(
        "axis -{axis_from_end} (counting from the end): {da} against {db}; aligned axes must be equal, or one of them 1"
    ));
    // A lower-rank operand that matches the other's leading axes wants trailing unit axes.
    let (lo, hi) = if tx.rank() < ty.rank() {
        (tx, ty)
    } else {
        (ty, tx)
    };
    if lo.rank() < hi.rank() && !lo.shape.is_empty() && hi.shape[..lo.rank()] == lo.shape[..] {
        let k = hi.rank() - lo.rank();
        let which = if std::ptr::eq(lo, tx) {
            "left"
        } else {
            "right"
        };
        d = d.help(format!(
            "the {which} operand matches the leading axes; insert {} new trailing axis: `expand_dims(.., {})`{}",
            k,
            lo.rank(),
            if k > 1 { " (repeated)" } else { "" }
        ));
    }
    d
}
