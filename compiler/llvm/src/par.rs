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
use weft_compiler::kernel::{lower, BufId, Kernel, Program};

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
            // A temp only the group reads is held in one row, the first of
            // this range's own rows, rewritten for every row: it stays in
            // cache (softmax's exponentials never go to memory).
            let mut scratch = Vec::new();
            for b in private_rows(self.prog, ks) {
                let buf = &self.prog.buffers[b];
                let len = self.numel(&buf.shape[1..])?;
                let first = self.mul(lo, len)?;
                let row = self.elem_ptr(b, first)?;
                scratch.push((b, row, len));
            }
            self.outer_range = Some((lo, hi));
            let n0 = self.dim(&split.space[0]);
            let r = self.loops(&[n0], &mut |g, ix| {
                let next = g.b.build_int_nsw_add(ix[0], g.i64c(1), "").s()?;
                for &(b, row, len) in &scratch {
                    g.rows[b] = Some((row, g.mul(ix[0], len)?));
                }
                for kern in ks {
                    g.outer_range = Some((ix[0], next));
                    g.kernel_body(kern)?;
                }
                Ok(())
            });
            self.outer_range = None;
            for &(b, _, _) in &scratch {
                self.rows[b] = None;
            }
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

/// The temps a row group `ks` writes that no kernel outside it reads: the
/// group reads them only at the current row ([`row_groups`]), so one row
/// of scratch holds them.
fn private_rows(prog: &Program, ks: &[&Kernel]) -> Vec<BufId> {
    let written: Vec<BufId> = ks.iter().filter_map(|k| k.output()).collect();
    written
        .into_iter()
        .filter(|&b| {
            matches!(
                prog.buffers[b].kind,
                weft_compiler::kernel::BufKind::Temp { .. }
            )
        })
        .filter(|&b| {
            !prog
                .kernels
                .iter()
                .filter(|k| !ks.iter().any(|g| std::ptr::eq(*g, *k)))
                .any(|k| k.inputs().contains(&b))
        })
        .collect()
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
