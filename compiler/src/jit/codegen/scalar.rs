//! Scalar expressions: constants, unary and binary ops, casts, evaluated one element at a time.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, Type, Value};

use super::{clif_type, trusted, Gen, R};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::types::DType;
use crate::kernel::interp::{constant, Val};
use crate::kernel::{elem_bytes, Expr};

impl Gen<'_, '_> {
    // ---- scalar expressions -------------------------------------------------

    pub(super) fn fconst(&mut self, ty: Type, x: f64) -> Value {
        if ty == F32 {
            self.b.ins().f32const(x as f32)
        } else {
            self.b.ins().f64const(x)
        }
    }

    pub(super) fn konst(&mut self, v: Val) -> Value {
        match v {
            Val::F32(x) => self.b.ins().f32const(x),
            Val::F64(x) => self.b.ins().f64const(x),
            Val::I32(x) => self.b.ins().iconst(I32, x as i64),
            Val::I64(x) => self.b.ins().iconst(I64, x),
            Val::Bool(x) => self.b.ins().iconst(I8, x as i64),
        }
    }

    /// A u64 count or index converted like the interpreter's `from_u64`.
    pub(super) fn index_value(&mut self, n: Value, d: DType) -> R<Value> {
        Ok(match d {
            DType::F32 => self.b.ins().fcvt_from_uint(F32, n),
            DType::F64 => self.b.ins().fcvt_from_uint(F64, n),
            DType::I32 => self.b.ins().ireduce(I32, n),
            DType::I64 => n,
            _ => return Err(format!("an index of type {}", d.name())),
        })
    }

    /// Evaluates `e` at inner-loop index `inner` (leaf rows already set).
    pub(super) fn scalar(&mut self, e: &Expr, inner: Option<(usize, Value)>) -> R<Value> {
        if let Some(v) = self.hoisted_value(e) {
            return Ok(v);
        }
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

    pub(super) fn unary(&mut self, op: UnaryOp, d: DType, x: Value) -> R<Value> {
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
                    UnaryOp::Exp if f => self.exp_f32(false, x),
                    UnaryOp::Log if f => self.log_f32(false, x),
                    UnaryOp::Tanh if f => self.tanh_f32(false, x),
                    UnaryOp::Sigmoid if f => self.sigmoid_f32(false, x),
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

    pub(super) fn binary(&mut self, op: BinaryOp, d: DType, x: Value, y: Value) -> R<Value> {
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

    pub(super) fn cast(&mut self, x: Value, from: DType, to: DType) -> R<Value> {
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
}
