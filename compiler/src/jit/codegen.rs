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

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, F64, I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Endianness, FuncRef, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};

use crate::ir::op::{BinaryOp, Distribution, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim};
use crate::kernel::interp::{constant, Val};
use crate::kernel::{elem_bytes, AxisSrc, BufId, Expr, Kernel, Program};

pub type R<T> = Result<T, String>;

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
        DType::Bool => I8,
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
        let mut bufs = HashMap::new();
        let mut ids = k.inputs();
        ids.extend(k.output());
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
            vectorized: false,
        }
    }

    fn ins(&mut self) -> cranelift_frontend::FuncInstBuilder<'_, 'b> {
        self.b.ins()
    }

    // ---- i64 helpers -------------------------------------------------------

    fn dim(&self, d: &Dim) -> IVal {
        match d {
            Dim::Lit(n) => IVal::C(*n as i64),
            Dim::Sym(s) => match self.prog.dim_index(s) {
                Some(i) => IVal::V(self.dims[i]),
                None => IVal::C(0),
            },
        }
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

    // ---- scalar expressions -------------------------------------------------

    fn fconst(&mut self, ty: Type, x: f64) -> Value {
        if ty == F32 {
            self.b.ins().f32const(x as f32)
        } else {
            self.b.ins().f64const(x)
        }
    }

    fn konst(&mut self, v: Val) -> Value {
        match v {
            Val::F32(x) => self.b.ins().f32const(x),
            Val::F64(x) => self.b.ins().f64const(x),
            Val::I32(x) => self.b.ins().iconst(I32, x as i64),
            Val::I64(x) => self.b.ins().iconst(I64, x),
            Val::Bool(x) => self.b.ins().iconst(I8, x as i64),
        }
    }

    /// A u64 count or index converted like the interpreter's `from_u64`.
    fn index_value(&mut self, n: Value, d: DType) -> R<Value> {
        Ok(match d {
            DType::F32 => self.b.ins().fcvt_from_uint(F32, n),
            DType::F64 => self.b.ins().fcvt_from_uint(F64, n),
            DType::I32 => self.b.ins().ireduce(I32, n),
            DType::I64 => n,
            _ => return Err(format!("an index of type {}", d.name())),
        })
    }

    /// Evaluates `e` at inner-loop index `inner` (leaf rows already set).
    fn scalar(&mut self, e: &Expr, inner: Option<(usize, Value)>) -> R<Value> {
        let bufs = &self.prog.buffers;
        Ok(match e {
            Expr::Load { buf, .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let d = bufs[*buf].dtype;
                let ty = clif_type(d)?;
                let i = self.leaf_index(l, inner);
                let base = self.leaves[l].base.expect("a load leaf");
                let a = self.addr(base, i, elem_bytes(d));
                self.b.ins().load(ty, trusted(), a, 0)
            }
            Expr::Iota { dtype, .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let i = self.leaf_index(l, inner);
                self.index_value(i, *dtype)?
            }
            Expr::Const { value, dtype } => {
                clif_type(*dtype)?;
                self.konst(constant(*value, *dtype))
            }
            Expr::Size { dims, dtype } => {
                let n = self.numel(dims);
                let n = self.val(n);
                self.index_value(n, *dtype)?
            }
            Expr::Unary { op, arg } => {
                let d = arg.dtype(bufs);
                let x = self.scalar(arg, inner)?;
                self.unary(*op, d, x)?
            }
            Expr::Binary { op, lhs, rhs } => {
                let d = lhs.dtype(bufs);
                let x = self.scalar(lhs, inner)?;
                let y = self.scalar(rhs, inner)?;
                self.binary(*op, d, x, y)?
            }
            Expr::Select { cond, then, els } => {
                let c = self.scalar(cond, inner)?;
                let t = self.scalar(then, inner)?;
                let f = self.scalar(els, inner)?;
                self.b.ins().select(c, t, f)
            }
            Expr::Cast { to, arg } => {
                let d = arg.dtype(bufs);
                let x = self.scalar(arg, inner)?;
                self.cast(x, d, *to)?
            }
            Expr::Remap { arg, .. } => self.scalar(arg, inner)?,
        })
    }

    fn unary(&mut self, op: UnaryOp, d: DType, x: Value) -> R<Value> {
        let ty = clif_type(d)?;
        Ok(match d {
            DType::F32 | DType::F64 => {
                let f = d == DType::F32;
                let host = |a: &'static str, b: &'static str| if f { a } else { b };
                match op {
                    UnaryOp::Neg => self.ins().fneg(x),
                    UnaryOp::Sqrt => self.ins().sqrt(x),
                    UnaryOp::Rsqrt => {
                        let s = self.ins().sqrt(x);
                        let one = self.fconst(ty, 1.0);
                        self.ins().fdiv(one, s)
                    }
                    UnaryOp::Abs => self.ins().fabs(x),
                    UnaryOp::Floor => self.ins().floor(x),
                    UnaryOp::Ceil => self.ins().ceil(x),
                    UnaryOp::Sign => {
                        let zero = self.fconst(ty, 0.0);
                        let one = self.fconst(ty, 1.0);
                        let m1 = self.fconst(ty, -1.0);
                        let nan = self.ins().fcmp(FloatCC::Unordered, x, x);
                        let r = self.ins().select(nan, x, zero);
                        let lt = self.ins().fcmp(FloatCC::LessThan, x, zero);
                        let r = self.ins().select(lt, m1, r);
                        let gt = self.ins().fcmp(FloatCC::GreaterThan, x, zero);
                        self.ins().select(gt, one, r)
                    }
                    UnaryOp::Relu => {
                        let zero = self.fconst(ty, 0.0);
                        let c = self.ins().fcmp(FloatCC::UnorderedOrGreaterThan, x, zero);
                        self.ins().select(c, x, zero)
                    }
                    UnaryOp::Exp => {
                        self.call(host("weft_jit_exp_f32", "weft_jit_exp_f64"), &[x])?
                    }
                    UnaryOp::Log => {
                        self.call(host("weft_jit_log_f32", "weft_jit_log_f64"), &[x])?
                    }
                    UnaryOp::Sin => {
                        self.call(host("weft_jit_sin_f32", "weft_jit_sin_f64"), &[x])?
                    }
                    UnaryOp::Cos => {
                        self.call(host("weft_jit_cos_f32", "weft_jit_cos_f64"), &[x])?
                    }
                    UnaryOp::Tanh => {
                        self.call(host("weft_jit_tanh_f32", "weft_jit_tanh_f64"), &[x])?
                    }
                    UnaryOp::Sigmoid => {
                        self.call(host("weft_jit_sigmoid_f32", "weft_jit_sigmoid_f64"), &[x])?
                    }
                }
            }
            DType::I32 | DType::I64 => match op {
                UnaryOp::Neg => self.ins().ineg(x),
                UnaryOp::Abs => self.ins().iabs(x),
                UnaryOp::Sign => {
                    let zero = self.ins().iconst(ty, 0);
                    let one = self.ins().iconst(ty, 1);
                    let m1 = self.ins().iconst(ty, -1);
                    let lt = self.ins().icmp(IntCC::SignedLessThan, x, zero);
                    let r = self.ins().select(lt, m1, zero);
                    let gt = self.ins().icmp(IntCC::SignedGreaterThan, x, zero);
                    self.ins().select(gt, one, r)
                }
                _ => {
                    let zero = self.ins().iconst(ty, 0);
                    self.ins().smax(x, zero)
                }
            },
            _ => x,
        })
    }

    fn binary(&mut self, op: BinaryOp, d: DType, x: Value, y: Value) -> R<Value> {
        let ty = clif_type(d)?;
        if op.is_comparison() {
            return Ok(match d {
                DType::F32 | DType::F64 => {
                    let cc = match op {
                        BinaryOp::Lt => FloatCC::LessThan,
                        BinaryOp::Le => FloatCC::LessThanOrEqual,
                        BinaryOp::Gt => FloatCC::GreaterThan,
                        BinaryOp::Ge => FloatCC::GreaterThanOrEqual,
                        BinaryOp::Eq => FloatCC::Equal,
                        _ => FloatCC::NotEqual,
                    };
                    self.b.ins().fcmp(cc, x, y)
                }
                _ => {
                    let signed = d != DType::Bool;
                    let cc = match (op, signed) {
                        (BinaryOp::Lt, true) => IntCC::SignedLessThan,
                        (BinaryOp::Le, true) => IntCC::SignedLessThanOrEqual,
                        (BinaryOp::Gt, true) => IntCC::SignedGreaterThan,
                        (BinaryOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
                        (BinaryOp::Lt, false) => IntCC::UnsignedLessThan,
                        (BinaryOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
                        (BinaryOp::Gt, false) => IntCC::UnsignedGreaterThan,
                        (BinaryOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
                        (BinaryOp::Eq, _) => IntCC::Equal,
                        _ => IntCC::NotEqual,
                    };
                    self.b.ins().icmp(cc, x, y)
                }
            });
        }
        Ok(match d {
            DType::F32 | DType::F64 => match op {
                BinaryOp::Add => self.ins().fadd(x, y),
                BinaryOp::Sub => self.ins().fsub(x, y),
                BinaryOp::Mul => self.ins().fmul(x, y),
                BinaryOp::Div => self.ins().fdiv(x, y),
                BinaryOp::Pow => {
                    let h = if d == DType::F32 {
                        "weft_jit_pow_f32"
                    } else {
                        "weft_jit_pow_f64"
                    };
                    self.call(h, &[x, y])?
                }
                _ => {
                    // fmax(a, b) = a if a is NaN or a >= b, else b (fmin: <=).
                    let cc = if op == BinaryOp::Max {
                        FloatCC::GreaterThanOrEqual
                    } else {
                        FloatCC::LessThanOrEqual
                    };
                    let nan = self.ins().fcmp(FloatCC::Unordered, x, x);
                    let c = self.ins().fcmp(cc, x, y);
                    let c = self.ins().bor(nan, c);
                    self.ins().select(c, x, y)
                }
            },
            DType::I32 | DType::I64 => {
                let w = if ty == I32 { "i32" } else { "i64" };
                match op {
                    BinaryOp::Add => self.ins().iadd(x, y),
                    BinaryOp::Sub => self.ins().isub(x, y),
                    BinaryOp::Mul => self.ins().imul(x, y),
                    BinaryOp::Div => self.call(
                        if w == "i32" {
                            "weft_jit_div_i32"
                        } else {
                            "weft_jit_div_i64"
                        },
                        &[x, y],
                    )?,
                    BinaryOp::Pow => self.call(
                        if w == "i32" {
                            "weft_jit_pow_i32"
                        } else {
                            "weft_jit_pow_i64"
                        },
                        &[x, y],
                    )?,
                    BinaryOp::Max => self.ins().smax(x, y),
                    _ => self.ins().smin(x, y),
                }
            }
            _ => x,
        })
    }

    fn cast(&mut self, x: Value, from: DType, to: DType) -> R<Value> {
        let (ft, tt) = (clif_type(from)?, clif_type(to)?);
        if ft == tt {
            return Ok(x);
        }
        let float = |t: Type| t == F32 || t == F64;
        Ok(if to == DType::Bool {
            if float(ft) {
                let z = self.fconst(ft, 0.0);
                self.ins().fcmp(FloatCC::NotEqual, x, z)
            } else {
                self.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
            }
        } else if from == DType::Bool {
            let w = self.ins().uextend(I32, x);
            if float(tt) {
                self.ins().fcvt_from_uint(tt, w)
            } else if tt == I64 {
                self.ins().uextend(I64, w)
            } else {
                w
            }
        } else {
            match (float(ft), float(tt)) {
                (true, true) if tt == F64 => self.ins().fpromote(F64, x),
                (true, true) => self.ins().fdemote(F32, x),
                (true, false) => self.ins().fcvt_to_sint_sat(tt, x),
                (false, true) => self.ins().fcvt_from_sint(tt, x),
                (false, false) if tt == I64 => self.ins().sextend(I64, x),
                (false, false) => self.ins().ireduce(I32, x),
            }
        })
    }

    // ---- vector expressions ---------------------------------------------

    /// Whether `e` can be evaluated four lanes at a time (after `collect`,
    /// with `inner` the innermost axis): `f32` values and comparison masks,
    /// every load `f32` with an innermost coefficient of 0 or 1, no iota
    /// that moves along the innermost axis.
    fn vectorizable(&self, e: &Expr, inner: usize, leaf: &mut usize) -> bool {
        let bufs = &self.prog.buffers;
        match e {
            Expr::Load { buf, .. } => {
                let l = &self.leaves[*leaf];
                *leaf += 1;
                bufs[*buf].dtype == DType::F32
                    && matches!(l.aff.coef.get(inner), Some(IVal::C(0 | 1)))
            }
            Expr::Iota { .. } => {
                *leaf += 1;
                false
            }
            Expr::Const { dtype, .. } | Expr::Size { dtype, .. } => *dtype == DType::F32,
            Expr::Unary { arg, .. } => {
                arg.dtype(bufs) == DType::F32 && self.vectorizable(arg, inner, leaf)
            }
            Expr::Binary { lhs, rhs, .. } => {
                lhs.dtype(bufs) == DType::F32
                    && self.vectorizable(lhs, inner, leaf)
                    && self.vectorizable(rhs, inner, leaf)
            }
            Expr::Select { cond, then, els } => {
                matches!(&**cond, Expr::Binary { op, .. } if op.is_comparison())
                    && then.dtype(bufs) == DType::F32
                    && self.vectorizable(cond, inner, leaf)
                    && self.vectorizable(then, inner, leaf)
                    && self.vectorizable(els, inner, leaf)
            }
            Expr::Cast { to, arg } => {
                *to == DType::F32
                    && arg.dtype(bufs) == DType::F32
                    && self.vectorizable(arg, inner, leaf)
            }
            Expr::Remap { arg, .. } => self.vectorizable(arg, inner, leaf),
        }
    }

    fn splat(&mut self, x: Value) -> Value {
        self.b.ins().splat(F32X4, x)
    }

    fn vconst(&mut self, x: f32) -> Value {
        let s = self.b.ins().f32const(x);
        self.splat(s)
    }

    fn mask_f32(&mut self, m: Value) -> Value {
        let fl = MemFlagsData::new().with_endianness(Endianness::Little);
        self.b.ins().bitcast(F32X4, fl, m)
    }

    /// `c ? x : y` lane-wise, `c` an `i32x4` mask.
    fn vsel(&mut self, c: Value, x: Value, y: Value) -> Value {
        let c = self.mask_f32(c);
        self.b.ins().bitselect(c, x, y)
    }

    /// Evaluates `e` at lanes `i..i+4` of axis `inner` as `f32x4` (or an
    /// `i32x4` mask for comparisons).
    fn vector(&mut self, e: &Expr, inner: usize, i: Value) -> R<Value> {
        let bufs = &self.prog.buffers;
        Ok(match e {
            Expr::Load { .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let base = self.leaves[l].base.expect("a load leaf");
                let row = self.leaves[l].row.expect("rows set");
                match self.leaves[l].aff.coef[inner] {
                    IVal::C(0) => {
                        let a = self.addr(base, row, 4);
                        let x = self.b.ins().load(F32, trusted(), a, 0);
                        self.splat(x)
                    }
                    _ => {
                        let ix = self.b.ins().iadd(row, i);
                        let a = self.addr(base, ix, 4);
                        self.b.ins().load(F32X4, trusted(), a, 0)
                    }
                }
            }
            Expr::Iota { .. } => return Err("iota in a vector loop".into()),
            Expr::Const { .. } | Expr::Size { .. } => {
                let x = self.scalar(e, None)?;
                self.splat(x)
            }
            Expr::Unary { op, arg } => {
                let x = self.vector(arg, inner, i)?;
                self.vunary(*op, x)?
            }
            Expr::Binary { op, lhs, rhs } => {
                let x = self.vector(lhs, inner, i)?;
                let y = self.vector(rhs, inner, i)?;
                self.vbinary(*op, x, y)?
            }
            Expr::Select { cond, then, els } => {
                let c = self.vector(cond, inner, i)?;
                let t = self.vector(then, inner, i)?;
                let f = self.vector(els, inner, i)?;
                self.vsel(c, t, f)
            }
            Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => {
                let _ = bufs;
                self.vector(arg, inner, i)?
            }
        })
    }

    fn per_lane(&mut self, name: &'static str, args: &[Value]) -> R<Value> {
        let mut out = self.vconst(0.0);
        for lane in 0..4u8 {
            let a: Vec<Value> = args
                .iter()
                .map(|&v| self.b.ins().extractlane(v, lane))
                .collect();
            let r = self.call(name, &a)?;
            out = self.b.ins().insertlane(out, r, lane);
        }
        Ok(out)
    }

    fn vunary(&mut self, op: UnaryOp, x: Value) -> R<Value> {
        Ok(match op {
            UnaryOp::Neg => self.ins().fneg(x),
            UnaryOp::Sqrt => self.ins().sqrt(x),
            UnaryOp::Rsqrt => {
                let s = self.ins().sqrt(x);
                let one = self.vconst(1.0);
                self.ins().fdiv(one, s)
            }
            UnaryOp::Abs => self.ins().fabs(x),
            UnaryOp::Floor => self.ins().floor(x),
            UnaryOp::Ceil => self.ins().ceil(x),
            UnaryOp::Sign => {
                let zero = self.vconst(0.0);
                let one = self.vconst(1.0);
                let m1 = self.vconst(-1.0);
                let nan = self.ins().fcmp(FloatCC::Unordered, x, x);
                let r = self.vsel(nan, x, zero);
                let lt = self.ins().fcmp(FloatCC::LessThan, x, zero);
                let r = self.vsel(lt, m1, r);
                let gt = self.ins().fcmp(FloatCC::GreaterThan, x, zero);
                self.vsel(gt, one, r)
            }
            UnaryOp::Relu => {
                let zero = self.vconst(0.0);
                let c = self.ins().fcmp(FloatCC::UnorderedOrGreaterThan, x, zero);
                self.vsel(c, x, zero)
            }
            UnaryOp::Exp => self.per_lane("weft_jit_exp_f32", &[x])?,
            UnaryOp::Log => self.per_lane("weft_jit_log_f32", &[x])?,
            UnaryOp::Sin => self.per_lane("weft_jit_sin_f32", &[x])?,
            UnaryOp::Cos => self.per_lane("weft_jit_cos_f32", &[x])?,
            UnaryOp::Tanh => self.per_lane("weft_jit_tanh_f32", &[x])?,
            UnaryOp::Sigmoid => self.per_lane("weft_jit_sigmoid_f32", &[x])?,
        })
    }

    fn vbinary(&mut self, op: BinaryOp, x: Value, y: Value) -> R<Value> {
        Ok(match op {
            BinaryOp::Add => self.ins().fadd(x, y),
            BinaryOp::Sub => self.ins().fsub(x, y),
            BinaryOp::Mul => self.ins().fmul(x, y),
            BinaryOp::Div => self.ins().fdiv(x, y),
            BinaryOp::Pow => self.per_lane("weft_jit_pow_f32", &[x, y])?,
            BinaryOp::Max | BinaryOp::Min => {
                let cc = if op == BinaryOp::Max {
                    FloatCC::GreaterThanOrEqual
                } else {
                    FloatCC::LessThanOrEqual
                };
                let nan = self.ins().fcmp(FloatCC::Unordered, x, x);
                let c = self.ins().fcmp(cc, x, y);
                let c = self.ins().bor(nan, c);
                self.vsel(c, x, y)
            }
            BinaryOp::Lt => self.ins().fcmp(FloatCC::LessThan, x, y),
            BinaryOp::Le => self.ins().fcmp(FloatCC::LessThanOrEqual, x, y),
            BinaryOp::Gt => self.ins().fcmp(FloatCC::GreaterThan, x, y),
            BinaryOp::Ge => self.ins().fcmp(FloatCC::GreaterThanOrEqual, x, y),
            BinaryOp::Eq => self.ins().fcmp(FloatCC::Equal, x, y),
            BinaryOp::Ne => self.ins().fcmp(FloatCC::NotEqual, x, y),
        })
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
    fn nest(
        &mut self,
        sizes: &[Value],
        order: &[usize],
        iv: &mut Vec<Value>,
        body: &mut dyn FnMut(&mut Self, &[Value]) -> R<()>,
    ) -> R<()> {
        match order.split_first() {
            None => body(self, iv),
            Some((&a, rest)) => {
                let zero = self.b.ins().iconst(I64, 0);
                self.for_loop(zero, sizes[a], 1, &mut |g, i| {
                    iv[a] = i;
                    g.nest(sizes, rest, iv, body)
                })
            }
        }
    }

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
            } => self.matmul(*out, *a, *b, batch, m, k, n),
            Kernel::Random { out, dist, seed } => self.random(*out, dist, *seed),
            _ => Err("this kernel kind is not compiled".into()),
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

    fn check_dtypes(&self, e: &Expr) -> R<()> {
        let mut err = Ok(());
        e.for_each_load(&mut |b| {
            if let Err(e) = clif_type(self.prog.buffers[b].dtype) {
                err = Err(e);
            }
        });
        err?;
        clif_type(e.dtype(&self.prog.buffers)).map(|_| ())
    }

    fn map(&mut self, out: BufId, expr: &Expr) -> R<()> {
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
        let sizes: Vec<Value> = shape
            .iter()
            .map(|d| {
                let v = self.dim(d);
                self.val(v)
            })
            .collect();
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
        let inner = rank - 1;
        let vec = odt == DType::F32 && self.vectorizable(expr, inner, &mut 1);
        self.vectorized = vec;
        let outer: Vec<usize> = (0..inner).collect();
        let mut iv = vec![zero; rank];
        let n = sizes[inner];
        self.nest(&sizes, &outer, &mut iv, &mut |g, iv| {
            g.set_rows(iv, Some(inner));
            let mut start = g.b.ins().iconst(I64, 0);
            if vec {
                let n4 = g.b.ins().band_imm_s(n, !3i64);
                g.for_loop(start, n4, 4, &mut |g, i| {
                    g.next_leaf = 1;
                    let v = g.vector(expr, inner, i)?;
                    let row = g.leaves[0].row.expect("rows set");
                    let ix = g.b.ins().iadd(row, i);
                    let a = g.addr(obase, ix, 4);
                    g.b.ins().store(trusted(), v, a, 0);
                    Ok(())
                })?;
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

    fn reduce(
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
        if d != odt || (d == DType::Bool && op == ReduceOp::Sum) {
            return Err(format!("a {} reduction of {}", op.name(), d.name()));
        }
        let rank = shape.len();
        let idx = Self::identity(rank);
        self.collect(expr, &idx, rank)?;
        let sizes: Vec<Value> = shape
            .iter()
            .map(|d| {
                let v = self.dim(d);
                self.val(v)
            })
            .collect();
        // Lane length (for the empty-lane result).
        let mut lane = IVal::C(1);
        for &a in axes {
            lane = self.mul(lane, IVal::V(sizes[a]));
        }
        let lane = self.val(lane);
        let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
        let ty = clif_type(d)?;
        let wide = d == DType::F32 && op == ReduceOp::Sum;
        let acc_ty = if wide { F64 } else { ty };
        let obase = self.bufs[&out];
        let es = elem_bytes(odt);
        let zero = self.b.ins().iconst(I64, 0);
        let mut iv = vec![zero; rank];
        // The output element: linear over the kept axes.
        self.nest(&sizes, &kept, &mut iv, &mut |g, ivk| {
            let mut oi = IVal::C(0);
            for &a in &kept {
                let t = g.mul(oi, IVal::V(sizes[a]));
                oi = g.add(t, IVal::V(ivk[a]));
            }
            let oi = g.val(oi);
            let init = match (d, op) {
                (_, ReduceOp::Sum) if wide => g.b.ins().f64const(0.0),
                (DType::F64, ReduceOp::Sum) => g.b.ins().f64const(-0.0),
                (DType::F32, ReduceOp::Max) => g.b.ins().f32const(f32::NEG_INFINITY),
                (DType::F32, _) => g.b.ins().f32const(f32::INFINITY),
                (DType::F64, ReduceOp::Max) => g.b.ins().f64const(f64::NEG_INFINITY),
                (DType::F64, _) => g.b.ins().f64const(f64::INFINITY),
                (DType::Bool, ReduceOp::Max) => g.b.ins().iconst(I8, 0),
                (DType::Bool, _) => g.b.ins().iconst(I8, 1),
                (_, ReduceOp::Sum) => g.b.ins().iconst(ty, 0),
                (DType::I32, ReduceOp::Max) => g.b.ins().iconst(I32, i32::MIN as i64),
                (DType::I32, _) => g.b.ins().iconst(I32, i32::MAX as i64),
                (_, ReduceOp::Max) => g.b.ins().iconst(I64, i64::MIN),
                (_, _) => g.b.ins().iconst(I64, i64::MAX),
            };
            let var = g.b.declare_var(acc_ty);
            g.b.def_var(var, init);
            let mut iv2 = ivk.to_vec();
            g.nest(&sizes, axes, &mut iv2, &mut |g, ivl| {
                g.set_rows(ivl, None);
                g.next_leaf = 0;
                let v = g.scalar(expr, None)?;
                let acc = g.b.use_var(var);
                let r = match (d, op) {
                    (_, ReduceOp::Sum) if wide => {
                        let w = g.b.ins().fpromote(F64, v);
                        g.b.ins().fadd(acc, w)
                    }
                    (DType::F64, ReduceOp::Sum) => g.b.ins().fadd(acc, v),
                    (DType::F32 | DType::F64, _) => {
                        let bop = if op == ReduceOp::Max {
                            BinaryOp::Max
                        } else {
                            BinaryOp::Min
                        };
                        g.binary(bop, d, acc, v)?
                    }
                    (DType::Bool, ReduceOp::Max) => g.b.ins().bor(acc, v),
                    (DType::Bool, _) => g.b.ins().band(acc, v),
                    (_, ReduceOp::Sum) => g.b.ins().iadd(acc, v),
                    (_, ReduceOp::Max) => g.b.ins().smax(acc, v),
                    (_, _) => g.b.ins().smin(acc, v),
                };
                g.b.def_var(var, r);
                Ok(())
            })?;
            let acc = g.b.use_var(var);
            let acc = if wide {
                g.b.ins().fdemote(F32, acc)
            } else {
                acc
            };
            let z = g.konst(crate::kernel::interp::cast(Val::I64(0), d));
            let empty = g.b.ins().icmp_imm_s(IntCC::Equal, lane, 0);
            let r = g.b.ins().select(empty, z, acc);
            let a = g.addr(obase, oi, es);
            g.b.ins().store(trusted(), r, a, 0);
            Ok(())
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn matmul(
        &mut self,
        out: BufId,
        a: BufId,
        bb: BufId,
        batch: &[Dim],
        m: &Dim,
        k: &Dim,
        n: &Dim,
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
        let zero = self.b.ins().iconst(I64, 0);
        let vec = d == DType::F32;
        self.vectorized = vec;
        // out[b, i, :] = 0; then for p in 0..k: out[b, i, j] += a[b, i, p] * b[b, p, j]
        // (each element accumulates over p in order from 0, as the interpreter).
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
                let zero_v = g.konst(crate::kernel::interp::cast(Val::I64(0), d));
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
                    let mut start = g.b.ins().iconst(I64, 0);
                    if vec {
                        let xs = g.splat(x);
                        let n4 = g.b.ins().band_imm_s(nv, !3i64);
                        g.for_loop(start, n4, 4, &mut |g, j| {
                            let bi = g.b.ins().iadd(brow, j);
                            let ba = g.addr(pb, bi, 4);
                            let y = g.b.ins().load(F32X4, trusted(), ba, 0);
                            let ci = g.b.ins().iadd(crow, j);
                            let ca = g.addr(pc, ci, 4);
                            let c = g.b.ins().load(F32X4, trusted(), ca, 0);
                            let t = g.b.ins().fmul(xs, y);
                            let r = g.b.ins().fadd(c, t);
                            g.b.ins().store(trusted(), r, ca, 0);
                            Ok(())
                        })?;
                        start = n4;
                    }
                    g.for_loop(start, nv, 1, &mut |g, j| {
                        let bi = g.b.ins().iadd(brow, j);
                        let ba = g.addr(pb, bi, es);
                        let y = g.b.ins().load(ty, trusted(), ba, 0);
                        let ci = g.b.ins().iadd(crow, j);
                        let ca = g.addr(pc, ci, es);
                        let c = g.b.ins().load(ty, trusted(), ca, 0);
                        let r = if ty == F32 || ty == F64 {
                            let t = g.b.ins().fmul(x, y);
                            g.b.ins().fadd(c, t)
                        } else {
                            let t = g.b.ins().imul(x, y);
                            g.b.ins().iadd(c, t)
                        };
                        g.b.ins().store(trusted(), r, ca, 0);
                        Ok(())
                    })
                })
            })
        })
    }

    fn random(&mut self, out: BufId, dist: &Distribution, seed: u64) -> R<()> {
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
