//! CLIF generation for one kernel.
//!
//! A compiled kernel is `extern "C" fn(dims: *const u64, bufs: *const *mut u8) -> i32`:
//! `dims` the run-time sizes in `Program::dims` order, `bufs[b]` the address of
//! buffer `b` (every buffer of the program, by `BufId`), the result 0.
//!
//! Addressing. Every index a kernel computes is affine in the loop indices
//! (loads view packed buffers, remaps are `start + step * i` or 0), so each
//! leaf of an expression ([`Expr::Load`], [`Expr::Iota`]) gets an [`Affine`]
//! form `c + Σ coef[a] * i[a]` computed once in the entry block. Inside the
//! loop nest, the part over the outer axes is added up before the innermost
//! loop; the innermost loop adds `coef[inner] * i`.
//!
//! Vector loop. For an `f32` map whose leaves all have an innermost
//! coefficient known to be 0 (broadcast) or 1 (contiguous), the innermost
//! loop runs four elements at a time in `f32x4`, then a scalar remainder.
//! Every operation is the interpreter's, lane by lane, in the same order
//! (transcendentals call the same host functions per lane), so results are
//! bit-identical.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I32, I64, I8};
use cranelift_codegen::ir::{AbiParam, FuncRef, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};

use crate::ir::types::{DType, Dim};
use crate::kernel::{AxisSrc, BufId, Expr, Kernel, Program};

mod emit;
mod kernels;
mod scalar;
mod vector;

pub type R<T> = Result<T, String>;

/// Loops over literal axes at most this long are unrolled.
pub const UNROLL: u64 = 4;

/// A loop-invariant i64 quantity: a known constant or a value of the entry block.
#[derive(Clone, Copy, Debug)]
enum IVal {
    C(i64),
    V(Value),
}

/// `c + Σ coef[a] * i[a]` over the kernel's loop axes.
#[derive(Clone, Debug)]
struct Affine {
    c: IVal,
    coef: Vec<IVal>,
}

/// One leaf of the expression tree, in pre-order.
struct Leaf {
    aff: Affine,
    /// Loads: the buffer's base address; iotas: None.
    base: Option<Value>,
    /// Per innermost-loop row: `c + Σ_{outer} coef * i`, set before the inner loop.
    row: Option<Value>,
}

pub fn clif_type(d: DType) -> R<Type> {
    Ok(match d {
        DType::F32 => F32,
        DType::F64 => F64,
        DType::I32 => I32,
        DType::I64 => I64,
        DType::U8 | DType::Bool => I8,
        DType::F16 | DType::BF16 => return Err(format!("{} is not supported", d.name())),
    })
}

pub struct Gen<'a, 'b> {
    pub prog: &'a Program,
    pub b: FunctionBuilder<'b>,
    pub module: &'a mut JITModule,
    dims: Vec<Value>,
    bufs: HashMap<BufId, Value>,
    hosts: HashMap<&'static str, FuncRef>,
    leaves: Vec<Leaf>,
    next_leaf: usize,
    /// Values of loop-invariant subexpressions, computed once in the entry
    /// block (see [`Gen::hoist`]), by the address of their `Expr`.
    hoisted: HashMap<usize, Value>,
    /// Per axis of the current kernel's space: its length when it is a
    /// literal of at most [`UNROLL`], whose loop is unrolled.
    pub(super) unroll: Vec<Option<u64>>,
    /// The range of the split loop, read after the sizes in `dims`.
    pub(super) range: (Value, Value),
    /// The axis whose loop runs over `range` instead of its whole length
    /// (the outermost loop over the output), when the kernel has one: the
    /// caller may then cut that axis into parts run on several threads.
    pub split: Option<usize>,
    /// Whether the current kernel's map uses the vector loop.
    pub vectorized: bool,
}

fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'a, 'b> Gen<'a, 'b> {
    /// Sets up the entry block: loads every size and the base address of
    /// every buffer the kernel touches.
    pub fn new(
        prog: &'a Program,
        mut b: FunctionBuilder<'b>,
        module: &'a mut JITModule,
        k: &Kernel,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (dp, bp) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let dims = (0..prog.dims.len())
            .map(|i| b.ins().load(I64, trusted(), dp, (8 * i) as i32))
            .collect();
        // After the sizes: the range [lo, hi) of the split loop (see
        // `Gen::split`), so that one function serves every thread's part.
        let nd = prog.dims.len();
        let lo = b.ins().load(I64, trusted(), dp, (8 * nd) as i32);
        let hi = b.ins().load(I64, trusted(), dp, (8 * (nd + 1)) as i32);
        let mut bufs = HashMap::new();
        let mut ids = k.inputs();
        ids.extend(k.outputs());
        for id in ids {
            let v = b.ins().load(I64, trusted(), bp, (8 * id) as i32);
            bufs.insert(id, v);
        }
        Gen {
            prog,
            b,
            module,
            dims,
            bufs,
            hosts: HashMap::new(),
            leaves: Vec::new(),
            next_leaf: 0,
            hoisted: HashMap::new(),
            unroll: Vec::new(),
            range: (lo, hi),
            split: None,
            vectorized: false,
        }
    }

    // ---- i64 helpers -------------------------------------------------------

    fn dim(&self, d: &Dim) -> IVal {
        match d {
            Dim::Lit(n) => IVal::C(*n as i64),
            Dim::Sym(_) | Dim::Expr(_) => match self.prog.dim_slot(d) {
                Some(i) => IVal::V(self.dims[i]),
                None => IVal::C(0),
            },
        }
    }

    /// The run-time length of every axis of `shape`.
    fn sizes(&mut self, shape: &[Dim]) -> Vec<Value> {
        shape
            .iter()
            .map(|d| {
                let v = self.dim(d);
                self.val(v)
            })
            .collect()
    }

    fn val(&mut self, v: IVal) -> Value {
        match v {
            IVal::C(c) => self.b.ins().iconst(I64, c),
            IVal::V(v) => v,
        }
    }

    fn add(&mut self, x: IVal, y: IVal) -> IVal {
        match (x, y) {
            (IVal::C(a), IVal::C(b)) => IVal::C(a.wrapping_add(b)),
            (IVal::C(0), v) | (v, IVal::C(0)) => v,
            (IVal::C(a), IVal::V(v)) | (IVal::V(v), IVal::C(a)) => {
                IVal::V(self.b.ins().iadd_imm_s(v, a))
            }
            (IVal::V(a), IVal::V(b)) => IVal::V(self.b.ins().iadd(a, b)),
        }
    }

    fn mul(&mut self, x: IVal, y: IVal) -> IVal {
        match (x, y) {
            (IVal::C(a), IVal::C(b)) => IVal::C(a.wrapping_mul(b)),
            (IVal::C(0), _) | (_, IVal::C(0)) => IVal::C(0),
            (IVal::C(1), v) | (v, IVal::C(1)) => v,
            (IVal::C(a), IVal::V(v)) | (IVal::V(v), IVal::C(a)) => {
                IVal::V(self.b.ins().imul_imm_s(v, a))
            }
            (IVal::V(a), IVal::V(b)) => IVal::V(self.b.ins().imul(a, b)),
        }
    }

    fn numel(&mut self, ds: &[Dim]) -> IVal {
        let mut n = IVal::C(1);
        for d in ds {
            let v = self.dim(d);
            n = self.mul(n, v);
        }
        n
    }

    /// The C-order linear index of `idx` in `shape`, as an affine form.
    fn linear(&mut self, idx: &[Affine], shape: &[Dim], rank: usize) -> Affine {
        let mut out = Affine {
            c: IVal::C(0),
            coef: vec![IVal::C(0); rank],
        };
        let mut stride = IVal::C(1);
        for j in (0..shape.len()).rev() {
            let s = self.scale(&idx[j], stride);
            out = self.sum(&out, &s);
            let d = self.dim(&shape[j]);
            stride = self.mul(stride, d);
        }
        out
    }

    fn scale(&mut self, a: &Affine, k: IVal) -> Affine {
        Affine {
            c: self.mul(a.c, k),
            coef: a.coef.iter().map(|&c| self.mul(c, k)).collect(),
        }
    }

    fn sum(&mut self, a: &Affine, b: &Affine) -> Affine {
        Affine {
            c: self.add(a.c, b.c),
            coef: a
                .coef
                .iter()
                .zip(&b.coef)
                .map(|(&x, &y)| self.add(x, y))
                .collect(),
        }
    }

    /// Marks the axes among `axes` whose length is a literal no longer
    /// than [`UNROLL`] (a reduction's short lanes: unrolling outer loops
    /// would only multiply the code).
    pub(super) fn set_unroll(&mut self, shape: &[Dim], axes: &[usize]) {
        self.unroll = shape
            .iter()
            .enumerate()
            .map(|(a, d)| match d {
                Dim::Lit(n) if *n <= UNROLL && axes.contains(&a) => Some(*n),
                _ => None,
            })
            .collect();
    }

    fn identity(rank: usize) -> Vec<Affine> {
        (0..rank)
            .map(|a| Affine {
                c: IVal::C(0),
                coef: (0..rank)
                    .map(|j| IVal::C(if j == a { 1 } else { 0 }))
                    .collect(),
            })
            .collect()
    }

    // ---- leaves ------------------------------------------------------------

    /// Collects the leaves of `e` evaluated at `idx` (pre-order).
    fn collect(&mut self, e: &Expr, idx: &[Affine], rank: usize) -> R<()> {
        match e {
            Expr::Load { buf, view } => {
                let aff = self.linear(idx, view, rank);
                let base = self.bufs.get(buf).copied();
                if base.is_none() {
                    return Err(format!("buffer {buf} has no address"));
                }
                self.leaves.push(Leaf {
                    aff,
                    base,
                    row: None,
                });
            }
            Expr::Iota { axis, .. } => {
                let aff = idx.get(*axis).cloned().ok_or("iota axis out of range")?;
                self.leaves.push(Leaf {
                    aff,
                    base: None,
                    row: None,
                });
            }
            Expr::Const { .. } | Expr::Size { .. } => {}
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => self.collect(arg, idx, rank)?,
            Expr::Binary { lhs, rhs, .. } => {
                self.collect(lhs, idx, rank)?;
                self.collect(rhs, idx, rank)?;
            }
            Expr::Select { cond, then, els } => {
                self.collect(cond, idx, rank)?;
                self.collect(then, idx, rank)?;
                self.collect(els, idx, rank)?;
            }
            Expr::Remap { shape, axes, arg } => {
                if axes.len() != shape.len() {
                    return Err("remap rank mismatch".into());
                }
                let mut inner = Vec::new();
                for (j, a) in axes.iter().enumerate() {
                    inner.push(match a {
                        AxisSrc::Zero => Affine {
                            c: IVal::C(0),
                            coef: vec![IVal::C(0); rank],
                        },
                        AxisSrc::Outer { axis, start, step } => {
                            let s = if *start < 0 {
                                let d = self.dim(&shape[j]);
                                self.add(IVal::C(*start), d)
                            } else {
                                IVal::C(*start)
                            };
                            let cur = idx.get(*axis).cloned().ok_or("remap axis out of range")?;
                            let sc = self.scale(&cur, IVal::C(*step as i64));
                            let sa = Affine {
                                c: s,
                                coef: vec![IVal::C(0); rank],
                            };
                            self.sum(&sa, &sc)
                        }
                    });
                }
                self.collect(arg, &inner, rank)?;
            }
        }
        Ok(())
    }

    /// Sets each leaf's row (the sum over axes other than `inner`) for the
    /// current loop indices `iv` (one per axis; `inner`'s is ignored).
    fn set_rows(&mut self, iv: &[Value], inner: Option<usize>) {
        for l in 0..self.leaves.len() {
            let mut r = self.leaves[l].aff.c;
            for (a, &i) in iv.iter().enumerate() {
                if Some(a) == inner {
                    continue;
                }
                let c = self.leaves[l].aff.coef[a];
                let t = self.mul(c, IVal::V(i));
                r = self.add(r, t);
            }
            self.leaves[l].row = Some(self.val(r));
        }
    }

    /// The element index of the next leaf at inner-loop index `i`.
    fn leaf_index(&mut self, l: usize, inner: Option<(usize, Value)>) -> Value {
        let row = self.leaves[l].row.expect("rows set");
        match inner {
            None => row,
            Some((a, i)) => {
                let c = self.leaves[l].aff.coef[a];
                let t = self.mul(c, IVal::V(i));
                let r = self.add(IVal::V(row), t);
                self.val(r)
            }
        }
    }

    fn addr(&mut self, base: Value, index: Value, esize: u64) -> Value {
        let off = if esize == 1 {
            index
        } else {
            self.b
                .ins()
                .ishl_imm_u(index, esize.trailing_zeros() as i64)
        };
        self.b.ins().iadd(base, off)
    }

    /// Computes every maximal loop-invariant subexpression of `e` that does
    /// some work (`1 / size(B)`, a scaled constant) here, before the loops;
    /// `scalar` and `vector` then use the value.
    pub(super) fn hoist(&mut self, e: &Expr) -> R<()> {
        match e {
            Expr::Const { .. } | Expr::Size { .. } | Expr::Load { .. } | Expr::Iota { .. } => {}
            _ if e.is_invariant() => {
                let v = self.scalar(e, None)?;
                self.hoisted.insert(e as *const Expr as usize, v);
            }
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => {
                self.hoist(arg)?
            }
            Expr::Binary { lhs, rhs, .. } => {
                self.hoist(lhs)?;
                self.hoist(rhs)?;
            }
            Expr::Select { cond, then, els } => {
                self.hoist(cond)?;
                self.hoist(then)?;
                self.hoist(els)?;
            }
        }
        Ok(())
    }

    fn hoisted_value(&self, e: &Expr) -> Option<Value> {
        self.hoisted.get(&(e as *const Expr as usize)).copied()
    }

    // ---- host calls --------------------------------------------------------

    fn host(&mut self, name: &'static str) -> R<FuncRef> {
        if let Some(f) = self.hosts.get(name) {
            return Ok(*f);
        }
        let h = super::host::all()
            .into_iter()
            .find(|h| h.name == name)
            .ok_or_else(|| format!("no host function {name}"))?;
        let ty = |c: char| match c {
            'f' => F32,
            'd' => F64,
            'i' => I32,
            _ => I64,
        };
        let mut sig = self.module.make_signature();
        sig.params
            .extend(h.params.chars().map(|c| AbiParam::new(ty(c))));
        sig.returns
            .extend(h.ret.chars().map(|c| AbiParam::new(ty(c))));
        let id = self
            .module
            .declare_function(name, Linkage::Import, &sig)
            .map_err(|e| e.to_string())?;
        let f = self.module.declare_func_in_func(id, self.b.func);
        self.hosts.insert(name, f);
        Ok(f)
    }

    fn call(&mut self, name: &'static str, args: &[Value]) -> R<Value> {
        let f = self.host(name)?;
        let inst = self.b.ins().call(f, args);
        Ok(self.b.inst_results(inst)[0])
    }

    // ---- loops ---------------------------------------------------------------

    /// `for i in from..n step step { body(i) }`; leaves the builder after the loop.
    fn for_loop(
        &mut self,
        from: Value,
        n: Value,
        step: i64,
        body: &mut dyn FnMut(&mut Self, Value) -> R<()>,
    ) -> R<()> {
        let header = self.b.create_block();
        let bodyb = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(header, I64);
        self.b.ins().jump(header, &[from.into()]);
        self.b.switch_to_block(header);
        let i = self.b.block_params(header)[0];
        let c = self.b.ins().icmp(IntCC::SignedLessThan, i, n);
        self.b.ins().brif(c, bodyb, &[], exit, &[]);
        self.b.switch_to_block(bodyb);
        body(self, i)?;
        let next = self.b.ins().iadd_imm_s(i, step);
        self.b.ins().jump(header, &[next.into()]);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// Loops over every axis in `order` (outermost first), calling `body`
    /// with the index values by axis once the last is open.
    /// `from + (to - from)` rounded down to a multiple of `k` (a power of 2):
    /// where whole vectors of a loop from `from` to `to` end.
    pub(super) fn round_down(&mut self, from: Value, to: Value, k: i64) -> Value {
        let len = self.b.ins().isub(to, from);
        let len = self.b.ins().band_imm_s(len, !(k - 1));
        self.b.ins().iadd(from, len)
    }

    /// [`Gen::nest`] whose outermost loop runs over the split range (and
    /// records its axis as the split one).
    pub(super) fn nest_split(
        &mut self,
        sizes: &[Value],
        order: &[usize],
        iv: &mut Vec<Value>,
        body: &mut dyn FnMut(&mut Self, &[Value]) -> R<()>,
    ) -> R<()> {
        match order.split_first() {
            None => body(self, iv),
            Some((&a, rest)) => {
                self.split = Some(a);
                let (lo, hi) = self.range;
                self.for_loop(lo, hi, 1, &mut |g, i| {
                    iv[a] = i;
                    g.nest(sizes, rest, iv, body)
                })
            }
        }
    }

    fn nest(
        &mut self,
        sizes: &[Value],
        order: &[usize],
        iv: &mut Vec<Value>,
        body: &mut dyn FnMut(&mut Self, &[Value]) -> R<()>,
    ) -> R<()> {
        match order.split_first() {
            None => body(self, iv),
            Some((&a, rest)) => match self.unroll.get(a).copied().flatten() {
                Some(n) => {
                    for i in 0..n {
                        iv[a] = self.b.ins().iconst(I64, i as i64);
                        self.nest(sizes, rest, iv, body)?;
                    }
                    Ok(())
                }
                None => {
                    let zero = self.b.ins().iconst(I64, 0);
                    self.for_loop(zero, sizes[a], 1, &mut |g, i| {
                        iv[a] = i;
                        g.nest(sizes, rest, iv, body)
                    })
                }
            },
        }
    }
}
