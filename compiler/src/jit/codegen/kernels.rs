//! Each kernel kind but `Check` (left to the interpreter): `Map`, `Reduce`,
//! `ArgMax`, `MatMul`, `Random`, `Conv`, and the dedicated kernels through
//! the lowering layer.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, F64X2, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_module::Module;

use super::{clif_type, trusted, Gen, IVal, Leaf, R};
use crate::ir::op::{Distribution, ReduceOp};
use crate::ir::types::{DType, Dim};
use crate::ops::{lower_partials, PARTIALS};

/// Whether `e` computes anything (beyond reading and moving values).
fn arithmetic(e: &Expr) -> bool {
    match e {
        Expr::Unary { .. } | Expr::Binary { .. } | Expr::Select { .. } => true,
        Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => arithmetic(arg),
        _ => false,
    }
}
use super::emit::Clif;
use crate::kernel::{elem_bytes, BufId, Expr, Kernel};
use crate::ops::{Emit, Val};

impl Gen<'_, '_> {
    // ---- kernels ---------------------------------------------------------

    pub fn kernel(&mut self, k: &Kernel) -> R<()> {
        match k {
            Kernel::Map { out, expr } => self.map(*out, expr),
            Kernel::Reduce {
                out,
                op,
                shape,
                axes,
                expr,
            } => self.reduce(*out, *op, shape, axes, expr),
            Kernel::MatMul {
                out,
                a,
                b,
                batch,
                m,
                k,
                n,
                trans,
            } => self.matmul(*out, (*a, *b), batch, [m, k, n], *trans),
            Kernel::Random { out, dist, seed } => self.random(*out, dist, *seed),
            Kernel::Conv {
                kind,
                out,
                a,
                b,
                dims,
                win,
                groups,
            } => self.conv(*kind, (*out, *a, *b), dims, win, *groups),
            Kernel::Gather { .. }
            | Kernel::ScatterAdd { .. }
            | Kernel::Concat { .. }
            | Kernel::SliceGrad { .. }
            | Kernel::Window { .. }
            | Kernel::WindowGrad { .. }
            | Kernel::Cumsum { .. } => {
                let prog = self.prog;
                crate::kernel::lower::dedicated(&mut Clif::new(self, false), prog, k)
                    .map_err(|e| format!("{e:?}"))
            }
            Kernel::ArgMax {
                out,
                shape,
                axis,
                expr,
            } => self.argmax(*out, shape, *axis, expr),
            Kernel::Check { .. } | Kernel::AllReduce { .. } => {
                Err("this kernel kind is not compiled".into())
            }
        }?;
        let ok = self.b.ins().iconst(I32, 0);
        self.b.ins().return_(&[ok]);
        Ok(())
    }

    /// Seals and finalizes the function.
    pub fn finish(mut self) {
        self.b.seal_all_blocks();
        let cfg = self.module.target_config();
        self.b.finalize(cfg);
    }

    pub(super) fn check_dtypes(&self, e: &Expr) -> R<()> {
        let mut err = Ok(());
        e.for_each_load(&mut |b| {
            if let Err(e) = clif_type(self.prog.buffers[b].dtype) {
                err = Err(e);
            }
        });
        err?;
        clif_type(e.dtype(&self.prog.buffers)).map(|_| ())
    }

    pub(super) fn map(&mut self, out: BufId, expr: &Expr) -> R<()> {
        self.check_dtypes(expr)?;
        let ob = &self.prog.buffers[out];
        let (odt, shape) = (ob.dtype, ob.shape.clone());
        if expr.dtype(&self.prog.buffers) != odt {
            return Err("map of another dtype than its output".into());
        }
        let rank = shape.len();
        let idx = Self::identity(rank);
        // The output is a leaf too: leaf 0, packed in C order.
        let oaff = self.linear(&idx, &shape, rank);
        let obase = self.bufs[&out];
        self.leaves.push(Leaf {
            aff: oaff,
            base: Some(obase),
            row: None,
        });
        self.collect(expr, &idx, rank)?;
        self.hoist(expr)?;
        let sizes = self.sizes(&shape);
        let es = elem_bytes(odt);
        let zero = self.b.ins().iconst(I64, 0);
        if rank == 0 {
            self.set_rows(&[], None);
            self.next_leaf = 1;
            let v = self.scalar(expr, None)?;
            let row = self.leaves[0].row.expect("rows set");
            let a = self.addr(obase, row, es);
            self.b.ins().store(trusted(), v, a, 0);
            return Ok(());
        }
        let (inner, gathers) = self.vector_axis(&shape, &(0..rank).collect::<Vec<_>>(), expr);
        // A plain copy (a transpose) gathers too when it stores whole vectors.
        let gathers = gathers || matches!(self.leaves[0].aff.coef[inner], IVal::C(1));
        let vec = odt == DType::F32 && self.vectorizable(expr, inner, &mut 1, gathers);
        self.vectorized = vec;
        let outer: Vec<usize> = (0..rank).filter(|&a| a != inner).collect();
        let mut iv = vec![zero; rank];
        let n = sizes[inner];
        let ocoef = self.leaves[0].aff.coef[inner];
        // Two vectors per trip only for light bodies: where the loop's own
        // overhead counts, and compile time stays small.
        let twice = expr.cost() < 8;
        // With no outer axis the vector axis itself is split.
        let whole = !outer.is_empty();
        if !whole {
            self.split = Some(inner);
        }
        self.nest_split(&sizes, &outer, &mut iv, &mut |g, iv| {
            g.set_rows(iv, Some(inner));
            let (mut start, n) = if whole {
                (g.b.ins().iconst(I64, 0), n)
            } else {
                g.range
            };
            if vec {
                // Four lanes at a time; for a light body two vectors per
                // trip while eight lanes remain.
                let mut four = |g: &mut Self, i: Value| -> R<()> {
                    g.next_leaf = 1;
                    let v = g.vector(expr, inner, i)?;
                    let row = g.leaves[0].row.expect("rows set");
                    if matches!(ocoef, IVal::C(1)) {
                        let ix = g.b.ins().iadd(row, i);
                        let a = g.addr(obase, ix, 4);
                        g.b.ins().store(trusted(), v, a, 0);
                    } else {
                        g.scatter(v, obase, row, ocoef, i);
                    }
                    Ok(())
                };
                if twice {
                    let n8 = g.round_down(start, n, 8);
                    g.for_loop(start, n8, 8, &mut |g, i| {
                        four(g, i)?;
                        let i4 = g.b.ins().iadd_imm_s(i, 4);
                        four(g, i4)
                    })?;
                    start = n8;
                }
                let n4 = g.round_down(start, n, 4);
                g.for_loop(start, n4, 4, &mut four)?;
                start = n4;
            }
            g.for_loop(start, n, 1, &mut |g, i| {
                g.next_leaf = 1;
                let v = g.scalar(expr, Some((inner, i)))?;
                let ix = g.leaf_index(0, Some((inner, i)));
                let a = g.addr(obase, ix, es);
                g.b.ins().store(trusted(), v, a, 0);
                Ok(())
            })
        })
    }

    /// The axis a vector loop runs along, among `cands` (ascending), and
    /// whether its leaves may be read lane by lane: the last candidate,
    /// unless its length is a literal below 4 and an earlier candidate is
    /// longer (a `[B, 3]` space runs four rows at a time). Strided reads
    /// are worth it only with arithmetic to share.
    fn vector_axis(&self, shape: &[Dim], cands: &[usize], expr: &Expr) -> (usize, bool) {
        let short = |a: usize| matches!(shape[a], Dim::Lit(n) if n < 4);
        let last = cands.last().copied().unwrap_or(0);
        let pick = if short(last) {
            cands
                .iter()
                .rev()
                .copied()
                .find(|&a| !short(a))
                .unwrap_or(last)
        } else {
            last
        };
        (pick, arithmetic(expr))
    }

    /// A reduction. Each output element folds its lane in the interpreter's
    /// order (the reduced axes in C order). When the innermost axis is kept
    /// and the body vectorises along it, four neighbouring outputs fold at
    /// once, lane by lane (`f32` sums in two `f64x2` accumulators), which
    /// keeps every output's order; otherwise the innermost reduced axis is
    /// the inner loop, its addresses stepped from a per-row base.
    pub(super) fn reduce(
        &mut self,
        out: BufId,
        op: ReduceOp,
        shape: &[crate::ir::types::Dim],
        axes: &[usize],
        expr: &Expr,
    ) -> R<()> {
        self.check_dtypes(expr)?;
        let d = expr.dtype(&self.prog.buffers);
        let odt = self.prog.buffers[out].dtype;
        if d != odt || !op.defined_on(crate::ops::Kind::of(d)) {
            return Err(format!("a {} reduction of {}", op.name(), d.name()));
        }
        let rank = shape.len();
        let idx = Self::identity(rank);
        self.collect(expr, &idx, rank)?;
        self.hoist(expr)?;
        self.set_unroll(shape, axes);
        let sizes = self.sizes(shape);
        // Lane length (for the empty-lane result).
        let mut lane = IVal::C(1);
        for &a in axes {
            lane = self.mul(lane, IVal::V(sizes[a]));
        }
        let lane = self.val(lane);
        let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
        let zero = self.b.ins().iconst(I64, 0);
        // Four outputs at a time along the last kept axis (or the longest
        // one before it, see `vector_axis`), whose outputs are contiguous.
        let va = if kept.is_empty() || axes.is_empty() || d != DType::F32 {
            None
        } else {
            // The reduction itself is arithmetic: strided reads pay.
            let (va, _) = self.vector_axis(shape, &kept, expr);
            let gathers = true;
            let trailing = kept
                .iter()
                .filter(|&&a| a > va)
                .all(|&a| matches!(shape[a], Dim::Lit(1)));
            (trailing && self.vectorizable(expr, va, &mut 0, gathers)).then_some(va)
        };
        self.vectorized = va.is_some();
        let mut iv = vec![zero; rank];
        let Some(inner) = va else {
            return self.nest_split(&sizes, &kept, &mut iv, &mut |g, ivk| {
                g.reduce_one(out, op, d, &sizes, axes, &kept, ivk, lane, expr)
            });
        };
        let outer: Vec<usize> = kept.iter().copied().filter(|&a| a != inner).collect();
        let n = sizes[inner];
        let whole = !outer.is_empty();
        if !whole {
            self.split = Some(inner);
        }
        self.nest_split(&sizes, &outer, &mut iv, &mut |g, ivo| {
            let (z, n) = if whole {
                (g.b.ins().iconst(I64, 0), n)
            } else {
                g.range
            };
            let n4 = g.round_down(z, n, 4);
            let mut ivo = ivo.to_vec();
            g.for_loop(z, n4, 4, &mut |g, j| {
                ivo[inner] = j;
                g.reduce_four(out, op, inner, &sizes, axes, &kept, &ivo, lane, expr)
            })?;
            g.for_loop(n4, n, 1, &mut |g, j| {
                ivo[inner] = j;
                g.reduce_one(out, op, d, &sizes, axes, &kept, &ivo, lane, expr)
            })
        })
    }

    /// The C-order index over the kept axes of the output element at `iv`.
    fn kept_index(&mut self, sizes: &[Value], kept: &[usize], iv: &[Value]) -> Value {
        let mut oi = IVal::C(0);
        for &a in kept {
            let t = self.mul(oi, IVal::V(sizes[a]));
            oi = self.add(t, IVal::V(iv[a]));
        }
        self.val(oi)
    }

    /// `argmax` along `axis`: per output element (the kept indices, C
    /// order), the index of the first maximum by the table's rule
    /// (`ops::lower_argmax_better`), the element at 0 first and the others
    /// in order, as the interpreter and LLVM do. A run-time check before the
    /// kernel rules out an empty axis.
    pub(super) fn argmax(&mut self, out: BufId, shape: &[Dim], axis: usize, expr: &Expr) -> R<()> {
        self.check_dtypes(expr)?;
        let d = expr.dtype(&self.prog.buffers);
        if self.prog.buffers[out].dtype != DType::I64 {
            return Err("argmax into another dtype than i64".into());
        }
        let rank = shape.len();
        let idx = Self::identity(rank);
        self.collect(expr, &idx, rank)?;
        self.hoist(expr)?;
        let sizes = self.sizes(shape);
        let kept: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
        let zero = self.b.ins().iconst(I64, 0);
        let mut iv = vec![zero; rank];
        self.nest_split(&sizes, &kept, &mut iv, &mut |g, ivk| {
            let ty = clif_type(d)?;
            let oi = g.kept_index(&sizes, &kept, ivk);
            let mut at = ivk.to_vec();
            let zero = g.b.ins().iconst(I64, 0);
            at[axis] = zero;
            g.set_rows(&at, Some(axis));
            g.next_leaf = 0;
            let first = g.scalar(expr, Some((axis, zero)))?;
            let (best, besti) = (g.b.declare_var(ty), g.b.declare_var(I64));
            g.b.def_var(best, first);
            g.b.def_var(besti, zero);
            let one = g.b.ins().iconst(I64, 1);
            g.for_loop(one, sizes[axis], 1, &mut |g, i| {
                g.next_leaf = 0;
                let v = g.scalar(expr, Some((axis, i)))?;
                let b = g.b.use_var(best);
                let better = crate::ops::lower_argmax_better(&mut Clif::new(g, false), d, v, b)?;
                let nb = g.b.ins().select(better, v, b);
                let bi = g.b.use_var(besti);
                let ni = g.b.ins().select(better, i, bi);
                g.b.def_var(best, nb);
                g.b.def_var(besti, ni);
                Ok(())
            })?;
            let r = g.b.use_var(besti);
            let a = g.addr(g.bufs[&out], oi, 8);
            g.b.ins().store(trusted(), r, a, 0);
            Ok(())
        })
    }

    /// One output element (at the kept indices of `ivk`), scalar.
    #[allow(clippy::too_many_arguments)]
    fn reduce_one(
        &mut self,
        out: BufId,
        op: ReduceOp,
        d: DType,
        sizes: &[Value],
        axes: &[usize],
        kept: &[usize],
        ivk: &[Value],
        lane: Value,
        expr: &Expr,
    ) -> R<()> {
        let acc_d = op.accumulator(d);
        let acc_ty = clif_type(acc_d)?;
        let oi = self.kept_index(sizes, kept, ivk);
        let init = self.konst(op.identity(acc_d)?)?;
        // One accumulator, or the table's interleaved partials: element `j`
        // of the last axis (the inner loop) folds into partial `j mod 16`.
        let parts = if op.interleaved(acc_d, sizes.len(), axes) {
            PARTIALS
        } else {
            1
        };
        let vars: Vec<_> = (0..parts)
            .map(|_| {
                let var = self.b.declare_var(acc_ty);
                self.b.def_var(var, init);
                var
            })
            .collect();
        let body = |g: &mut Self, p: usize, v: Value| -> R<()> {
            let acc = g.b.use_var(vars[p]);
            let v = g.cast(v, d, acc_d)?;
            let r = op.lower_fold(&mut Clif::new(g, false), acc_d, acc, v)?;
            g.b.def_var(vars[p], r);
            Ok(())
        };
        let mut iv = ivk.to_vec();
        match axes.split_last() {
            // The innermost reduced axis is the inner loop.
            Some((&last, rest)) => self.nest(sizes, rest, &mut iv, &mut |g, ivl| {
                g.set_rows(ivl, Some(last));
                let one = |g: &mut Self, p: usize, i: Value| {
                    g.next_leaf = 0;
                    let v = g.scalar(expr, Some((last, i)))?;
                    body(g, p, v)
                };
                match g.unroll.get(last).copied().flatten() {
                    Some(n) => (0..n).try_for_each(|i| {
                        let iv = g.b.ins().iconst(I64, i as i64);
                        one(g, i as usize % parts, iv)
                    }),
                    None if parts == 1 => {
                        let z = g.b.ins().iconst(I64, 0);
                        g.for_loop(z, sizes[last], 1, &mut |g, i| one(g, 0, i))
                    }
                    None => {
                        // Whole groups of `parts`, then the rest one by one
                        // into partials 0, 1, ... (the group ends on a
                        // multiple of `parts`).
                        let z = g.b.ins().iconst(I64, 0);
                        let n = sizes[last];
                        let whole = g.round_down(z, n, parts as i64);
                        g.for_loop(z, whole, parts as i64, &mut |g, i| {
                            (0..parts).try_for_each(|p| {
                                let ip = g.b.ins().iadd_imm_s(i, p as i64);
                                one(g, p, ip)
                            })
                        })?;
                        (0..parts - 1).try_for_each(|p| {
                            let ip = g.b.ins().iadd_imm_s(whole, p as i64);
                            let c = g.b.ins().icmp(IntCC::SignedLessThan, ip, n);
                            let (then, next) = (g.b.create_block(), g.b.create_block());
                            g.b.ins().brif(c, then, &[], next, &[]);
                            g.b.switch_to_block(then);
                            one(g, p, ip)?;
                            g.b.ins().jump(next, &[]);
                            g.b.switch_to_block(next);
                            Ok(())
                        })
                    }
                }
            })?,
            None => {
                self.set_rows(&iv, None);
                self.next_leaf = 0;
                let v = self.scalar(expr, None)?;
                body(self, 0, v)?;
            }
        }
        let acc = if parts == 1 {
            self.b.use_var(vars[0])
        } else {
            let p: [Value; PARTIALS] = std::array::from_fn(|p| self.b.use_var(vars[p]));
            lower_partials(&mut Clif::new(self, false), op, acc_d, p)?
        };
        let acc = self.cast(acc, acc_d, d)?;
        let r = match op.empty(d) {
            Some(z) => {
                let z = self.konst(z)?;
                let empty = self.b.ins().icmp_imm_s(IntCC::Equal, lane, 0);
                self.b.ins().select(empty, z, acc)
            }
            // A run-time check rules out an empty lane.
            None => acc,
        };
        let a = self.addr(self.bufs[&out], oi, elem_bytes(d));
        self.b.ins().store(trusted(), r, a, 0);
        Ok(())
    }

    /// Four neighbouring `f32` output elements along kept axis `inner`
    /// (after which every kept axis has length 1, so they are contiguous),
    /// from `ivk[inner]` on, each folding its lane in order.
    #[allow(clippy::too_many_arguments)]
    fn reduce_four(
        &mut self,
        out: BufId,
        op: ReduceOp,
        inner: usize,
        sizes: &[Value],
        axes: &[usize],
        kept: &[usize],
        ivk: &[Value],
        lane: Value,
        expr: &Expr,
    ) -> R<()> {
        let j = ivk[inner];
        let oi = self.kept_index(sizes, kept, ivk);
        // Sums and products of f32 accumulate in f64 (the table's rule).
        let sum = op.accumulator(DType::F32) == DType::F64;
        let acc_d = op.accumulator(DType::F32);
        let ident = op.identity(acc_d)?;
        // Sums and products: lanes 0-1 and 2-3 in f64x2; max/min: one f32x4.
        // One set, or the table's interleaved partials (element `j` of the
        // last axis into set `j mod 16`).
        let parts = if op.interleaved(acc_d, sizes.len(), axes) {
            PARTIALS
        } else {
            1
        };
        let mut vars = Vec::with_capacity(parts);
        for _ in 0..parts {
            vars.push(if sum {
                let z = self.konst(ident)?;
                let z = self.b.ins().splat(F64X2, z);
                let (lo, hi) = (self.b.declare_var(F64X2), self.b.declare_var(F64X2));
                self.b.def_var(lo, z);
                self.b.def_var(hi, z);
                (lo, Some(hi))
            } else {
                let v = Clif::new(self, true).konst(ident)?;
                let lo = self.b.declare_var(F32X4);
                self.b.def_var(lo, v);
                (lo, None)
            });
        }
        let fold = |g: &mut Self, p: usize, ivl: &[Value]| -> R<()> {
            let (lo, hi) = vars[p];
            g.set_rows(ivl, Some(inner));
            g.next_leaf = 0;
            let v = g.vector(expr, inner, j)?;
            if let Some(hi) = hi {
                let w0 = g.b.ins().fvpromote_low(v);
                let up = g.high_half(v);
                let w1 = g.b.ins().fvpromote_low(up);
                let a0 = g.b.use_var(lo);
                let a1 = g.b.use_var(hi);
                let r0 = op.lower_fold(&mut Clif::new(g, true), acc_d, a0, w0)?;
                let r1 = op.lower_fold(&mut Clif::new(g, true), acc_d, a1, w1)?;
                g.b.def_var(lo, r0);
                g.b.def_var(hi, r1);
            } else {
                let acc = g.b.use_var(lo);
                let r = op.lower_fold(&mut Clif::new(g, true), acc_d, acc, v)?;
                g.b.def_var(lo, r);
            }
            Ok(())
        };
        let mut iv = ivk.to_vec();
        match axes.split_last() {
            Some((&last, rest)) if parts > 1 => {
                self.nest(sizes, rest, &mut iv, &mut |g, ivl| {
                    let mut ivl = ivl.to_vec();
                    match g.unroll.get(last).copied().flatten() {
                        Some(n) => (0..n).try_for_each(|i| {
                            ivl[last] = g.b.ins().iconst(I64, i as i64);
                            fold(g, i as usize % parts, &ivl)
                        }),
                        None => {
                            let z = g.b.ins().iconst(I64, 0);
                            let n = sizes[last];
                            let whole = g.round_down(z, n, parts as i64);
                            g.for_loop(z, whole, parts as i64, &mut |g, i| {
                                (0..parts).try_for_each(|p| {
                                    ivl[last] = g.b.ins().iadd_imm_s(i, p as i64);
                                    fold(g, p, &ivl)
                                })
                            })?;
                            (0..parts - 1).try_for_each(|p| {
                                let ip = g.b.ins().iadd_imm_s(whole, p as i64);
                                let c = g.b.ins().icmp(IntCC::SignedLessThan, ip, n);
                                let (then, next) = (g.b.create_block(), g.b.create_block());
                                g.b.ins().brif(c, then, &[], next, &[]);
                                g.b.switch_to_block(then);
                                ivl[last] = ip;
                                fold(g, p, &ivl)?;
                                g.b.ins().jump(next, &[]);
                                g.b.switch_to_block(next);
                                Ok(())
                            })
                        }
                    }
                })?
            }
            _ => self.nest(sizes, axes, &mut iv, &mut |g, ivl| fold(g, 0, ivl))?,
        }
        // The accumulators: one set, or the partials through the table's tree.
        let (lo, hi) = if parts == 1 {
            let (lo, hi) = vars[0];
            (self.b.use_var(lo), hi.map(|h| self.b.use_var(h)))
        } else {
            let los: [Value; PARTIALS] = std::array::from_fn(|p| self.b.use_var(vars[p].0));
            let lo = lower_partials(&mut Clif::new(self, true), op, acc_d, los)?;
            let hi = match vars[0].1 {
                Some(_) => {
                    let his: [Value; PARTIALS] = std::array::from_fn(|p| {
                        let h = vars[p].1.unwrap_or(vars[p].0);
                        self.b.use_var(h)
                    });
                    Some(lower_partials(&mut Clif::new(self, true), op, acc_d, his)?)
                }
                None => None,
            };
            (lo, hi)
        };
        let mut vals = Vec::with_capacity(4);
        if let Some(hi) = hi {
            for acc in [lo, hi] {
                for l in 0..2u8 {
                    let x = self.b.ins().extractlane(acc, l);
                    vals.push(self.b.ins().fdemote(F32, x));
                }
            }
        } else {
            for l in 0..4u8 {
                vals.push(self.b.ins().extractlane(lo, l));
            }
        }
        let empty = match op.empty(DType::F32) {
            Some(z) => {
                let z = self.konst(z)?;
                let e = self.b.ins().icmp_imm_s(IntCC::Equal, lane, 0);
                Some((e, z))
            }
            // A run-time check rules out an empty lane.
            None => None,
        };
        let base = self.bufs[&out];
        let a = self.addr(base, oi, 4);
        for (l, v) in vals.into_iter().enumerate() {
            let r = match empty {
                Some((e, z)) => self.b.ins().select(e, z, v),
                None => v,
            };
            self.b.ins().store(trusted(), r, a, 4 * l as i32);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    /// A call of the runtime's `weft_rt_conv2d_*`, its 14 sizes in a stack slot.
    pub(super) fn conv(
        &mut self,
        kind: crate::kernel::ConvKind,
        (out, a, bb): (BufId, BufId, BufId),
        dims: &[Dim; 5],
        win: &crate::ir::window::Window,
        groups: u64,
    ) -> R<()> {
        use cranelift_codegen::ir::{StackSlotData, StackSlotKind};
        let d = self.prog.buffers[out].dtype;
        let name = match d {
            DType::F32 => "weft_rt_conv2d_f32",
            DType::F64 => "weft_rt_conv2d_f64",
            _ => return Err(format!("a {d} convolution")),
        };
        let mut vals = Vec::new();
        for x in crate::kernel::conv_args(dims, win, groups) {
            vals.push(match x {
                crate::kernel::ConvArg::Size(d) => {
                    let v = self.dim(d);
                    self.val(v)
                }
                crate::kernel::ConvArg::Lit(v) => {
                    let v = i64::try_from(v).map_err(|_| "a convolution size beyond i64")?;
                    self.b.ins().iconst(I64, v)
                }
            });
        }
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            8 * vals.len() as u32,
            3,
        ));
        for (i, v) in vals.into_iter().enumerate() {
            self.b.ins().stack_store(I64, v, slot, 8 * i as i32);
        }
        let geom = self.b.ins().stack_addr(I64, slot, 0);
        let k = self.b.ins().iconst(I64, kind.code());
        let (pa, pb, pc) = (self.bufs[&a], self.bufs[&bb], self.bufs[&out]);
        let f = self.host(name)?;
        self.b.ins().call(f, &[k, geom, pa, pb, pc]);
        Ok(())
    }

    pub(super) fn matmul(
        &mut self,
        out: BufId,
        (a, bb): (BufId, BufId),
        batch: &[Dim],
        [m, k, n]: [&Dim; 3],
        trans: [bool; 2],
    ) -> R<()> {
        let d = self.prog.buffers[out].dtype;
        if self.prog.buffers[a].dtype != d || self.prog.buffers[bb].dtype != d {
            return Err("a mixed-dtype matmul".into());
        }
        let ty = clif_type(d)?;
        if ty == I8 {
            return Err("a bool matmul".into());
        }
        let es = elem_bytes(d);
        let nb = self.numel(batch);
        let nb = self.val(nb);
        let (mv, kv, nv) = (self.dim(m), self.dim(k), self.dim(n));
        let (mv, kv, nv) = (self.val(mv), self.val(kv), self.val(nv));
        let (pa, pb, pc) = (self.bufs[&a], self.bufs[&bb], self.bufs[&out]);
        if matches!(d, DType::F32 | DType::F64) {
            let name = if d == DType::F32 {
                "weft_rt_gemm_v2_f32"
            } else {
                "weft_rt_gemm_v2_f64"
            };
            let f = self.host(name)?;
            let tr = self.b.ins().iconst(I64, crate::kernel::trans_bits(trans));
            self.b.ins().call(f, &[nb, mv, kv, nv, pa, pb, pc, tr]);
            return Ok(());
        }
        if trans != [false, false] {
            return Err("an integer matmul of a transposed operand".into());
        }
        // Integer products: out[b, i, :] = 0, then for p in 0..k:
        // out[b, i, j] += a[b, i, p] * b[b, p, j] (wrapping, as the interpreter).
        let zero = self.b.ins().iconst(I64, 0);
        self.for_loop(zero, nb, 1, &mut |g, bi| {
            let mk = g.b.ins().imul(mv, kv);
            let kn = g.b.ins().imul(kv, nv);
            let mn = g.b.ins().imul(mv, nv);
            let abase = g.b.ins().imul(bi, mk);
            let bbase = g.b.ins().imul(bi, kn);
            let cbase = g.b.ins().imul(bi, mn);
            let z = g.b.ins().iconst(I64, 0);
            g.for_loop(z, mv, 1, &mut |g, i| {
                let ai = g.b.ins().imul(i, kv);
                let arow = g.b.ins().iadd(abase, ai);
                let ci = g.b.ins().imul(i, nv);
                let crow = g.b.ins().iadd(cbase, ci);
                let z = g.b.ins().iconst(I64, 0);
                let zero_v = g.konst(Val::zero(d)?)?;
                g.for_loop(z, nv, 1, &mut |g, j| {
                    let ix = g.b.ins().iadd(crow, j);
                    let ad = g.addr(pc, ix, es);
                    g.b.ins().store(trusted(), zero_v, ad, 0);
                    Ok(())
                })?;
                let z = g.b.ins().iconst(I64, 0);
                g.for_loop(z, kv, 1, &mut |g, p| {
                    let ix = g.b.ins().iadd(arow, p);
                    let ad = g.addr(pa, ix, es);
                    let x = g.b.ins().load(ty, trusted(), ad, 0);
                    let pn = g.b.ins().imul(p, nv);
                    let brow = g.b.ins().iadd(bbase, pn);
                    let z = g.b.ins().iconst(I64, 0);
                    g.for_loop(z, nv, 1, &mut |g, j| {
                        let bi = g.b.ins().iadd(brow, j);
                        let ba = g.addr(pb, bi, es);
                        let y = g.b.ins().load(ty, trusted(), ba, 0);
                        let ci = g.b.ins().iadd(crow, j);
                        let ca = g.addr(pc, ci, es);
                        let c = g.b.ins().load(ty, trusted(), ca, 0);
                        let t = g.b.ins().imul(x, y);
                        let r = g.b.ins().iadd(c, t);
                        g.b.ins().store(trusted(), r, ca, 0);
                        Ok(())
                    })
                })
            })
        })
    }

    pub(super) fn random(&mut self, out: BufId, dist: &Distribution, seed: u64) -> R<()> {
        let ob = &self.prog.buffers[out];
        let (d, shape) = (ob.dtype, ob.shape.clone());
        let f64_ = match d {
            DType::F32 => false,
            DType::F64 => true,
            _ => return Err(format!("random {}", d.name())),
        };
        let (kind, a, b) = match *dist {
            Distribution::Normal { mean, std } => (0, mean, std),
            Distribution::Uniform { lo, hi } => (1, lo, hi),
        };
        let kind = self.b.ins().iconst(I32, kind + if f64_ { 2 } else { 0 });
        let seed = self.b.ins().iconst(I64, seed as i64);
        let a = self.b.ins().f64const(a);
        let b = self.b.ins().f64const(b);
        let n = self.numel(&shape);
        let n = self.val(n);
        let p = self.bufs[&out];
        let f = self.host("weft_jit_random")?;
        self.b.ins().call(f, &[kind, seed, a, b, p, n]);
        Ok(())
    }
}
