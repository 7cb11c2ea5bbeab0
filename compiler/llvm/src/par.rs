//! Parallel kernels: a `Map`, a `Reduce` that keeps axis 0, or an `ArgMax`
//! along another axis is split along axis 0 of its index space across the
//! runtime's threads.
//!
//! Such a kernel `k` becomes three functions:
//! - `weft_k{k}_range(dims, bufs.., lo, hi)`: the kernel over indices
//!   `lo..hi` of axis 0 (buffers `noalias`: threads write disjoint parts of
//!   the output and only read the inputs);
//! - `weft_k{k}_task(ctx, lo, hi)`: unpacks `ctx` (the dims pointer, then the
//!   buffer pointers) and calls the range function;
//! - `weft_k{k}(dims, bufs..)`: packs `ctx` on its stack and calls
//!   `weft_rt_parallel_for(n, unit_cost, task, ctx)` (docs/abi.md), which runs
//!   `task` over a partition of `0..n` and returns when all parts are done.
//!   `weft_rt_parallel_for` is declared `extern_weak`: an executable whose
//!   runtime does not define it runs `task(ctx, 0, n)` on the calling thread.
//!
//! `unit_cost` is the kernel's rough cost per index of axis 0 (elements of
//! the rest of the space times the plan's element cost, see
//! `weft_compiler::kernel::lower::Parallel`), so that the runtime can keep
//! small kernels on one thread.

use inkwell::attributes::AttributeLoc;
use inkwell::module::Linkage;
use inkwell::types::BasicMetadataTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue};

use crate::gen::{Gen, OrStr, R};
use weft_compiler::ir::types::Dim;
use weft_compiler::kernel::{lower, BufId, Expr, Kernel, Program};

/// The runtime's parallel loop (docs/abi.md).
pub const PARALLEL_FOR: &str = "weft_rt_parallel_for";

/// How a kernel splits: along axis 0 of `space`, each index costing
/// `cost` per element of `space[1..]`.
pub(crate) struct Split {
    pub space: Vec<Dim>,
    pub cost: u32,
}

/// Whether (and how) `kern` runs in parallel: along axis 0, when the
/// kernel layer's plan ([`lower::parallel`]) allows it.
pub(crate) fn parallel_split(prog: &Program, kern: &Kernel) -> Option<Split> {
    let plan = lower::parallel(prog, kern)?;
    plan.may_split(0).then_some(Split {
        space: plan.space,
        cost: plan.element_cost,
    })
}

impl<'c> Gen<'c, '_> {
    fn parallel_for_fn(&self) -> FunctionValue<'c> {
        if let Some(f) = self.module.get_function(PARALLEL_FOR) {
            return f;
        }
        let (i64t, ptr) = (self.ctx.i64_type(), self.ptr_t());
        let t = self
            .ctx
            .void_type()
            .fn_type(&[i64t.into(), i64t.into(), ptr.into(), ptr.into()], false);
        self.module
            .add_function(PARALLEL_FOR, t, Some(Linkage::ExternalWeak))
    }

    /// Kernels `ks` (fused by rows when more than one) split along axis 0
    /// as function `name` (see the module header).
    pub(crate) fn parallel_kernel_fn(
        &mut self,
        name: &str,
        ks: &[&Kernel],
        bufs: Vec<BufId>,
        split: Split,
    ) -> R<(FunctionValue<'c>, Vec<BufId>)> {
        let (ptr, i64t, void) = (self.ptr_t(), self.ctx.i64_type(), self.ctx.void_type());
        let nb = bufs.len();
        // The range function.
        let mut args: Vec<BasicMetadataTypeEnum> =
            std::iter::repeat_n(ptr.into(), nb + 1).collect();
        args.push(i64t.into());
        args.push(i64t.into());
        let rf = self.module.add_function(
            &format!("{name}_range"),
            void.fn_type(&args, false),
            Some(Linkage::Internal),
        );
        self.add_fn_attrs(rf);
        for i in 0..=nb {
            rf.add_attribute(AttributeLoc::Param(i as u32), self.enum_attr("noalias", 0));
            rf.add_attribute(
                AttributeLoc::Param(i as u32),
                self.enum_attr("nocapture", 0),
            );
        }
        self.func = Some(rf);
        self.b
            .position_at_end(self.ctx.append_basic_block(rf, "entry"));
        let param = |f: FunctionValue<'c>, i: usize| f.get_nth_param(i as u32).ok_or("param");
        self.load_dims(param(rf, 0)?.into_pointer_value())?;
        self.bufs = vec![None; self.prog.buffers.len()];
        for (i, &b) in bufs.iter().enumerate() {
            self.bufs[b] = Some(param(rf, i + 1)?.into_pointer_value());
        }
        let (lo, hi) = (
            param(rf, nb + 1)?.into_int_value(),
            param(rf, nb + 2)?.into_int_value(),
        );
        if let [kern] = ks {
            self.outer_range = Some((lo, hi));
            let r = self.kernel_body(kern);
            self.outer_range = None;
            r?;
        } else {
            // Row by row: every kernel of the group on row r, then row r + 1.
            self.outer_range = Some((lo, hi));
            let n0 = self.dim(&split.space[0]);
            let r = self.loops(&[n0], &mut |g, ix| {
                let next = g.b.build_int_nsw_add(ix[0], g.i64c(1), "").s()?;
                for kern in ks {
                    g.outer_range = Some((ix[0], next));
                    g.kernel_body(kern)?;
                }
                Ok(())
            });
            self.outer_range = None;
            r?;
        }
        self.b.build_return(None).s()?;

        // The task: unpack the context.
        let tf = self.module.add_function(
            &format!("{name}_task"),
            void.fn_type(&[ptr.into(), i64t.into(), i64t.into()], false),
            Some(Linkage::Internal),
        );
        self.add_fn_attrs(tf);
        self.func = Some(tf);
        self.b
            .position_at_end(self.ctx.append_basic_block(tf, "entry"));
        let ctxp = param(tf, 0)?.into_pointer_value();
        let mut cargs: Vec<BasicMetadataValueEnum> = Vec::new();
        for i in 0..=nb {
            // SAFETY: the context holds nb + 1 pointers.
            let q = unsafe {
                self.b
                    .build_in_bounds_gep(ptr, ctxp, &[self.i64c(i as u64)], "")
            }
            .s()?;
            cargs.push(self.b.build_load(ptr, q, "").s()?.into());
        }
        cargs.push(param(tf, 1)?.into());
        cargs.push(param(tf, 2)?.into());
        self.call(rf, &cargs)?;
        self.b.build_return(None).s()?;

        // The kernel: pack the context, run the tasks.
        let kargs: Vec<BasicMetadataTypeEnum> = std::iter::repeat_n(ptr.into(), nb + 1).collect();
        let kf = self.module.add_function(
            name,
            self.ctx.i32_type().fn_type(&kargs, false),
            Some(Linkage::Internal),
        );
        self.add_fn_attrs(kf);
        kf.add_attribute(AttributeLoc::Function, self.enum_attr("noinline", 0));
        self.func = Some(kf);
        self.b
            .position_at_end(self.ctx.append_basic_block(kf, "entry"));
        self.load_dims(param(kf, 0)?.into_pointer_value())?;
        let n0 = self.dim(&split.space[0]);
        let unit = self.mul(
            self.numel(&split.space[1..])?,
            self.i64c(u64::from(split.cost)),
        )?;
        let arr = self
            .b
            .build_array_alloca(ptr, self.i64c(nb as u64 + 1), "ctx")
            .s()?;
        for i in 0..=nb {
            // SAFETY: the context array has nb + 1 entries.
            let q = unsafe {
                self.b
                    .build_in_bounds_gep(ptr, arr, &[self.i64c(i as u64)], "")
            }
            .s()?;
            self.b.build_store(q, param(kf, i)?).s()?;
        }
        let pf = self.parallel_for_fn();
        let have = self
            .b
            .build_is_not_null(pf.as_global_value().as_pointer_value(), "")
            .s()?;
        let (par, seq, done) = (self.block("par")?, self.block("seq")?, self.block("done")?);
        self.b.build_conditional_branch(have, par, seq).s()?;
        self.b.position_at_end(par);
        let task = tf.as_global_value().as_pointer_value();
        self.call(pf, &[n0.into(), unit.into(), task.into(), arr.into()])?;
        self.b.build_unconditional_branch(done).s()?;
        self.b.position_at_end(seq);
        self.call(tf, &[arr.into(), self.i64c(0).into(), n0.into()])?;
        self.b.build_unconditional_branch(done).s()?;
        self.b.position_at_end(done);
        self.b
            .build_return(Some(&self.ctx.i32_type().const_zero()))
            .s()?;
        Ok((kf, bufs))
    }
}

/// Consecutive kernels grouped for row fusion, in order; most groups have
/// one kernel. Kernels join a group when each is parallel ([`parallel_split`])
/// over a space of rank ≥ 2 whose axis 0 is the same size, and running them
/// row by row computes what running them one after the other does:
/// - a kernel reads a buffer written earlier in the group only at its own
///   row (a load whose index space keeps the row as axis 0 and whose view's
///   axis 0 is the buffer's);
/// - no kernel writes a buffer that an earlier kernel of the group reads;
/// - a temp written in the group shares its arena slot with no other buffer
///   the group touches (the memory plan assumes kernels run one after the
///   other).
pub(crate) fn row_groups(prog: &Program) -> Vec<Vec<usize>> {
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
    let splits: Vec<(Split, &Kernel)> = match ks
        .iter()
        .map(|&k| {
            let kern = &prog.kernels[k];
            parallel_split(prog, kern).map(|s| (s, kern))
        })
        .collect::<Option<Vec<_>>>()
    {
        Some(v) => v,
        None => return false,
    };
    let rows = &splits[0].0.space[0];
    if splits
        .iter()
        .any(|(s, _)| s.space.len() < 2 || &s.space[0] != rows)
        || splits.iter().all(|(s, _)| small_rows(&s.space[1..]))
    {
        return false;
    }
    let mut written: Vec<BufId> = Vec::new();
    let mut read_before: Vec<BufId> = Vec::new();
    let mut touched: Vec<BufId> = Vec::new();
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
        touched.extend(kern.inputs());
        touched.push(out);
        written.push(out);
    }
    // Arena slots: a temp written in the group must not share its slot.
    let slot = |b: BufId| match prog.buffers[b].kind {
        weft_compiler::kernel::BufKind::Temp { slot } => Some(slot),
        _ => None,
    };
    for &w in &written {
        if let Some(s) = slot(w) {
            if touched.iter().any(|&t| t != w && slot(t) == Some(s)) {
                return false;
            }
        }
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
                    Some(weft_compiler::kernel::AxisSrc::Outer {
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

impl<'c> Gen<'c, '_> {
    /// Kernels `ks` (a row group of [`row_groups`]) as one parallel function.
    pub(crate) fn row_group_fn(&mut self, ks: &[usize]) -> R<(FunctionValue<'c>, Vec<BufId>)> {
        let prog = self.prog;
        let kerns: Vec<&Kernel> = ks.iter().map(|&k| &prog.kernels[k]).collect();
        let mut bufs: Vec<BufId> = Vec::new();
        let mut cost = 0u32;
        for kern in &kerns {
            for b in kern.outputs().into_iter().chain(kern.inputs()) {
                if !bufs.contains(&b) {
                    bufs.push(b);
                }
            }
            cost = cost.saturating_add(parallel_split(prog, kern).map_or(1, |s| s.cost));
        }
        let space = parallel_split(prog, kerns[0])
            .ok_or("row group of a serial kernel")?
            .space;
        let name = format!("weft_k{}_to_{}", ks[0], ks[ks.len() - 1]);
        self.parallel_kernel_fn(&name, &kerns, bufs, Split { space, cost })
    }
}
