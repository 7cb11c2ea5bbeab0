//! The builtin functions of the contract's section 6: argument binding and
//! each builtin's type and shape rule, emitting primitive ops.

use weft_grammar::ast::{Expr, ExprKind, Span};

use super::expr::{broadcast_error, literal_meets, static_fits, Arg};
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::front::suggest;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Distribution, Op, ReduceOp, UnaryOp};
use crate::ir::types::{
    broadcast_shapes, broadcasts_to, shape_str, DType, Dim, Monomial, Scalar, TensorType,
};

pub(crate) const NAMES: &[&str] = &[
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "abs",
    "neg",
    "sign",
    "floor",
    "ceil",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "pow",
    "maximum",
    "minimum",
    "where",
    "cast",
    "sum",
    "mean",
    "max",
    "min",
    "argmax",
    "matmul",
    "transpose",
    "reshape",
    "broadcast_to",
    "concat",
    "stack",
    "expand_dims",
    "squeeze",
    "one_hot",
    "gather",
    "zeros",
    "ones",
    "full",
    "arange",
    "normal",
    "uniform",
    "grad",
    "stop_gradient",
];

pub(crate) fn lookup(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == name)
}

/// A bound argument: value, span, and the expression when it was positional.
type Bound<'e> = Option<(Val, Span, Option<&'e Expr>)>;

impl<'m> Elab<'m> {
    /// Matches positional and keyword arguments to a builtin's parameters
    /// (`name`, required?).
    fn bind<'e>(
        &mut self,
        fname: &str,
        span: Span,
        pos: &[Arg<'e>],
        kw: &[(String, Val, Span)],
        params: &[(&str, bool)],
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
        name: &'static str,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Val {
        self.builtin(name, span, pos, kw).unwrap_or(Val::Error)
    }

    fn builtin(
        &mut self,
        name: &'static str,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Option<Val> {
        if let Some(u) = UnaryOp::from_name(name) {
            let a = self.bind(name, span, pos, kw, &[("x", true)])?;
            let (v, s, _) = a[0].clone()?;
            return self.unary(u, name, v, s, span);
        }
        match name {
            "pow" | "maximum" | "minimum" => {
                let a = self.bind(name, span, pos, kw, &[("a", true), ("b", true)])?;
                let (x, sx, _) = a[0].clone()?;
                let (y, sy, _) = a[1].clone()?;
                let op = match name {
                    "pow" => BinaryOp::Pow,
                    "maximum" => BinaryOp::Max,
                    _ => BinaryOp::Min,
                };
                Some(self.elementwise2(op, name, (x, sx), (y, sy), span))
            }
            "where" => self.where_(span, pos, kw),
            "cast" => {
                let a = self.bind(name, span, pos, kw, &[("x", true), ("dtype", true)])?;
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
                    Val::Static(s) => {
                        let s = convert_scalar(s, to);
                        Some(self.g.literal(s, to, Some(sx)))
                    }
                    other => self.tensor_of(&other, sx, None),
                }?;
                Some(Val::Tensor(self.g.cast(id, to, Some(span))))
            }
            "sum" | "mean" | "max" | "min" => self.reduction(name, span, pos, kw),
            "argmax" => self.argmax(span, pos, kw),
            "matmul" => {
                let a = self.bind(name, span, pos, kw, &[("a", true), ("b", true)])?;
                let (x, sx, _) = a[0].clone()?;
                let (y, sy, _) = a[1].clone()?;
                Some(self.matmul((x, sx), (y, sy), span))
            }
            "transpose" => self.transpose(span, pos, kw),
            "reshape" => self.reshape_(span, pos, kw),
            "broadcast_to" => self.broadcast_to(span, pos, kw),
            "concat" | "stack" => self.concat(name, span, pos, kw),
            "expand_dims" => {
                let a = self.bind(name, span, pos, kw, &[("x", true), ("axis", true)])?;
                let (x, t, sx) = self.tensor_arg(&a[0])?;
                let (av, sa, _) = a[1].clone()?;
                let ax = self.static_int(&av, sa, "the axis")?;
                let ax = self.norm_axis(ax, t.rank() + 1, sa, &t, sx)?;
                let mut shape = t.shape.clone();
                shape.insert(ax, Dim::Lit(1));
                Some(Val::Tensor(self.g.reshape(x, &shape, Some(span))))
            }
            "squeeze" => {
                let a = self.bind(name, span, pos, kw, &[("x", true), ("axis", false)])?;
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
            "one_hot" => {
                let a = self.bind(
                    name,
                    span,
                    pos,
                    kw,
                    &[("labels", true), ("k", true), ("dtype", false)],
                )?;
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
                let iota = self.g.add(
                    Op::Iota {
                        ty: TensorType::new(t.dtype, shape.clone()),
                        axis: shape.len() - 1,
                    },
                    &[],
                    Some(span),
                );
                let eq = self.g.binary(BinaryOp::Eq, x, iota, Some(span));
                Some(Val::Tensor(self.g.cast(eq, dtype, Some(span))))
            }
            "gather" => {
                let a = self.bind(name, span, pos, kw, &[("table", true), ("idx", true)])?;
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
            "zeros" | "ones" => {
                let a = self.bind(name, span, pos, kw, &[("shape", true), ("dtype", false)])?;
                let (sv, ss, _) = a[0].clone()?;
                let shape = self.shape_arg(&sv, ss, false)?;
                let dtype = self.dtype_kw(&a[1], DType::F32)?;
                let v = if name == "zeros" { 0.0 } else { 1.0 };
                Some(Val::Tensor(self.g.full(
                    v,
                    &TensorType::new(dtype, shape),
                    Some(span),
                )))
            }
            "full" => {
                let a = self.bind(
                    name,
                    span,
                    pos,
                    kw,
                    &[("shape", true), ("value", true), ("dtype", false)],
                )?;
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
            "arange" => {
                let a = self.bind(name, span, pos, kw, &[("n", true), ("dtype", false)])?;
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
            "normal" | "uniform" => {
                let (p1, p2) = if name == "normal" {
                    ("mean", "std")
                } else {
                    ("lo", "hi")
                };
                let a = self.bind(
                    name,
                    span,
                    pos,
                    kw,
                    &[
                        ("shape", true),
                        (p1, true),
                        (p2, true),
                        ("seed", false),
                        ("dtype", false),
                    ],
                )?;
                let (sv, ss, _) = a[0].clone()?;
                let shape = self.shape_arg(&sv, ss, false)?;
                let x = self.float_static(&a[1])?;
                let y = self.float_static(&a[2])?;
                let seed = match &a[3] {
                    None => 0,
                    Some((v, s, _)) => {
                        let k = self.static_int(v, *s, "the seed")?;
                        if k < 0 {
                            self.err(
                                Diagnostic::error("E0314", "the seed must not be negative", *s)
                                    .label("negative seed"),
                            );
                            return None;
                        }
                        k as u64
                    }
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
                let dist = if name == "normal" {
                    Distribution::Normal { mean: x, std: y }
                } else {
                    Distribution::Uniform { lo: x, hi: y }
                };
                Some(Val::Tensor(self.g.add(
                    Op::Random {
                        ty: TensorType::new(dtype, shape),
                        dist,
                        seed,
                    },
                    &[],
                    Some(span),
                )))
            }
            "grad" => self.grad(span, pos, kw),
            "stop_gradient" => {
                let a = self.bind(name, span, pos, kw, &[("x", true)])?;
                let (v, s, _) = a[0].clone()?;
                match v {
                    Val::Static(_) | Val::Size(_) => Some(v),
                    other => {
                        let id = self.tensor_of(&other, s, None)?;
                        Some(Val::Tensor(self.g.add(Op::StopGradient, &[id], Some(span))))
                    }
                }
            }
            _ => None,
        }
    }

    fn unary(&mut self, u: UnaryOp, name: &str, v: Val, s: Span, span: Span) -> Option<Val> {
        let id = self.tensor_of(&v, s, None)?;
        let t = self.g.ty(id).clone();
        if t.dtype == DType::Bool || (t.dtype.is_int() && !u.accepts_int()) {
            let mut d = Diagnostic::error(
                "E0305",
                format!("`{name}` needs a float tensor, found `{t}`"),
                s,
            )
            .label(format!("this is `{t}`"));
            d = d.help("convert it first: `cast(.., f32)`");
            self.err(d);
            return None;
        }
        Some(Val::Tensor(self.g.unary(u, id, Some(span))))
    }

    fn where_(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind(
            "where",
            span,
            pos,
            kw,
            &[("cond", true), ("a", true), ("b", true)],
        )?;
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

    /// A tensor argument (weak scalars become default-dtype literals).
    fn tensor_arg(&mut self, b: &Bound) -> Option<(NodeId, TensorType, Span)> {
        let (v, s, _) = b.clone()?;
        let id = self.tensor_of(&v, s, None)?;
        Some((id, self.g.ty(id).clone(), s))
    }

    fn dtype_kw(&mut self, b: &Bound, dflt: DType) -> Option<DType> {
        match b {
            None => Some(dflt),
            Some((Val::DType(d), _, _)) => Some(*d),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error("E0318", format!("`dtype` must be a dtype, found `{t}`"), *s)
                        .label("not a dtype"),
                );
                None
            }
        }
    }

    fn float_static(&mut self, b: &Bound) -> Option<f64> {
        match b {
            Some((Val::Static(Scalar::Float(f)), _, _)) => Some(*f),
            Some((Val::Static(Scalar::Int(i)), _, _)) => Some(*i as f64),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("expected a number known at compile time, found `{t}`"),
                        *s,
                    )
                    .label("not a literal"),
                );
                None
            }
            None => None,
        }
    }

    /// A size argument: a non-negative integer literal or a size name.
    fn size_arg(&mut self, v: &Val, s: Span) -> Option<Dim> {
        match v {
            Val::Size(d) => Some(d.clone()),
            Val::Static(Scalar::Int(i)) if *i >= 0 => Some(Dim::Lit(*i as u64)),
            Val::Error => None,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error("E0314", format!("expected a size (a non-negative integer literal or a size name), found `{t}`"), s)
                        .label("not a size"),
                );
                None
            }
        }
    }

    /// A shape: a tuple of sizes, or one size. With `allow_infer`, one `-1`
    /// may appear (returned as `Dim::Lit(u64::MAX)`).
    fn shape_arg(&mut self, v: &Val, s: Span, allow_infer: bool) -> Option<Vec<Dim>> {
        let items: Vec<Val> = match v {
            Val::Tuple(vs) => vs.clone(),
            Val::Error => return None,
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        let mut inferred = false;
        for it in &items {
            match it {
                Val::Static(Scalar::Int(-1)) if allow_infer => {
                    if inferred {
                        self.err(
                            Diagnostic::error("E0309", "only one `-1` is allowed in a shape", s)
                                .label("several -1"),
                        );
                        return None;
                    }
                    inferred = true;
                    out.push(Dim::Lit(u64::MAX));
                }
                _ => out.push(self.size_arg(it, s)?),
            }
        }
        Some(out)
    }

    fn norm_axis(
        &mut self,
        ax: i64,
        rank: usize,
        sa: Span,
        t: &TensorType,
        sx: Span,
    ) -> Option<usize> {
        let r = rank as i64;
        if ax < -r || ax >= r {
            self.err(
                Diagnostic::error("E0307", format!("axis {ax} is out of range for `{t}`"), sa)
                    .label("no such axis")
                    .with(sx, format!("this is `{t}`"))
                    .note(if r == 0 {
                        "there is no axis here".to_string()
                    } else {
                        format!("valid axes are {} to {}", -r, r - 1)
                    }),
            );
            return None;
        }
        Some(if ax < 0 {
            (ax + r) as usize
        } else {
            ax as usize
        })
    }

    /// The `axis=` argument of a reduction: None (all), an integer, or a tuple.
    fn axes_arg(&mut self, b: &Bound, t: &TensorType, sx: Span) -> Option<Vec<usize>> {
        let Some((v, s, _)) = b else {
            return Some((0..t.rank()).collect());
        };
        let items = match v {
            Val::Tuple(vs) => vs.clone(),
            other => vec![other.clone()],
        };
        let mut axes = Vec::new();
        for it in &items {
            let a = self.static_int(it, *s, "the axis")?;
            let a = self.norm_axis(a, t.rank(), *s, t, sx)?;
            if axes.contains(&a) {
                self.err(
                    Diagnostic::error("E0307", format!("axis {a} is given twice"), *s)
                        .label("repeated axis"),
                );
                return None;
            }
            axes.push(a);
        }
        axes.sort_unstable();
        Some(axes)
    }

    fn bool_kw(&mut self, b: &Bound) -> Option<bool> {
        match b {
            None => Some(false),
            Some((Val::Static(Scalar::Bool(k)), _, _)) => Some(*k),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("`keepdims` must be `true` or `false`, found `{t}`"),
                        *s,
                    )
                    .label("not a bool literal"),
                );
                None
            }
        }
    }

    fn reduction(
        &mut self,
        name: &'static str,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Option<Val> {
        let a = self.bind(
            name,
            span,
            pos,
            kw,
            &[("x", true), ("axis", false), ("keepdims", false)],
        )?;
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        let keep = self.bool_kw(&a[2])?;
        if t.dtype == DType::Bool || (name == "mean" && !t.dtype.is_float()) {
            let need = if name == "mean" {
                "a float tensor"
            } else {
                "a numeric tensor"
            };
            self.err(
                Diagnostic::error("E0305", format!("`{name}` needs {need}, found `{t}`"), sx)
                    .label(format!("this is `{t}`"))
                    .help("convert it first: `cast(.., f32)`"),
            );
            return None;
        }
        let op = match name {
            "max" => ReduceOp::Max,
            "min" => ReduceOp::Min,
            _ => ReduceOp::Sum,
        };
        let mut r = self.g.reduce(op, x, &axes, Some(span));
        if name == "mean" {
            let dims: Vec<Dim> = axes.iter().map(|&a| t.shape[a].clone()).collect();
            let n = match Monomial::of(&dims) {
                Some(m) if m.syms.is_empty() => {
                    self.g
                        .literal(Scalar::Float(m.coef as f64), t.dtype, Some(span))
                }
                _ => self.g.add(
                    Op::SizeOf {
                        dims,
                        dtype: t.dtype,
                    },
                    &[],
                    Some(span),
                ),
            };
            let shape = self.g.shape_of(r);
            let n = self.g.broadcast(n, &shape, Some(span));
            r = self.g.binary(BinaryOp::Div, r, n, Some(span));
        }
        if !keep {
            let shape: Vec<Dim> = t
                .shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, d)| d.clone())
                .collect();
            r = self.g.reshape(r, &shape, Some(span));
        }
        Some(Val::Tensor(r))
    }

    fn argmax(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind("argmax", span, pos, kw, &[("x", true), ("axis", false)])?;
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        if t.dtype == DType::Bool {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("`argmax` needs a numeric tensor, found `{t}`"),
                    sx,
                )
                .label("bool"),
            );
            return None;
        }
        let (x, axis) = match &a[1] {
            Some((v, s, _)) => {
                let ax = self.static_int(v, *s, "the axis")?;
                (x, self.norm_axis(ax, t.rank(), *s, &t, sx)?)
            }
            None => {
                let m = Monomial::of(&t.shape);
                let flat = match m.as_ref().and_then(|m| {
                    m.div_to_dim(&Monomial {
                        coef: 1,
                        syms: vec![],
                    })
                }) {
                    Some(d) => d,
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0314",
                                format!("argmax over all axes of `{t}` needs an `axis=`"),
                                span,
                            )
                            .label("the flattened length is not a single size")
                            .help("give the axis: `argmax(x, axis=-1)`"),
                        );
                        return None;
                    }
                };
                (self.g.reshape(x, &[flat], Some(span)), 0)
            }
        };
        if self.g.ty(x).rank() == 0 {
            self.err(Diagnostic::error("E0307", "argmax of a scalar", sx).label("rank 0"));
            return None;
        }
        Some(Val::Tensor(self.g.add(
            Op::ArgMax { axis },
            &[x],
            Some(span),
        )))
    }

    fn transpose(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind("transpose", span, pos, kw, &[("x", true), ("axes", false)])?;
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let r = t.rank();
        let perm: Vec<usize> = match &a[1] {
            None => (0..r).rev().collect(),
            Some((v, s, _)) => {
                let items = match v {
                    Val::Tuple(vs) => vs.clone(),
                    other => vec![other.clone()],
                };
                let mut p = Vec::new();
                for it in &items {
                    let ax = self.static_int(it, *s, "an axis")?;
                    p.push(self.norm_axis(ax, r, *s, &t, sx)?);
                }
                let mut sorted = p.clone();
                sorted.sort_unstable();
                if sorted != (0..r).collect::<Vec<_>>() {
                    self.err(
                        Diagnostic::error(
                            "E0307",
                            format!("{p:?} is not a permutation of the {r} axes of `{t}`"),
                            *s,
                        )
                        .label("invalid permutation")
                        .with(sx, format!("this is `{t}`"))
                        .note(format!(
                            "give each axis 0..{} exactly once",
                            r.saturating_sub(1)
                        )),
                    );
                    return None;
                }
                p
            }
        };
        Some(Val::Tensor(self.g.transpose(x, &perm, Some(span))))
    }

    fn reshape_(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind("reshape", span, pos, kw, &[("x", true), ("shape", true)])?;
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let (sv, ss, _) = a[1].clone()?;
        let mut shape = self.shape_arg(&sv, ss, true)?;
        let have = Monomial::of(&t.shape);
        let infer_at = shape.iter().position(|d| *d == Dim::Lit(u64::MAX));
        let desc = |m: &Option<Monomial>| match m {
            Some(m) if m.syms.is_empty() => format!("{}", m.coef),
            Some(m) => {
                let mut parts: Vec<String> = Vec::new();
                if m.coef != 1 {
                    parts.push(m.coef.to_string());
                }
                parts.extend(m.syms.iter().map(|s| s.to_string()));
                parts.join("·")
            }
            None => "too many".into(),
        };
        if let Some(i) = infer_at {
            let mut rest = shape.clone();
            rest.remove(i);
            let known = Monomial::of(&rest);
            let d = match (&have, &known) {
                (Some(h), Some(k)) => h.div_to_dim(k),
                _ => None,
            };
            match d {
                Some(d) => shape[i] = d,
                None => {
                    self.err(
                        Diagnostic::error(
                            "E0309",
                            format!(
                                "cannot infer `-1` when reshaping `{t}` to {}",
                                shape_text(&shape)
                            ),
                            ss,
                        )
                        .label(format!(
                            "{} elements do not divide into a single axis by {}",
                            desc(&have),
                            desc(&known)
                        ))
                        .with(sx, format!("this is `{t}`")),
                    );
                    return None;
                }
            }
        }
        let want = Monomial::of(&shape);
        if want != have {
            self.err(
                Diagnostic::error(
                    "E0309",
                    format!("cannot reshape `{t}` into {}", shape_text(&shape)),
                    ss,
                )
                .label(format!("{} elements", desc(&want)))
                .with(sx, format!("`{t}` has {} elements", desc(&have)))
                .note(
                    "reshape keeps every element: the products of the axis lengths must be equal",
                ),
            );
            return None;
        }
        Some(Val::Tensor(self.g.reshape(x, &shape, Some(span))))
    }

    fn broadcast_to(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind(
            "broadcast_to",
            span,
            pos,
            kw,
            &[("x", true), ("shape", true)],
        )?;
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let (sv, ss, _) = a[1].clone()?;
        let shape = self.shape_arg(&sv, ss, false)?;
        if !broadcasts_to(&t.shape, &shape) {
            let target = TensorType::new(t.dtype, shape.clone());
            let mut d = Diagnostic::error(
                "E0302",
                format!("cannot broadcast `{t}` to {}", shape_str(&shape)),
                span,
            )
            .label("incompatible shapes")
            .with(sx, format!("this is `{t}`"));
            if t.rank() > shape.len() {
                d = d.note("the target has fewer axes than the operand");
            } else if let Err(ax) = broadcast_shapes(&t.shape, &shape) {
                d = d.note(format!(
                    "axis -{ax} (counting from the end): {} against {}; an axis broadcasts only from length 1",
                    t.shape[t.rank() - ax],
                    target.shape[target.rank() - ax]
                ));
            } else {
                d = d.note("an axis can only broadcast from length 1");
            }
            self.err(d);
            return None;
        }
        Some(Val::Tensor(self.g.broadcast(x, &shape, Some(span))))
    }

    fn concat(
        &mut self,
        name: &'static str,
        span: Span,
        pos: &[Arg],
        kw: &[(String, Val, Span)],
    ) -> Option<Val> {
        let a = self.bind(name, span, pos, kw, &[("tensors", true), ("axis", false)])?;
        let (tv, ts, _) = a[0].clone()?;
        let Val::Tuple(items) = tv else {
            let t = self.type_str(&tv);
            self.err(
                Diagnostic::error(
                    "E0313",
                    format!("`{name}` takes a tuple of tensors, found `{t}`"),
                    ts,
                )
                .label("not a tuple")
                .help(format!("write `{name}((a, b), axis=0)`")),
            );
            return None;
        };
        if items.is_empty() {
            self.err(
                Diagnostic::error("E0313", format!("`{name}` of an empty tuple"), ts)
                    .label("no tensors"),
            );
            return None;
        }
        let mut ids = Vec::new();
        for it in &items {
            ids.push(self.tensor_of(it, ts, None)?);
        }
        let tys: Vec<TensorType> = ids.iter().map(|&i| self.g.ty(i).clone()).collect();
        let first = tys[0].clone();
        for t in &tys[1..] {
            if t.dtype != first.dtype {
                self.err(
                    Diagnostic::error(
                        "E0303",
                        format!("`{name}` of mismatched dtypes: `{first}` and `{t}`"),
                        ts,
                    )
                    .label("one dtype expected")
                    .help(format!("convert with `cast(.., {})`", first.dtype)),
                );
                return None;
            }
            let bad = if name == "stack" {
                t.shape != first.shape
            } else {
                t.rank() != first.rank()
            };
            if bad {
                let rule = if name == "stack" {
                    "stacked tensors must have one shape"
                } else {
                    "concatenated tensors must have the same number of axes"
                };
                self.err(
                    Diagnostic::error("E0315", format!("`{name}` of `{first}` and `{t}`"), ts)
                        .label(rule),
                );
                return None;
            }
        }
        let axis_v = a[1].clone();
        let rank = if name == "stack" {
            first.rank() + 1
        } else {
            first.rank()
        };
        let ax = match &axis_v {
            None => 0,
            Some((v, s, _)) => {
                let ax = self.static_int(v, *s, "the axis")?;
                self.norm_axis(ax, rank, *s, &first, ts)?
            }
        };
        if rank == 0 {
            self.err(
                Diagnostic::error("E0307", "cannot concatenate scalars", ts)
                    .label("rank 0")
                    .help("use `stack` to join scalars into a vector"),
            );
            return None;
        }
        let mut parts = Vec::new();
        for (id, t) in ids.iter().zip(&tys) {
            if name == "stack" {
                let mut s = t.shape.clone();
                s.insert(ax, Dim::Lit(1));
                parts.push(self.g.reshape(*id, &s, Some(ts)));
            } else {
                for (i, (x, y)) in t.shape.iter().zip(&first.shape).enumerate() {
                    if i != ax && x != y {
                        self.err(
                            Diagnostic::error(
                                "E0315",
                                format!("`concat` of `{first}` and `{t}` along axis {ax}"),
                                ts,
                            )
                            .label(format!("axis {i} differs: {y} against {x}"))
                            .note("all axes but the concatenation axis must be equal"),
                        );
                        return None;
                    }
                }
                parts.push(*id);
            }
        }
        if parts.len() == 1 {
            return Some(Val::Tensor(parts[0]));
        }
        if name == "concat" {
            if let Some(t) = tys.iter().find(|t| matches!(t.shape[ax], Dim::Sym(_))) {
                self.err(
                    Diagnostic::error("E0315", format!("cannot concatenate along axis {ax}, whose length is the size name `{}`", t.shape[ax]), ts)
                        .label("size-name axis")
                        .note("the result's length would be a sum of size names, which a type cannot express")
                        .help("concatenate along an axis of literal length"),
                );
                return None;
            }
        }
        Some(Val::Tensor(self.g.add(
            Op::Concat { axis: ax },
            &parts,
            Some(span),
        )))
    }

    fn grad(&mut self, span: Span, pos: &[Arg], kw: &[(String, Val, Span)]) -> Option<Val> {
        let a = self.bind("grad", span, pos, kw, &[("y", true), ("x", true)])?;
        let (yv, ys, _) = a[0].clone()?;
        let (xv, xs, xe) = a[1].clone()?;
        let y = match &yv {
            Val::Tensor(id) => *id,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error(
                        "E0312",
                        format!("`grad` differentiates a floating scalar tensor, found `{t}`"),
                        ys,
                    )
                    .label("not a tensor"),
                );
                return None;
            }
        };
        let ty = self.g.ty(y).clone();
        if ty.rank() != 0 || !ty.dtype.is_float() {
            let mut d = Diagnostic::error(
                "E0312",
                format!("`grad` needs a floating scalar to differentiate, found `{ty}`"),
                ys,
            )
            .label(format!("this is `{ty}`"));
            d = if ty.rank() != 0 {
                d.help("reduce it to a scalar first, e.g. `sum(..)` or `mean(..)`")
            } else {
                d.help("convert it first: `cast(.., f32)`")
            };
            self.err(d);
            return None;
        }
        // The wrt argument must name tensors.
        if let Some(e) = xe {
            let named = match &e.kind {
                ExprKind::Name(_) => true,
                ExprKind::Tuple(xs) => xs.iter().all(|x| matches!(x.kind, ExprKind::Name(_))),
                _ => false,
            };
            if !named {
                self.err(
                    Diagnostic::error(
                        "E0312",
                        "`grad` is taken with respect to a named tensor (or a tuple of names)",
                        xs,
                    )
                    .label("not a name")
                    .help("bind the value with `let` and differentiate with respect to that name"),
                );
                return None;
            }
        }
        let wrt: Vec<(Val, Span)> = match (&xv, xe.map(|e| &e.kind)) {
            (Val::Tuple(vs), Some(ExprKind::Tuple(es))) => {
                vs.iter().cloned().zip(es.iter().map(|e| e.span)).collect()
            }
            (Val::Tuple(vs), _) => vs.iter().map(|v| (v.clone(), xs)).collect(),
            (v, _) => vec![(v.clone(), xs)],
        };
        let mut outs = Vec::new();
        for (v, s) in &wrt {
            let Val::Tensor(x) = v else {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error(
                        "E0312",
                        format!("cannot differentiate with respect to `{t}`"),
                        *s,
                    )
                    .label("not a tensor"),
                );
                return None;
            };
            let tx = self.g.ty(*x).clone();
            if !tx.dtype.is_float() {
                self.err(
                    Diagnostic::error("E0312", format!("cannot differentiate with respect to `{tx}`: gradients exist for floating tensors only"), *s)
                        .label(format!("this is `{tx}`")),
                );
                return None;
            }
            outs.push(Val::Tensor(self.g.add(Op::Grad, &[y, *x], Some(span))));
        }
        Some(match xv {
            Val::Tuple(_) => Val::Tuple(outs),
            _ => outs.pop()?,
        })
    }
}

fn signature(params: &[(&str, bool)]) -> String {
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

fn shape_text(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape
        .iter()
        .map(|d| {
            if *d == Dim::Lit(u64::MAX) {
                "-1".into()
            } else {
                d.to_string()
            }
        })
        .collect();
    format!("({})", parts.join(", "))
}

fn convert_scalar(s: Scalar, to: DType) -> Scalar {
    let f = match s {
        Scalar::Float(f) => f,
        Scalar::Int(i) => i as f64,
        Scalar::Bool(b) => f64::from(u8::from(b)),
    };
    if to.is_float() {
        Scalar::Float(f)
    } else if to == DType::Bool {
        Scalar::Bool(f != 0.0)
    } else {
        Scalar::Int(f.trunc() as i64)
    }
}
