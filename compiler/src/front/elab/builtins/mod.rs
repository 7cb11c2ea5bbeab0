//! The builtin functions of the contract's section 6: argument binding and
//! each builtin's type and shape rule, emitting primitive ops.

use weft_grammar::ast::{Expr, Span};

use super::expr::{broadcast_error, literal_meets, static_fits, Arg};
use super::op_errors::{op_diagnostic, Site};
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::front::suggest;
use crate::ir::op::{BinaryOp, Distribution, Op, UnaryOp};
use crate::ir::types::{broadcast_shapes, DType, Dim, Scalar, TensorType};
use crate::ops;

/// A bound argument: value, span, and the expression when it was positional.
type Bound<'e> = Option<(Val, Span, Option<&'e Expr>)>;

mod args;
mod conv;
mod einsum;
mod grad;
mod more;
mod shape;
mod sort;
mod steps;
mod table;

pub(crate) use table::Builtin;

impl<'m> Elab<'m> {
    /// Matches positional and keyword arguments to a builtin's parameters
    /// (`name`, required?).
    fn bind<'e>(
        &mut self,
        fname: &str,
        span: Span,
        pos: &[Arg<'e>],
        kw: &[(String, Val, Span)],
        params: &[table::Param],
    ) -> Option<Vec<Bound<'e>>> {
        let mut out: Vec<Bound<'e>> = vec![None; params.len()];
        if pos.len() > params.len() {
            self.err(
                Diagnostic::error(
                    "E0210",
                    format!(
                        "`{fname}` takes at most {} argument(s), {} given",
                        params.len(),
                        pos.len()
                    ),
                    pos[params.len()].1,
                )
                .label("extra argument")
                .note(format!("`{fname}({})`", signature(params))),
            );
            return None;
        }
        for (i, (v, s, e)) in pos.iter().enumerate() {
            out[i] = Some((v.clone(), *s, Some(*e)));
        }
        for (k, v, s) in kw {
            match params.iter().position(|(p, _)| p == k) {
                Some(i) if out[i].is_some() => {
                    self.err(
                        Diagnostic::error(
                            "E0210",
                            format!("argument `{k}` of `{fname}` is given twice"),
                            *s,
                        )
                        .label("given again"),
                    );
                    return None;
                }
                Some(i) => out[i] = Some((v.clone(), *s, None)),
                None => {
                    let mut d = Diagnostic::error(
                        "E0210",
                        format!("`{fname}` has no parameter named `{k}`"),
                        *s,
                    )
                    .label("unknown keyword argument")
                    .note(format!("`{fname}({})`", signature(params)));
                    if k == "dim" && params.iter().any(|(p, _)| *p == "axis") {
                        d = d.help("weft calls it `axis`: write `axis=..`");
                    } else if let Some(x) = suggest(k, params.iter().map(|(p, _)| *p)) {
                        d = d.help(format!("did you mean `{x}`?"));
                    }
                    self.err(d);
                    return None;
                }
            }
        }
        for (i, (p, req)) in params.iter().enumerate() {
            if *req && out[i].is_none() {
                self.err(
                    Diagnostic::error(
                        "E0210",
                        format!("`{fname}` is missing its argument `{p}`"),
                        span,
                    )
                    .label(format!("`{p}` not given"))
                    .note(format!("`{fname}({})`", signature(params))),
                );
                return None;
            }
        }
        if out
            .iter()
            .flatten()
            .any(|(v, _, _)| matches!(v, Val::Error))
        {
            return None;
        }
        Some(out)
    }

    pub(crate) fn call_builtin(
        &mut self,
        b: Builtin,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Val {
        self.builtin(b, span, pos, kw).unwrap_or(Val::Error)
    }

    /// Binds the arguments by the builtin's signature, then applies its
    /// type and shape rule.
    fn builtin(
        &mut self,
        b: Builtin,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Option<Val> {
        let name = b.name();
        let a = self.bind(name, span, pos, kw, b.params())?;
        if b.leafwise() {
            let present: Vec<usize> = (0..a.len()).filter(|&i| a[i].is_some()).collect();
            let args: Vec<(Val, Span)> = a
                .iter()
                .flatten()
                .map(|(v, s, _)| (v.clone(), *s))
                .collect();
            let template = a.clone();
            let what = format!("`{name}`");
            if let Some(r) = self.leafwise(&args, &what, &mut |el, leaf| {
                let mut a2 = template.clone();
                for (k, &i) in present.iter().enumerate() {
                    if let Some(slot) = &mut a2[i] {
                        slot.0 = leaf[k].0.clone();
                    }
                }
                el.apply(b, span, a2).unwrap_or(Val::Error)
            }) {
                return Some(r);
            }
        }
        self.apply(b, span, a)
    }

    /// A builtin's type and shape rule on its bound arguments.
    fn apply(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let name = b.name();
        match b {
            Builtin::Unary(u) => {
                let (v, s, _) = a[0].clone()?;
                self.unary(u, name, v, s, span)
            }
            Builtin::Pow | Builtin::Maximum | Builtin::Minimum => {
                let (x, sx, _) = a[0].clone()?;
                let (y, sy, _) = a[1].clone()?;
                let op = match b {
                    Builtin::Maximum => BinaryOp::Max,
                    Builtin::Minimum => BinaryOp::Min,
                    _ => BinaryOp::Pow,
                };
                Some(self.elementwise2(op, name, (x, sx), (y, sy), span))
            }
            Builtin::Where => self.where_(span, a),
            // clip(x, lo, hi) = where(y > hi, hi, y) with y = where(x < lo, lo, x):
            // NumPy's `minimum(maximum(x, lo), hi)` (NaN stays NaN; hi wins when
            // lo > hi), with the gradient to x where lo <= x <= hi (PyTorch's
            // `clamp`), else to the bound.
            Builtin::Clip => {
                let (x, sx, _) = a[0].clone()?;
                let (lo, sl, _) = a[1].clone()?;
                let (hi, sh, _) = a[2].clone()?;
                let below =
                    self.elementwise2(BinaryOp::Lt, name, (x.clone(), sx), (lo.clone(), sl), span);
                if matches!(below, Val::Error) {
                    return None;
                }
                let y = self.where_(
                    span,
                    vec![
                        Some((below, span, None)),
                        Some((lo, sl, None)),
                        Some((x, sx, None)),
                    ],
                )?;
                let above = self.elementwise2(
                    BinaryOp::Gt,
                    name,
                    (y.clone(), span),
                    (hi.clone(), sh),
                    span,
                );
                if matches!(above, Val::Error) {
                    return None;
                }
                self.where_(
                    span,
                    vec![
                        Some((above, span, None)),
                        Some((hi, sh, None)),
                        Some((y, span, None)),
                    ],
                )
            }
            // isnan(x) = x != x; isfinite(x) = |x| < inf; integers are never NaN and always finite.
            Builtin::IsNan | Builtin::IsFinite => {
                let (x, sx, _) = a[0].clone()?;
                let id = self.tensor_of(&x, sx, None)?;
                let t = self.g.ty(id).clone();
                if t.dtype == DType::Bool {
                    self.err(
                        Diagnostic::error(
                            "E0305",
                            format!("`{name}` needs a numeric tensor, found `{t}`"),
                            sx,
                        )
                        .label(format!("this is `{t}`")),
                    );
                    return None;
                }
                if !t.dtype.is_float() {
                    let v = b == Builtin::IsFinite;
                    let l = self.g.literal(Scalar::Bool(v), DType::Bool, Some(span));
                    return Some(Val::Tensor(self.g.broadcast(l, &t.shape, Some(span))));
                }
                Some(if b == Builtin::IsNan {
                    self.elementwise2(
                        BinaryOp::Ne,
                        name,
                        (Val::Tensor(id), sx),
                        (Val::Tensor(id), sx),
                        span,
                    )
                } else {
                    let abs = self.g.unary(UnaryOp::Abs, id, Some(span));
                    let inf = Val::Static(Scalar::Float(f64::INFINITY));
                    self.elementwise2(
                        BinaryOp::Lt,
                        name,
                        (Val::Tensor(abs), sx),
                        (inf, span),
                        span,
                    )
                })
            }
            Builtin::Cast => {
                let (x, sx, _) = a[0].clone()?;
                let (d, sd, _) = a[1].clone()?;
                let Val::DType(to) = d else {
                    let t = self.type_str(&d);
                    self.err(
                        Diagnostic::error(
                            "E0318",
                            format!("the second argument of `cast` must be a dtype, found `{t}`"),
                            sd,
                        )
                        .label("not a dtype")
                        .help("write a dtype name: f32, f64, i32, i64, bool, f16 or bf16"),
                    );
                    return None;
                };
                let id = match x {
                    Val::Static(s) => match convert_scalar(s, to) {
                        Some(s) => Some(self.g.literal(s, to, Some(sx))),
                        None => {
                            self.err(
                                Diagnostic::error(
                                    "E0305",
                                    format!("cannot cast a constant to {to}"),
                                    span,
                                )
                                .label(format!("{to} has no run-time values yet")),
                            );
                            None
                        }
                    },
                    other => self.tensor_of(&other, sx, None),
                }?;
                Some(Val::Tensor(self.g.cast(id, to, Some(span))))
            }
            Builtin::Sum | Builtin::Mean | Builtin::Max | Builtin::Min | Builtin::Prod => {
                self.reduction(name, span, a)
            }
            Builtin::Cumsum => self.cumsum(span, a),
            Builtin::Einsum => self.einsum(span, a),
            Builtin::Sort | Builtin::Argsort | Builtin::Topk => self.sorting(b, span, a),
            Builtin::Argmax => self.argmax(span, a),
            Builtin::Conv2d => self.conv2d(span, a),
            Builtin::MaxPool2d | Builtin::AvgPool2d => self.pool2d(b, span, a),
            Builtin::Atan2 | Builtin::FloorDiv => {
                let (x, sx, _) = a[0].clone()?;
                let (y, sy, _) = a[1].clone()?;
                let op = if b == Builtin::Atan2 {
                    BinaryOp::Atan2
                } else {
                    BinaryOp::FloorDiv
                };
                Some(self.elementwise2(op, name, (x, sx), (y, sy), span))
            }
            Builtin::Argmin => self.argmin(span, a),
            Builtin::Any | Builtin::All => self.any_all(b, span, a),
            Builtin::Var | Builtin::Std => self.var_std(b, span, a),
            Builtin::Logsumexp => self.logsumexp(span, a),
            Builtin::Eye => self.eye(span, a),
            Builtin::Tril | Builtin::Triu => self.tri(b, span, a),
            Builtin::Flip => self.flip(span, a),
            Builtin::Pad => self.pad(span, a),
            Builtin::ScatterAdd => self.scatter_add(span, a),
            Builtin::Matmul => {
                let (x, sx, _) = a[0].clone()?;
                let (y, sy, _) = a[1].clone()?;
                Some(self.matmul((x, sx), (y, sy), span))
            }
            Builtin::Transpose => self.transpose(span, a),
            Builtin::Reshape => self.reshape_(span, a),
            Builtin::BroadcastTo => self.broadcast_to(span, a),
            Builtin::Concat | Builtin::Stack => self.concat(name, span, a),
            Builtin::ExpandDims => {
                let (x, t, sx) = self.tensor_arg(&a[0])?;
                let (av, sa, _) = a[1].clone()?;
                let ax = self.static_int(&av, sa, "the axis")?;
                let ax = self.norm_axis(ax, t.rank() + 1, sa, &t, sx)?;
                let mut shape = t.shape.clone();
                shape.insert(ax, Dim::Lit(1));
                Some(Val::Tensor(self.g.reshape(x, &shape, Some(span))))
            }
            Builtin::Squeeze => {
                let (x, t, sx) = self.tensor_arg(&a[0])?;
                let mut shape = t.shape.clone();
                match &a[1] {
                    None => shape.retain(|d| !d.is_one()),
                    Some((av, sa, _)) => {
                        let ax = self.static_int(av, *sa, "the axis")?;
                        let ax = self.norm_axis(ax, t.rank(), *sa, &t, sx)?;
                        if !t.shape[ax].is_one() {
                            self.err(
                                Diagnostic::error(
                                    "E0307",
                                    format!("cannot squeeze axis {ax} of length {}", t.shape[ax]),
                                    *sa,
                                )
                                .label("only an axis of length 1 can be squeezed")
                                .with(sx, format!("this is `{t}`")),
                            );
                            return None;
                        }
                        shape.remove(ax);
                    }
                }
                Some(Val::Tensor(self.g.reshape(x, &shape, Some(span))))
            }
            Builtin::OneHot => {
                let (x, t, sx) = self.tensor_arg(&a[0])?;
                if !t.dtype.is_int() {
                    self.err(
                        Diagnostic::error(
                            "E0305",
                            format!("one_hot needs integer labels, found `{t}`"),
                            sx,
                        )
                        .label("not an integer tensor")
                        .help("convert with `cast(.., i32)`"),
                    );
                    return None;
                }
                let (kv, sk, _) = a[1].clone()?;
                let k = self.size_arg(&kv, sk)?;
                let dtype = self.dtype_kw(&a[2], DType::F32)?;
                let mut shape = t.shape.clone();
                shape.push(k);
                let mut col = t.shape.clone();
                col.push(Dim::Lit(1));
                let x = self.g.reshape(x, &col, Some(sx));
                let x = self.g.broadcast(x, &shape, Some(sx));
                // u8 labels compare in i32: an iota of K > 256 columns would wrap in u8.
                let (x, ldt) = if t.dtype == DType::U8 {
                    (self.g.cast(x, DType::I32, Some(sx)), DType::I32)
                } else {
                    (x, t.dtype)
                };
                let iota = self.g.add(
                    Op::Iota {
                        ty: TensorType::new(ldt, shape.clone()),
                        axis: shape.len() - 1,
                    },
                    &[],
                    Some(span),
                );
                let eq = self.g.binary(BinaryOp::Eq, x, iota, Some(span));
                Some(Val::Tensor(self.g.cast(eq, dtype, Some(span))))
            }
            Builtin::Gather => {
                let (tb, tt, st) = self.tensor_arg(&a[0])?;
                let (ix, it, si) = self.tensor_arg(&a[1])?;
                if tt.rank() == 0 {
                    self.err(
                        Diagnostic::error("E0308", "gather needs a table of rank ≥ 1", st)
                            .label(format!("this is `{tt}`")),
                    );
                    return None;
                }
                if !it.dtype.is_int() {
                    self.err(
                        Diagnostic::error(
                            "E0305",
                            format!("gather indices must be integers, found `{it}`"),
                            si,
                        )
                        .label("not an integer tensor")
                        .help("convert with `cast(.., i32)`"),
                    );
                    return None;
                }
                Some(Val::Tensor(self.g.add(Op::Gather, &[tb, ix], Some(span))))
            }
            Builtin::Zeros | Builtin::Ones => {
                let (sv, ss, _) = a[0].clone()?;
                let shape = self.shape_arg(&sv, ss, false)?;
                let dtype = self.dtype_kw(&a[1], DType::F32)?;
                let v = if b == Builtin::Zeros { 0.0 } else { 1.0 };
                Some(Val::Tensor(self.g.full(
                    v,
                    &TensorType::new(dtype, shape),
                    Some(span),
                )))
            }
            Builtin::Full => {
                let (sv, ss, _) = a[0].clone()?;
                let shape = self.shape_arg(&sv, ss, false)?;
                let (vv, vs, _) = a[1].clone()?;
                let Val::Static(v) = vv else {
                    let id = self.tensor_of(&vv, vs, None)?;
                    let t = self.g.ty(id).clone();
                    if t.rank() != 0 {
                        self.err(
                            Diagnostic::error(
                                "E0310",
                                format!("the fill value must be a scalar, found `{t}`"),
                                vs,
                            )
                            .label("not a scalar"),
                        );
                        return None;
                    }
                    return Some(Val::Tensor(self.g.broadcast(id, &shape, Some(span))));
                };
                let dflt = match v {
                    Scalar::Float(_) => DType::F32,
                    Scalar::Int(_) => DType::I32,
                    Scalar::Bool(_) => DType::Bool,
                };
                let dtype = self.dtype_kw(&a[2], dflt)?;
                if !static_fits(v, dtype) {
                    self.err(literal_meets(v, dtype, vs));
                    return None;
                }
                let l = self.g.literal(v, dtype, Some(vs));
                Some(Val::Tensor(self.g.broadcast(l, &shape, Some(span))))
            }
            Builtin::Arange => {
                let (nv, ns, _) = a[0].clone()?;
                let n = self.size_arg(&nv, ns)?;
                let dtype = self.dtype_kw(&a[1], DType::I32)?;
                if !dtype.is_numeric() {
                    self.err(Diagnostic::error(
                        "E0305",
                        "arange needs a numeric dtype",
                        span,
                    ));
                    return None;
                }
                Some(Val::Tensor(self.g.add(
                    Op::Iota {
                        ty: TensorType::new(dtype, vec![n]),
                        axis: 0,
                    },
                    &[],
                    Some(span),
                )))
            }
            Builtin::Normal | Builtin::Uniform => {
                let (sv, ss, _) = a[0].clone()?;
                let shape = self.shape_arg(&sv, ss, false)?;
                let x = self.float_static(&a[1])?;
                let y = self.float_static(&a[2])?;
                let seed = match &a[3] {
                    None => steps::Seed::Static(0),
                    Some((v, s, _)) => self.seed_arg(v, *s)?,
                };
                let dtype = self.dtype_kw(&a[4], DType::F32)?;
                if !dtype.is_float() {
                    self.err(Diagnostic::error(
                        "E0305",
                        format!("`{name}` gives floats; {dtype} is not a float dtype"),
                        span,
                    ));
                    return None;
                }
                let dist = if b == Builtin::Normal {
                    Distribution::Normal { mean: x, std: y }
                } else {
                    Distribution::Uniform { lo: x, hi: y }
                };
                Some(Val::Tensor(self.random(
                    TensorType::new(dtype, shape),
                    dist,
                    seed,
                    span,
                )))
            }
            Builtin::Grad => self.grad(span, a),
            Builtin::Batch => self.batch(span, a),
            Builtin::Dropout => self.dropout(span, a),
            Builtin::ZerosLike | Builtin::OnesLike | Builtin::FullLike => {
                let (v, s, _) = a[0].clone()?;
                let id = self.tensor_of(&v, s, None)?;
                let t = self.g.ty(id).clone();
                let value = match b {
                    Builtin::ZerosLike => Val::Static(Scalar::Float(0.0)),
                    Builtin::OnesLike => Val::Static(Scalar::Float(1.0)),
                    _ => a[1].clone()?.0,
                };
                match value {
                    Val::Static(x) => {
                        let x = match (x, t.dtype) {
                            (Scalar::Float(f), d) if !d.is_float() && b != Builtin::FullLike => {
                                super::zero_of(d, f)
                            }
                            (x, _) => x,
                        };
                        let vs = a.get(1).cloned().flatten().map_or(span, |(_, s, _)| s);
                        if !static_fits(x, t.dtype) {
                            self.err(literal_meets(x, t.dtype, vs));
                            return None;
                        }
                        let l = self.g.literal(x, t.dtype, Some(span));
                        Some(Val::Tensor(self.g.broadcast(l, &t.shape, Some(span))))
                    }
                    other => {
                        let vs = a[1].clone()?.1;
                        let id = self.tensor_of(&other, vs, Some(t.dtype))?;
                        let vt = self.g.ty(id).clone();
                        if vt.rank() != 0 || vt.dtype != t.dtype {
                            self.err(
                                Diagnostic::error(
                                    "E0310",
                                    format!(
                                        "the fill value must be a `{}` scalar, found `{vt}`",
                                        t.dtype
                                    ),
                                    vs,
                                )
                                .label("not a scalar of the leaf's dtype"),
                            );
                            return None;
                        }
                        Some(Val::Tensor(self.g.broadcast(id, &t.shape, Some(span))))
                    }
                }
            }
            Builtin::AllSum | Builtin::AllMean => {
                let (v, s, _) = a[0].clone()?;
                self.collective(b == Builtin::AllMean, v, s, span)
            }
            Builtin::StopGradient => {
                let (v, s, _) = a[0].clone()?;
                match v {
                    Val::Static(_) | Val::Size(_) => Some(v),
                    other => {
                        let id = self.tensor_of(&other, s, None)?;
                        Some(Val::Tensor(self.g.add(Op::StopGradient, &[id], Some(span))))
                    }
                }
            }
        }
    }

    fn unary(&mut self, u: UnaryOp, name: &str, v: Val, s: Span, span: Span) -> Option<Val> {
        let id = self.tensor_of(&v, s, None)?;
        let t = self.g.ty(id).clone();
        if let Err(e) = u.result(t.dtype) {
            let site = Site::Call {
                name,
                arg: s,
                ty: &t,
            };
            self.err(op_diagnostic(&e, site));
            return None;
        }
        Some(Val::Tensor(self.g.unary(u, id, Some(span))))
    }

    fn where_(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (c, sc, _) = a[0].clone()?;
        let (x, sx, _) = a[1].clone()?;
        let (y, sy, _) = a[2].clone()?;
        let c = self.tensor_of(&c, sc, Some(DType::Bool))?;
        let tc = self.g.ty(c).clone();
        if tc.dtype != DType::Bool {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("the condition of `where` must be bool, found `{tc}`"),
                    sc,
                )
                .label("not bool")
                .help("compare to get a bool tensor, e.g. `x > 0.0`"),
            );
            return None;
        }
        let dtype = self.common_dtype((&x, sx), (&y, sy), span, "where")?;
        let xi = self.tensor_of(&x, sx, Some(dtype))?;
        let yi = self.tensor_of(&y, sy, Some(dtype))?;
        let (txi, tyi) = (self.g.ty(xi).clone(), self.g.ty(yi).clone());
        let s1 = match broadcast_shapes(&txi.shape, &tyi.shape) {
            Ok(s) => s,
            Err(ax) => {
                self.err(broadcast_error(&txi, sx, &tyi, sy, span, ax, "where"));
                return None;
            }
        };
        let shape = match broadcast_shapes(&tc.shape, &s1) {
            Ok(s) => s,
            Err(ax) => {
                let t1 = TensorType::new(dtype, s1.clone());
                self.err(broadcast_error(&tc, sc, &t1, sx.to(sy), span, ax, "where"));
                return None;
            }
        };
        let c = self.g.broadcast(c, &shape, Some(sc));
        let xi = self.g.broadcast(xi, &shape, Some(sx));
        let yi = self.g.broadcast(yi, &shape, Some(sy));
        Some(Val::Tensor(self.g.add(
            Op::Select,
            &[c, xi, yi],
            Some(span),
        )))
    }
}

fn signature(params: &[table::Param]) -> String {
    let parts: Vec<String> = params
        .iter()
        .map(|(p, req)| {
            if *req {
                p.to_string()
            } else {
                format!("{p}=..")
            }
        })
        .collect();
    parts.join(", ")
}

/// `cast` of a compile-time scalar: the table's conversion ([`ops::cast`])
/// of the weak value (an integer exactly, a float in `f64`).
fn convert_scalar(s: Scalar, to: DType) -> Option<Scalar> {
    let v = match s {
        Scalar::Float(f) => ops::Val::F64(f),
        Scalar::Int(i) => ops::Val::I64(i),
        Scalar::Bool(b) => ops::Val::Bool(b),
    };
    Some(match ops::cast(v, to).ok()? {
        ops::Val::F32(x) => Scalar::Float(f64::from(x)),
        ops::Val::F64(x) => Scalar::Float(x),
        ops::Val::I32(x) => Scalar::Int(i64::from(x)),
        ops::Val::I64(x) => Scalar::Int(x),
        ops::Val::U8(x) => Scalar::Int(i64::from(x)),
        ops::Val::Bool(x) => Scalar::Bool(x),
    })
}
