//! The one lowering of the kernel IR's dedicated kernels — `Gather`,
//! `ScatterAdd`, `Concat`, `SliceGrad`, `Window`, `WindowGrad` — written once against
//! [`LoopEmit`], a loop emitter on top of the semantics table's scalar
//! [`Emit`]. The kernel interpreter runs it (each operation computed at
//! once), the Cranelift JIT and the LLVM backend emit it; so a gather's row
//! rule, a scatter's accumulation and an out-of-range index error are
//! defined here and nowhere else.
//!
//! Index arithmetic is done on values of dtype `i64` of the scalar emitter,
//! so that comparisons, selects and casts are the table's too. Copies and
//! fills are plain element loops: LLVM turns them into `memcpy`/`memset`.
//!
//! This module also decides, once for every backend, which kernels may run
//! in parallel and what one index of their split axis costs ([`parallel`]).

use super::{BufId, Kernel, Program};
use crate::ir::types::{DType, Dim};
use crate::ops::{lower_cast, Emit, IBin, ICmp, ReduceOp, Val};

/// Why a lowering stopped: the kernel failed at run time with a step
/// error (the interpreter only), or the emitter could not emit.
#[derive(Debug, PartialEq)]
pub enum LoopError {
    Fail(u32),
    Emit(String),
}

impl From<String> for LoopError {
    fn from(e: String) -> LoopError {
        LoopError::Emit(e)
    }
}

pub type LoopResult<T> = Result<T, LoopError>;

/// Loops and memory over the scalar emitter. Index values are `i64`
/// values of the emitter.
pub trait LoopEmit: Emit + Sized {
    /// A size of the program as an `i64` value.
    fn dim(&mut self, d: &Dim) -> LoopResult<Self::V>;
    /// `for i in 0..n { body(i) }`.
    fn for_range(
        &mut self,
        n: Self::V,
        body: &mut dyn FnMut(&mut Self, Self::V) -> LoopResult<()>,
    ) -> LoopResult<()>;
    /// Element `i` of buffer `buf` (as a value of its dtype).
    fn load(&mut self, buf: BufId, i: Self::V) -> LoopResult<Self::V>;
    fn store(&mut self, buf: BufId, i: Self::V, v: Self::V) -> LoopResult<()>;
    /// Ends the kernel with step error `error` unless `ok` (a comparison
    /// result) holds.
    fn fail_unless(&mut self, ok: Self::V, error: u32) -> LoopResult<()>;
}

pub(super) fn index<E: LoopEmit>(e: &mut E, n: i64) -> LoopResult<E::V> {
    Ok(e.konst(Val::I64(n))?)
}

pub(super) fn add<E: LoopEmit>(e: &mut E, a: E::V, b: E::V) -> LoopResult<E::V> {
    Ok(e.int_binary(IBin::Add, a, b)?)
}

pub(super) fn mul<E: LoopEmit>(e: &mut E, a: E::V, b: E::V) -> LoopResult<E::V> {
    Ok(e.int_binary(IBin::Mul, a, b)?)
}

pub(super) fn numel<E: LoopEmit>(e: &mut E, dims: &[Dim]) -> LoopResult<E::V> {
    let mut n = index(e, 1)?;
    for d in dims {
        let x = e.dim(d)?;
        n = mul(e, n, x)?;
    }
    Ok(n)
}

/// `count` elements from `src[src_off..]` to `dst[dst_off..]`.
fn copy<E: LoopEmit>(
    e: &mut E,
    (dst, dst_off): (BufId, E::V),
    (src, src_off): (BufId, E::V),
    count: E::V,
) -> LoopResult<()> {
    e.for_range(count, &mut |e, j| {
        let s = add(e, src_off, j)?;
        let v = e.load(src, s)?;
        let d = add(e, dst_off, j)?;
        e.store(dst, d, v)
    })
}

/// Every element of `buf` zero (`false`).
pub(super) fn zero<E: LoopEmit>(e: &mut E, prog: &Program, buf: BufId) -> LoopResult<()> {
    let b = &prog.buffers[buf];
    let z = Val::zero(b.dtype).map_err(|x| LoopError::Emit(x.to_string()))?;
    let n = numel(e, &b.shape)?;
    e.for_range(n, &mut |e, i| {
        let z = e.konst(z)?;
        e.store(buf, i, z)
    })
}

/// Row `idx[i]` of a table of `rows` rows: a negative index counts from the
/// end; one outside the table ends the step with `error`.
fn row<E: LoopEmit>(
    e: &mut E,
    prog: &Program,
    idx: BufId,
    i: E::V,
    rows: E::V,
    error: u32,
) -> LoopResult<E::V> {
    let v = e.load(idx, i)?;
    let v = lower_cast(e, v, prog.buffers[idx].dtype, DType::I64)?;
    let z = index(e, 0)?;
    let neg = e.icmp(ICmp::Slt, v, z)?;
    let wrapped = add(e, v, rows)?;
    let r = e.select(neg, wrapped, v)?;
    let ge0 = e.icmp(ICmp::Sge, r, z)?;
    let lt = e.icmp(ICmp::Slt, r, rows)?;
    let ok = e.int_binary(IBin::And, ge0, lt)?;
    e.fail_unless(ok, error)?;
    Ok(r)
}

/// `acc + v` as a scatter accumulates: a sum, `or` on `bool`.
pub(super) fn accumulate<E: LoopEmit>(e: &mut E, d: DType, acc: E::V, v: E::V) -> LoopResult<E::V> {
    let op = if d == DType::Bool {
        ReduceOp::Max
    } else {
        ReduceOp::Sum
    };
    Ok(op.lower_fold(e, d, acc, v)?)
}

/// Whether `kern` is one of the dedicated kernels this module lowers.
pub fn is_dedicated(kern: &Kernel) -> bool {
    match kern {
        Kernel::Gather { .. }
        | Kernel::ScatterAdd { .. }
        | Kernel::Concat { .. }
        | Kernel::SliceGrad { .. }
        | Kernel::Window { .. }
        | Kernel::WindowGrad { .. }
        | Kernel::Cumsum { .. } => true,
        Kernel::Map { .. }
        | Kernel::Reduce { .. }
        | Kernel::ArgMax { .. }
        | Kernel::MatMul { .. }
        | Kernel::Conv { .. }
        | Kernel::Random { .. }
        | Kernel::Check { .. }
        | Kernel::AllReduce { .. } => false,
    }
}

/// The code (or, for the interpreter, the effect) of a dedicated kernel.
pub fn dedicated<E: LoopEmit>(e: &mut E, prog: &Program, kern: &Kernel) -> LoopResult<()> {
    match kern {
        Kernel::Gather {
            out,
            table,
            idx,
            rows,
            width,
            count,
            error,
        } => {
            let (rows, w, n) = (e.dim(rows)?, numel(e, width)?, numel(e, count)?);
            e.for_range(n, &mut |e, r| {
                let t = row(e, prog, *idx, r, rows, *error)?;
                let src = mul(e, t, w)?;
                let dst = mul(e, r, w)?;
                copy(e, (*out, dst), (*table, src), w)
            })
        }
        Kernel::ScatterAdd {
            out,
            idx,
            g,
            rows,
            width,
            count,
            error,
        } => {
            let d = prog.buffers[*out].dtype;
            zero(e, prog, *out)?;
            let (rows, w, n) = (e.dim(rows)?, numel(e, width)?, numel(e, count)?);
            e.for_range(n, &mut |e, r| {
                let t = row(e, prog, *idx, r, rows, *error)?;
                let to = mul(e, t, w)?;
                let from = mul(e, r, w)?;
                e.for_range(w, &mut |e, c| {
                    let o = add(e, to, c)?;
                    let s = add(e, from, c)?;
                    let acc = e.load(*out, o)?;
                    let v = e.load(*g, s)?;
                    let v = accumulate(e, d, acc, v)?;
                    e.store(*out, o, v)
                })
            })
        }
        Kernel::Concat {
            out,
            outer,
            inner,
            parts,
        } => {
            let (no, ni) = (numel(e, outer)?, numel(e, inner)?);
            let mut total = index(e, 0)?;
            for (_, d) in parts {
                let len = e.dim(d)?;
                total = add(e, total, len)?;
            }
            let mut off = index(e, 0)?;
            for (p, d) in parts {
                let len = e.dim(d)?;
                let chunk = mul(e, len, ni)?;
                e.for_range(no, &mut |e, o| {
                    // out[o, off.., :] = p[o, :, :]
                    let row = mul(e, o, total)?;
                    let row = add(e, row, off)?;
                    let dst = mul(e, row, ni)?;
                    let src = mul(e, o, chunk)?;
                    copy(e, (*out, dst), (*p, src), chunk)
                })?;
                off = add(e, off, len)?;
            }
            Ok(())
        }
        Kernel::SliceGrad {
            out,
            src,
            outer,
            inner,
            n,
            len,
            start,
            step,
        } => {
            zero(e, prog, *out)?;
            let (no, ni) = (numel(e, outer)?, numel(e, inner)?);
            let (n, len) = (e.dim(n)?, e.dim(len)?);
            let s = index(e, *start)?;
            let s = if *start < 0 { add(e, s, n)? } else { s };
            let step = index(e, i64::try_from(*step).unwrap_or(i64::MAX))?;
            e.for_range(no, &mut |e, o| {
                e.for_range(len, &mut |e, t| {
                    // out[o, s + t * step, :] = src[o, t, :]
                    let ts = mul(e, t, step)?;
                    let pos = add(e, s, ts)?;
                    let orow = mul(e, o, n)?;
                    let orow = add(e, orow, pos)?;
                    let dst = mul(e, orow, ni)?;
                    let srow = mul(e, o, len)?;
                    let srow = add(e, srow, t)?;
                    let from = mul(e, srow, ni)?;
                    copy(e, (*out, dst), (*src, from), ni)
                })
            })
        }
        Kernel::Window { .. } | Kernel::WindowGrad { .. } => super::window::lower(e, prog, kern),
        Kernel::Cumsum {
            out,
            src,
            outer,
            n,
            inner,
            reverse,
        } => {
            let d = prog.buffers[*out].dtype;
            let (no, ni, n) = (numel(e, outer)?, numel(e, inner)?, e.dim(n)?);
            e.for_range(no, &mut |e, o| {
                e.for_range(ni, &mut |e, i| {
                    e.for_range(n, &mut |e, t| {
                        // pos = t, or n - 1 - t from the end; its predecessor
                        // is one row before (after).
                        let pos = if *reverse {
                            let one = index(e, 1)?;
                            let last = e.int_binary(IBin::Sub, n, one)?;
                            e.int_binary(IBin::Sub, last, t)?
                        } else {
                            t
                        };
                        let row = mul(e, o, n)?;
                        let row = add(e, row, pos)?;
                        let row = mul(e, row, ni)?;
                        let at = add(e, row, i)?;
                        let prev = if *reverse {
                            add(e, at, ni)?
                        } else {
                            e.int_binary(IBin::Sub, at, ni)?
                        };
                        let z = index(e, 0)?;
                        let first = e.icmp(ICmp::Eq, t, z)?;
                        let prev = e.select(first, at, prev)?;
                        let v = e.load(*src, at)?;
                        let p = e.load(*out, prev)?;
                        let s = crate::ops::BinaryOp::Add.lower(e, d, p, v)?;
                        let r = e.select(first, v, s)?;
                        e.store(*out, at, r)
                    })
                })
            })
        }
        Kernel::Map { .. }
        | Kernel::Reduce { .. }
        | Kernel::ArgMax { .. }
        | Kernel::MatMul { .. }
        | Kernel::Conv { .. }
        | Kernel::Random { .. }
        | Kernel::Check { .. }
        | Kernel::AllReduce { .. } => Err(LoopError::Emit(format!(
            "{} is not a dedicated kernel",
            super::print::kernel(kern)
        ))),
    }
}

/// How a kernel may run in parallel: its index space, the axes a backend
/// may split across threads (output axes that are not reduced), and the
/// rough cost of one element (one plus its expression's cost). Decided here
/// once; the JIT splits the outermost loop of its nest, the LLVM backend
/// axis 0, each among these axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Parallel {
    pub space: Vec<Dim>,
    pub splittable: Vec<usize>,
    pub element_cost: u32,
}

impl Parallel {
    /// The work of one index of axis `axis`: `element_cost` times the
    /// lengths of the other axes (`len(d)` gives a size's value).
    pub fn unit_cost(&self, axis: usize, len: &dyn Fn(&Dim) -> u64) -> u64 {
        self.space
            .iter()
            .enumerate()
            .filter(|&(a, _)| a != axis)
            .fold(u64::from(self.element_cost), |acc, (_, d)| {
                acc.saturating_mul(len(d))
            })
    }

    pub fn may_split(&self, axis: usize) -> bool {
        self.splittable.contains(&axis)
    }
}

/// [`Parallel`] for `kern`, None when it runs on one thread.
pub fn parallel(prog: &Program, kern: &Kernel) -> Option<Parallel> {
    let plan = |space: &[Dim], reduced: &[usize], cost: u32| {
        let splittable: Vec<usize> = (0..space.len()).filter(|a| !reduced.contains(a)).collect();
        (!splittable.is_empty()).then(|| Parallel {
            space: space.to_vec(),
            splittable,
            element_cost: 1 + cost,
        })
    };
    match kern {
        Kernel::Map { out, expr } => plan(&prog.buffers[*out].shape, &[], expr.cost()),
        Kernel::Reduce {
            shape, axes, expr, ..
        } => plan(shape, axes, expr.cost()),
        Kernel::ArgMax {
            shape, axis, expr, ..
        } => plan(shape, &[*axis], expr.cost()),
        Kernel::MatMul { .. }
        | Kernel::Conv { .. }
        | Kernel::Gather { .. }
        | Kernel::ScatterAdd { .. }
        | Kernel::Concat { .. }
        | Kernel::SliceGrad { .. }
        | Kernel::Window { .. }
        | Kernel::WindowGrad { .. }
        | Kernel::Cumsum { .. }
        | Kernel::Random { .. }
        | Kernel::Check { .. }
        | Kernel::AllReduce { .. } => None,
    }
}

impl From<&str> for LoopError {
    fn from(e: &str) -> LoopError {
        LoopError::Emit(e.to_string())
    }
}
