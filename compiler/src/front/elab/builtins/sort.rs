//! `sort(x, axis=-1)`, `argsort(x, axis=-1)` and `topk(x, k)` (contract
//! section 11), as compositions that every engine runs as fused reductions.
//!
//! The position of element `i` of a lane in sorted order is its **rank**:
//! the number of elements `j` that come before it — smaller (larger, for a
//! descending order), or equal with `j < i` — so the order is stable, and a
//! NaN counts as larger than every number (NumPy's `sort` puts NaN last,
//! `topk` puts it first). Output position `k` then takes the one element
//! whose rank is `k`: `sum_i (rank_i == k ? v_i : -0)`, which is exact (one
//! term, and `x + -0 = x`) and whose derivative sends each output's
//! cotangent to the element it came from. Both steps are reductions over
//! one axis of a broadcast `[.., n, n]` space: O(n²) work per lane, fused.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::{Bound, Builtin};
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Op, ReduceOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};

impl<'m> Elab<'m> {
    fn iota_i64(&mut self, shape: &[Dim], axis: usize, span: Span) -> NodeId {
        let ty = TensorType::new(DType::I64, shape.to_vec());
        self.g.add(Op::Iota { ty, axis }, &[], Some(span))
    }

    /// `a < b` with NaN above every number (and equal to NaN).
    fn lt_nan_last(&mut self, a: NodeId, b: NodeId, span: Span) -> NodeId {
        let s = Some(span);
        let lt = self.g.binary(BinaryOp::Lt, a, b, s);
        if !self.g.ty(a).dtype.is_float() {
            return lt;
        }
        let a_num = self.g.binary(BinaryOp::Eq, a, a, s);
        let b_nan = self.g.binary(BinaryOp::Ne, b, b, s);
        let f = self.bool_full(false, a, span);
        let t = self.bool_full(true, a, span);
        let num_nan = self.g.add(Op::Select, &[a_num, b_nan, f], s);
        self.g.add(Op::Select, &[lt, t, num_nan], s)
    }

    fn bool_full(&mut self, v: bool, like: NodeId, span: Span) -> NodeId {
        let shape = self.g.ty(like).shape.clone();
        let l = self.g.literal(Scalar::Bool(v), DType::Bool, Some(span));
        self.g.broadcast(l, &shape, Some(span))
    }

    /// The stable rank (`i64`) of each element of `x` along its last axis.
    fn ranks(&mut self, x: NodeId, descending: bool, span: Span) -> NodeId {
        let s = Some(span);
        let t = self.g.ty(x).clone();
        let r = t.rank();
        let n = t.shape[r - 1].clone();
        let lead = &t.shape[..r - 1];
        let sq = [lead, &[n.clone(), n.clone()]].concat();
        // Axis r-1 is i (the element ranked), axis r is j (the others).
        let xi = self
            .g
            .reshape(x, &[lead, &[n.clone(), Dim::Lit(1)]].concat(), s);
        let xi = self.g.broadcast(xi, &sq, s);
        let xj = self
            .g
            .reshape(x, &[lead, &[Dim::Lit(1), n.clone()]].concat(), s);
        let xj = self.g.broadcast(xj, &sq, s);
        let (first, second) = if descending { (xi, xj) } else { (xj, xi) };
        let before = self.lt_nan_last(first, second, span);
        let after = self.lt_nan_last(second, first, span);
        let ii = self.iota_i64(&sq, r - 1, span);
        let jj = self.iota_i64(&sq, r, span);
        let j_first = self.g.binary(BinaryOp::Lt, jj, ii, s);
        let f = self.bool_full(false, before, span);
        // tie (neither before nor after) and j < i
        let tie_first = self.g.add(Op::Select, &[after, f, j_first], s);
        let t_ = self.bool_full(true, before, span);
        let comes_first = self.g.add(Op::Select, &[before, t_, tie_first], s);
        let one = self.g.cast(comes_first, DType::I64, s);
        let cnt = self.g.reduce(ReduceOp::Sum, one, &[r], s);
        self.g.reshape(cnt, &t.shape, s)
    }

    /// Output position `k < count` of each lane: the element of `v` whose
    /// rank is `k`.
    fn take_by_rank(&mut self, rank: NodeId, v: NodeId, count: Dim, span: Span) -> NodeId {
        let s = Some(span);
        let t = self.g.ty(v).clone();
        let r = t.rank();
        let n = t.shape[r - 1].clone();
        let lead = &t.shape[..r - 1];
        let sq = [lead, &[count.clone(), n.clone()]].concat();
        let row = [lead, &[Dim::Lit(1), n]].concat();
        let rb = self.g.reshape(rank, &row, s);
        let rb = self.g.broadcast(rb, &sq, s);
        let kk = self.iota_i64(&sq, r - 1, span);
        let hit = self.g.binary(BinaryOp::Eq, rb, kk, s);
        let vb = self.g.reshape(v, &row, s);
        let vb = self.g.broadcast(vb, &sq, s);
        let z = if t.dtype.is_float() {
            Scalar::Float(-0.0)
        } else {
            Scalar::Int(0)
        };
        let z = self.g.literal(z, t.dtype, s);
        let z = self.g.broadcast(z, &sq, s);
        let sel = self.g.add(Op::Select, &[hit, vb, z], s);
        let sum = self.g.reduce(ReduceOp::Sum, sel, &[r], s);
        self.g.reshape(sum, &[lead, &[count]].concat(), s)
    }

    /// `sort`, `argsort` (`axis=`, the last by default) and `topk(x, k)`.
    pub(super) fn sorting(&mut self, b: Builtin, span: Span, a: Vec<Bound>) -> Option<Val> {
        let name = b.name();
        let (x, t, sx) = self.tensor_arg(&a[0])?;
        if !t.dtype.is_numeric() || t.rank() == 0 {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("`{name}` needs a numeric tensor of rank ≥ 1, found `{t}`"),
                    sx,
                )
                .label(format!("this is `{t}`")),
            );
            return None;
        }
        let s = Some(span);
        // u8 is a storage dtype: order in i32, cast the values back.
        let (x, u8) = if t.dtype == DType::U8 {
            (self.g.cast(x, DType::I32, s), true)
        } else {
            (x, false)
        };
        let r = t.rank();
        let (axis, count) = if b == Builtin::Topk {
            let (kv, ks, _) = a[1].clone()?;
            let k = self.static_int(&kv, ks, "`k`")?;
            let n = t.shape[r - 1].as_lit();
            if k < 1 || n.is_some_and(|n| k as u64 > n) {
                self.err(
                    Diagnostic::error(
                        "E0307",
                        format!(
                            "`topk` of {k} elements along an axis of length {}",
                            t.shape[r - 1]
                        ),
                        ks,
                    )
                    .label("k must be between 1 and the axis length")
                    .with(sx, format!("this is `{t}`")),
                );
                return None;
            }
            if n.is_none() {
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!(
                            "`topk` along an axis of length `{}` needs a literal length",
                            t.shape[r - 1]
                        ),
                        sx,
                    )
                    .label(format!("this is `{t}`"))
                    .note("k must be known not to exceed the axis"),
                );
                return None;
            }
            (r - 1, Dim::Lit(k as u64))
        } else {
            let axis = match &a[1] {
                None => r - 1,
                Some((v, sa, _)) => {
                    let ax = self.static_int(v, *sa, "the axis")?;
                    self.norm_axis(ax, r, *sa, &t, sx)?
                }
            };
            (axis, t.shape[axis].clone())
        };
        // The sorted axis last.
        let mut perm: Vec<usize> = (0..r).filter(|&i| i != axis).collect();
        perm.push(axis);
        let mut inv = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        let xt = self.g.transpose(x, &perm, s);
        let descending = b == Builtin::Topk;
        let rank = self.ranks(xt, descending, span);
        let want_values = b != Builtin::Argsort;
        let want_indices = b != Builtin::Sort;
        let mut outs = Vec::new();
        if want_values {
            let v = self.take_by_rank(rank, xt, count.clone(), span);
            let v = self.g.transpose(v, &inv, s);
            outs.push(if u8 { self.g.cast(v, DType::U8, s) } else { v });
        }
        if want_indices {
            let shape = self.g.ty(xt).shape.clone();
            let idx = self.iota_i64(&shape, r - 1, span);
            let v = self.take_by_rank(rank, idx, count, span);
            outs.push(self.g.transpose(v, &inv, s));
        }
        Some(match outs.as_slice() {
            [one] => Val::Tensor(*one),
            _ => Val::Tuple(outs.into_iter().map(Val::Tensor).collect()),
        })
    }
}
