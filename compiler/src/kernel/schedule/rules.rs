//! The scheduler's rules that look only at the graph: the order nodes are
//! visited in, which operands a kernel reads packed, transposes read in
//! place, unit-axis reshapes, and when a full reduction is split in two.

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;
use crate::ir::types::Dim;
use crate::kernel::AxisSrc;

/// The order in which nodes are scheduled: index order, except that each
/// `all_sum` comes right after its operand, so that all the collectives of
/// values computed before the first use of one result are pending together
/// (see the header of `schedule.rs`).
pub(super) fn visit_order(g: &Graph) -> Vec<NodeId> {
    let mut after: Vec<Vec<NodeId>> = vec![Vec::new(); g.len()];
    let mut hoisted = vec![false; g.len()];
    for id in g.ids() {
        let n = g.node(id);
        if let (Op::AllSum, [a]) = (&n.op, n.args.as_slice()) {
            after[a.index()].push(id);
            hoisted[id.index()] = true;
        }
    }
    let mut order = Vec::with_capacity(g.len());
    let mut stack = Vec::new();
    for id in g.ids().filter(|id| !hoisted[id.index()]) {
        stack.push(id);
        while let Some(x) = stack.pop() {
            order.push(x);
            stack.extend(after[x.index()].iter().rev());
        }
    }
    order
}

/// For a reshape that only adds or drops axes of length 1: the axis map from
/// the new shape `to` to the old shape `from`.
pub(super) fn unit_axes_map(from: &[Dim], to: &[Dim]) -> Option<Vec<AxisSrc>> {
    let big_to: Vec<usize> = (0..to.len()).filter(|&i| !to[i].is_one()).collect();
    let big_from: Vec<usize> = (0..from.len()).filter(|&i| !from[i].is_one()).collect();
    if big_to.len() != big_from.len()
        || big_to
            .iter()
            .zip(&big_from)
            .any(|(&t, &f)| to[t] != from[f])
    {
        return None;
    }
    let mut axes = vec![AxisSrc::Zero; from.len()];
    for (&t, &f) in big_to.iter().zip(&big_from) {
        axes[f] = AxisSrc::Outer {
            axis: t,
            start: 0,
            step: 1,
        };
    }
    Some(axes)
}

/// The operands of node `id` that its kernel reads as packed buffers
/// (`operand_buf` in the scheduler's `Sched::node`).
pub(super) fn packed_operands(g: &Graph, id: NodeId) -> Vec<NodeId> {
    let n = g.node(id);
    match &n.op {
        Op::MatMul => {
            let float = n.ty.dtype.is_float();
            n.args
                .iter()
                .map(|&a| swapped_last(g, a).filter(|_| float).unwrap_or(a))
                .collect()
        }
        Op::Gather
        | Op::ScatterAdd { .. }
        | Op::Conv2d { .. }
        | Op::Conv2dGradInput { .. }
        | Op::Conv2dGradWeight { .. }
        | Op::Concat { .. } => n.args.clone(),
        Op::Cumsum { .. }
        | Op::Window { .. }
        | Op::WindowGrad { .. }
        | Op::SliceGrad { .. }
        | Op::AllSum => n.args.first().copied().into_iter().collect(),
        Op::Input { .. }
        | Op::Param { .. }
        | Op::Literal { .. }
        | Op::SizeOf { .. }
        | Op::Iota { .. }
        | Op::Random { .. }
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Select
        | Op::Cast { .. }
        | Op::Broadcast { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Reduce { .. }
        | Op::ArgMax { .. }
        | Op::StopGradient
        | Op::Grad => Vec::new(),
    }
}

/// The operand of `id` when `id` transposes only its last two axes.
pub(super) fn swapped_last(g: &Graph, id: NodeId) -> Option<NodeId> {
    let n = g.node(id);
    let Op::Transpose { perm } = &n.op else {
        return None;
    };
    let r = perm.len();
    let swapped = r >= 2
        && perm[r - 2] == r - 1
        && perm[r - 1] == r - 2
        && perm[..r - 2].iter().enumerate().all(|(i, &p)| i == p);
    swapped.then(|| n.args[0])
}

/// Whether a reduction of every axis of `shape` is worth two kernels (see
/// `two_stage_reduce`): rank 2 or more, a first axis that is not 1, and at
/// least 2^16 elements (or a size name among the lengths).
pub(super) fn split_full_reduction(shape: &[Dim], axes: &[usize]) -> bool {
    let r = shape.len();
    let literal: Option<u64> = shape
        .iter()
        .try_fold(1u64, |acc, d| d.as_lit().map(|n| acc.saturating_mul(n)));
    r >= 2 && axes.len() == r && !shape[0].is_one() && literal.is_none_or(|n| n >= 1 << 16)
}
