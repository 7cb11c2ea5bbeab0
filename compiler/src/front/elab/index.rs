//! Indexing and static slicing: `x[0]`, `x[-1]`, `x[:, 1:3]`, `x[::2]`,
//! negative steps `x[::-1]` (a reversal, then a positive slice), and new
//! axes of length 1, `x[None]`, `x[:, None]`.

use weft_grammar::ast::{Expr, ExprKind, IndexItem, Span};

use super::{static_literal, Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::op::Op;
use crate::ir::types::{Dim, Poly};

impl<'m> Elab<'m> {
    pub(crate) fn index(&mut self, v: Val, bspan: Span, items: &[IndexItem], span: Span) -> Val {
        let x = match &v {
            Val::Tensor(id) => *id,
            Val::Lit { shape, values } => match self.lit_tensor(shape, values, bspan, None) {
                Some(id) => id,
                None => return Val::Error,
            },
            Val::Error => return Val::Error,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error("E0308", format!("cannot index `{t}`"), bspan)
                        .label("not a tensor"),
                );
                return Val::Error;
            }
        };
        let ty = self.g.ty(x).clone();
        let is_new_axis = |it: &IndexItem| matches!(it, IndexItem::Index(e) if matches!(&e.kind, ExprKind::Name(id) if id.name == "None"));
        let used = items.iter().filter(|it| !is_new_axis(it)).count();
        if used > ty.rank() {
            self.err(
                Diagnostic::error(
                    "E0308",
                    format!(
                        "too many indices: `{ty}` has {} axes but {} indices were given",
                        ty.rank(),
                        used
                    ),
                    span,
                )
                .label("too many indices")
                .with(bspan, format!("this is `{ty}`")),
            );
            return Val::Error;
        }
        let mut cur = x;
        let mut keep: Vec<Dim> = Vec::new();
        let mut axis = 0;
        for item in items {
            if is_new_axis(item) {
                keep.push(Dim::Lit(1));
                continue;
            }
            let dim = ty.shape[axis].clone();
            axis += 1;
            let axis = axis - 1;
            match item {
                IndexItem::Index(e) => {
                    let iv = self.index_value(e);
                    let Some(i) = iv else { return Val::Error };
                    let start = match &dim {
                        Dim::Lit(n) => {
                            let n = *n as i64;
                            if i < -n || i >= n {
                                self.err(
                                    Diagnostic::error("E0308", format!("index {i} is out of bounds for axis {axis} of length {n}"), e.span)
                                        .label("out of bounds")
                                        .with(bspan, format!("this is `{ty}`"))
                                        .note(format!("valid indices are {} to {}", -n, n - 1)),
                                );
                                return Val::Error;
                            }
                            if i < 0 {
                                i + n
                            } else {
                                i
                            }
                        }
                        // `x[-1]` on a size-name axis: the first of the reversal.
                        Dim::Sym(_) | Dim::Expr(_) if i < 0 => {
                            cur = self.reverse_axis(cur, axis, e.span);
                            -1 - i
                        }
                        Dim::Sym(_) | Dim::Expr(_) => i,
                    };
                    cur = self.g.add(
                        Op::Slice {
                            axis,
                            start,
                            step: 1,
                            len: Dim::Lit(1),
                        },
                        &[cur],
                        Some(e.span),
                    );
                }
                IndexItem::Slice {
                    start,
                    end,
                    step,
                    span: ss,
                } => {
                    let get = |this: &mut Self, e: &Option<Expr>| -> Result<Option<i64>, ()> {
                        match e {
                            None => Ok(None),
                            Some(e) => this.index_value(e).map(Some).ok_or(()),
                        }
                    };
                    let (Ok(st), Ok(en), Ok(sp)) =
                        (get(self, start), get(self, end), get(self, step))
                    else {
                        return Val::Error;
                    };
                    let step = sp.unwrap_or(1);
                    if step == 0 {
                        self.err(
                            Diagnostic::error("E0308", "slice step cannot be zero", *ss)
                                .label("invalid step"),
                        );
                        return Val::Error;
                    }
                    match &dim {
                        Dim::Lit(n) => {
                            let n = *n as i64;
                            let norm = |this: &mut Self,
                                        b: Option<i64>,
                                        dflt: i64|
                             -> Option<i64> {
                                match b {
                                    None => Some(dflt),
                                    Some(b) if b < -n || b > n => {
                                        this.err(
                                            Diagnostic::error("E0308", format!("slice bound {b} is out of bounds for axis {axis} of length {n}"), *ss)
                                                .label("out of bounds")
                                                .with(bspan, format!("this is `{ty}`")),
                                        );
                                        None
                                    }
                                    Some(b) => Some(if b < 0 { b + n } else { b }),
                                }
                            };
                            if step > 0 {
                                let (Some(s0), Some(e0)) = (norm(self, st, 0), norm(self, en, n))
                                else {
                                    return Val::Error;
                                };
                                let len = if e0 > s0 {
                                    (e0 - s0 + step - 1) / step
                                } else {
                                    0
                                };
                                if !(s0 == 0 && e0 == n && step == 1) {
                                    cur = self.slice_node(cur, axis, s0, step, len, *ss);
                                }
                                keep.push(Dim::Lit(len as u64));
                            } else {
                                // From s0 down to (not including) e0: NumPy's
                                // defaults are the last element and "before the first".
                                let Some(s0) = (match st {
                                    None => Some(n - 1),
                                    Some(b) if b == n => Some(n - 1),
                                    b => norm(self, b, n - 1),
                                }) else {
                                    return Val::Error;
                                };
                                let Some(e0) = (match en {
                                    None => Some(-1),
                                    b => norm(self, b, -1),
                                }) else {
                                    return Val::Error;
                                };
                                let k = -step;
                                let len = if s0 > e0 { (s0 - e0 + k - 1) / k } else { 0 };
                                // Element i is x[s0 - i·k] = reversed[(n - 1 - s0) + i·k].
                                cur = self.reverse_axis(cur, axis, *ss);
                                if !(s0 == n - 1 && k == 1 && len == n) {
                                    cur = self.slice_node(cur, axis, n - 1 - s0, k, len, *ss);
                                }
                                keep.push(Dim::Lit(len as u64));
                            }
                        }
                        Dim::Sym(_) | Dim::Expr(_) => {
                            let Some((c, len)) =
                                self.slice_size_axis(cur, axis, &dim, (st, en, step), *ss)
                            else {
                                return Val::Error;
                            };
                            cur = c;
                            keep.push(len);
                        }
                    }
                }
            }
        }
        keep.extend(ty.shape[used..].iter().cloned());
        Val::Tensor(self.g.reshape(cur, &keep, Some(span)))
    }

    /// `x[a:b:k]` along a size-name axis of length `n`, with literal
    /// bounds: the result's length is a size expression (`x[1:]` has
    /// `N - 1`, `x[::2]` has `(N + 1) div 2`). A start counted from the
    /// other end than the step walks from is taken from a reversal.
    fn slice_size_axis(
        &mut self,
        x: crate::ir::NodeId,
        axis: usize,
        n: &Dim,
        (st, en, step): (Option<i64>, Option<i64>, i64),
        span: Span,
    ) -> Option<(crate::ir::NodeId, Dim)> {
        let np = n.poly();
        let at = |b: i64| -> Option<Poly> {
            if b < 0 {
                np.add(&Poly::constant(b))
            } else {
                Some(Poly::constant(b))
            }
        };
        let k = step.unsigned_abs();
        // (reverse first, literal start, exclusive end) in the coordinates
        // the slice walks in.
        let plan: Option<(bool, i64, Poly)> = if step > 0 {
            let end = match en {
                None => Some(np.clone()),
                Some(b) => at(b),
            };
            match (st, end) {
                (None, Some(e)) => Some((false, 0, e)),
                (Some(a), Some(e)) if a >= 0 => Some((false, a, e)),
                // `x[-3:]`, `x[-5:-2]`: in the reversal, `x[-1 - ..]`.
                (Some(a), _) if k == 1 && en.is_none_or(|b| b < 0) => {
                    let r0 = en.map_or(0, |b| -b);
                    Some((true, r0, Poly::constant(-a)))
                }
                _ => None,
            }
        } else {
            // Reversed index r = n - 1 - i.
            let r0 = match st {
                None => Some(0),
                Some(a) if a < 0 => Some(-1 - a),
                Some(_) => None,
            };
            let r1 = match en {
                None => Some(np.clone()),
                Some(b) if b < 0 => Some(Poly::constant(-1 - b)),
                Some(b) => np.sub(&Poly::constant(b + 1)),
            };
            r0.zip(r1).map(|(r0, r1)| (true, r0, r1))
        };
        let Some((rev, start, end)) = plan else {
            self.err(
                Diagnostic::error(
                    "E0308",
                    format!("cannot slice axis {axis} of length `{n}` with these bounds"),
                    span,
                )
                .label("the start is counted from the other end than the step walks from")
                .help("with a positive step, start at a non-negative index (`x[2:]`, `x[:-1]`, `x[-3:]`); with a negative one, at a negative index or none (`x[::-1]`, `x[-2::-1]`)"),
            );
            return None;
        };
        // Elements `start, start + k, ..` before `end`: ceil((end - start) / k).
        let len = end
            .sub(&Poly::constant(start))
            .and_then(|p| p.add(&Poly::constant(k as i64 - 1)))
            .and_then(|p| p.div(k));
        let len = match len.map(|p| (p.as_constant(), p)) {
            Some((Some(c), _)) => Some(Dim::Lit(c.max(0) as u64)),
            Some((None, p)) => Dim::from_poly(p),
            None => None,
        };
        let Some(len) = len else {
            self.err(Diagnostic::error(
                "E0331",
                "the length of this slice overflows",
                span,
            ));
            return None;
        };
        let mut cur = x;
        if rev {
            cur = self.reverse_axis(cur, axis, span);
        }
        if !(start == 0 && k == 1 && len == *n) {
            cur = self.g.add(
                Op::Slice {
                    axis,
                    start,
                    step: k,
                    len: len.clone(),
                },
                &[cur],
                Some(span),
            );
        }
        // `x[-3:]` is the reversal of the reversal's first three.
        if rev && step > 0 {
            cur = self.reverse_axis(cur, axis, span);
        }
        Some((cur, len))
    }

    fn slice_node(
        &mut self,
        x: crate::ir::NodeId,
        axis: usize,
        start: i64,
        step: i64,
        len: i64,
        span: Span,
    ) -> crate::ir::NodeId {
        self.g.add(
            Op::Slice {
                axis,
                start,
                step: step as u64,
                len: Dim::Lit(len as u64),
            },
            &[x],
            Some(span),
        )
    }

    pub(crate) fn index_value(&mut self, e: &Expr) -> Option<i64> {
        let v = match static_literal(e) {
            Some(s) => Val::Static(s),
            None => self.expr(e),
        };
        self.static_int(&v, e.span, "an index")
    }
}
