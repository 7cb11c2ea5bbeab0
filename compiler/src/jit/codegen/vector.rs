//! `f32x4` expressions for the vector inner loop of `Map` kernels.

use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Value};

use super::emit::Clif;
use super::{trusted, Gen, IVal, R};
use crate::ir::types::DType;
use crate::kernel::Expr;
use crate::ops::Emit;

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
                let d = lhs.dtype(bufs);
                let x = self.vector(lhs, inner, i)?;
                let y = self.vector(rhs, inner, i)?;
                self.vbinary(*op, d, x, y)?
            }
            Expr::Select { cond, then, els } => {
                let c = self.vector(cond, inner, i)?;
                let t = self.vector(then, inner, i)?;
                let f = self.vector(els, inner, i)?;
                Clif::new(self, true).select(c, t, f)?
            }
            Expr::Cast { to, arg } => {
                let from = arg.dtype(bufs);
                let x = self.vector(arg, inner, i)?;
                self.vcast(x, from, *to)?
            }
            Expr::Remap { arg, .. } => self.vector(arg, inner, i)?,
        })
    }
}
