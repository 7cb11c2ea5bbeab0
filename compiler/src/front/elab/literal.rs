//! Tensor literals (contract section 11): `[0.485, 0.456, 0.406]`, nested
//! `[[1, 2], [3, 4]]`. A literal stays weak — [`Val::Lit`] — until it
//! meets a tensor, whose dtype it takes (as a scalar literal does), or is
//! used alone, when it is `f32` if any element is a float, `bool` if every
//! element is, else `i32`.

use weft_grammar::ast::{Expr, Span};

use super::expr::{literal_meets, static_fits};
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim, Scalar};

impl<'m> Elab<'m> {
    /// `[a, b, ..]`: every item a compile-time scalar, or every item a
    /// literal of one shape.
    pub(crate) fn list(&mut self, items: &[Expr], span: Span) -> Val {
        let vals: Vec<Val> = items.iter().map(|x| self.expr(x)).collect();
        if vals.iter().any(|v| matches!(v, Val::Error)) {
            return Val::Error;
        }
        let bad = |el: &mut Self, at: Span, found: String| {
            el.err(
                Diagnostic::error(
                    "E0314",
                    format!("a tensor literal holds numbers or bools known at compile time, found `{found}`"),
                    at,
                )
                .label("not a literal element")
                .help("build tensors from tensors with `stack((a, b))`"),
            );
            Val::Error
        };
        if vals.is_empty() {
            return bad(self, span, "[]".into());
        }
        let mut inner: Option<Vec<u64>> = None;
        let mut values = Vec::new();
        for (v, e) in vals.iter().zip(items) {
            let (shape, vs) = match v {
                Val::Static(s) => (Vec::new(), vec![*s]),
                Val::Size(Dim::Lit(n)) => (Vec::new(), vec![Scalar::Int(*n as i64)]),
                Val::Lit { shape, values } => (shape.clone(), values.clone()),
                other => {
                    let t = self.type_str(other);
                    return bad(self, e.span, t);
                }
            };
            match &inner {
                None => inner = Some(shape),
                Some(s) if *s != shape => {
                    self.err(
                        Diagnostic::error(
                            "E0314",
                            "the rows of a tensor literal differ in shape",
                            e.span,
                        )
                        .label(format!("this row has shape {shape:?}"))
                        .note(format!("the first row has shape {s:?}")),
                    );
                    return Val::Error;
                }
                Some(_) => {}
            }
            values.extend(vs);
        }
        let mut shape = vec![vals.len() as u64];
        shape.extend(inner.unwrap_or_default());
        Val::Lit { shape, values }
    }

    /// A tensor literal as a tensor of `dtype` (or its own default).
    pub(crate) fn lit_tensor(
        &mut self,
        shape: &[u64],
        values: &[Scalar],
        span: Span,
        dtype: Option<DType>,
    ) -> Option<NodeId> {
        let d = dtype.unwrap_or(if values.iter().any(|v| matches!(v, Scalar::Float(_))) {
            DType::F32
        } else if values.iter().all(|v| matches!(v, Scalar::Bool(_))) {
            DType::Bool
        } else {
            DType::I32
        });
        if let Some(v) = values.iter().find(|v| !static_fits(**v, d)) {
            self.err(literal_meets(*v, d, span));
            return None;
        }
        let s = Some(span);
        let one = [Dim::Lit(1)];
        let parts: Vec<NodeId> = values
            .iter()
            .map(|v| {
                let l = self.g.literal(*v, d, s);
                self.g.broadcast(l, &one, s)
            })
            .collect();
        let flat = if parts.len() == 1 {
            parts[0]
        } else {
            self.g.add(Op::Concat { axis: 0 }, &parts, s)
        };
        let shape: Vec<Dim> = shape.iter().map(|&n| Dim::Lit(n)).collect();
        Some(self.g.reshape(flat, &shape, s))
    }

    /// A tensor literal operand of an operator takes the dtype of the
    /// other operand when that is a tensor.
    pub(crate) fn settle_lit(&mut self, v: Val, s: Span, other: &Val) -> Val {
        let Val::Lit { shape, values } = &v else {
            return v;
        };
        let hint = match other {
            Val::Tensor(id) => Some(self.g.ty(*id).dtype),
            _ => None,
        };
        match self.lit_tensor(shape, values, s, hint) {
            Some(id) => Val::Tensor(id),
            None => Val::Error,
        }
    }
}
