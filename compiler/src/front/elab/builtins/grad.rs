//! `grad(y, x)`: the typing of differentiation; the autodiff pass expands the nodes.

use weft_grammar::ast::{ExprKind, Span};

use super::super::{Elab, Val};
use super::Bound;
use crate::front::diag::Diagnostic;
use crate::front::elab::records::{leaves, rebuild};
use crate::ir::graph::NodeId;
use crate::ir::op::Op;

impl<'m> Elab<'m> {
    pub(super) fn grad(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
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
                        "`grad` is taken with respect to a named tensor or record (or a tuple of names)",
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
            if let Val::Record(_) = v {
                // A record: the gradient of every leaf, as a record of its type.
                let mut gs = Vec::new();
                for (_, leaf) in leaves(v, "") {
                    gs.push(self.grad_leaf(y, &leaf, *s, span)?);
                }
                outs.push(rebuild(v, &mut gs.into_iter()));
                continue;
            }
            outs.push(self.grad_leaf(y, v, *s, span)?);
        }
        Some(match xv {
            Val::Tuple(_) => Val::Tuple(outs),
            _ => outs.pop()?,
        })
    }

    fn grad_leaf(&mut self, y: NodeId, v: &Val, s: Span, span: Span) -> Option<Val> {
        {
            let s = &s;
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
            Some(Val::Tensor(self.g.add(Op::Grad, &[y, *x], Some(span))))
        }
    }
}
