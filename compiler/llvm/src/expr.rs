//! Scalar expressions of the kernel IR as LLVM values (bool values are `i1`),
//! with the numeric rules of the interpreters: NaN-propagating max/min, floor
//! division with `x // 0 = 0`, wrapping integers, saturating float → int
//! casts. `fmul`/`fadd`/`fsub` carry `contract` so that LLVM forms FMAs.
//!
//! Vector math. `f32` `exp`, `log`, `tanh` and `sigmoid` are inline
//! polynomial code (Cephes' single-precision approximations, see
//! [`Gen::exp_f32`] ...), plain arithmetic that the loop vectoriser widens
//! like any other; `f64` versions call the C library (scalar). Measured
//! maximum errors against `f64` references are in `llvm/tests.rs`
//! (`vector_math_accuracy`) and the module documentation of `llvm`.

use inkwell::intrinsics::Intrinsic;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FastMathFlags, FloatValue, IntValue,
};
use inkwell::{FloatPredicate, IntPredicate};

use crate::gen::{Gen, OrStr, R};
use weft_compiler::ir::op::{BinaryOp, ReduceOp, UnaryOp};
use weft_compiler::ir::types::{DType, Scalar};
use weft_compiler::kernel::vmath::{EXP_P, LN2_HI, LN2_LO, LOG_P, TANH_P};
use weft_compiler::kernel::{AxisSrc, Expr};

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

    fn fflags(&self, v: FloatValue<'c>, flags: FastMathFlags) {
        if let Some(i) = v.as_instruction() {
            let _ = i.set_fast_math_flags(flags);
        }
    }

    fn fbin(&self, op: char, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        let v = match op {
            '+' => self.b.build_float_add(a, b, "").s()?,
            '-' => self.b.build_float_sub(a, b, "").s()?,
            '*' => self.b.build_float_mul(a, b, "").s()?,
            _ => self.b.build_float_div(a, b, "").s()?,
        };
        self.fflags(v, FastMathFlags::AllowContract);
        Ok(v)
    }

    fn fc(&self, like: FloatValue<'c>, v: f64) -> FloatValue<'c> {
        like.get_type().const_float(v)
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

    fn fsel(&self, c: IntValue<'c>, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        Ok(self.sel(c, a, b)?.into_float_value())
    }

    fn funary(&self, name: &str, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        Ok(self
            .intr(name, &[x.get_type().into()], &[x.into()])?
            .into_float_value())
    }

    /// A C library function of one `double`, marked as not touching memory.
    fn libm_f64(&self, name: &str, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let t = self.ctx.f64_type();
        let f = self.extern_fn(name, Some(t.into()), &[t.into()]);
        f.add_attribute(
            inkwell::attributes::AttributeLoc::Function,
            self.enum_attr("memory", 0),
        );
        f.add_attribute(
            inkwell::attributes::AttributeLoc::Function,
            self.enum_attr("nounwind", 0),
        );
        Ok(self
            .call(f, &[x.into()])?
            .ok_or("libm result")?
            .into_float_value())
    }

    /// `p[0] * x^(n-1) + ... + p[n-1]` by Horner's rule.
    fn horner(&self, x: FloatValue<'c>, p: &[f64]) -> R<FloatValue<'c>> {
        let mut y = self.fc(x, p[0]);
        for &c in &p[1..] {
            y = self.fbin('+', self.fbin('*', y, x)?, self.fc(x, c))?;
        }
        Ok(y)
    }

    /// `e^x` in single precision: x = n ln2 + r, |r| <= ln2/2, e^r by a
    /// degree-7 polynomial (Cephes `expf`), 2^n applied in two halves so that
    /// overflow gives inf and tiny results round gradually to subnormals and 0.
    pub fn exp_f32(&self, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let xc = self.funary2("llvm.maxnum", x, self.fc(x, -104.0))?;
        let xc = self.funary2("llvm.minnum", xc, self.fc(x, 89.0))?;
        let n = self.funary(
            "llvm.rint",
            self.fbin('*', xc, self.fc(x, std::f64::consts::LOG2_E))?,
        )?;
        let r = self.fbin('-', xc, self.fbin('*', n, self.fc(x, LN2_HI))?)?;
        let r = self.fbin('-', r, self.fbin('*', n, self.fc(x, LN2_LO))?)?;
        let p = self.horner(r, &EXP_P)?;
        let y = self.fbin(
            '+',
            self.fbin('+', self.fbin('*', p, self.fbin('*', r, r)?)?, r)?,
            self.fc(x, 1.0),
        )?;
        let i32t = self.ctx.i32_type();
        let ni = self.b.build_float_to_signed_int(n, i32t, "").s()?;
        let n1 = self
            .b
            .build_right_shift(ni, i32t.const_int(1, false), true, "")
            .s()?;
        let n2 = self.b.build_int_sub(ni, n1, "").s()?;
        let pow2 = |k: IntValue<'c>| -> R<FloatValue<'c>> {
            let e = self
                .b
                .build_int_add(k, i32t.const_int(127, false), "")
                .s()?;
            let bits = self
                .b
                .build_left_shift(e, i32t.const_int(23, false), "")
                .s()?;
            Ok(self
                .b
                .build_bit_cast(bits, self.ctx.f32_type(), "")
                .s()?
                .into_float_value())
        };
        let y = self.fbin('*', self.fbin('*', y, pow2(n1)?)?, pow2(n2)?)?;
        let nan = self.fcmp(FloatPredicate::UNO, x, x)?;
        self.fsel(nan, x, y)
    }

    fn funary2(&self, name: &str, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        Ok(self
            .intr(name, &[a.get_type().into()], &[a.into(), b.into()])?
            .into_float_value())
    }

    /// `ln x` in single precision: x = m 2^e with m in [sqrt(1/2), sqrt 2),
    /// ln(1+f) by Cephes' `logf` polynomial; subnormals are scaled first;
    /// ln 0 = -inf, ln of a negative number = NaN, ln inf = inf.
    pub fn log_f32(&self, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let (i32t, f32t) = (self.ctx.i32_type(), self.ctx.f32_type());
        let sub = self.fcmp(FloatPredicate::OLT, x, self.fc(x, 1.17549435e-38))?;
        let xs = self.fsel(sub, self.fbin('*', x, self.fc(x, 8388608.0))?, x)?;
        let bits = self.b.build_bit_cast(xs, i32t, "").s()?.into_int_value();
        let e = self
            .b
            .build_right_shift(bits, i32t.const_int(23, false), false, "")
            .s()?;
        let e = self
            .b
            .build_int_sub(e, i32t.const_int(127, false), "")
            .s()?;
        let adj = self
            .sel(sub, i32t.const_int(23, false), i32t.const_zero())?
            .into_int_value();
        let e = self.b.build_int_sub(e, adj, "").s()?;
        let mb = self
            .b
            .build_and(bits, i32t.const_int(0x007f_ffff, false), "")
            .s()?;
        let mb = self
            .b
            .build_or(mb, i32t.const_int(0x3f80_0000, false), "")
            .s()?;
        let m = self.b.build_bit_cast(mb, f32t, "").s()?.into_float_value();
        let big = self.fcmp(FloatPredicate::OGT, m, self.fc(x, std::f64::consts::SQRT_2))?;
        let m = self.fsel(big, self.fbin('*', m, self.fc(x, 0.5))?, m)?;
        let e = self
            .b
            .build_int_add(e, self.b.build_int_z_extend(big, i32t, "").s()?, "")
            .s()?;
        let f = self.fbin('-', m, self.fc(x, 1.0))?;
        let z = self.fbin('*', f, f)?;
        let p = self.horner(f, &LOG_P)?;
        let y = self.fbin('*', self.fbin('*', p, z)?, f)?;
        let ef = self.b.build_signed_int_to_float(e, f32t, "").s()?;
        let y = self.fbin('+', y, self.fbin('*', ef, self.fc(x, LN2_LO))?)?;
        let y = self.fbin('-', y, self.fbin('*', z, self.fc(x, 0.5))?)?;
        let r = self.fbin(
            '+',
            self.fbin('+', f, y)?,
            self.fbin('*', ef, self.fc(x, LN2_HI))?,
        )?;
        let inf = self.fc(x, f64::INFINITY);
        let r = self.fsel(self.fcmp(FloatPredicate::OEQ, x, inf)?, inf, r)?;
        let r = self.fsel(
            self.fcmp(FloatPredicate::OEQ, x, self.fc(x, 0.0))?,
            self.fc(x, f64::NEG_INFINITY),
            r,
        )?;
        let bad = self.fcmp(FloatPredicate::ULT, x, self.fc(x, 0.0))?; // negative or NaN
        self.fsel(bad, self.fc(x, f64::NAN), r)
    }

    /// `tanh x`: an odd polynomial for |x| < 0.625 (Cephes `tanhf`), else
    /// `1 - 2 / (e^{2|x|} + 1)` with the sign of x.
    pub fn tanh_f32(&self, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let a = self.funary("llvm.fabs", x)?;
        let z = self.fbin('*', x, x)?;
        let p = self.horner(z, &TANH_P)?;
        let small = self.fbin('+', self.fbin('*', self.fbin('*', p, z)?, x)?, x)?;
        let e = self.exp_f32(self.fbin('+', a, a)?)?;
        let t = self.fbin(
            '-',
            self.fc(x, 1.0),
            self.fbin('/', self.fc(x, 2.0), self.fbin('+', e, self.fc(x, 1.0))?)?,
        )?;
        let large = self.funary2("llvm.copysign", t, x)?;
        self.fsel(
            self.fcmp(FloatPredicate::OLT, a, self.fc(x, 0.625))?,
            small,
            large,
        )
    }

    /// `1 / (1 + e^-x)` for x >= 0, `e^x / (1 + e^x)` below (one exp of -|x|).
    fn sigmoid(&self, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let na = self
            .b
            .build_float_neg(self.funary("llvm.fabs", x)?, "")
            .s()?;
        let e = if x.get_type() == self.ctx.f32_type() {
            self.exp_f32(na)?
        } else {
            self.funary("llvm.exp", na)?
        };
        let d = self.fbin('+', self.fc(x, 1.0), e)?;
        let pos = self.fbin('/', self.fc(x, 1.0), d)?;
        let neg = self.fbin('/', e, d)?;
        self.fsel(
            self.fcmp(FloatPredicate::OGE, x, self.fc(x, 0.0))?,
            pos,
            neg,
        )
    }

    fn unary_float(&self, u: UnaryOp, x: FloatValue<'c>) -> R<FloatValue<'c>> {
        let f32 = x.get_type() == self.ctx.f32_type();
        let zero = self.fc(x, 0.0);
        Ok(match u {
            UnaryOp::Neg => self.b.build_float_neg(x, "").s()?,
            UnaryOp::Exp if f32 => self.exp_f32(x)?,
            UnaryOp::Exp => self.funary("llvm.exp", x)?,
            UnaryOp::Log if f32 => self.log_f32(x)?,
            UnaryOp::Log => self.funary("llvm.log", x)?,
            UnaryOp::Tanh if f32 => self.tanh_f32(x)?,
            UnaryOp::Tanh => self.libm_f64("tanh", x)?,
            UnaryOp::Sigmoid => self.sigmoid(x)?,
            UnaryOp::Sqrt => self.funary("llvm.sqrt", x)?,
            UnaryOp::Rsqrt => self
                .b
                .build_float_div(self.fc(x, 1.0), self.funary("llvm.sqrt", x)?, "")
                .s()?,
            UnaryOp::Abs => self.funary("llvm.fabs", x)?,
            UnaryOp::Floor => self.funary("llvm.floor", x)?,
            UnaryOp::Ceil => self.funary("llvm.ceil", x)?,
            UnaryOp::Sin => self.funary("llvm.sin", x)?,
            UnaryOp::Cos => self.funary("llvm.cos", x)?,
            UnaryOp::Sign => {
                let z = self.fsel(self.fcmp(FloatPredicate::UNO, x, x)?, x, zero)?;
                let m = self.fsel(
                    self.fcmp(FloatPredicate::OLT, x, zero)?,
                    self.fc(x, -1.0),
                    z,
                )?;
                self.fsel(self.fcmp(FloatPredicate::OGT, x, zero)?, self.fc(x, 1.0), m)?
            }
            UnaryOp::Relu => self.fsel(self.fcmp(FloatPredicate::UGT, x, zero)?, x, zero)?,
        })
    }

    fn unary_int(&self, u: UnaryOp, x: IntValue<'c>) -> R<IntValue<'c>> {
        let t = x.get_type();
        let zero = t.const_zero();
        let neg = self.b.build_int_sub(zero, x, "").s()?;
        let lt = self
            .b
            .build_int_compare(IntPredicate::SLT, x, zero, "")
            .s()?;
        let gt = self
            .b
            .build_int_compare(IntPredicate::SGT, x, zero, "")
            .s()?;
        Ok(match u {
            UnaryOp::Neg => neg,
            UnaryOp::Abs => self.sel(lt, neg, x)?.into_int_value(),
            UnaryOp::Sign => {
                let m = self.sel(lt, t.const_all_ones(), zero)?.into_int_value();
                self.sel(gt, t.const_int(1, false), m)?.into_int_value()
            }
            _ => self.sel(gt, x, zero)?.into_int_value(),
        })
    }

    /// NaN-propagating max (`max`) or min: `a` if `a` is NaN or wins, else `b`.
    pub fn fmaxmin(&self, max: bool, a: FloatValue<'c>, b: FloatValue<'c>) -> R<FloatValue<'c>> {
        let p = if max {
            FloatPredicate::OGE
        } else {
            FloatPredicate::OLE
        };
        let wins = self.fcmp(p, a, b)?;
        let nan = self.fcmp(FloatPredicate::UNO, a, a)?;
        let c = self.b.build_or(wins, nan, "").s()?;
        self.fsel(c, a, b)
    }

    fn binary(
        &self,
        op: BinaryOp,
        d: DType,
        x: BasicValueEnum<'c>,
        y: BasicValueEnum<'c>,
    ) -> R<BasicValueEnum<'c>> {
        if op.is_comparison() {
            return Ok(if d.is_float() {
                let p = match op {
                    BinaryOp::Lt => FloatPredicate::OLT,
                    BinaryOp::Le => FloatPredicate::OLE,
                    BinaryOp::Gt => FloatPredicate::OGT,
                    BinaryOp::Ge => FloatPredicate::OGE,
                    BinaryOp::Eq => FloatPredicate::OEQ,
                    _ => FloatPredicate::UNE,
                };
                self.fcmp(p, x.into_float_value(), y.into_float_value())?
                    .into()
            } else {
                let p = match op {
                    BinaryOp::Lt => IntPredicate::SLT,
                    BinaryOp::Le => IntPredicate::SLE,
                    BinaryOp::Gt => IntPredicate::SGT,
                    BinaryOp::Ge => IntPredicate::SGE,
                    BinaryOp::Eq => IntPredicate::EQ,
                    _ => IntPredicate::NE,
                };
                self.b
                    .build_int_compare(p, x.into_int_value(), y.into_int_value(), "")
                    .s()?
                    .into()
            });
        }
        if d.is_float() {
            let (a, b) = (x.into_float_value(), y.into_float_value());
            return Ok(match op {
                BinaryOp::Add => self.fbin('+', a, b)?,
                BinaryOp::Sub => self.fbin('-', a, b)?,
                BinaryOp::Mul => self.fbin('*', a, b)?,
                BinaryOp::Div => self.fbin('/', a, b)?,
                BinaryOp::Pow => self.funary2("llvm.pow", a, b)?,
                BinaryOp::Max => self.fmaxmin(true, a, b)?,
                _ => self.fmaxmin(false, a, b)?,
            }
            .into());
        }
        let (a, b) = (x.into_int_value(), y.into_int_value());
        Ok(match op {
            BinaryOp::Add => self.b.build_int_add(a, b, "").s()?,
            BinaryOp::Sub => self.b.build_int_sub(a, b, "").s()?,
            BinaryOp::Mul => self.b.build_int_mul(a, b, "").s()?,
            BinaryOp::Div => self.floor_div(a, b)?,
            BinaryOp::Pow => self.ipow(a, b)?,
            BinaryOp::Max => {
                let c = self.b.build_int_compare(IntPredicate::SGE, a, b, "").s()?;
                self.sel(c, a, b)?.into_int_value()
            }
            _ => {
                let c = self.b.build_int_compare(IntPredicate::SLE, a, b, "").s()?;
                self.sel(c, a, b)?.into_int_value()
            }
        }
        .into())
    }

    /// Floor division; `x // 0 = 0`, `MIN // -1 = MIN` (no trap).
    fn floor_div(&self, a: IntValue<'c>, b: IntValue<'c>) -> R<IntValue<'c>> {
        let t = a.get_type();
        let (zero, one, m1) = (t.const_zero(), t.const_int(1, false), t.const_all_ones());
        let is0 = self
            .b
            .build_int_compare(IntPredicate::EQ, b, zero, "")
            .s()?;
        let ism1 = self.b.build_int_compare(IntPredicate::EQ, b, m1, "").s()?;
        let special = self.b.build_or(is0, ism1, "").s()?;
        let safe = self.sel(special, one, b)?.into_int_value();
        let q = self.b.build_int_signed_div(a, safe, "").s()?;
        let r = self.b.build_int_signed_rem(a, safe, "").s()?;
        let rnz = self
            .b
            .build_int_compare(IntPredicate::NE, r, zero, "")
            .s()?;
        let sa = self
            .b
            .build_int_compare(IntPredicate::SLT, a, zero, "")
            .s()?;
        let sb = self
            .b
            .build_int_compare(IntPredicate::SLT, b, zero, "")
            .s()?;
        let diff = self.b.build_xor(sa, sb, "").s()?;
        let adj = self.b.build_and(rnz, diff, "").s()?;
        let q = self
            .sel(adj, self.b.build_int_sub(q, one, "").s()?, q)?
            .into_int_value();
        let q = self
            .sel(ism1, self.b.build_int_sub(zero, a, "").s()?, q)?
            .into_int_value();
        Ok(self.sel(is0, zero, q)?.into_int_value())
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

    fn cast(&self, v: BasicValueEnum<'c>, from: DType, to: DType) -> R<BasicValueEnum<'c>> {
        if from == to {
            return Ok(v);
        }
        let tt = self.val_t(to);
        Ok(match (from.is_float(), to) {
            (true, DType::Bool) => {
                let x = v.into_float_value();
                self.fcmp(FloatPredicate::UNE, x, self.fc(x, 0.0))?.into()
            }
            (true, t) if t.is_float() => {
                let x = v.into_float_value();
                if to == DType::F64 {
                    self.b
                        .build_float_ext(x, self.ctx.f64_type(), "")
                        .s()?
                        .into()
                } else {
                    self.b
                        .build_float_trunc(x, self.ctx.f32_type(), "")
                        .s()?
                        .into()
                }
            }
            (true, _) => self.intr("llvm.fptosi.sat", &[tt, v.get_type()], &[v])?,
            (false, DType::Bool) => {
                let x = v.into_int_value();
                self.b
                    .build_int_compare(IntPredicate::NE, x, x.get_type().const_zero(), "")
                    .s()?
                    .into()
            }
            (false, t) if t.is_float() => {
                let x = v.into_int_value();
                if from == DType::Bool {
                    self.b
                        .build_unsigned_int_to_float(x, tt.into_float_type(), "")
                        .s()?
                        .into()
                } else {
                    self.b
                        .build_signed_int_to_float(x, tt.into_float_type(), "")
                        .s()?
                        .into()
                }
            }
            (false, _) => {
                let x = v.into_int_value();
                let (fw, tw) = (
                    x.get_type().get_bit_width(),
                    tt.into_int_type().get_bit_width(),
                );
                if from == DType::Bool {
                    self.b
                        .build_int_z_extend(x, tt.into_int_type(), "")
                        .s()?
                        .into()
                } else if fw > tw {
                    self.b
                        .build_int_truncate(x, tt.into_int_type(), "")
                        .s()?
                        .into()
                } else {
                    self.b
                        .build_int_s_extend(x, tt.into_int_type(), "")
                        .s()?
                        .into()
                }
            }
        })
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

    pub fn constant(&self, value: Scalar, d: DType) -> BasicValueEnum<'c> {
        let tt = self.val_t(d);
        let v = weft_compiler::kernel::interp::constant(value, d);
        use weft_compiler::kernel::interp::Val;
        match v {
            Val::F32(x) => tt.into_float_type().const_float(x as f64).into(),
            Val::F64(x) => tt.into_float_type().const_float(x).into(),
            Val::I32(x) => tt.into_int_type().const_int(x as i64 as u64, true).into(),
            Val::I64(x) => tt.into_int_type().const_int(x as u64, true).into(),
            Val::Bool(x) => tt.into_int_type().const_int(x as u64, false).into(),
        }
    }

    /// The value of `e` at multi-index `idx`.
    pub fn expr(&self, e: &Expr, idx: &[IntValue<'c>]) -> R<BasicValueEnum<'c>> {
        let bufs = &self.prog.buffers;
        Ok(match e {
            Expr::Load { buf, view } => self.load_elem(*buf, self.linear(idx, view)?)?,
            Expr::Const { value, dtype } => self.constant(*value, *dtype),
            Expr::Iota { axis, dtype } => self.index_value(idx[*axis], *dtype)?,
            Expr::Size { dims, dtype } => self.index_value(self.numel(dims)?, *dtype)?,
            Expr::Unary { op, arg } => {
                let x = self.expr(arg, idx)?;
                if x.is_float_value() {
                    self.unary_float(*op, x.into_float_value())?.into()
                } else {
                    self.unary_int(*op, x.into_int_value())?.into()
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let d = lhs.dtype(bufs);
                self.binary(*op, d, self.expr(lhs, idx)?, self.expr(rhs, idx)?)?
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

    pub fn reduce_init(&self, op: ReduceOp, d: DType) -> R<BasicValueEnum<'c>> {
        let t = self.val_t(d);
        Ok(match (op, d) {
            (ReduceOp::Sum, _) => t.const_zero(),
            (ReduceOp::Max, DType::Bool) => t.const_zero(),
            (ReduceOp::Min, DType::Bool) => t.into_int_type().const_all_ones().into(),
            (ReduceOp::Max, d) if d.is_float() => {
                t.into_float_type().const_float(f64::NEG_INFINITY).into()
            }
            (ReduceOp::Min, d) if d.is_float() => {
                t.into_float_type().const_float(f64::INFINITY).into()
            }
            (ReduceOp::Max, DType::I32) => t
                .into_int_type()
                .const_int(i32::MIN as i64 as u64, true)
                .into(),
            (ReduceOp::Min, DType::I32) => {
                t.into_int_type().const_int(i32::MAX as u64, true).into()
            }
            (ReduceOp::Max, _) => t.into_int_type().const_int(i64::MIN as u64, true).into(),
            (ReduceOp::Min, _) => t.into_int_type().const_int(i64::MAX as u64, true).into(),
        })
    }

    /// One step of a reduction. Float sums may be reassociated (vectorised).
    pub fn reduce_step(
        &self,
        op: ReduceOp,
        d: DType,
        acc: BasicValueEnum<'c>,
        v: BasicValueEnum<'c>,
    ) -> R<BasicValueEnum<'c>> {
        Ok(match (op, d) {
            (ReduceOp::Sum, d) if d.is_float() => {
                let s = self
                    .b
                    .build_float_add(acc.into_float_value(), v.into_float_value(), "")
                    .s()?;
                self.fflags(
                    s,
                    FastMathFlags::AllowContract | FastMathFlags::AllowReassoc,
                );
                s.into()
            }
            (ReduceOp::Max, DType::Bool) => self
                .b
                .build_or(acc.into_int_value(), v.into_int_value(), "")
                .s()?
                .into(),
            (ReduceOp::Min, DType::Bool) => self
                .b
                .build_and(acc.into_int_value(), v.into_int_value(), "")
                .s()?
                .into(),
            // NaN-propagating like the interpreters' rule (which differs only
            // in which of -0 and +0 it keeps); the loop vectoriser turns these
            // intrinsics into vector reductions, not the compare-and-select.
            (ReduceOp::Max, d) if d.is_float() => self
                .funary2("llvm.maximum", acc.into_float_value(), v.into_float_value())?
                .into(),
            (ReduceOp::Min, d) if d.is_float() => self
                .funary2("llvm.minimum", acc.into_float_value(), v.into_float_value())?
                .into(),
            (ReduceOp::Max, _) => self.binary(BinaryOp::Max, d, acc, v)?,
            (ReduceOp::Min, _) => self.binary(BinaryOp::Min, d, acc, v)?,
            (ReduceOp::Sum, _) => self.binary(BinaryOp::Add, d, acc, v)?,
        })
    }

    /// Argmax update rule: `v` replaces the best `b` when `b` is not NaN and
    /// `v` is NaN or greater.
    pub fn argmax_better(
        &self,
        d: DType,
        v: BasicValueEnum<'c>,
        b: BasicValueEnum<'c>,
    ) -> R<IntValue<'c>> {
        if d.is_float() {
            let (v, b) = (v.into_float_value(), b.into_float_value());
            let bok = self.fcmp(FloatPredicate::ORD, b, b)?;
            let vnan_or_gt = self.fcmp(FloatPredicate::UGT, v, b)?;
            return self.b.build_and(bok, vnan_or_gt, "").s();
        }
        let p = if d == DType::Bool {
            IntPredicate::UGT
        } else {
            IntPredicate::SGT
        };
        self.b
            .build_int_compare(p, v.into_int_value(), b.into_int_value(), "")
            .s()
    }
}
