//! Scalar expressions of the kernel IR as LLVM values (bool values are `i1`),
//! through the semantics table: [`Llvm`] implements `weft_compiler::ops::Emit`,
//! and every unary, binary, cast and reduction step is the table's lowering
//! (`f32` exp/log/tanh/sigmoid included: `ops::vmath`, plain arithmetic that
//! the loop vectoriser widens like any other). No instruction carries a
//! fast-math flag: LLVM may neither contract a multiply and an add into an
//! FMA nor reassociate a sum, so built executables give the interpreter's
//! bits (an FMA is the table's `float_fma`, `llvm.fma`; reductions vectorise
//! through the table's interleaved partials). C library calls are
//! `nobuiltin` ([`LIBM_ATTRS`]). Measured maximum errors of the
//! vector math against `f64` references are in `llvm/tests.rs`
//! (`vector_math_accuracy`).

use inkwell::intrinsics::Intrinsic;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

use crate::gen::{Gen, OrStr, R};
use weft_compiler::ir::op::ReduceOp;
use weft_compiler::ir::types::{DType, Scalar};
use weft_compiler::kernel::{AxisSrc, Expr};
use weft_compiler::ops::{self, Conv, Emit, FBin, FCmp, FUn, Host, IBin, ICmp, Val};

/// The table's emitter over a [`Gen`].
pub struct Llvm<'g, 'c, 'p>(pub &'g Gen<'c, 'p>);

impl<'c> Emit for Llvm<'_, 'c, '_> {
    type V = BasicValueEnum<'c>;

    fn konst(&mut self, v: Val) -> R<Self::V> {
        let c = self.0.ctx;
        Ok(match v {
            Val::F32(x) => c.f32_type().const_float(f64::from(x)).into(),
            Val::F64(x) => c.f64_type().const_float(x).into(),
            Val::I32(x) => c.i32_type().const_int(x as i64 as u64, true).into(),
            Val::I64(x) => c.i64_type().const_int(x as u64, true).into(),
            Val::U8(x) => c.i8_type().const_int(u64::from(x), false).into(),
            Val::Bool(x) => c.bool_type().const_int(u64::from(x), false).into(),
        })
    }

    fn float_unary(&mut self, op: FUn, x: Self::V) -> R<Self::V> {
        let g = self.0;
        let x = x.into_float_value();
        Ok(match op {
            FUn::Neg => g.b.build_float_neg(x, "").s()?.into(),
            FUn::Abs => g.funary("llvm.fabs", x)?.into(),
            FUn::Sqrt => g.funary("llvm.sqrt", x)?.into(),
            FUn::Floor => g.funary("llvm.floor", x)?.into(),
            FUn::Ceil => g.funary("llvm.ceil", x)?.into(),
            FUn::Nearest => g.funary("llvm.roundeven", x)?.into(),
        })
    }

    fn float_fma(&mut self, a: Self::V, b: Self::V, c: Self::V) -> R<Self::V> {
        let (a, b, c) = (
            a.into_float_value(),
            b.into_float_value(),
            c.into_float_value(),
        );
        Ok(self.0.fma(a, b, c)?.into())
    }

    fn float_binary(&mut self, op: FBin, a: Self::V, b: Self::V) -> R<Self::V> {
        let g = self.0;
        let (a, b) = (a.into_float_value(), b.into_float_value());
        Ok(match op {
            FBin::Add => g.fbin('+', a, b)?.into(),
            FBin::Sub => g.fbin('-', a, b)?.into(),
            FBin::Mul => g.fbin('*', a, b)?.into(),
            FBin::Div => g.fbin('/', a, b)?.into(),
            FBin::CopySign => g.funary2("llvm.copysign", a, b)?.into(),
        })
    }

    fn int_binary(&mut self, op: IBin, a: Self::V, b: Self::V) -> R<Self::V> {
        let g = self.0;
        let (x, y) = (a.into_int_value(), b.into_int_value());
        let bb = &g.b;
        Ok(match op {
            IBin::Add => bb.build_int_add(x, y, "").s()?.into(),
            IBin::Sub => bb.build_int_sub(x, y, "").s()?.into(),
            IBin::Mul => bb.build_int_mul(x, y, "").s()?.into(),
            IBin::SDiv => bb.build_int_signed_div(x, y, "").s()?.into(),
            IBin::SRem => bb.build_int_signed_rem(x, y, "").s()?.into(),
            IBin::And => bb.build_and(x, y, "").s()?.into(),
            IBin::Or => bb.build_or(x, y, "").s()?.into(),
            IBin::Xor => bb.build_xor(x, y, "").s()?.into(),
            IBin::Shl => bb.build_left_shift(x, y, "").s()?.into(),
            IBin::AShr => bb.build_right_shift(x, y, true, "").s()?.into(),
            IBin::LShr => bb.build_right_shift(x, y, false, "").s()?.into(),
            IBin::SMax => g.intr("llvm.smax", &[x.get_type().into()], &[a, b])?,
            IBin::SMin => g.intr("llvm.smin", &[x.get_type().into()], &[a, b])?,
        })
    }

    fn fcmp(&mut self, c: FCmp, a: Self::V, b: Self::V) -> R<Self::V> {
        let p = match c {
            FCmp::Eq => FloatPredicate::OEQ,
            FCmp::Ne => FloatPredicate::UNE,
            FCmp::Lt => FloatPredicate::OLT,
            FCmp::Le => FloatPredicate::OLE,
            FCmp::Gt => FloatPredicate::OGT,
            FCmp::Ge => FloatPredicate::OGE,
            FCmp::Uno => FloatPredicate::UNO,
            FCmp::UGt => FloatPredicate::UGT,
            FCmp::ULt => FloatPredicate::ULT,
        };
        Ok(self
            .0
            .fcmp(p, a.into_float_value(), b.into_float_value())?
            .into())
    }

    fn icmp(&mut self, c: ICmp, a: Self::V, b: Self::V) -> R<Self::V> {
        let p = match c {
            ICmp::Eq => IntPredicate::EQ,
            ICmp::Ne => IntPredicate::NE,
            ICmp::Slt => IntPredicate::SLT,
            ICmp::Sle => IntPredicate::SLE,
            ICmp::Sgt => IntPredicate::SGT,
            ICmp::Sge => IntPredicate::SGE,
            ICmp::Ult => IntPredicate::ULT,
            ICmp::Ugt => IntPredicate::UGT,
        };
        Ok(self
            .0
            .b
            .build_int_compare(p, a.into_int_value(), b.into_int_value(), "")
            .s()?
            .into())
    }

    fn select(&mut self, c: Self::V, a: Self::V, b: Self::V) -> R<Self::V> {
        self.0.sel(c.into_int_value(), a, b)
    }

    fn convert(&mut self, x: Self::V, from: DType, c: Conv) -> R<Self::V> {
        let g = self.0;
        let bb = &g.b;
        Ok(match c {
            // u8 is unsigned: saturating to 0..=255, and zero-extended.
            Conv::FloatToInt(DType::U8) | Conv::FloatToIntInRange(DType::U8) => {
                g.intr("llvm.fptoui.sat", &[g.val_t(DType::U8), x.get_type()], &[x])?
            }
            Conv::IntToFloat(to) if from == DType::U8 => bb
                .build_unsigned_int_to_float(x.into_int_value(), g.val_t(to).into_float_type(), "")
                .s()?
                .into(),
            Conv::IntToInt(to) if from == DType::U8 => bb
                .build_int_z_extend(x.into_int_value(), g.val_t(to).into_int_type(), "")
                .s()?
                .into(),
            Conv::FloatToInt(to) => {
                g.intr("llvm.fptosi.sat", &[g.val_t(to), x.get_type()], &[x])?
            }
            Conv::FloatToIntInRange(to) => bb
                .build_float_to_signed_int(x.into_float_value(), g.val_t(to).into_int_type(), "")
                .s()?
                .into(),
            Conv::IntToFloat(to) => bb
                .build_signed_int_to_float(x.into_int_value(), g.val_t(to).into_float_type(), "")
                .s()?
                .into(),
            Conv::BoolToNum(to) if to.is_float() => bb
                .build_unsigned_int_to_float(x.into_int_value(), g.val_t(to).into_float_type(), "")
                .s()?
                .into(),
            Conv::BoolToNum(to) => bb
                .build_int_z_extend(x.into_int_value(), g.val_t(to).into_int_type(), "")
                .s()?
                .into(),
            Conv::FloatToFloat(DType::F64) => bb
                .build_float_ext(x.into_float_value(), g.ctx.f64_type(), "")
                .s()?
                .into(),
            Conv::FloatToFloat(to) => bb
                .build_float_trunc(x.into_float_value(), g.val_t(to).into_float_type(), "")
                .s()?
                .into(),
            Conv::IntToInt(DType::I64) => bb
                .build_int_s_extend(x.into_int_value(), g.ctx.i64_type(), "")
                .s()?
                .into(),
            Conv::IntToInt(to) => bb
                .build_int_truncate(x.into_int_value(), g.val_t(to).into_int_type(), "")
                .s()?
                .into(),
            Conv::Bits(to) => bb.build_bit_cast(x, g.val_t(to), "").s()?,
        })
    }

    fn call(&mut self, f: Host, d: DType, args: &[Self::V]) -> R<Self::V> {
        let g = self.0;
        let f64 = d == DType::F64;
        let un = |name: &str| -> R<Self::V> {
            let x = args.first().ok_or("a host call without operands")?;
            Ok(g.funary(name, x.into_float_value())?.into())
        };
        match f {
            Host::Exp => un("llvm.exp"),
            Host::Log => un("llvm.log"),
            Host::Sin => un("llvm.sin"),
            Host::Cos => un("llvm.cos"),
            Host::Tanh => {
                let x = args.first().ok_or("tanh without an operand")?;
                Ok(
                    g.libm(if f64 { "tanh" } else { "tanhf" }, x.into_float_value())?
                        .into(),
                )
            }
            // The C library's functions, as `f32::tan` etc. call them in the
            // interpreters and the JIT.
            Host::Tan | Host::Atan | Host::Log1p | Host::Expm1 | Host::Erf => {
                let x = args.first().ok_or("a host call without operands")?;
                let name = match (f, f64) {
                    (Host::Tan, false) => "tanf",
                    (Host::Tan, true) => "tan",
                    (Host::Atan, false) => "atanf",
                    (Host::Atan, true) => "atan",
                    (Host::Log1p, false) => "log1pf",
                    (Host::Log1p, true) => "log1p",
                    (Host::Expm1, false) => "expm1f",
                    (Host::Expm1, true) => "expm1",
                    (Host::Erf, false) => "erff",
                    _ => "erf",
                };
                Ok(g.libm(name, x.into_float_value())?.into())
            }
            Host::Pow => match args {
                [a, b] => Ok(g
                    .funary2("llvm.pow", a.into_float_value(), b.into_float_value())?
                    .into()),
                _ => Err("pow takes two operands".into()),
            },
            // The C library's, as Rust's `%` and `atan2` call them elsewhere.
            Host::Fmod | Host::Atan2 => match args {
                [a, b] => {
                    let name = match (f, f64) {
                        (Host::Fmod, false) => "fmodf",
                        (Host::Fmod, true) => "fmod",
                        (_, false) => "atan2f",
                        (_, true) => "atan2",
                    };
                    Ok(g.libm2(name, a.into_float_value(), b.into_float_value())?
                        .into())
                }
                _ => Err("a host function of two operands".into()),
            },
            Host::IPow => match args {
                [a, b] => Ok(g.ipow(a.into_int_value(), b.into_int_value())?.into()),
                _ => Err("ipow takes two operands".into()),
            },
        }
    }
}

/// Attributes of a C library function's declaration: it does not touch
/// memory and does not unwind; `nobuiltin`: LLVM must call it, never fold it
/// at compile time (its folder computes `atan2f` and the like in `double`,
/// one rounding away from the library the interpreters call) nor rewrite it
/// (`powf(x, 2)` as `x * x`).
const LIBM_ATTRS: [&str; 3] = ["memory", "nounwind", "nobuiltin"];

impl<'c> Gen<'c, '_> {
    pub fn intr(
        &self,
        name: &str,
        tys: &[BasicTypeEnum<'c>],
        args: &[BasicValueEnum<'c>],
    ) -> R<BasicValueEnum<'c>> {
        let i = Intrinsic::find(name).ok_or_else(|| format!("no intrinsic {name}"))?;
        let f = i
            .get_declaration(&self.module, tys)
            .ok_or_else(|| format!("cannot declare {name}"))?;
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        self.call(f, &args)?
            .ok_or_else(|| format!("{name} returns nothing"))
    }

    fn fbin(&self, op: char, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        let v = match op {
            '+' => self.b.build_float_add(a, b, "").s()?,
            '-' => self.b.build_float_sub(a, b, "").s()?,
            '*' => self.b.build_float_mul(a, b, "").s()?,
            _ => self.b.build_float_div(a, b, "").s()?,
        };
        Ok(v)
    }

    fn fcmp(&self, p: FloatPredicate, a: FloatValue<'c>, b: FloatValue<'c>) -> R<IntValue<'c>> {
        self.b.build_float_compare(p, a, b, "").s()
    }

    fn sel(
        &self,
        c: IntValue<'c>,
        a: impl Into<BasicValueEnum<'c>>,
        b: impl Into<BasicValueEnum<'c>>,
    ) -> R<BasicValueEnum<'c>> {
        self.b.build_select(c, a.into(), b.into(), "").s()
    }

    fn funary(&self, name: &str, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        Ok(self
            .intr(name, &[x.get_type().into()], &[x.into()])?
            .into_float_value())
    }

    /// `a * b + c` rounded once (`llvm.fma`, never a separate multiply and add).
    pub(crate) fn fma(
        &self,
        a: FloatValue<'c>,
        b: FloatValue<'c>,
        c: FloatValue<'c>,
    ) -> R<FloatValue<'c>> {
        Ok(self
            .intr(
                "llvm.fma",
                &[a.get_type().into()],
                &[a.into(), b.into(), c.into()],
            )?
            .into_float_value())
    }

    fn funary2(&self, name: &str, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        Ok(self
            .intr(name, &[a.get_type().into()], &[a.into(), b.into()])?
            .into_float_value())
    }

    /// A C library function of one float, marked as not touching memory.
    fn libm(&self, name: &str, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let t = x.get_type();
        let f = self.extern_fn(name, Some(t.into()), &[t.into()]);
        for attr in LIBM_ATTRS {
            f.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                self.enum_attr(attr, 0),
            );
        }
        Ok(self
            .call(f, &[x.into()])?
            .ok_or("libm result")?
            .into_float_value())
    }

    /// A C library function of two floats of one type.
    fn libm2(&self, name: &str, x: FloatValue<'c>, y: FloatValue<'c>) -> R<FloatValue<'c>> {
        let t = x.get_type();
        let f = self.extern_fn(name, Some(t.into()), &[t.into(), t.into()]);
        for attr in LIBM_ATTRS {
            f.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                self.enum_attr(attr, 0),
            );
        }
        Ok(self
            .call(f, &[x.into(), y.into()])?
            .ok_or("libm result")?
            .into_float_value())
    }

    /// Integer power (wrapping), through a helper function with a loop.
    fn ipow(&self, a: IntValue<'c>, b: IntValue<'c>) -> R<IntValue<'c>> {
        let t = a.get_type();
        let name = format!("weft_ipow_i{}", t.get_bit_width());
        let f = match self.module.get_function(&name) {
            Some(f) => f,
            None => crate::ipow_fn(self, &name, t)?,
        };
        Ok(self
            .call(f, &[a.into(), b.into()])?
            .ok_or("ipow")?
            .into_int_value())
    }

    /// `cast(v, to)` for `v` of dtype `from`.
    pub fn cast(&self, v: BasicValueEnum<'c>, from: DType, to: DType) -> R<BasicValueEnum<'c>> {
        ops::lower_cast(&mut Llvm(self), v, from, to)
    }

    fn index_value(&self, n: IntValue<'c>, d: DType) -> R<BasicValueEnum<'c>> {
        let tt = self.val_t(d);
        Ok(match d {
            DType::I64 => n.into(),
            d if d.is_float() => self
                .b
                .build_unsigned_int_to_float(n, tt.into_float_type(), "")
                .s()?
                .into(),
            _ => self
                .b
                .build_int_truncate(n, tt.into_int_type(), "")
                .s()?
                .into(),
        })
    }

    pub fn constant(&self, value: Scalar, d: DType) -> R<BasicValueEnum<'c>> {
        Llvm(self).konst(Val::constant(value, d)?)
    }

    pub fn constant_val(&self, v: Val) -> R<BasicValueEnum<'c>> {
        Llvm(self).konst(v)
    }

    /// The value of `e` at multi-index `idx`.
    pub fn expr(&self, e: &Expr, idx: &[IntValue<'c>]) -> R<BasicValueEnum<'c>> {
        let bufs = &self.prog.buffers;
        Ok(match e {
            Expr::Load { buf, view } => self.load_elem(*buf, self.linear(idx, view)?)?,
            Expr::Const { value, dtype } => self.constant(*value, *dtype)?,
            Expr::Iota { axis, dtype } => self.index_value(idx[*axis], *dtype)?,
            Expr::Size { dims, dtype } => self.index_value(self.numel(dims)?, *dtype)?,
            Expr::Unary { op, arg } => {
                let x = self.expr(arg, idx)?;
                op.lower(&mut Llvm(self), arg.dtype(bufs), x)?
            }
            Expr::Binary { op, lhs, rhs } => {
                let (x, y) = (self.expr(lhs, idx)?, self.expr(rhs, idx)?);
                op.lower(&mut Llvm(self), lhs.dtype(bufs), x, y)?
            }
            Expr::Select { cond, then, els } => {
                let c = self.expr(cond, idx)?.into_int_value();
                self.sel(c, self.expr(then, idx)?, self.expr(els, idx)?)?
            }
            Expr::Cast { to, arg } => self.cast(self.expr(arg, idx)?, arg.dtype(bufs), *to)?,
            Expr::Remap { shape, axes, arg } => {
                let mut inner = Vec::with_capacity(axes.len());
                for (j, a) in axes.iter().enumerate() {
                    inner.push(match a {
                        AxisSrc::Zero => self.i64c(0),
                        AxisSrc::Outer {
                            axis,
                            start: 0,
                            step: 1,
                        } => idx[*axis],
                        AxisSrc::Outer { axis, start, step } => {
                            let s = self.start(*start, self.dim(&shape[j]))?;
                            self.add(s, self.mul(idx[*axis], self.i64c(*step))?)?
                        }
                    });
                }
                self.expr(arg, &inner)?
            }
        })
    }

    /// The accumulator's first value (the table's identity).
    pub fn reduce_init(&self, op: ReduceOp, acc_d: DType) -> R<BasicValueEnum<'c>> {
        Llvm(self).konst(op.identity(acc_d)?)
    }

    /// One step of a reduction: the table's fold (every engine's bits).
    pub fn reduce_step(
        &self,
        op: ReduceOp,
        acc_d: DType,
        acc: BasicValueEnum<'c>,
        v: BasicValueEnum<'c>,
    ) -> R<BasicValueEnum<'c>> {
        op.lower_fold(&mut Llvm(self), acc_d, acc, v)
    }

    /// The table's tree over interleaved partials.
    pub fn combine_partials(
        &self,
        op: ReduceOp,
        acc_d: DType,
        p: [BasicValueEnum<'c>; weft_compiler::ops::PARTIALS],
    ) -> R<BasicValueEnum<'c>> {
        weft_compiler::ops::lower_partials(&mut Llvm(self), op, acc_d, p)
    }

    /// `argmax`'s update rule (the table's): whether `v` replaces the best `b`.
    pub fn argmax_better(
        &self,
        d: DType,
        v: BasicValueEnum<'c>,
        b: BasicValueEnum<'c>,
    ) -> R<IntValue<'c>> {
        Ok(ops::lower_argmax_better(&mut Llvm(self), d, v, b)?.into_int_value())
    }
}
