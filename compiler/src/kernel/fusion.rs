//! Row fusion: which consecutive kernels a backend may run as one loop over
//! rows (softmax's max, sum and division while the row is in cache). The
//! LLVM backend fuses these groups; the memory plan ([`super::plan`])
//! treats each group as one step of liveness, so that fused kernels never
//! share an arena slot, whichever engine runs the program.

use super::{lower, AxisSrc, BufId, Expr, Kernel, Program};
use crate::ir::types::Dim;

/// The index space of `kern` when it may be split along axis 0.
fn split_space(prog: &Program, kern: &Kernel) -> Option<Vec<Dim>> {
    let plan = lower::parallel(prog, kern)?;
    plan.may_split(0).then_some(plan.space)
}

/// Consecutive kernels grouped for row fusion, in order; most groups have
/// one kernel. Kernels join a group when each is parallel ([`lower::parallel`], split along axis 0)
/// over a space of rank ≥ 2 whose axis 0 is the same size, and running them
/// row by row computes what running them one after the other does:
/// - a kernel reads a buffer written earlier in the group only at its own
///   row (a load whose index space keeps the row as axis 0 and whose view's
///   axis 0 is the buffer's);
/// - no kernel writes a buffer that an earlier kernel of the group reads;
/// - (the memory plan, [`super::plan`], gives the temps a group touches
///   distinct slots: they are live together while it runs).
pub fn row_groups(prog: &Program) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for k in 0..prog.kernels.len() {
        if !cur.is_empty() {
            let mut with = cur.clone();
            with.push(k);
            if fusable(prog, &with) {
                cur = with;
                continue;
            }
            groups.push(std::mem::take(&mut cur));
        }
        cur.push(k);
    }
    if !cur.is_empty() {
        groups.push(cur);
    }
    groups
}

fn fusable(prog: &Program, ks: &[usize]) -> bool {
    let splits: Vec<(Vec<Dim>, &Kernel)> = match ks
        .iter()
        .map(|&k| {
            let kern = &prog.kernels[k];
            split_space(prog, kern).map(|s| (s, kern))
        })
        .collect::<Option<Vec<_>>>()
    {
        Some(v) => v,
        None => return false,
    };
    let rows = &splits[0].0[0];
    if splits.iter().any(|(s, _)| s.len() < 2 || &s[0] != rows)
        || splits.iter().all(|(s, _)| small_rows(&s[1..]))
    {
        return false;
    }
    let mut written: Vec<BufId> = Vec::new();
    let mut read_before: Vec<BufId> = Vec::new();
    for (_, kern) in &splits {
        let Some(out) = kern.output() else {
            return false;
        };
        if read_before.contains(&out) || written.contains(&out) {
            return false;
        }
        let expr = match kern {
            Kernel::Map { expr, .. }
            | Kernel::Reduce { expr, .. }
            | Kernel::ArgMax { expr, .. } => expr,
            _ => return false,
        };
        if !row_local(prog, expr, Some(0), rows, &written) {
            return false;
        }
        read_before.extend(kern.inputs());
        written.push(out);
    }
    true
}

/// Rows of fewer than [`MIN_FUSED_ROW`] elements, known at compile time. A
/// group needs one kernel with larger rows (per-row scalars such as a
/// softmax's sums join it); otherwise the matrices likely fit in cache and
/// fusion gains nothing.
fn small_rows(rest: &[Dim]) -> bool {
    let mut n = 1u64;
    for d in rest {
        match d.as_lit() {
            Some(v) => n = n.saturating_mul(v),
            None => return false,
        }
    }
    n < MIN_FUSED_ROW
}

/// The smallest literal row size worth fusing.
pub const MIN_FUSED_ROW: u64 = 1024;

/// Whether `e`, evaluated at a multi-index whose axis `row` (if any) is the
/// group's row, reads the buffers in `written` only at that row.
fn row_local(prog: &Program, e: &Expr, row: Option<usize>, rows: &Dim, written: &[BufId]) -> bool {
    match e {
        Expr::Load { buf, view } => {
            !written.contains(buf)
                || (row == Some(0)
                    && view.first() == Some(rows)
                    && prog.buffers[*buf].shape.first() == Some(rows))
        }
        Expr::Const { .. } | Expr::Iota { .. } | Expr::Size { .. } => true,
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => {
            row_local(prog, arg, row, rows, written)
        }
        Expr::Binary { lhs, rhs, .. } => {
            row_local(prog, lhs, row, rows, written) && row_local(prog, rhs, row, rows, written)
        }
        Expr::Select { cond, then, els } => {
            row_local(prog, cond, row, rows, written)
                && row_local(prog, then, row, rows, written)
                && row_local(prog, els, row, rows, written)
        }
        Expr::Remap { axes, arg, .. } => {
            let inner = match (row, axes.first()) {
                (
                    Some(r),
                    Some(AxisSrc::Outer {
                        axis,
                        start: 0,
                        step: 1,
                    }),
                ) if *axis == r => Some(0),
                _ => None,
            };
            row_local(prog, arg, inner, rows, written)
        }
    }
}
