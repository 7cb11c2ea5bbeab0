//! Each kernel kind of the kernel IR as LLVM IR: maps and reductions as
//! loop nests over the semantics table's lowerings (`expr.rs`), matrix
//! products (inline for small ones, the runtime's GEMM otherwise), random
//! fills, run-time checks, and the dedicated kernels through the one
//! lowering of `weft_compiler::kernel::lower` (`loops.rs`).

use crate::gen::{Gen, OrStr, R};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, IntValue};
use inkwell::IntPredicate;
use weft_compiler::ir::op::{Distribution, ReduceOp};
use weft_compiler::ir::types::{DType, Dim};
use weft_compiler::kernel::{lower, BufId, Check, ConvArg, Kernel};
use weft_compiler::ops::PARTIALS;

/// The longest last axis whose accumulators [`Gen::reduce_rows`] keeps on
/// the stack (`f64`: 512 KiB).
const ROW_ACCUMULATORS: u64 = 1 << 16;

impl<'c> Gen<'c, '_> {
    pub(crate) fn kernel_body(&mut self, kern: &Kernel) -> R<()> {
        match kern {
            Kernel::Map { out, expr } => {
                let shape = self.prog.buffers[*out].shape.clone();
                let ext: Vec<_> = shape.iter().map(|d| self.dim(d)).collect();
                let out = *out;
                self.loops(&ext, &mut |g, idx| {
                    let v = g.expr(expr, idx)?;
                    let lin = g.linear(idx, &shape)?;
                    g.store_elem(out, lin, v)
                })
            }
            Kernel::Reduce {
                out,
                op,
                shape,
                axes,
                expr,
            } => self.reduce(*out, *op, shape, axes, expr),
            Kernel::ArgMax {
                out,
                shape,
                axis,
                expr,
            } => self.argmax(*out, shape, *axis, expr),
            Kernel::Conv {
                kind,
                out,
                a,
                b,
                dims,
                win,
                groups,
            } => {
                let d = self.prog.buffers[*out].dtype;
                let name = match d {
                    DType::F32 => "weft_rt_conv2d_f32",
                    DType::F64 => "weft_rt_conv2d_f64",
                    _ => return Err(format!("a {d} convolution")),
                };
                // The 14 sizes in a stack array.
                let vals: Vec<IntValue> = weft_compiler::kernel::conv_args(dims, win, *groups)
                    .into_iter()
                    .map(|x| match x {
                        ConvArg::Size(d) => self.dim(d),
                        ConvArg::Lit(v) => self.i64c(v),
                    })
                    .collect();
                let i64t = self.ctx.i64_type();
                let arr_t = i64t.array_type(vals.len() as u32);
                let arr = self.entry_alloca(arr_t.into(), "conv_dims")?;
                for (i, v) in vals.iter().enumerate() {
                    // SAFETY (LLVM's GEP contract): index i < 14 of a [14 x i64].
                    let at = unsafe {
                        self.b
                            .build_in_bounds_gep(
                                arr_t,
                                arr,
                                &[self.i64c(0), self.i64c(i as u64)],
                                "",
                            )
                            .s()?
                    };
                    self.b.build_store(at, *v).s()?;
                }
                let ptr = self.ptr_t();
                let f = self.extern_fn(
                    name,
                    None,
                    &[i64t.into(), ptr.into(), ptr.into(), ptr.into(), ptr.into()],
                );
                let p = |x: &BufId| -> R<BasicMetadataValueEnum> {
                    Ok(self.bufs[*x].ok_or("buf")?.into())
                };
                self.call(
                    f,
                    &[
                        self.i64c(kind.code() as u64).into(),
                        arr.into(),
                        p(a)?,
                        p(b)?,
                        p(out)?,
                    ],
                )?;
                Ok(())
            }
            Kernel::MatMul {
                out,
                a,
                b,
                batch,
                m,
                k,
                n,
                trans,
            } => {
                let d = self.prog.buffers[*out].dtype;
                let (nb, m, k, n) = (self.numel(batch)?, self.dim(m), self.dim(k), self.dim(n));
                if d.is_float() {
                    // Small products (W4's 1x64 @ 64x64) loop inline: a call
                    // into the runtime's GEMM costs more than the arithmetic.
                    let work = self.mul(self.mul(self.mul(nb, m)?, k)?, n)?;
                    let small = self
                        .b
                        .build_int_compare(
                            IntPredicate::ULE,
                            work,
                            self.i64c(crate::small::SMALL_GEMM_WORK),
                            "",
                        )
                        .s()?;
                    let (inl, big, done) = (
                        self.block("gemm_inline")?,
                        self.block("gemm_call")?,
                        self.block("gemm_done")?,
                    );
                    self.b.build_conditional_branch(small, inl, big).s()?;
                    self.b.position_at_end(inl);
                    self.small_gemm(*out, (*a, *b), d, [nb, m, k, n], *trans)?;
                    self.b.build_unconditional_branch(done).s()?;
                    self.b.position_at_end(big);
                    let name = if d == DType::F64 {
                        "weft_rt_gemm_v2_f64"
                    } else {
                        "weft_rt_gemm_v2_f32"
                    };
                    let (i64t, ptr) = (self.ctx.i64_type().into(), self.ptr_t().into());
                    let f =
                        self.extern_fn(name, None, &[i64t, i64t, i64t, i64t, ptr, ptr, ptr, i64t]);
                    let tr = self.i64c(weft_compiler::kernel::trans_bits(*trans) as u64);
                    let p = |b: &BufId| -> R<BasicMetadataValueEnum> {
                        Ok(self.bufs[*b].ok_or("buf")?.into())
                    };
                    self.call(
                        f,
                        &[
                            nb.into(),
                            m.into(),
                            k.into(),
                            n.into(),
                            p(a)?,
                            p(b)?,
                            p(out)?,
                            tr.into(),
                        ],
                    )?;
                    self.b.build_unconditional_branch(done).s()?;
                    self.b.position_at_end(done);
                    return Ok(());
                }
                if *trans != [false, false] {
                    return Err("an integer matmul of a transposed operand".into());
                }
                let (out, a, bb) = (*out, *a, *b);
                let acc = self.entry_alloca(self.val_t(d), "acc")?;
                self.loops(&[nb, m, n], &mut |g, ix| {
                    let zero = g.val_t(d).into_int_type().const_zero();
                    g.b.build_store(acc, zero).s()?;
                    let (bi, i, j) = (ix[0], ix[1], ix[2]);
                    g.loops(&[k], &mut |g, px| {
                        let ai = g.add(g.mul(g.add(g.mul(bi, m)?, i)?, k)?, px[0])?;
                        let bj = g.add(g.mul(g.add(g.mul(bi, k)?, px[0])?, n)?, j)?;
                        let x = g.load_elem(a, ai)?.into_int_value();
                        let y = g.load_elem(bb, bj)?.into_int_value();
                        let s = g.b.build_load(g.val_t(d), acc, "").s()?.into_int_value();
                        let v =
                            g.b.build_int_add(s, g.b.build_int_mul(x, y, "").s()?, "")
                                .s()?;
                        g.b.build_store(acc, v).s()?;
                        Ok(())
                    })?;
                    let o = g.add(g.mul(g.add(g.mul(bi, m)?, i)?, n)?, j)?;
                    let v = g.b.build_load(g.val_t(d), acc, "").s()?;
                    g.store_elem(out, o, v)
                })
            }
            Kernel::Gather { .. }
            | Kernel::ScatterAdd { .. }
            | Kernel::Concat { .. }
            | Kernel::SliceGrad { .. }
            | Kernel::Window { .. }
            | Kernel::WindowGrad { .. }
            | Kernel::Cumsum { .. } => {
                let prog = self.prog;
                lower::dedicated(&mut crate::loops::Loops(self), prog, kern)
                    .map_err(|e| format!("{e:?}"))
            }
            Kernel::Random { out, dist, seed } => {
                let d = self.prog.buffers[*out].dtype;
                let n = self.numel(&self.prog.buffers[*out].shape)?;
                let (kind, a, b) = match dist {
                    Distribution::Normal { mean, std } => ("normal", *mean, *std),
                    Distribution::Uniform { lo, hi } => ("uniform", *lo, *hi),
                };
                let name = format!(
                    "weft_rt_fill_{kind}_{}",
                    if d == DType::F64 { "f64" } else { "f32" }
                );
                let (i64t, f64t, ptr) = (self.ctx.i64_type(), self.ctx.f64_type(), self.ptr_t());
                let f = self.extern_fn(
                    &name,
                    None,
                    &[
                        i64t.into(),
                        f64t.into(),
                        f64t.into(),
                        ptr.into(),
                        i64t.into(),
                    ],
                );
                let p = self.bufs[*out].ok_or("buf")?;
                let args = [
                    self.i64c(*seed).into(),
                    f64t.const_float(a).into(),
                    f64t.const_float(b).into(),
                    p.into(),
                    n.into(),
                ];
                self.call(f, &args)?;
                Ok(())
            }
            Kernel::AllReduce { dtype, parts } => self.all_reduce(*dtype, parts),
            Kernel::Check { check, error } => {
                let ok = match check {
                    Check::SliceFits {
                        n,
                        start,
                        step,
                        len,
                    } => self.slice_fits(self.dim(n), *start, *step, self.dim(len))?,
                    Check::NonEmpty { lane, rest } => {
                        let (l, r) = (self.numel(lane)?, self.numel(rest)?);
                        let z = self.i64c(0);
                        let a = self.b.build_int_compare(IntPredicate::NE, l, z, "").s()?;
                        let b = self.b.build_int_compare(IntPredicate::EQ, r, z, "").s()?;
                        self.b.build_or(a, b, "").s()?
                    }
                    Check::SizeFits { dims, dtype } => self.size_fits(dims, *dtype)?,
                };
                self.fail_unless(ok, *error)
            }
        }
    }

    /// `start`, or `start + n` when negative.
    pub fn start(&self, start: i64, n: IntValue<'c>) -> R<IntValue<'c>> {
        let s = self.ctx.i64_type().const_int(start as u64, true);
        if start < 0 {
            self.add(s, n)
        } else {
            Ok(s)
        }
    }

    fn slice_fits(
        &self,
        n: IntValue<'c>,
        start: i64,
        step: u64,
        len: IntValue<'c>,
    ) -> R<IntValue<'c>> {
        let s = self.start(start, n)?;
        let z = self.i64c(0);
        let ge0 = self.b.build_int_compare(IntPredicate::SGE, s, z, "").s()?;
        let len_n = self.b.build_int_compare(IntPredicate::SLE, s, n, "").s()?;
        let empty = self.b.build_int_compare(IntPredicate::EQ, len, z, "").s()?;
        let last = self.add(
            s,
            self.mul(
                self.b.build_int_sub(len, self.i64c(1), "").s()?,
                self.i64c(step),
            )?,
        )?;
        let fits = self
            .b
            .build_int_compare(IntPredicate::SLT, last, n, "")
            .s()?;
        let tail = self.b.build_or(empty, fits, "").s()?;
        let a = self.b.build_and(ge0, len_n, "").s()?;
        self.b.build_and(a, tail, "").s()
    }

    /// [`Check::SizeFits`]: the product of `dims` (no `u64` overflow on
    /// the way, as the interpreter's checked product) is at most the
    /// dtype's maximum.
    fn size_fits(&self, dims: &[Dim], dtype: DType) -> R<IntValue<'c>> {
        let max = match dtype {
            DType::I32 => i32::MAX as u64,
            DType::I64 => i64::MAX as u64,
            DType::U8 => u8::MAX as u64,
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 | DType::Bool => u64::MAX,
        };
        let (z, one) = (self.i64c(0), self.i64c(1));
        let mut p = one;
        let mut ok = self.ctx.bool_type().const_int(1, false);
        for d in dims {
            let d = self.dim(d);
            let is0 = self.b.build_int_compare(IntPredicate::EQ, d, z, "").s()?;
            let div = self.b.build_select(is0, one, d, "").s()?.into_int_value();
            let room = self
                .b
                .build_int_unsigned_div(self.i64c(u64::MAX), div, "")
                .s()?;
            let fits = self
                .b
                .build_int_compare(IntPredicate::ULE, p, room, "")
                .s()?;
            ok = self.b.build_and(ok, fits, "").s()?;
            p = self.mul(p, d)?;
        }
        let small = self
            .b
            .build_int_compare(IntPredicate::ULE, p, self.i64c(max), "")
            .s()?;
        self.b.build_and(ok, small, "").s()
    }

    fn reduce(
        &mut self,
        out: BufId,
        op: ReduceOp,
        shape: &[Dim],
        axes: &[usize],
        expr: &weft_compiler::kernel::Expr,
    ) -> R<()> {
        // The last axis kept (a bias gradient: `[B, C]` summed over `B`):
        // while that axis is short enough for a stack row of accumulators,
        // the reduced axes run outside and the last axis inside, over
        // contiguous memory, each output still folding its lane in C order
        // (the same bits as one output at a time, which strided over the
        // whole operand once per output).
        let rank = shape.len();
        let row_wise = rank > 0
            && !axes.is_empty()
            && !axes.contains(&(rank - 1))
            && (self.outer_range.is_none() || (0..rank - 1).any(|a| !axes.contains(&a)));
        if !row_wise {
            return self.reduce_each(out, op, shape, axes, expr);
        }
        let n = self.dim(&shape[rank - 1]);
        let fits = self
            .b
            .build_int_compare(IntPredicate::ULE, n, self.i64c(ROW_ACCUMULATORS), "")
            .s()?;
        let (rows, each, done) = (
            self.block("reduce_rows")?,
            self.block("reduce_each")?,
            self.block("reduce_done")?,
        );
        self.b.build_conditional_branch(fits, rows, each).s()?;
        let range = self.outer_range;
        self.b.position_at_end(rows);
        self.reduce_rows(out, op, shape, axes, expr)?;
        self.b.build_unconditional_branch(done).s()?;
        self.outer_range = range;
        self.b.position_at_end(each);
        self.reduce_each(out, op, shape, axes, expr)?;
        self.b.build_unconditional_branch(done).s()?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// [`Self::reduce`] with the last axis kept: per index of the other kept
    /// axes, a row of accumulators on the stack (`llvm.stacksave`/`restore`
    /// around it, as the kernel may run inside a loop over rows), every
    /// reduced index in C order outside, the last axis inside.
    fn reduce_rows(
        &mut self,
        out: BufId,
        op: ReduceOp,
        shape: &[Dim],
        axes: &[usize],
        expr: &weft_compiler::kernel::Expr,
    ) -> R<()> {
        let d = self.prog.buffers[out].dtype;
        let acc_d = op.accumulator(d);
        let acc_t = self.val_t(acc_d);
        let rank = shape.len();
        let last = rank - 1;
        let dims: Vec<IntValue<'c>> = shape.iter().map(|d| self.dim(d)).collect();
        let n = dims[last];
        let prefix: Vec<usize> = (0..last).filter(|a| !axes.contains(a)).collect();
        let prefix_n: Vec<IntValue<'c>> = prefix.iter().map(|&a| dims[a]).collect();
        let lane: Vec<IntValue<'c>> = axes.iter().map(|&a| dims[a]).collect();
        let oshape = self.prog.buffers[out].shape.clone();
        let ptr_t = self.ptr_t();
        self.loops(&prefix_n, &mut |g, p| {
            let sp = g.intr("llvm.stacksave", &[ptr_t.into()], &[])?;
            let acc = g.b.build_array_alloca(acc_t, n, "row").s()?;
            let init = g.reduce_init(op, acc_d)?;
            g.loops(&[n], &mut |g, j| {
                let at = unsafe { g.b.build_in_bounds_gep(acc_t, acc, &[j[0]], "") }.s()?;
                g.b.build_store(at, init).s()?;
                Ok(())
            })?;
            let zero = g.i64c(0);
            let mut ix = vec![zero; rank];
            for (k, &a) in prefix.iter().enumerate() {
                ix[a] = p[k];
            }
            g.loops(&lane, &mut |g, l| {
                let mut ix = ix.clone();
                for (k, &a) in axes.iter().enumerate() {
                    ix[a] = l[k];
                }
                g.loops(&[n], &mut |g, j| {
                    let mut ix = ix.clone();
                    ix[last] = j[0];
                    let v = g.expr(expr, &ix)?;
                    let v = g.cast(v, d, acc_d)?;
                    let at = unsafe { g.b.build_in_bounds_gep(acc_t, acc, &[j[0]], "") }.s()?;
                    let a = g.b.build_load(acc_t, at, "").s()?;
                    let r = g.reduce_step(op, acc_d, a, v)?;
                    g.b.build_store(at, r).s()?;
                    Ok(())
                })
            })?;
            let mut count = g.i64c(1);
            for &l in &lane {
                count = g.mul(count, l)?;
            }
            g.loops(&[n], &mut |g, j| {
                let at = unsafe { g.b.build_in_bounds_gep(acc_t, acc, &[j[0]], "") }.s()?;
                let r = g.b.build_load(acc_t, at, "").s()?;
                let mut r = g.cast(r, acc_d, d)?;
                r = g.empty_lane(op, d, count, r)?;
                let mut o = ix.clone();
                o[last] = j[0];
                let lin = g.linear(&o, &oshape)?;
                g.store_elem(out, lin, r)
            })?;
            let restore = inkwell::intrinsics::Intrinsic::find("llvm.stackrestore")
                .ok_or("no llvm.stackrestore")?
                .get_declaration(&g.module, &[ptr_t.into()])
                .ok_or("cannot declare llvm.stackrestore")?;
            g.call(restore, &[sp.into()])?;
            Ok(())
        })
    }

    /// `r`, or the table's value of a reduction over nothing (not the
    /// identity) when the lane has `count` = 0 elements.
    fn empty_lane(
        &self,
        op: ReduceOp,
        d: DType,
        count: IntValue<'c>,
        r: BasicValueEnum<'c>,
    ) -> R<BasicValueEnum<'c>> {
        let Some(z) = op.empty(d) else {
            return Ok(r);
        };
        let empty = self
            .b
            .build_int_compare(IntPredicate::EQ, count, self.i64c(0), "")
            .s()?;
        let z = self.constant_val(z)?;
        self.b.build_select(empty, z, r, "").s()
    }

    /// [`Self::reduce`] one output at a time.
    fn reduce_each(
        &mut self,
        out: BufId,
        op: ReduceOp,
        shape: &[Dim],
        axes: &[usize],
        expr: &weft_compiler::kernel::Expr,
    ) -> R<()> {
        let d = self.prog.buffers[out].dtype;
        let acc_d = op.accumulator(d);
        let acc_t = self.val_t(acc_d);
        // One accumulator, or the table's interleaved partials: element `j`
        // of the last axis folds into partial `j mod 16` — sixteen independent
        // chains that the SLP vectoriser turns into vector operations.
        let parts = if op.interleaved(acc_d, shape.len(), axes) {
            PARTIALS
        } else {
            1
        };
        let accs = (0..parts)
            .map(|_| self.entry_alloca(acc_t, "acc"))
            .collect::<R<Vec<_>>>()?;
        let mut kept: Vec<IntValue<'c>> = shape.iter().map(|d| self.dim(d)).collect();
        let lane: Vec<IntValue<'c>> = axes.iter().map(|&a| kept[a]).collect();
        for &a in axes {
            kept[a] = self.i64c(1);
        }
        let oshape = self.prog.buffers[out].shape.clone();
        self.loops(&kept, &mut |g, o| {
            let init = g.reduce_init(op, acc_d)?;
            for &acc in &accs {
                g.b.build_store(acc, init).s()?;
            }
            // Folds the element at lane indices `l` into partial `p`.
            let step = |g: &mut Gen<'c, '_>, p: usize, l: &[IntValue<'c>]| -> R<()> {
                let mut ix = o.to_vec();
                for (n, &a) in axes.iter().enumerate() {
                    ix[a] = l[n];
                }
                let v = g.expr(expr, &ix)?;
                let v = g.cast(v, d, acc_d)?;
                let a = g.b.build_load(acc_t, accs[p], "").s()?;
                let r = g.reduce_step(op, acc_d, a, v)?;
                g.b.build_store(accs[p], r).s()?;
                Ok(())
            };
            if parts == 1 {
                g.loops(&lane, &mut |g, l| step(g, 0, l))?;
            } else {
                let (outer, n) = lane.split_at(lane.len() - 1);
                let n = n[0];
                g.loops(outer, &mut |g, l| {
                    let mut l = l.to_vec();
                    // Whole groups of sixteen, then the rest into partials 0, 1, ...
                    let whole = g.b.build_and(n, g.i64c(!(parts as u64 - 1)), "").s()?;
                    g.step_loop(whole, parts as u64, &mut |g, j| {
                        (0..parts).try_for_each(|p| {
                            let jp = g.b.build_int_nsw_add(j, g.i64c(p as u64), "").s()?;
                            l.push(jp);
                            step(g, p, &l)?;
                            l.pop();
                            Ok(())
                        })
                    })?;
                    (0..parts - 1).try_for_each(|p| {
                        let jp = g.b.build_int_nsw_add(whole, g.i64c(p as u64), "").s()?;
                        let c = g.b.build_int_compare(IntPredicate::SLT, jp, n, "").s()?;
                        let (then, next) = (g.block("rest")?, g.block("rest_done")?);
                        g.b.build_conditional_branch(c, then, next).s()?;
                        g.b.position_at_end(then);
                        l.push(jp);
                        step(g, p, &l)?;
                        l.pop();
                        g.b.build_unconditional_branch(next).s()?;
                        g.b.position_at_end(next);
                        Ok(())
                    })
                })?;
            }
            let r = if parts == 1 {
                g.b.build_load(acc_t, accs[0], "").s()?
            } else {
                let p = (0..parts)
                    .map(|p| g.b.build_load(acc_t, accs[p], "").s())
                    .collect::<R<Vec<_>>>()?;
                let p: [BasicValueEnum<'c>; PARTIALS] =
                    p.try_into().map_err(|_| "sixteen partials".to_string())?;
                g.combine_partials(op, acc_d, p)?
            };
            let mut r = g.cast(r, acc_d, d)?;
            let mut n = g.i64c(1);
            for &l in &lane {
                n = g.mul(n, l)?;
            }
            r = g.empty_lane(op, d, n, r)?;
            let lin = g.linear(o, &oshape)?;
            g.store_elem(out, lin, r)
        })
    }

    fn argmax(
        &mut self,
        out: BufId,
        shape: &[Dim],
        axis: usize,
        expr: &weft_compiler::kernel::Expr,
    ) -> R<()> {
        let d = expr.dtype(&self.prog.buffers);
        let (vt, i64t) = (self.val_t(d), self.ctx.i64_type());
        let (bv, bi) = (
            self.entry_alloca(vt, "best")?,
            self.entry_alloca(i64t.into(), "besti")?,
        );
        let mut kept: Vec<IntValue<'c>> = shape.iter().map(|d| self.dim(d)).collect();
        let n = kept[axis];
        kept[axis] = self.i64c(1);
        let oshape = self.prog.buffers[out].shape.clone();
        self.loops(&kept, &mut |g, o| {
            let v0 = g.expr(expr, o)?;
            g.b.build_store(bv, v0).s()?;
            g.b.build_store(bi, g.i64c(0)).s()?;
            g.loops(&[n], &mut |g, t| {
                let mut ix = o.to_vec();
                ix[axis] = t[0];
                let v = g.expr(expr, &ix)?;
                let b = g.b.build_load(vt, bv, "").s()?;
                let better = g.argmax_better(d, v, b)?;
                let nb = g.b.build_select(better, v, b, "").s()?;
                let ni =
                    g.b.build_select(
                        better,
                        t[0],
                        g.b.build_load(i64t, bi, "").s()?.into_int_value(),
                        "",
                    )
                    .s()?;
                g.b.build_store(bv, nb).s()?;
                g.b.build_store(bi, ni).s()?;
                Ok(())
            })?;
            let mut oi = o.to_vec();
            oi.remove(axis);
            let lin = g.linear(&oi, &oshape)?;
            let r = g.b.build_load(i64t, bi, "").s()?;
            g.store_elem(out, lin, r)
        })
    }
}

impl<'c> Gen<'c, '_> {
    /// `weft_rt_allreduce_v1(dtype, n, src, dst, lens)` with the parts'
    /// pointers and lengths in stack arrays: one call of the runtime's
    /// collective for every part.
    fn all_reduce(&mut self, dtype: DType, parts: &[(BufId, BufId)]) -> R<()> {
        let code = weft_compiler::kernel::allreduce_code(dtype)
            .ok_or_else(|| format!("an all-reduce of {dtype}"))?;
        let (i64t, ptr) = (self.ctx.i64_type(), self.ptr_t());
        let n = parts.len() as u32;
        let srcs = self.entry_alloca(ptr.array_type(n).into(), "ar_src")?;
        let dsts = self.entry_alloca(ptr.array_type(n).into(), "ar_dst")?;
        let lens = self.entry_alloca(i64t.array_type(n).into(), "ar_len")?;
        for (i, (s, o)) in parts.iter().enumerate() {
            let len = self.numel(&self.prog.buffers[*o].shape)?;
            let vals: [(inkwell::values::PointerValue, BasicValueEnum, bool); 3] = [
                (srcs, self.bufs[*s].ok_or("buf")?.into(), true),
                (dsts, self.bufs[*o].ok_or("buf")?.into(), true),
                (lens, len.into(), false),
            ];
            for (arr, v, is_ptr) in vals {
                let elem: inkwell::types::BasicTypeEnum =
                    if is_ptr { ptr.into() } else { i64t.into() };
                // SAFETY (LLVM's GEP contract): index i < n of an n-element array.
                let at = unsafe {
                    self.b
                        .build_in_bounds_gep(elem, arr, &[self.i64c(i as u64)], "")
                        .s()?
                };
                self.b.build_store(at, v).s()?;
            }
        }
        let f = self.extern_fn(
            "weft_rt_allreduce_v1",
            None,
            &[i64t.into(), i64t.into(), ptr.into(), ptr.into(), ptr.into()],
        );
        self.call(
            f,
            &[
                self.i64c(code as u64).into(),
                self.i64c(u64::from(n)).into(),
                srcs.into(),
                dsts.into(),
                lens.into(),
            ],
        )?;
        Ok(())
    }
}
