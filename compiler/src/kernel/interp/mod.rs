//! The kernel-IR interpreter: runs a [`Program`] on plain byte buffers with
//! the semantics of the ABI's `weft_step` (docs/abi.md), temps placed in one
//! arena by the memory plan. Slow and simple: one scalar [`Val`] at a time.
//!
//! Numeric rules are those of the graph interpreter (`crate::interp`):
//! NaN-propagating max/min, floor division, wrapping integers, saturating
//! float → int casts; `f32` exp/log/tanh/sigmoid as defined in
//! [`crate::ops::vmath`]; reductions fold their lane in C order from the
//! table's identity (`f32` sums in `f64`, see [`crate::ops::ReduceOp`]);
//! float matrix products call the runtime's GEMM (`weft_rt_gemm_*`, as
//! compiled kernels do), integer ones accumulate over `k` in order.

use weft_runtime::rng;

use super::lower::LoopError;
use super::plan::slot_bytes;
use super::{elem_bytes, AxisSrc, BufId, BufKind, Check, Expr, Kernel, Program};
use crate::ir::op::{BinaryOp, Distribution};
use crate::ir::types::{DType, Dim};

mod loops;
mod scalar;

use crate::ops;
use scalar::{argmax_better, combine, fold, from_u64, identity};
pub use scalar::{binary, cast, constant, unary, Val};

/// The run-time values of the size names, in `prog.dims` order.
pub fn dim_value(prog: &Program, dims: &[u64], d: &Dim) -> u64 {
    match d {
        Dim::Lit(n) => *n,
        Dim::Sym(_) | Dim::Expr(_) => prog.dim_slot(d).map(|i| dims[i]).unwrap_or(0),
    }
}

/// `weft_arena_bytes`: the arena size for these dims.
pub fn arena_bytes(prog: &Program, dims: &[u64]) -> u64 {
    slot_bytes(prog, &|d| dim_value(prog, dims, d)).iter().sum()
}

/// Byte size of buffer `b` (unpadded).
pub fn buffer_bytes(prog: &Program, dims: &[u64], b: BufId) -> usize {
    let buf = &prog.buffers[b];
    buf.shape
        .iter()
        .map(|d| dim_value(prog, dims, d))
        .product::<u64>() as usize
        * elem_bytes(buf.dtype) as usize
}

/// The results of one step: `outputs[i]` and `updates[i]` as bytes.
pub struct StepResult {
    pub outputs: Vec<Vec<u8>>,
    pub updates: Vec<Vec<u8>>,
}

/// Runs one step. Fails with the step error code (see `Program::errors`).
pub fn step(
    prog: &Program,
    dims: &[u64],
    inputs: &[Vec<u8>],
    params: &[Vec<u8>],
) -> Result<StepResult, u32> {
    let mut mem = StepMemory::new(prog, dims, inputs, params);
    {
        let mut s = StepState::new(prog, dims, mem.regions()).map_err(|_| u32::MAX)?;
        for k in 0..prog.kernels.len() {
            s.run_kernel(k)?;
        }
    }
    Ok(mem.finish())
}

/// The memory of one step, owned: the arena, copies of the inputs and
/// params, and fresh outputs and updates (the arena, outputs and updates
/// filled with `0xA5`, so that reading what no kernel wrote shows).
pub struct StepMemory {
    regions: Vec<Vec<u8>>,
    ob: usize,
    ub: usize,
}

impl StepMemory {
    pub fn new(prog: &Program, dims: &[u64], inputs: &[Vec<u8>], params: &[Vec<u8>]) -> Self {
        let mut regions: Vec<Vec<u8>> = vec![vec![0xA5u8; arena_bytes(prog, dims) as usize]];
        regions.extend(inputs.iter().cloned());
        regions.extend(params.iter().cloned());
        let ob = regions.len();
        regions.resize_with(ob + prog.step_outputs() + prog.updates.len(), Vec::new);
        let ub = ob + prog.step_outputs();
        for (b, buf) in prog.buffers.iter().enumerate() {
            let r = match buf.kind {
                BufKind::Output(i) => ob + i,
                BufKind::Update(i) => ub + i,
                _ => continue,
            };
            if let Some(reg) = regions.get_mut(r) {
                *reg = vec![0xA5u8; buffer_bytes(prog, dims, b)];
            }
        }
        StepMemory { regions, ob, ub }
    }

    /// The regions in [`StepState::new`]'s order.
    pub fn regions(&mut self) -> Vec<&mut [u8]> {
        self.regions.iter_mut().map(|r| r.as_mut_slice()).collect()
    }

    /// The step's outputs and updates.
    pub fn finish(self) -> StepResult {
        let mut regions = self.regions;
        let updates = regions.split_off(self.ub);
        let outputs = regions.split_off(self.ob);
        StepResult { outputs, updates }
    }
}

/// Where each buffer lives for given dims: `loc[b]` = (region, byte offset),
/// and the bytes each region must hold (regions in [`StepState::new`]'s
/// order).
#[derive(Clone, Debug)]
pub struct Layout {
    loc: Vec<(usize, usize)>,
    need: Vec<usize>,
}

impl Layout {
    pub fn new(prog: &Program, dims: &[u64]) -> Result<Layout, String> {
        if dims.len() < prog.dims.len() {
            return Err(format!("{} sizes, not {}", dims.len(), prog.dims.len()));
        }
        let ib = 1;
        let pb = ib + prog.inputs.len();
        let ob = pb + prog.params.len();
        let ub = ob + prog.step_outputs();
        let mut need = vec![0usize; ub + prog.updates.len()];
        let sizes = slot_bytes(prog, &|d| dim_value(prog, dims, d));
        let mut slot_off = vec![0usize; sizes.len()];
        for i in 1..sizes.len() {
            slot_off[i] = slot_off[i - 1] + sizes[i - 1] as usize;
        }
        let mut loc = Vec::with_capacity(prog.buffers.len());
        for (b, buf) in prog.buffers.iter().enumerate() {
            let l = match buf.kind {
                BufKind::Input(i) => (ib + i, 0),
                BufKind::Param(i) => (pb + i, 0),
                BufKind::Output(i) => (ob + i, 0),
                BufKind::Update(i) => (ub + i, 0),
                BufKind::Temp { slot } => (0, slot_off.get(slot).copied().unwrap_or(usize::MAX)),
            };
            let end = l.1.saturating_add(buffer_bytes(prog, dims, b));
            let Some(n) = need.get_mut(l.0) else {
                return Err(format!("buffer {b} ({}) has no memory region", buf.name));
            };
            *n = (*n).max(end);
            loc.push(l);
        }
        Ok(Layout { loc, need })
    }

    /// The bytes each region must hold, in [`StepState::new`]'s order.
    pub fn region_bytes(&self) -> &[usize] {
        &self.need
    }

    /// Each buffer's (region, byte offset), by [`BufId`].
    pub fn locations(&self) -> &[(usize, usize)] {
        &self.loc
    }
}

/// One step in progress, run kernel by kernel (the JIT's tiered executor
/// runs some kernels here and others as compiled code on the same memory),
/// on memory the caller provides.
pub struct StepState<'p, 'm> {
    m: Machine<'p>,
    _mem: std::marker::PhantomData<&'m mut [u8]>,
}

impl<'p, 'm> StepState<'p, 'm> {
    /// `regions`: the arena, then every input, param, step output and
    /// update, in the order of `weft_step` (docs/abi.md). Err when a region
    /// is shorter than a buffer it holds at these dims.
    pub fn new(
        prog: &'p Program,
        dims: &'p [u64],
        regions: Vec<&'m mut [u8]>,
    ) -> Result<Self, String> {
        let raw = regions
            .into_iter()
            .map(|r| (r.as_mut_ptr(), r.len()))
            .collect();
        // SAFETY: each region is a live, exclusive borrow for 'm.
        unsafe { Self::from_raw(prog, dims, raw) }
    }

    /// [`StepState::new`] on memory given by address and length.
    ///
    /// # Safety
    /// For 'm, each region is valid for reads of its length, and the
    /// arena, outputs and updates for writes; no region overlaps another,
    /// and nothing else accesses them.
    pub unsafe fn from_raw(
        prog: &'p Program,
        dims: &'p [u64],
        regions: Vec<(*mut u8, usize)>,
    ) -> Result<Self, String> {
        Self::with_layout(prog, dims, regions, &Layout::new(prog, dims)?)
    }

    /// [`StepState::from_raw`] with the layout for these dims computed
    /// beforehand (the tiered executor keeps it from step to step).
    ///
    /// # Safety
    /// As [`StepState::from_raw`]; `layout` is `Layout::new(prog, dims)`.
    pub unsafe fn with_layout(
        prog: &'p Program,
        dims: &'p [u64],
        regions: Vec<(*mut u8, usize)>,
        layout: &Layout,
    ) -> Result<Self, String> {
        if regions.len() != layout.need.len() {
            return Err(format!(
                "{} memory regions, not {}",
                regions.len(),
                layout.need.len()
            ));
        }
        for (r, (&(_, len), &need)) in regions.iter().zip(&layout.need).enumerate() {
            if len < need {
                return Err(format!("memory region {r} holds {len} bytes, not {need}"));
            }
        }
        let m = Machine {
            prog,
            dims,
            regions,
            loc: layout.loc.clone(),
        };
        Ok(StepState {
            m,
            _mem: std::marker::PhantomData,
        })
    }

    /// Runs kernel `k` of the program with the interpreter.
    pub fn run_kernel(&mut self, k: usize) -> Result<(), u32> {
        let prog = self.m.prog;
        self.m.kernel(&prog.kernels[k])
    }

    /// The address of every buffer's first byte, by [`BufId`]; each holds
    /// at least [`buffer_bytes`] bytes (checked by [`StepState::new`]).
    /// Valid while the state lives.
    pub fn buffer_ptrs(&mut self) -> Vec<*mut u8> {
        let mut v = Vec::new();
        self.buffer_ptrs_into(&mut v);
        v
    }

    /// [`StepState::buffer_ptrs`] into `v` (cleared first).
    pub fn buffer_ptrs_into(&mut self, v: &mut Vec<*mut u8>) {
        v.clear();
        for &(r, off) in &self.m.loc {
            // In bounds: checked by `new`.
            v.push(self.m.regions[r].0.wrapping_add(off));
        }
    }
}

/// Reads and writes go through the raw regions, bounds-checked against
/// their lengths (see `StepState::from_raw` for what the caller promises).
struct Machine<'p> {
    prog: &'p Program,
    dims: &'p [u64],
    regions: Vec<(*mut u8, usize)>,
    loc: Vec<(usize, usize)>,
}

/// Calls `f` on every multi-index of `shape`, in C order.
fn each_index(shape: &[u64], f: &mut dyn FnMut(&[u64]) -> Result<(), u32>) -> Result<(), u32> {
    if shape.contains(&0) {
        return Ok(());
    }
    let mut idx = vec![0u64; shape.len()];
    loop {
        f(&idx)?;
        let mut j = shape.len();
        loop {
            if j == 0 {
                return Ok(());
            }
            j -= 1;
            idx[j] += 1;
            if idx[j] < shape[j] {
                break;
            }
            idx[j] = 0;
        }
    }
}

impl Machine<'_> {
    fn dim(&self, d: &Dim) -> u64 {
        dim_value(self.prog, self.dims, d)
    }

    fn shape(&self, ds: &[Dim]) -> Vec<u64> {
        ds.iter().map(|d| self.dim(d)).collect()
    }

    fn numel(&self, ds: &[Dim]) -> u64 {
        ds.iter().map(|d| self.dim(d)).product()
    }

    /// Region `r`'s bytes `s..s + n`; panics outside the region (a bug of
    /// the scheduler: every buffer fits its region, see `StepState::new`).
    fn span(&self, r: usize, s: usize, n: usize) -> *mut u8 {
        let (p, len) = self.regions[r];
        assert!(
            s.checked_add(n).is_some_and(|e| e <= len),
            "read outside a buffer"
        );
        p.wrapping_add(s)
    }

    fn bytes(&self, b: BufId, elem: u64, count: u64) -> &[u8] {
        let (r, off) = self.loc[b];
        let es = elem_bytes(self.prog.buffers[b].dtype) as usize;
        let n = count as usize * es;
        let p = self.span(r, off + elem as usize * es, n);
        if n == 0 {
            return &[];
        }
        // SAFETY: in bounds of a region valid for reads (`from_raw`).
        unsafe { std::slice::from_raw_parts(p, n) }
    }

    fn bytes_mut(&mut self, b: BufId, elem: u64, count: u64) -> &mut [u8] {
        let (r, off) = self.loc[b];
        let es = elem_bytes(self.prog.buffers[b].dtype) as usize;
        let n = count as usize * es;
        let p = self.span(r, off + elem as usize * es, n);
        if n == 0 {
            return &mut [];
        }
        // SAFETY: in bounds of a region valid for writes (the kernels write
        // only temps, outputs and updates), borrowed mutably through self.
        unsafe { std::slice::from_raw_parts_mut(p, n) }
    }

    fn read(&self, b: BufId, i: u64) -> Val {
        let x = self.bytes(b, i, 1);
        match self.prog.buffers[b].dtype {
            DType::F32 => Val::F32(f32::from_le_bytes([x[0], x[1], x[2], x[3]])),
            DType::I32 => Val::I32(i32::from_le_bytes([x[0], x[1], x[2], x[3]])),
            DType::F64 => Val::F64(f64::from_le_bytes(x.try_into().unwrap_or([0; 8]))),
            DType::I64 => Val::I64(i64::from_le_bytes(x.try_into().unwrap_or([0; 8]))),
            DType::U8 => Val::U8(x[0]),
            DType::Bool | DType::F16 | DType::BF16 => Val::Bool(x[0] != 0),
        }
    }

    fn write(&mut self, b: BufId, i: u64, v: Val) {
        let out = self.bytes_mut(b, i, 1);
        match v {
            Val::F32(x) => out.copy_from_slice(&x.to_le_bytes()),
            Val::F64(x) => out.copy_from_slice(&x.to_le_bytes()),
            Val::I32(x) => out.copy_from_slice(&x.to_le_bytes()),
            Val::I64(x) => out.copy_from_slice(&x.to_le_bytes()),
            Val::U8(x) => out.copy_from_slice(&[x]),
            Val::Bool(x) => out.copy_from_slice(&[x as u8]),
        }
    }

    fn eval(&self, e: &Expr, idx: &[u64]) -> Val {
        match e {
            Expr::Load { buf, view } => {
                // C-order linear index, without allocating the shape.
                let i = idx
                    .iter()
                    .zip(view)
                    .fold(0u64, |acc, (&i, d)| acc * self.dim(d) + i);
                self.read(*buf, i)
            }
            Expr::Const { value, dtype } => constant(*value, *dtype),
            Expr::Iota { axis, dtype } => from_u64(idx[*axis], *dtype),
            Expr::Size { dims, dtype } => from_u64(self.numel(dims), *dtype),
            Expr::Unary { op, arg } => unary(*op, self.eval(arg, idx)),
            Expr::Binary { op, lhs, rhs } => binary(*op, self.eval(lhs, idx), self.eval(rhs, idx)),
            Expr::Select { cond, then, els } => match self.eval(cond, idx) {
                Val::Bool(true) => self.eval(then, idx),
                _ => self.eval(els, idx),
            },
            Expr::Cast { to, arg } => cast(self.eval(arg, idx), *to),
            Expr::Remap { shape, axes, arg } => {
                // On the stack up to rank 8 (the interpreter's hot path).
                let mut small = [0u64; 8];
                let mut big = Vec::new();
                let inner: &mut [u64] = if axes.len() <= small.len() {
                    &mut small[..axes.len()]
                } else {
                    big.resize(axes.len(), 0);
                    &mut big
                };
                for (j, a) in axes.iter().enumerate() {
                    inner[j] = match a {
                        AxisSrc::Zero => 0,
                        AxisSrc::Outer { axis, start, step } => {
                            let s = if *start < 0 {
                                *start + self.dim(&shape[j]) as i64
                            } else {
                                *start
                            };
                            (s + (*step as i64) * idx[*axis] as i64) as u64
                        }
                    };
                }
                self.eval(arg, inner)
            }
        }
    }

    fn kernel(&mut self, k: &Kernel) -> Result<(), u32> {
        match k {
            Kernel::Map { out, expr } => {
                let shape = self.shape(&self.prog.buffers[*out].shape);
                let mut vals = Vec::new();
                each_index(&shape, &mut |i| {
                    vals.push(self.eval(expr, i));
                    Ok(())
                })?;
                for (i, v) in vals.into_iter().enumerate() {
                    self.write(*out, i as u64, v);
                }
            }
            Kernel::Reduce {
                out,
                op,
                shape,
                axes,
                expr,
            } => {
                let full = self.shape(shape);
                let mut oshape = full.clone();
                let mut lane = Vec::new();
                for &a in axes {
                    oshape[a] = 1;
                    lane.push(full[a]);
                }
                let dt = self.prog.buffers[*out].dtype;
                let acc_d = op.accumulator(dt);
                let mut vals = Vec::new();
                // Interleaved partials (the table's order): element `j` of
                // the last axis folds into partial `j mod 16`.
                let parts = if op.interleaved(acc_d, full.len(), axes) {
                    ops::PARTIALS
                } else {
                    1
                };
                let last = full.len().saturating_sub(1);
                each_index(&oshape, &mut |o| {
                    let mut acc = [identity(*op, acc_d); ops::PARTIALS];
                    let mut ix = o.to_vec();
                    each_index(&lane, &mut |l| {
                        for (n, &a) in axes.iter().enumerate() {
                            ix[a] = l[n];
                        }
                        let v = self.eval(expr, &ix);
                        let p = if parts == 1 {
                            0
                        } else {
                            ix[last] as usize % parts
                        };
                        acc[p] = fold(*op, acc[p], cast(v, acc_d));
                        Ok(())
                    })?;
                    let acc = if parts == 1 {
                        acc[0]
                    } else {
                        combine(*op, acc_d, acc)
                    };
                    let empty = lane.contains(&0);
                    vals.push(match op.empty(dt) {
                        Some(z) if empty => z,
                        _ => cast(acc, dt),
                    });
                    Ok(())
                })?;
                for (i, v) in vals.into_iter().enumerate() {
                    self.write(*out, i as u64, v);
                }
            }
            Kernel::ArgMax {
                out,
                shape,
                axis,
                expr,
            } => {
                let full = self.shape(shape);
                let mut oshape = full.clone();
                oshape[*axis] = 1;
                let mut vals = Vec::new();
                each_index(&oshape, &mut |o| {
                    let mut ix = o.to_vec();
                    let mut best = 0u64;
                    let mut bv: Option<Val> = None;
                    for t in 0..full[*axis] {
                        ix[*axis] = t;
                        let v = self.eval(expr, &ix);
                        match bv {
                            None => bv = Some(v),
                            Some(b) if argmax_better(v, b) => {
                                best = t;
                                bv = Some(v);
                            }
                            _ => {}
                        }
                    }
                    vals.push(Val::I64(best as i64));
                    Ok(())
                })?;
                for (i, v) in vals.into_iter().enumerate() {
                    self.write(*out, i as u64, v);
                }
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
                let (nb, m, k, n) = (self.numel(batch), self.dim(m), self.dim(k), self.dim(n));
                let dt = self.prog.buffers[*out].dtype;
                if matches!(dt, DType::F32 | DType::F64) {
                    self.gemm(dt, *out, (*a, *b), [nb, m, k, n], *trans);
                    return Ok(());
                }
                for bi in 0..nb {
                    for i in 0..m {
                        for j in 0..n {
                            let mut acc = cast(Val::I64(0), self.prog.buffers[*out].dtype);
                            for p in 0..k {
                                let x = self.read(*a, bi * m * k + i * k + p);
                                let y = self.read(*b, bi * k * n + p * n + j);
                                acc = binary(BinaryOp::Add, acc, binary(BinaryOp::Mul, x, y));
                            }
                            self.write(*out, bi * m * n + i * n + j, acc);
                        }
                    }
                }
            }
            Kernel::Conv {
                kind,
                out,
                a,
                b,
                dims,
                win,
                groups,
            } => {
                let geom: Vec<i64> = super::conv_args(dims, win, *groups)
                    .into_iter()
                    .map(|x| match x {
                        super::ConvArg::Size(d) => self.dim(d) as i64,
                        super::ConvArg::Lit(v) => v as i64,
                    })
                    .collect();
                self.conv(*kind, (*out, *a, *b), &geom);
            }
            Kernel::Gather { .. }
            | Kernel::ScatterAdd { .. }
            | Kernel::Concat { .. }
            | Kernel::SliceGrad { .. }
            | Kernel::Window { .. }
            | Kernel::WindowGrad { .. }
            | Kernel::Cumsum { .. } => {
                let prog = self.prog;
                match crate::kernel::lower::dedicated(&mut loops::Run(self), prog, k) {
                    Ok(()) => {}
                    Err(LoopError::Fail(code)) => return Err(code),
                    // The kernel verifier's types make this unreachable.
                    Err(LoopError::Emit(e)) => {
                        debug_assert!(false, "kernel interpreter: {e}");
                        return Err(0);
                    }
                }
            }
            Kernel::Random { out, dist, seed } => {
                let n = self.numel(&self.prog.buffers[*out].shape);
                let dt = self.prog.buffers[*out].dtype;
                let bytes: Vec<u8> = if dt == DType::F32 {
                    let mut v = vec![0f32; n as usize];
                    match dist {
                        Distribution::Normal { mean, std } => {
                            rng::fill_normal_f32(*seed, *mean, *std, &mut v)
                        }
                        Distribution::Uniform { lo, hi } => {
                            rng::fill_uniform_f32(*seed, *lo, *hi, &mut v)
                        }
                    }
                    v.iter().flat_map(|x| x.to_le_bytes()).collect()
                } else {
                    let mut v = vec![0f64; n as usize];
                    match dist {
                        Distribution::Normal { mean, std } => {
                            rng::fill_normal_f64(*seed, *mean, *std, &mut v)
                        }
                        Distribution::Uniform { lo, hi } => {
                            rng::fill_uniform_f64(*seed, *lo, *hi, &mut v)
                        }
                    }
                    v.iter().flat_map(|x| x.to_le_bytes()).collect()
                };
                self.bytes_mut(*out, 0, n).copy_from_slice(&bytes);
            }
            Kernel::AllReduce { dtype, parts } => self.all_reduce(*dtype, parts),
            Kernel::Check { check, error } => {
                let ok = match check {
                    Check::SliceFits {
                        n,
                        start,
                        step,
                        len,
                    } => super::schedule::slice_fits(self.dim(n), *start, *step, self.dim(len)),
                    Check::NonEmpty { lane, rest } => self.numel(lane) > 0 || self.numel(rest) == 0,
                    Check::SizeFits { dims, dtype } => dims
                        .iter()
                        .try_fold(1u64, |acc, d| acc.checked_mul(self.dim(d)))
                        .is_some_and(|n| super::schedule::size_fits(n, *dtype)),
                };
                if !ok {
                    return Err(*error);
                }
            }
        }
        Ok(())
    }

    /// An all-reduce through the runtime's collective, as built
    /// executables call it: every part in one call.
    fn all_reduce(&mut self, dtype: DType, parts: &[(BufId, BufId)]) {
        // The kernel verifier refuses the other dtypes.
        let Some(code) = super::allreduce_code(dtype) else {
            return;
        };
        let es = elem_bytes(dtype) as usize;
        let (mut src, mut dst, mut lens) = (Vec::new(), Vec::new(), Vec::new());
        for &(s, o) in parts {
            let n = self.numel(&self.prog.buffers[o].shape);
            let at = |me: &Self, b: BufId| {
                let (r, off) = me.loc[b];
                me.span(r, off, n as usize * es)
            };
            src.push(at(self, s).cast_const().cast::<std::ffi::c_void>());
            dst.push(at(self, o).cast::<std::ffi::c_void>());
            lens.push(n as i64);
        }
        // SAFETY: each pointer addresses its whole buffer (checked by
        // `span`); outputs are buffers of their own, apart from the sources.
        unsafe {
            weft_runtime_native::collective::weft_rt_allreduce_v1(
                code,
                parts.len() as i64,
                src.as_ptr(),
                dst.as_ptr(),
                lens.as_ptr(),
            )
        }
    }

    /// A convolution product through the runtime, as compiled code and
    /// built executables compute it.
    fn conv(&mut self, kind: super::ConvKind, (out, a, b): (BufId, BufId, BufId), geom: &[i64]) {
        let dt = self.prog.buffers[out].dtype;
        let whole = |me: &Self, buf: BufId| {
            let (r, off) = me.loc[buf];
            let n = me.numel(&me.prog.buffers[buf].shape) as usize * elem_bytes(dt) as usize;
            me.span(r, off, n)
        };
        let (pa, pb, pc) = (whole(self, a), whole(self, b), whole(self, out));
        let Ok(geom) = <[i64; 14]>::try_from(geom) else {
            return;
        };
        // SAFETY: each pointer addresses its whole buffer (checked by
        // `span`), of the sizes `geom` gives; the output is apart from a, b.
        unsafe {
            if dt == DType::F64 {
                weft_runtime_native::conv::weft_rt_conv2d_f64(
                    kind.code(),
                    geom.as_ptr(),
                    pa.cast(),
                    pb.cast(),
                    pc.cast(),
                )
            } else {
                weft_runtime_native::conv::weft_rt_conv2d_f32(
                    kind.code(),
                    geom.as_ptr(),
                    pa.cast(),
                    pb.cast(),
                    pc.cast(),
                )
            }
        }
    }

    /// A float matrix product through the runtime's GEMM, as compiled code
    /// and built executables compute it.
    fn gemm(
        &mut self,
        dt: DType,
        out: BufId,
        (a, b): (BufId, BufId),
        [nb, m, k, n]: [u64; 4],
        trans: [bool; 2],
    ) {
        let tr = super::trans_bits(trans);
        let es = elem_bytes(dt) as usize;
        let at = |me: &Self, buf: BufId, count: u64| {
            let (r, off) = me.loc[buf];
            me.span(r, off, count as usize * es)
        };
        let pa = at(self, a, nb * m * k);
        let pb = at(self, b, nb * k * n);
        let pc = at(self, out, nb * m * n);
        let d = |x: u64| x as i64;
        // SAFETY: each pointer addresses its whole buffer (checked by
        // `span`); the output is a buffer of its own, apart from a and b.
        unsafe {
            if dt == DType::F64 {
                weft_runtime_native::rt::weft_rt_gemm_v2_f64(
                    d(nb),
                    d(m),
                    d(k),
                    d(n),
                    pa.cast(),
                    pb.cast(),
                    pc.cast(),
                    tr,
                )
            } else {
                weft_runtime_native::rt::weft_rt_gemm_v2_f32(
                    d(nb),
                    d(m),
                    d(k),
                    d(n),
                    pa.cast(),
                    pb.cast(),
                    pc.cast(),
                    tr,
                )
            }
        }
    }
}
