//! Builtins of the contract's section 11 that are compositions of the
//! graph's primitive ops, each with its type and shape rule here:
//! `argmin`, `any`, `all`, `var`, `std`, `logsumexp`, `cumsum`, `eye`,
//! `tril`, `triu`, `flip`, `pad`, `scatter_add`. Their derivatives follow
//! from the primitives' rules; where a composition's naive derivative would
//! be wrong or unstable (logsumexp's shift) it is written to be right.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::{Bound, Builtin};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Op, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};

impl<'m> Elab<'m> {
    /// A tensor argument of dtype kind `want` ("float", "bool", "numeric").
    fn kind_arg(
        &mut self,
        name: &str,
        b: &Bound,
        want: &str,
    ) -> Option<(NodeId, TensorType, Span)> {
        let (x, t, sx) = self.tensor_arg(b)?;
        let ok = match want {
            "float" => t.dtype.is_float(),
            "bool" => t.dtype == DType::Bool,
            _ => t.dtype.is_numeric(),
        };
        if !ok {
            let help = match want {
                "bool" => "compare first (`x > 0`), or convert with `cast(x, bool)`",
                "float" => "convert it first: `cast(.., f32)`",
                _ => "convert it first: `cast(.., i32)`",
            };
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("`{name}` needs a {want} tensor, found `{t}`"),
                    sx,
                )
                .label(format!("this is `{t}`"))
                .help(help),
            );
            return None;
        }
        Some((x, t, sx))
    }

    fn scalar_like(&mut self, v: f64, like: NodeId, span: Span) -> NodeId {
        let ty = self.g.ty(like).clone();
        self.g.full(v, &ty, Some(span))
    }

    /// `argmin(x, axis=)`: argmax of an order-reversed copy — `-x` for
    /// floats (a NaN stays NaN, so the first NaN wins as NumPy's), `-1 - x`
    /// for integers (no overflow).
    pub(super) fn argmin(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.kind_arg("argmin", &a[0], "numeric")?;
        let s = Some(span);
        let rev = match t.dtype {
            d if d.is_float() => self.g.unary(UnaryOp::Neg, x, s),
            DType::I32 | DType::I64 | DType::U8 => {
                let x = if t.dtype == DType::U8 {
                    self.g.cast(x, DType::I32, s)
                } else {
                    x
                };
                let m1 = self.scalar_like(-1.0, x, span);
                self.g.binary(BinaryOp::Sub, m1, x, s)
            }
            _ => x,
        };
        self.argmax(span, vec![Some((Val::Tensor(rev), sx, None)), a[1].clone()])
    }

    /// `any` / `all` over `axis=` (all axes by default) of a bool tensor.
    pub(super) fn any_all(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.kind_arg(b.name(), &a[0], "bool")?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        let keep = self.bool_kw(&a[2])?;
        let op = if b == Builtin::Any {
            ReduceOp::Max
        } else {
            ReduceOp::Min
        };
        let r = self.g.reduce(op, x, &axes, Some(span));
        Some(Val::Tensor(self.drop_axes(r, &t, &axes, keep, span)))
    }

    /// The reduced axes of a `keepdims` result removed unless `keep`.
    fn drop_axes(
        &mut self,
        r: NodeId,
        t: &TensorType,
        axes: &[usize],
        keep: bool,
        span: Span,
    ) -> NodeId {
        if keep {
            return r;
        }
        let shape: Vec<Dim> = (0..t.rank())
            .filter(|i| !axes.contains(i))
            .map(|i| t.shape[i].clone())
            .collect();
        self.g.reshape(r, &shape, Some(span))
    }

    /// `mean` of `x` over `axis=` with the axes kept.
    fn mean_kept(&mut self, x: NodeId, sx: Span, axis: &Bound, span: Span) -> Option<NodeId> {
        let keep = Some((Val::Static(Scalar::Bool(true)), span, None));
        match self.reduction(
            "mean",
            span,
            vec![Some((Val::Tensor(x), sx, None)), axis.clone(), keep],
        )? {
            Val::Tensor(m) => Some(m),
            _ => None,
        }
    }

    /// `var` (population, `ddof=0`) and `std = sqrt(var)`: the mean of the
    /// squared deviations from the mean, as NumPy computes them.
    pub(super) fn var_std(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.kind_arg(b.name(), &a[0], "float")?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        let keep = self.bool_kw(&a[2])?;
        let m = self.mean_kept(x, sx, &a[1], span)?;
        let m = self.g.broadcast(m, &t.shape, Some(span));
        let d = self.g.binary(BinaryOp::Sub, x, m, Some(span));
        let d2 = self.g.binary(BinaryOp::Mul, d, d, Some(span));
        let mut v = self.mean_kept(d2, sx, &a[1], span)?;
        if b == Builtin::Std {
            v = self.g.unary(UnaryOp::Sqrt, v, Some(span));
        }
        Some(Val::Tensor(self.drop_axes(v, &t, &axes, keep, span)))
    }

    /// `logsumexp(x, axis=)`: `m + log(sum(exp(x - m)))` with `m` the
    /// maximum (0 where it is infinite, so all -inf gives -inf and +inf
    /// gives +inf), `m` outside the derivative: the gradient is softmax.
    pub(super) fn logsumexp(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.kind_arg("logsumexp", &a[0], "float")?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        let keep = self.bool_kw(&a[2])?;
        let s = Some(span);
        let m = self.g.reduce(ReduceOp::Max, x, &axes, s);
        let am = self.g.unary(UnaryOp::Abs, m, s);
        let inf = self.scalar_like(f64::INFINITY, m, span);
        let finite = self.g.binary(BinaryOp::Lt, am, inf, s);
        let z = self.scalar_like(0.0, m, span);
        let m = self.g.add(Op::Select, &[finite, m, z], s);
        let m = self.g.add(Op::StopGradient, &[m], s);
        let mb = self.g.broadcast(m, &t.shape, s);
        let d = self.g.binary(BinaryOp::Sub, x, mb, s);
        let e = self.g.unary(UnaryOp::Exp, d, s);
        let sum = self.g.reduce(ReduceOp::Sum, e, &axes, s);
        let l = self.g.unary(UnaryOp::Log, sum, s);
        let r = self.g.binary(BinaryOp::Add, l, m, s);
        Some(Val::Tensor(self.drop_axes(r, &t, &axes, keep, span)))
    }

    /// `cumsum(x, axis=)`: running sums in `x`'s dtype (u8 in i32, cast
    /// back); without `axis`, over the flattened tensor, as NumPy's.
    pub(super) fn cumsum(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.kind_arg("cumsum", &a[0], "numeric")?;
        let s = Some(span);
        let (x, axis) = match &a[1] {
            Some((v, sa, _)) => {
                let ax = self.static_int(v, *sa, "the axis")?;
                (x, self.norm_axis(ax, t.rank(), *sa, &t, sx)?)
            }
            None => {
                let flat = crate::ir::types::product_dim(&t.shape);
                let Some(flat) = flat else {
                    self.err(
                        Diagnostic::error(
                            "E0314",
                            format!("cumsum over all axes of `{t}` needs an `axis=`"),
                            span,
                        )
                        .label("the flattened length is not a single size")
                        .help("give the axis: `cumsum(x, axis=-1)`"),
                    );
                    return None;
                };
                (self.g.reshape(x, &[flat], s), 0)
            }
        };
        let u8 = t.dtype == DType::U8;
        let x = if u8 { self.g.cast(x, DType::I32, s) } else { x };
        let r = self.g.add(
            Op::Cumsum {
                axis,
                reverse: false,
            },
            &[x],
            s,
        );
        Some(Val::Tensor(if u8 {
            self.g.cast(r, DType::U8, s)
        } else {
            r
        }))
    }

    /// Position along `axis` of a tensor of shape `shape`, as `i64`.
    fn iota(&mut self, shape: &[Dim], axis: usize, span: Span) -> NodeId {
        let ty = TensorType::new(DType::I64, shape.to_vec());
        self.g.add(Op::Iota { ty, axis }, &[], Some(span))
    }

    /// `eye(N, dtype=f32)`: ones on the diagonal of `[N, N]`.
    pub(super) fn eye(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (nv, ns, _) = a[0].clone()?;
        let n = self.size_arg(&nv, ns)?;
        let dtype = self.dtype_kw(&a[1], DType::F32)?;
        let shape = [n.clone(), n];
        let r = self.iota(&shape, 0, span);
        let c = self.iota(&shape, 1, span);
        let eq = self.g.binary(BinaryOp::Eq, r, c, Some(span));
        Some(Val::Tensor(self.g.cast(eq, dtype, Some(span))))
    }

    /// `tril(x, k=0)` / `triu(x, k=0)` on the last two axes: zero above /
    /// below diagonal `k` (column − row ≤ k / ≥ k keeps the element).
    pub(super) fn tri(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        if t.rank() < 2 {
            self.err(
                Diagnostic::error(
                    "E0307",
                    format!("`{}` needs a tensor of rank ≥ 2, found `{t}`", b.name()),
                    sx,
                )
                .label(format!("this is `{t}`")),
            );
            return None;
        }
        let k = match &a[1] {
            None => 0,
            Some((v, s, _)) => self.static_int(v, *s, "the diagonal `k`")?,
        };
        let r = t.rank();
        let row = self.iota(&t.shape, r - 2, span);
        let col = self.iota(&t.shape, r - 1, span);
        let s = Some(span);
        let diff = self.g.binary(BinaryOp::Sub, col, row, s);
        let kk = self.g.literal(Scalar::Int(k), DType::I64, s);
        let kk = self.g.broadcast(kk, &t.shape, s);
        let op = if b == Builtin::Tril {
            BinaryOp::Le
        } else {
            BinaryOp::Ge
        };
        let keep = self.g.binary(op, diff, kk, s);
        let z = self.scalar_like(0.0, x, span);
        Some(Val::Tensor(self.g.add(Op::Select, &[keep, x, z], s)))
    }

    /// `x` with axis `axis` reversed: a gather of the rows `n-1, .., 0` of
    /// `x` with that axis moved first (whose derivative is a scatter-add).
    pub(crate) fn reverse_axis(&mut self, x: NodeId, axis: usize, span: Span) -> NodeId {
        let t = self.g.ty(x).clone();
        let s = Some(span);
        let n = t.shape[axis].clone();
        let mut perm: Vec<usize> = (0..t.rank()).collect();
        perm.remove(axis);
        perm.insert(0, axis);
        let xt = self.g.transpose(x, &perm, s);
        let i = self.iota(std::slice::from_ref(&n), 0, span);
        let last = match n.as_lit() {
            Some(n) => self.g.literal(Scalar::Int(n as i64 - 1), DType::I64, s),
            None => {
                let size = self.g.add(
                    Op::SizeOf {
                        dims: vec![n.clone()],
                        dtype: DType::I64,
                    },
                    &[],
                    s,
                );
                let one = self.g.literal(Scalar::Int(1), DType::I64, s);
                self.g.binary(BinaryOp::Sub, size, one, s)
            }
        };
        let last = self.g.broadcast(last, &[n], s);
        let idx = self.g.binary(BinaryOp::Sub, last, i, s);
        let r = self.g.add(Op::Gather, &[xt, idx], s);
        let mut inv = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        self.g.transpose(r, &inv, s)
    }

    /// `flip(x, axis)`: `axis` an integer or a tuple (every axis when omitted).
    pub(super) fn flip(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (mut x, t, sx) = self.tensor_arg(&a[0])?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        for ax in axes {
            x = self.reverse_axis(x, ax, span);
        }
        Some(Val::Tensor(x))
    }

    /// `pad(x, ((lo, hi), ..), value=0)`: one pair per axis (a single pair
    /// pads every axis alike), blocks of `value` joined before and after.
    pub(super) fn pad(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (mut x, t, _) = self.tensor_arg(&a[0])?;
        let (wv, ws, _) = a[1].clone()?;
        let bad = |el: &mut Self| {
            el.err(
                Diagnostic::error(
                    "E0314",
                    format!("`pad` needs one pair (before, after) of non-negative integers per axis of `{t}`"),
                    ws,
                )
                .label("not pairs of integers, one per axis")
                .help("for a matrix: `pad(x, ((0, 0), (1, 1)))`"),
            );
        };
        let pairs: Vec<Val> = match &wv {
            Val::Tuple(items) if items.len() == 2 && !matches!(items[0], Val::Tuple(_)) => {
                vec![wv.clone(); t.rank()]
            }
            Val::Tuple(items) if items.len() == t.rank() => items.clone(),
            _ => {
                bad(self);
                return None;
            }
        };
        let mut widths = Vec::new();
        for p in &pairs {
            let Val::Tuple(lh) = p else {
                bad(self);
                return None;
            };
            let [lo, hi] = lh.as_slice() else {
                bad(self);
                return None;
            };
            let (lo, hi) = (
                self.static_int(lo, ws, "a pad width")?,
                self.static_int(hi, ws, "a pad width")?,
            );
            if lo < 0 || hi < 0 {
                bad(self);
                return None;
            }
            widths.push((lo as u64, hi as u64));
        }
        let value = match &a[2] {
            None => 0.0,
            Some(_) => self.float_static(&a[2])?,
        };
        for (ax, &(lo, hi)) in widths.iter().enumerate() {
            if lo == 0 && hi == 0 {
                continue;
            }
            let cur = self.g.ty(x).clone();
            let block = |el: &mut Self, w: u64| {
                let mut shape = cur.shape.clone();
                shape[ax] = Dim::Lit(w);
                el.g.full(value, &TensorType::new(cur.dtype, shape), Some(span))
            };
            let mut parts = Vec::new();
            if lo > 0 {
                parts.push(block(self, lo));
            }
            parts.push(x);
            if hi > 0 {
                parts.push(block(self, hi));
            }
            x = self.g.add(Op::Concat { axis: ax }, &parts, Some(span));
        }
        Some(Val::Tensor(x))
    }

    /// `scatter_add(table, idx, values)`: `table` with row `values[i..]`
    /// added into row `idx[i..]` (duplicates accumulate): the adjoint of
    /// `gather`.
    pub(super) fn scatter_add(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (tb, tt, st) = self.tensor_arg(&a[0])?;
        let (ix, it, si) = self.tensor_arg(&a[1])?;
        let (vb, vt, sv) = self.tensor_arg(&a[2])?;
        if tt.rank() == 0 || !it.dtype.is_int() {
            let (msg, s) = if tt.rank() == 0 {
                ("`scatter_add` needs a table of rank ≥ 1".to_string(), st)
            } else {
                (
                    format!("scatter_add indices must be integers, found `{it}`"),
                    si,
                )
            };
            self.err(Diagnostic::error("E0305", msg, s).label("here"));
            return None;
        }
        let mut want = it.shape.clone();
        want.extend(tt.shape[1..].iter().cloned());
        let vb = if vt.shape != want && crate::ir::types::broadcasts_to(&vt.shape, &want) {
            self.g.broadcast(vb, &want, Some(sv))
        } else {
            vb
        };
        let vt2 = self.g.ty(vb).clone();
        if vt2.shape != want || vt2.dtype != tt.dtype {
            let wt = TensorType::new(tt.dtype, want);
            self.err(
                Diagnostic::error(
                    "E0308",
                    format!(
                        "`scatter_add` of `{vt}` into `{tt}` by `{it}`: the values must be `{wt}`"
                    ),
                    sv,
                )
                .label(format!("this is `{vt}`"))
                .with(st, format!("the table is `{tt}`"))
                .note("the values have the indices' shape followed by a table row's shape"),
            );
            return None;
        }
        let s = Some(span);
        let add = self.g.add(Op::ScatterAdd { ty: tt }, &[ix, vb], s);
        Some(Val::Tensor(self.g.binary(BinaryOp::Add, tb, add, s)))
    }
}
