//! Reductions, argmax and the shape builtins: transpose, reshape, broadcast_to, concat, stack.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::Bound;
use crate::front::diag::Diagnostic;
use crate::ir::op::{BinaryOp, Op, ReduceOp};
use crate::ir::types::{
    broadcast_shapes, broadcasts_to, element_count, shape_str, DType, Dim, Poly, Scalar, TensorType,
};

impl<'m> Elab<'m> {
    pub(super) fn reduction(
        &mut self,
        name: &'static str,
        span: Span,
        a: Vec<Bound>,
    ) -> Option<Val> {
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let axes = self.axes_arg(&a[1], &t, sx)?;
        let keep = self.bool_kw(&a[2])?;
        let no_arith = !crate::ops::arithmetic(t.dtype);
        if t.dtype == DType::Bool || no_arith || (name == "mean" && !t.dtype.is_float()) {
            let need = if name == "mean" {
                "a float tensor"
            } else if no_arith {
                "a numeric tensor other than u8"
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
            "prod" => ReduceOp::Prod,
            _ => ReduceOp::Sum,
        };
        let mut r = self.g.reduce(op, x, &axes, Some(span));
        if name == "mean" {
            let dims: Vec<Dim> = axes.iter().map(|&a| t.shape[a].clone()).collect();
            let n = match element_count(&dims).and_then(|p| p.as_constant()) {
                Some(c) => self.g.literal(Scalar::Float(c as f64), t.dtype, Some(span)),
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

    pub(super) fn argmax(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        if t.dtype == DType::Bool || !crate::ops::arithmetic(t.dtype) {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("`argmax` needs a numeric tensor, found `{t}`"),
                    sx,
                )
                .label(format!("this is `{t}`"))
                .help("convert it first: `cast(.., i32)`"),
            );
            return None;
        }
        let (x, axis) = match &a[1] {
            Some((v, s, _)) => {
                let ax = self.static_int(v, *s, "the axis")?;
                (x, self.norm_axis(ax, t.rank(), *s, &t, sx)?)
            }
            None => {
                let flat = match crate::ir::types::product_dim(&t.shape) {
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

    pub(super) fn transpose(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
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

    pub(super) fn reshape_(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        let (sv, ss, _) = a[1].clone()?;
        let mut shape = self.shape_arg(&sv, ss, true)?;
        let have = element_count(&t.shape);
        let infer_at = shape.iter().position(|d| *d == Dim::Lit(u64::MAX));
        let desc = |m: &Option<crate::ir::types::Poly>| match m {
            Some(m) => m.to_string(),
            None => "too many".into(),
        };
        if let Some(i) = infer_at {
            let mut rest = shape.clone();
            rest.remove(i);
            let known = element_count(&rest);
            let d = match (&have, &known) {
                (Some(h), Some(k)) => h.exact_div(k).and_then(Dim::from_poly),
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
                            "{} elements divided by {} is not one size",
                            desc(&have),
                            desc(&known)
                        ))
                        .with(sx, format!("this is `{t}`"))
                        .note("the `-1` axis gets the element count divided by the other lengths, which must divide it exactly")
                        .help("give every length explicitly, e.g. `reshape(x, (B, -1))` or `reshape(x, (B * 4,))`"),
                    );
                    return None;
                }
            }
        }
        let want = element_count(&shape);
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

    pub(super) fn broadcast_to(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
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

    pub(super) fn concat(&mut self, name: &'static str, span: Span, a: Vec<Bound>) -> Option<Val> {
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
            let total = tys
                .iter()
                .try_fold(Poly::default(), |acc, t| acc.add(&t.shape[ax].poly()));
            if total.is_none() {
                self.err(Diagnostic::error(
                    "E0331",
                    "the concatenated length overflows",
                    ts,
                ));
                return None;
            }
        }
        Some(Val::Tensor(self.g.add(
            Op::Concat { axis: ax },
            &parts,
            Some(span),
        )))
    }
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
