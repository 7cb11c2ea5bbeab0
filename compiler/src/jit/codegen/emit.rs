//! The semantics table's emitter ([`crate::ops::Emit`]) for Cranelift: one
//! lane (`f32`, `f64`, `i32`, `i64`, and `i8` 0/1 for comparison results and
//! `bool`), or `f32x4`/`i32x4` with `i32x4` masks (all ones where true) for
//! comparison results. Every expression of a kernel goes through
//! [`Gen::unary`], [`Gen::binary`], [`Gen::cast`] and their vector forms,
//! which run the table's lowerings through this emitter.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, I32, I32X4, I64, I8};
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Type, Value};

use super::{clif_type, trusted, Gen, R};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::types::DType;
use crate::ir::types::Dim;
use crate::kernel::lower::{LoopEmit, LoopResult};
use crate::kernel::{elem_bytes, BufId};
use crate::ops::{self, Conv, Emit, FBin, FCmp, FUn, Host, IBin, ICmp, Val};

fn le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// [`Emit`] over a [`Gen`]: `vec` selects four lanes.
pub(super) struct Clif<'g, 'a, 'b> {
    g: &'g mut Gen<'a, 'b>,
    vec: bool,
    /// Integer constants made by `konst` in vector mode, by value: vector
    /// shifts take their amount as a scalar.
    splats: HashMap<Value, i64>,
}

impl<'g, 'a, 'b> Clif<'g, 'a, 'b> {
    pub(super) fn new(g: &'g mut Gen<'a, 'b>, vec: bool) -> Self {
        Clif {
            g,
            vec,
            splats: HashMap::new(),
        }
    }

    fn ty(&self, x: Value) -> Type {
        self.g.b.func.dfg.value_type(x)
    }

    /// The Cranelift type of a value of dtype `d` (per lane in vector mode).
    fn lane_type(&self, d: DType) -> R<Type> {
        if !self.vec {
            return clif_type(d);
        }
        match d {
            DType::F32 => Ok(F32X4),
            DType::I32 | DType::Bool => Ok(I32X4),
            DType::F64 | DType::I64 | DType::U8 | DType::F16 | DType::BF16 => {
                Err(format!("{d} in a vector loop"))
            }
        }
    }
}

fn float_cc(c: FCmp) -> FloatCC {
    match c {
        FCmp::Eq => FloatCC::Equal,
        FCmp::Ne => FloatCC::NotEqual,
        FCmp::Lt => FloatCC::LessThan,
        FCmp::Le => FloatCC::LessThanOrEqual,
        FCmp::Gt => FloatCC::GreaterThan,
        FCmp::Ge => FloatCC::GreaterThanOrEqual,
        FCmp::Uno => FloatCC::Unordered,
        FCmp::UGt => FloatCC::UnorderedOrGreaterThan,
        FCmp::ULt => FloatCC::UnorderedOrLessThan,
    }
}

fn int_cc(c: ICmp) -> IntCC {
    match c {
        ICmp::Eq => IntCC::Equal,
        ICmp::Ne => IntCC::NotEqual,
        ICmp::Slt => IntCC::SignedLessThan,
        ICmp::Sle => IntCC::SignedLessThanOrEqual,
        ICmp::Sgt => IntCC::SignedGreaterThan,
        ICmp::Sge => IntCC::SignedGreaterThanOrEqual,
        ICmp::Ult => IntCC::UnsignedLessThan,
        ICmp::Ugt => IntCC::UnsignedGreaterThan,
    }
}

impl Emit for Clif<'_, '_, '_> {
    type V = Value;

    fn konst(&mut self, v: Val) -> R<Value> {
        let ins = self.g.b.ins();
        let s = match v {
            Val::F32(x) => ins.f32const(x),
            Val::F64(x) => ins.f64const(x),
            Val::I32(x) => ins.iconst(I32, i64::from(x)),
            Val::I64(x) => ins.iconst(I64, x),
            Val::U8(x) => ins.iconst(I8, i64::from(x)),
            // A mask is all ones where true.
            Val::Bool(x) if self.vec => ins.iconst(I32, -i64::from(x)),
            Val::Bool(x) => ins.iconst(I8, i64::from(x)),
        };
        if !self.vec {
            return Ok(s);
        }
        let ty = self.lane_type(v.dtype())?;
        let r = self.g.b.ins().splat(ty, s);
        match v {
            Val::I32(x) => {
                self.splats.insert(r, i64::from(x));
            }
            Val::F32(_) | Val::F64(_) | Val::I64(_) | Val::U8(_) | Val::Bool(_) => {}
        }
        Ok(r)
    }

    fn float_fma(&mut self, a: Value, b: Value, c: Value) -> R<Value> {
        Ok(self.g.b.ins().fma(a, b, c))
    }

    fn float_unary(&mut self, op: FUn, x: Value) -> R<Value> {
        let i = self.g.b.ins();
        Ok(match op {
            FUn::Neg => i.fneg(x),
            FUn::Abs => i.fabs(x),
            FUn::Sqrt => i.sqrt(x),
            FUn::Floor => i.floor(x),
            FUn::Ceil => i.ceil(x),
            FUn::Nearest => i.nearest(x),
        })
    }

    fn float_binary(&mut self, op: FBin, a: Value, b: Value) -> R<Value> {
        if op == FBin::CopySign && self.vec {
            // No `fcopysign.f32x4` on x86-64: the same bits by masks.
            let ai = self.g.b.ins().bitcast(I32X4, le(), a);
            let bi = self.g.b.ins().bitcast(I32X4, le(), b);
            let mag = self.konst(Val::I32(0x7fff_ffff))?;
            let sign = self.konst(Val::I32(i32::MIN))?;
            let ai = self.g.b.ins().band(ai, mag);
            let bi = self.g.b.ins().band(bi, sign);
            let r = self.g.b.ins().bor(ai, bi);
            return Ok(self.g.b.ins().bitcast(F32X4, le(), r));
        }
        let i = self.g.b.ins();
        Ok(match op {
            FBin::Add => i.fadd(a, b),
            FBin::Sub => i.fsub(a, b),
            FBin::Mul => i.fmul(a, b),
            FBin::Div => i.fdiv(a, b),
            FBin::CopySign => i.fcopysign(a, b),
        })
    }

    fn int_binary(&mut self, op: IBin, a: Value, b: Value) -> R<Value> {
        let shift = matches!(op, IBin::Shl | IBin::AShr | IBin::LShr);
        let b = if shift && self.vec {
            // Vector shifts take a scalar amount.
            let k = *self
                .splats
                .get(&b)
                .ok_or("a vector shift by a non-constant amount")?;
            self.g.b.ins().iconst(I32, k)
        } else {
            b
        };
        let i = self.g.b.ins();
        Ok(match op {
            IBin::Add => i.iadd(a, b),
            IBin::Sub => i.isub(a, b),
            IBin::Mul => i.imul(a, b),
            IBin::SDiv => i.sdiv(a, b),
            IBin::SRem => i.srem(a, b),
            IBin::And => i.band(a, b),
            IBin::Or => i.bor(a, b),
            IBin::Xor => i.bxor(a, b),
            IBin::Shl => i.ishl(a, b),
            IBin::AShr => i.sshr(a, b),
            IBin::LShr => i.ushr(a, b),
            IBin::SMax => i.smax(a, b),
            IBin::SMin => i.smin(a, b),
        })
    }

    fn fcmp(&mut self, c: FCmp, a: Value, b: Value) -> R<Value> {
        Ok(self.g.b.ins().fcmp(float_cc(c), a, b))
    }

    fn icmp(&mut self, c: ICmp, a: Value, b: Value) -> R<Value> {
        Ok(self.g.b.ins().icmp(int_cc(c), a, b))
    }

    fn select(&mut self, c: Value, a: Value, b: Value) -> R<Value> {
        if !self.vec {
            return Ok(self.g.b.ins().select(c, a, b));
        }
        let ty = self.ty(a);
        let m = if self.ty(c) == ty {
            c
        } else {
            self.g.b.ins().bitcast(ty, le(), c)
        };
        Ok(self.g.b.ins().bitselect(m, a, b))
    }

    fn convert(&mut self, x: Value, from: DType, c: Conv) -> R<Value> {
        Ok(match c {
            // To u8 (scalar code only): through i32, clamped to 0..=255.
            Conv::FloatToInt(DType::U8) | Conv::FloatToIntInRange(DType::U8) => {
                let i = self.g.b.ins().fcvt_to_sint_sat(I32, x);
                let lo = self.g.b.ins().iconst(I32, 0);
                let hi = self.g.b.ins().iconst(I32, 255);
                let c = self.g.b.ins().smax(i, lo);
                let c = self.g.b.ins().smin(c, hi);
                self.g.b.ins().ireduce(I8, c)
            }
            Conv::FloatToInt(to) | Conv::FloatToIntInRange(to) => {
                let t = self.lane_type(to)?;
                self.g.b.ins().fcvt_to_sint_sat(t, x)
            }
            Conv::IntToFloat(to) if from == DType::U8 => {
                let w = self.g.b.ins().uextend(I32, x);
                let t = self.lane_type(to)?;
                self.g.b.ins().fcvt_from_sint(t, w)
            }
            Conv::IntToFloat(to) => {
                let t = self.lane_type(to)?;
                self.g.b.ins().fcvt_from_sint(t, x)
            }
            Conv::BoolToNum(to) if self.vec => {
                let one = self.konst(Val::constant(crate::ir::types::Scalar::Int(1), to)?)?;
                let zero = self.konst(Val::constant(crate::ir::types::Scalar::Int(0), to)?)?;
                self.select(x, one, zero)?
            }
            Conv::BoolToNum(to) => {
                let w = self.g.b.ins().uextend(I32, x);
                match to {
                    DType::F32 | DType::F64 => {
                        let t = clif_type(to)?;
                        self.g.b.ins().fcvt_from_uint(t, w)
                    }
                    DType::I64 => self.g.b.ins().uextend(I64, w),
                    DType::I32 => w,
                    DType::U8 => x,
                    DType::Bool | DType::F16 | DType::BF16 => {
                        return Err(format!("bool to {to}"));
                    }
                }
            }
            Conv::FloatToFloat(to) => {
                let t = self.lane_type(to)?;
                if to == DType::F64 {
                    self.g.b.ins().fpromote(t, x)
                } else {
                    self.g.b.ins().fdemote(t, x)
                }
            }
            Conv::IntToInt(to) => {
                let t = self.lane_type(to)?;
                match (from, to) {
                    // u8 is unsigned: it zero-extends.
                    (DType::U8, _) => self.g.b.ins().uextend(t, x),
                    (DType::I32, DType::I64) => self.g.b.ins().sextend(t, x),
                    _ => self.g.b.ins().ireduce(t, x),
                }
            }
            Conv::Bits(to) => {
                let t = self.lane_type(to)?;
                let _ = from;
                self.g.b.ins().bitcast(t, le(), x)
            }
        })
    }

    fn call(&mut self, f: Host, d: DType, args: &[Value]) -> R<Value> {
        let name = crate::jit::host::math_symbol(f, d)?;
        if !self.vec {
            return self.g.call(name, args);
        }
        // Lane by lane through the scalar function.
        let mut out = self.konst(Val::F32(0.0))?;
        for lane in 0..4u8 {
            let a: Vec<Value> = args
                .iter()
                .map(|&v| self.g.b.ins().extractlane(v, lane))
                .collect();
            let r = self.g.call(name, &a)?;
            out = self.g.b.ins().insertlane(out, r, lane);
        }
        Ok(out)
    }
}

impl Gen<'_, '_> {
    /// `op x` for `x` of dtype `d` (one lane).
    pub(super) fn unary(&mut self, op: UnaryOp, d: DType, x: Value) -> R<Value> {
        op.lower(&mut Clif::new(self, false), d, x)
    }

    /// `x op y` for operands of dtype `d` (one lane).
    pub(super) fn binary(&mut self, op: BinaryOp, d: DType, x: Value, y: Value) -> R<Value> {
        op.lower(&mut Clif::new(self, false), d, x, y)
    }

    /// `cast(x, to)` for `x` of dtype `from` (one lane).
    pub(super) fn cast(&mut self, x: Value, from: DType, to: DType) -> R<Value> {
        ops::lower_cast(&mut Clif::new(self, false), x, from, to)
    }

    /// `op x` on four `f32` lanes.
    pub(super) fn vunary(&mut self, op: UnaryOp, x: Value) -> R<Value> {
        op.lower(&mut Clif::new(self, true), DType::F32, x)
    }

    /// `x op y` on four lanes of dtype `d` (`f32`, or `i32` comparisons).
    pub(super) fn vbinary(&mut self, op: BinaryOp, d: DType, x: Value, y: Value) -> R<Value> {
        op.lower(&mut Clif::new(self, true), d, x, y)
    }

    /// `cast(x, F32)` on four lanes of dtype `from`.
    pub(super) fn vcast(&mut self, x: Value, from: DType, to: DType) -> R<Value> {
        ops::lower_cast(&mut Clif::new(self, true), x, from, to)
    }

    /// A constant of `v`'s dtype (one lane).
    pub(super) fn konst(&mut self, v: Val) -> R<Value> {
        Clif::new(self, false).konst(v)
    }
}

impl LoopEmit for Clif<'_, '_, '_> {
    fn dim(&mut self, d: &Dim) -> LoopResult<Value> {
        let v = self.g.dim(d);
        Ok(self.g.val(v))
    }

    fn for_range(
        &mut self,
        n: Value,
        body: &mut dyn FnMut(&mut Self, Value) -> LoopResult<()>,
    ) -> LoopResult<()> {
        // `Gen::for_loop`, open here so that the body sees `Self`.
        let b = &mut self.g.b;
        let (header, bodyb, exit) = (b.create_block(), b.create_block(), b.create_block());
        b.append_block_param(header, I64);
        let zero = b.ins().iconst(I64, 0);
        b.ins().jump(header, &[zero.into()]);
        b.switch_to_block(header);
        let i = b.block_params(header)[0];
        let c = b.ins().icmp(IntCC::SignedLessThan, i, n);
        b.ins().brif(c, bodyb, &[], exit, &[]);
        b.switch_to_block(bodyb);
        body(self, i)?;
        let b = &mut self.g.b;
        let next = b.ins().iadd_imm_s(i, 1);
        b.ins().jump(header, &[next.into()]);
        b.switch_to_block(exit);
        Ok(())
    }

    fn load(&mut self, buf: BufId, i: Value) -> LoopResult<Value> {
        let d = self.g.prog.buffers[buf].dtype;
        let ty = clif_type(d)?;
        let base = *self
            .g
            .bufs
            .get(&buf)
            .ok_or("a buffer the kernel does not bind")?;
        let a = self.g.addr(base, i, elem_bytes(d));
        Ok(self.g.b.ins().load(ty, trusted(), a, 0))
    }

    fn store(&mut self, buf: BufId, i: Value, v: Value) -> LoopResult<()> {
        let d = self.g.prog.buffers[buf].dtype;
        let base = *self
            .g
            .bufs
            .get(&buf)
            .ok_or("a buffer the kernel does not bind")?;
        let a = self.g.addr(base, i, elem_bytes(d));
        self.g.b.ins().store(trusted(), v, a, 0);
        Ok(())
    }

    fn fail_unless(&mut self, ok: Value, error: u32) -> LoopResult<()> {
        let b = &mut self.g.b;
        let (fail, cont) = (b.create_block(), b.create_block());
        b.ins().brif(ok, cont, &[], fail, &[]);
        b.switch_to_block(fail);
        let code = b.ins().iconst(I32, i64::from(error));
        b.ins().return_(&[code]);
        b.switch_to_block(cont);
        Ok(())
    }
}
