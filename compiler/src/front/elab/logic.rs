//! Logical `and`, `or` and `not` (contract section 11) on `bool` tensors
//! and literals, with NumPy broadcasting: `a and b` is `where(a, b, false)`,
//! `a or b` is `where(a, true, b)`, `not a` is `a == false`.

use weft_grammar::ast::{BinOp, Span};

use super::expr::broadcast_error;
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Op};
use crate::ir::types::{broadcast_shapes, DType, Scalar};

impl<'m> Elab<'m> {
    /// A `bool` operand of a logical operator as a tensor, or its error.
    fn logical_operand(&mut self, v: &Val, s: Span, sym: &str) -> Option<NodeId> {
        if let Val::Static(Scalar::Int(_) | Scalar::Float(_)) = v {
            self.err(not_bool(sym, "a number", s));
            return None;
        }
        let id = self.tensor_of(v, s, Some(DType::Bool))?;
        let t = self.g.ty(id).clone();
        if t.dtype != DType::Bool {
            self.err(not_bool(sym, &format!("`{t}`"), s));
            return None;
        }
        Some(id)
    }

    /// `a and b`, `a or b`.
    pub(crate) fn logical2(
        &mut self,
        op: BinOp,
        (a, sa): (Val, Span),
        (b, sb): (Val, Span),
        span: Span,
    ) -> Val {
        let sym = op.symbol();
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        if let (Val::Static(Scalar::Bool(x)), Val::Static(Scalar::Bool(y))) = (&a, &b) {
            return Val::Static(Scalar::Bool(if op == BinOp::And {
                *x && *y
            } else {
                *x || *y
            }));
        }
        let (Some(x), Some(y)) = (
            self.logical_operand(&a, sa, sym),
            self.logical_operand(&b, sb, sym),
        ) else {
            return Val::Error;
        };
        let (tx, ty) = (self.g.ty(x).clone(), self.g.ty(y).clone());
        let shape = match broadcast_shapes(&tx.shape, &ty.shape) {
            Ok(s) => s,
            Err(axis) => {
                self.err(broadcast_error(&tx, sa, &ty, sb, span, axis, sym));
                return Val::Error;
            }
        };
        let x = self.g.broadcast(x, &shape, Some(sa));
        let y = self.g.broadcast(y, &shape, Some(sb));
        let k = self
            .g
            .literal(Scalar::Bool(op == BinOp::Or), DType::Bool, Some(span));
        let k = self.g.broadcast(k, &shape, Some(span));
        let (then, els) = if op == BinOp::And { (y, k) } else { (k, y) };
        Val::Tensor(self.g.add(Op::Select, &[x, then, els], Some(span)))
    }

    /// `not a`.
    pub(crate) fn logical_not(&mut self, a: Val, sa: Span, span: Span) -> Val {
        match a {
            Val::Error => Val::Error,
            Val::Static(Scalar::Bool(x)) => Val::Static(Scalar::Bool(!x)),
            other => {
                let Some(x) = self.logical_operand(&other, sa, "not") else {
                    return Val::Error;
                };
                let shape = self.g.ty(x).shape.clone();
                let f = self.g.literal(Scalar::Bool(false), DType::Bool, Some(span));
                let f = self.g.broadcast(f, &shape, Some(span));
                Val::Tensor(self.g.binary(BinaryOp::Eq, x, f, Some(span)))
            }
        }
    }
}

fn not_bool(sym: &str, found: &str, s: Span) -> Diagnostic {
    Diagnostic::error(
        "E0305",
        format!("`{sym}` needs bool operands, found {found}"),
        s,
    )
    .label("not a bool")
    .help("compare first (`x > 0`), or convert with `cast(x, bool)`")
}
