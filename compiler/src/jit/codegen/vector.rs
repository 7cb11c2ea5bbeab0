//! `f32x4` expressions for the vector inner loop of `Map` kernels.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Value};

use super::{trusted, Gen, IVal, R};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::types::DType;
use crate::kernel::Expr;

impl Gen<'_, '_> {
    // ---- vector expressions ---------------------------------------------

    /// Whether `e` can be evaluated four lanes at a time along axis
    /// `inner` (after `collect`): `f32` values and comparison masks, every
    /// load `f32` with a coefficient along `inner` of 0 (a splat) or 1 (a
    /// vector load) — or any, read lane by lane, when `gathers` — and no
    /// iota.
    pub(super) fn vectorizable(
        &self,
        e: &Expr,
        inner: usize,
        leaf: &mut usize,
        gathers: bool,
    ) -> bool {
        let bufs = &self.prog.buffers;
        let v = |e: &Expr, leaf: &mut usize| self.vectorizable(e, inner, leaf, gathers);
        let lane_type = |d: DType| matches!(d, DType::F32 | DType::I32);
        match e {
            Expr::Load { buf, .. } => {
                let l = &self.leaves[*leaf];
                *leaf += 1;
                lane_type(bufs[*buf].dtype)
                    && (gathers || matches!(l.aff.coef.get(inner), Some(IVal::C(0 | 1))))
            }
            Expr::Iota { dtype, .. } => {
                *leaf += 1;
                *dtype == DType::I32
            }
            Expr::Const { dtype, .. } | Expr::Size { dtype, .. } => lane_type(*dtype),
            Expr::Unary { arg, .. } => arg.dtype(bufs) == DType::F32 && v(arg, leaf),
            Expr::Binary { op, lhs, rhs } => match lhs.dtype(bufs) {
                DType::F32 => v(lhs, leaf) && v(rhs, leaf),
                DType::I32 => op.is_comparison() && v(lhs, leaf) && v(rhs, leaf),
                _ => false,
            },
            Expr::Select { cond, then, els } => {
                matches!(&**cond, Expr::Binary { op, .. } if op.is_comparison())
                    && then.dtype(bufs) == DType::F32
                    && v(cond, leaf)
                    && v(then, leaf)
                    && v(els, leaf)
            }
            Expr::Cast { to, arg } => {
                *to == DType::F32
                    && match arg.dtype(bufs) {
                        DType::F32 | DType::I32 => v(arg, leaf),
                        DType::Bool => {
                            matches!(&**arg, Expr::Binary { op, .. } if op.is_comparison())
                                && v(arg, leaf)
                        }
                        _ => false,
                    }
            }
            Expr::Remap { arg, .. } => v(arg, leaf),
        }
    }

    /// The addresses (base value and byte offset) of the four `f32` lanes
    /// `row + c * (i + l)`, l = 0..4, of a strided leaf.
    pub(super) fn lane_addrs(
        &mut self,
        base: Value,
        row: Value,
        c: IVal,
        i: Value,
    ) -> Vec<(Value, i32)> {
        let ci = self.mul(c, IVal::V(i));
        let first = self.add(IVal::V(row), ci);
        let first = self.val(first);
        let a0 = self.addr(base, first, 4);
        match c {
            IVal::C(k) if (k * 12).unsigned_abs() < i32::MAX as u64 / 2 => {
                (0..4).map(|l| (a0, (4 * k * l) as i32)).collect()
            }
            _ => {
                let step = self.val(c);
                let step = self.b.ins().ishl_imm_u(step, 2);
                let mut out = vec![(a0, 0)];
                let mut a = a0;
                for _ in 1..4 {
                    a = self.b.ins().iadd(a, step);
                    out.push((a, 0));
                }
                out
            }
        }
    }

    /// Stores the four lanes of `v` at `row + c * (i + l)` of `base`.
    pub(super) fn scatter(&mut self, v: Value, base: Value, row: Value, c: IVal, i: Value) {
        for (lane, (a, off)) in self.lane_addrs(base, row, c, i).into_iter().enumerate() {
            let x = self.b.ins().extractlane(v, lane as u8);
            self.b.ins().store(trusted(), x, a, off);
        }
    }

    /// Lanes 2 and 3 of an `f32x4` moved to lanes 0 and 1.
    pub(super) fn high_half(&mut self, v: Value) -> Value {
        let fl = MemFlagsData::new().with_endianness(Endianness::Little);
        let bytes = self.b.ins().bitcast(I8X16, fl, v);
        let mask: Vec<u8> = (8..16).chain(8..16).collect();
        let imm = self.b.func.dfg.immediates.push(ConstantData::from(mask));
        let sh = self.b.ins().shuffle(bytes, bytes, imm);
        self.b.ins().bitcast(F32X4, fl, sh)
    }

    /// Four copies of `x` (`f32` or `i32`).
    pub(super) fn splat(&mut self, x: Value) -> Value {
        let ty = if self.b.func.dfg.value_type(x) == I32 {
            I32X4
        } else {
            F32X4
        };
        self.b.ins().splat(ty, x)
    }

    pub(super) fn vconst(&mut self, x: f32) -> Value {
        let s = self.b.ins().f32const(x);
        self.splat(s)
    }

    pub(super) fn mask_f32(&mut self, m: Value) -> Value {
        let fl = MemFlagsData::new().with_endianness(Endianness::Little);
        self.b.ins().bitcast(F32X4, fl, m)
    }

    /// `c ? x : y` lane-wise, `c` an `i32x4` mask.
    pub(super) fn vsel(&mut self, c: Value, x: Value, y: Value) -> Value {
        let c = self.mask_f32(c);
        self.b.ins().bitselect(c, x, y)
    }

    /// Evaluates `e` at lanes `i..i+4` of axis `inner` as `f32x4` (or an
    /// `i32x4` mask for comparisons).
    pub(super) fn vector(&mut self, e: &Expr, inner: usize, i: Value) -> R<Value> {
        let bufs = &self.prog.buffers;
        if e.dtype(bufs) == DType::F32 {
            if let Some(v) = self.hoisted_value(e) {
                return Ok(self.splat(v));
            }
        }
        Ok(match e {
            Expr::Load { buf, .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let base = self.leaves[l].base.expect("a load leaf");
                let row = self.leaves[l].row.expect("rows set");
                let (st, vt) = if bufs[*buf].dtype == DType::I32 {
                    (I32, I32X4)
                } else {
                    (F32, F32X4)
                };
                match self.leaves[l].aff.coef[inner] {
                    IVal::C(0) => {
                        let a = self.addr(base, row, 4);
                        let x = self.b.ins().load(st, trusted(), a, 0);
                        self.splat(x)
                    }
                    IVal::C(1) => {
                        let ix = self.b.ins().iadd(row, i);
                        let a = self.addr(base, ix, 4);
                        self.b.ins().load(vt, trusted(), a, 0)
                    }
                    c => {
                        let mut v = None;
                        for (lane, a) in self.lane_addrs(base, row, c, i).into_iter().enumerate() {
                            let (a, off) = a;
                            let x = self.b.ins().load(st, trusted(), a, off);
                            v = Some(match v {
                                None => self.splat(x),
                                Some(v) => self.b.ins().insertlane(v, x, lane as u8),
                            });
                        }
                        v.expect("four lanes")
                    }
                }
            }
            Expr::Iota { .. } => {
                // i32 lanes row + c * (i + l), wrapping as the interpreter's
                // conversion of the index.
                let l = self.next_leaf;
                self.next_leaf += 1;
                let row = self.leaves[l].row.expect("rows set");
                let c = self.leaves[l].aff.coef[inner];
                let ci = self.mul(c, IVal::V(i));
                let first = self.add(IVal::V(row), ci);
                let first = self.val(first);
                let first = self.b.ins().ireduce(I32, first);
                let v = self.splat(first);
                match c {
                    IVal::C(0) => v,
                    c => {
                        let step = self.val(c);
                        let step = self.b.ins().ireduce(I32, step);
                        let mut lanes = self.splat(step);
                        let zero = self.b.ins().iconst(I32, 0);
                        lanes = self.b.ins().insertlane(lanes, zero, 0);
                        let two = self.b.ins().imul_imm_s(step, 2);
                        lanes = self.b.ins().insertlane(lanes, two, 2);
                        let three = self.b.ins().imul_imm_s(step, 3);
                        lanes = self.b.ins().insertlane(lanes, three, 3);
                        self.b.ins().iadd(v, lanes)
                    }
                }
            }
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
                if lhs.dtype(bufs) == DType::I32 {
                    let cc = match op {
                        BinaryOp::Lt => IntCC::SignedLessThan,
                        BinaryOp::Le => IntCC::SignedLessThanOrEqual,
                        BinaryOp::Gt => IntCC::SignedGreaterThan,
                        BinaryOp::Ge => IntCC::SignedGreaterThanOrEqual,
                        BinaryOp::Eq => IntCC::Equal,
                        BinaryOp::Ne => IntCC::NotEqual,
                        _ => return Err("i32 arithmetic in a vector loop".into()),
                    };
                    self.b.ins().icmp(cc, x, y)
                } else {
                    self.vbinary(*op, x, y)?
                }
            }
            Expr::Select { cond, then, els } => {
                let c = self.vector(cond, inner, i)?;
                let t = self.vector(then, inner, i)?;
                let f = self.vector(els, inner, i)?;
                self.vsel(c, t, f)
            }
            Expr::Cast { arg, .. } => {
                let x = self.vector(arg, inner, i)?;
                match arg.dtype(bufs) {
                    DType::I32 => self.b.ins().fcvt_from_sint(F32X4, x),
                    DType::Bool => {
                        let one = self.vconst(1.0);
                        let zero = self.vconst(0.0);
                        self.vsel(x, one, zero)
                    }
                    _ => x,
                }
            }
            Expr::Remap { arg, .. } => self.vector(arg, inner, i)?,
        })
    }

    pub(super) fn per_lane(&mut self, name: &'static str, args: &[Value]) -> R<Value> {
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

    pub(super) fn vunary(&mut self, op: UnaryOp, x: Value) -> R<Value> {
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
            UnaryOp::Exp => self.exp_f32(true, x),
            UnaryOp::Log => self.log_f32(true, x),
            UnaryOp::Sin => self.per_lane("weft_jit_sin_f32", &[x])?,
            UnaryOp::Cos => self.per_lane("weft_jit_cos_f32", &[x])?,
            UnaryOp::Tanh => self.tanh_f32(true, x),
            UnaryOp::Sigmoid => self.sigmoid_f32(true, x),
        })
    }

    pub(super) fn vbinary(&mut self, op: BinaryOp, x: Value, y: Value) -> R<Value> {
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
}
