//! `f32` `exp`, `log`, `tanh` and `sigmoid` inline, in scalar `f32` or in
//! `f32x4`: the operations of `kernel::vmath`, one for one and in its order,
//! so compiled kernels match the interpreter bit for bit. Integer constants
//! are explicit (`iconst`/`splat`): the `*_imm` forms do not legalise for
//! vector types.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4};
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Type, Value};

use super::Gen;
use crate::kernel::vmath::{EXP_P, LN2_HI, LN2_LO, LOG_P, TANH_P};

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl Gen<'_, '_> {
    fn ft(vec: bool) -> Type {
        if vec {
            F32X4
        } else {
            F32
        }
    }

    fn it(vec: bool) -> Type {
        if vec {
            I32X4
        } else {
            I32
        }
    }

    /// An `f32` constant (splatted for vectors).
    fn mc(&mut self, vec: bool, x: f64) -> Value {
        let s = self.b.ins().f32const(x as f32);
        if vec {
            self.b.ins().splat(F32X4, s)
        } else {
            s
        }
    }

    fn mci(&mut self, vec: bool, x: i32) -> Value {
        let s = self.b.ins().iconst(I32, i64::from(x));
        if vec {
            self.b.ins().splat(I32X4, s)
        } else {
            s
        }
    }

    /// `c ? x : y` for a comparison result `c` (an `i8` or an `i32x4` mask).
    fn msel(&mut self, vec: bool, c: Value, x: Value, y: Value) -> Value {
        if vec {
            let ty = self.b.func.dfg.value_type(x);
            let m = if ty == I32X4 {
                c
            } else {
                self.b.ins().bitcast(ty, flags(), c)
            };
            self.b.ins().bitselect(m, x, y)
        } else {
            self.b.ins().select(c, x, y)
        }
    }

    fn mcmp(&mut self, vec: bool, cc: FloatCC, x: Value, k: f64) -> Value {
        let c = self.mc(vec, k);
        self.b.ins().fcmp(cc, x, c)
    }

    fn horner_f32(&mut self, vec: bool, x: Value, p: &[f64]) -> Value {
        let mut y = self.mc(vec, p[0]);
        for &c in &p[1..] {
            let t = self.b.ins().fmul(y, x);
            let c = self.mc(vec, c);
            y = self.b.ins().fadd(t, c);
        }
        y
    }

    fn pow2_f32(&mut self, vec: bool, k: Value) -> Value {
        let c = self.mci(vec, 127);
        let e = self.b.ins().iadd(k, c);
        let sh = self.b.ins().iconst(I32, 23);
        let bits = self.b.ins().ishl(e, sh);
        self.b.ins().bitcast(Self::ft(vec), flags(), bits)
    }

    pub(super) fn exp_f32(&mut self, vec: bool, x: Value) -> Value {
        let lo = self.mc(vec, -104.0);
        let c = self.mcmp(vec, FloatCC::LessThan, x, -104.0);
        let xc = self.msel(vec, c, lo, x);
        let hi = self.mc(vec, 89.0);
        let c = self.mcmp(vec, FloatCC::GreaterThan, xc, 89.0);
        let xc = self.msel(vec, c, hi, xc);
        let l2e = self.mc(vec, std::f64::consts::LOG2_E);
        let t = self.b.ins().fmul(xc, l2e);
        let n = self.b.ins().nearest(t);
        let c1 = self.mc(vec, LN2_HI);
        let t = self.b.ins().fmul(n, c1);
        let r = self.b.ins().fsub(xc, t);
        let c2 = self.mc(vec, LN2_LO);
        let t = self.b.ins().fmul(n, c2);
        let r = self.b.ins().fsub(r, t);
        let p = self.horner_f32(vec, r, &EXP_P);
        let rr = self.b.ins().fmul(r, r);
        let y = self.b.ins().fmul(p, rr);
        let y = self.b.ins().fadd(y, r);
        let one = self.mc(vec, 1.0);
        let y = self.b.ins().fadd(y, one);
        let ni = self.b.ins().fcvt_to_sint_sat(Self::it(vec), n);
        let sh = self.b.ins().iconst(I32, 1);
        let n1 = self.b.ins().sshr(ni, sh);
        let n2 = self.b.ins().isub(ni, n1);
        let p1 = self.pow2_f32(vec, n1);
        let p2 = self.pow2_f32(vec, n2);
        let y = self.b.ins().fmul(y, p1);
        let y = self.b.ins().fmul(y, p2);
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        self.msel(vec, nan, x, y)
    }

    pub(super) fn log_f32(&mut self, vec: bool, x: Value) -> Value {
        let (ft, it) = (Self::ft(vec), Self::it(vec));
        let sub = self.mcmp(vec, FloatCC::LessThan, x, f64::from(f32::MIN_POSITIVE));
        let big_m = self.mc(vec, 8388608.0);
        let scaled = self.b.ins().fmul(x, big_m);
        let xs = self.msel(vec, sub, scaled, x);
        let bits = self.b.ins().bitcast(it, flags(), xs);
        let sh = self.b.ins().iconst(I32, 23);
        let e = self.b.ins().ushr(bits, sh);
        let c = self.mci(vec, -127);
        let e = self.b.ins().iadd(e, c);
        let adj = if vec {
            let k = self.mci(vec, 23);
            self.b.ins().band(sub, k)
        } else {
            let k = self.mci(vec, 23);
            let z = self.mci(vec, 0);
            self.b.ins().select(sub, k, z)
        };
        let e = self.b.ins().isub(e, adj);
        let c = self.mci(vec, 0x007f_ffff);
        let mb = self.b.ins().band(bits, c);
        let c = self.mci(vec, 0x3f80_0000);
        let mb = self.b.ins().bor(mb, c);
        let m = self.b.ins().bitcast(ft, flags(), mb);
        let big = self.mcmp(vec, FloatCC::GreaterThan, m, std::f64::consts::SQRT_2);
        let half = self.mc(vec, 0.5);
        let mh = self.b.ins().fmul(m, half);
        let m = self.msel(vec, big, mh, m);
        let e = if vec {
            // The mask is -1 where true.
            self.b.ins().isub(e, big)
        } else {
            let b = self.b.ins().uextend(I32, big);
            self.b.ins().iadd(e, b)
        };
        let one = self.mc(vec, 1.0);
        let f = self.b.ins().fsub(m, one);
        let z = self.b.ins().fmul(f, f);
        let p = self.horner_f32(vec, f, &LOG_P);
        let y = self.b.ins().fmul(p, z);
        let y = self.b.ins().fmul(y, f);
        let ef = self.b.ins().fcvt_from_sint(ft, e);
        let c2 = self.mc(vec, LN2_LO);
        let t = self.b.ins().fmul(ef, c2);
        let y = self.b.ins().fadd(y, t);
        let t = self.b.ins().fmul(z, half);
        let y = self.b.ins().fsub(y, t);
        let r = self.b.ins().fadd(f, y);
        let c1 = self.mc(vec, LN2_HI);
        let t = self.b.ins().fmul(ef, c1);
        let r = self.b.ins().fadd(r, t);
        let inf = self.mc(vec, f64::INFINITY);
        let c = self.b.ins().fcmp(FloatCC::Equal, x, inf);
        let r = self.msel(vec, c, inf, r);
        let ninf = self.mc(vec, f64::NEG_INFINITY);
        let c = self.mcmp(vec, FloatCC::Equal, x, 0.0);
        let r = self.msel(vec, c, ninf, r);
        let nan = self.mc(vec, f64::NAN);
        let bad = self.mcmp(vec, FloatCC::UnorderedOrLessThan, x, 0.0);
        self.msel(vec, bad, nan, r)
    }

    pub(super) fn tanh_f32(&mut self, vec: bool, x: Value) -> Value {
        let a = self.b.ins().fabs(x);
        let z = self.b.ins().fmul(x, x);
        let p = self.horner_f32(vec, z, &TANH_P);
        let small = self.b.ins().fmul(p, z);
        let small = self.b.ins().fmul(small, x);
        let small = self.b.ins().fadd(small, x);
        let aa = self.b.ins().fadd(a, a);
        let e = self.exp_f32(vec, aa);
        let one = self.mc(vec, 1.0);
        let two = self.mc(vec, 2.0);
        let d = self.b.ins().fadd(e, one);
        let q = self.b.ins().fdiv(two, d);
        let t = self.b.ins().fsub(one, q);
        let large = if vec {
            // No `fcopysign.f32x4` on x86-64: the same bits by masks.
            let ti = self.b.ins().bitcast(I32X4, flags(), t);
            let xi = self.b.ins().bitcast(I32X4, flags(), x);
            let mag = self.mci(vec, 0x7fff_ffff);
            let sign = self.mci(vec, i32::MIN);
            let ti = self.b.ins().band(ti, mag);
            let xi = self.b.ins().band(xi, sign);
            let r = self.b.ins().bor(ti, xi);
            self.b.ins().bitcast(F32X4, flags(), r)
        } else {
            self.b.ins().fcopysign(t, x)
        };
        let c = self.mcmp(vec, FloatCC::LessThan, a, 0.625);
        self.msel(vec, c, small, large)
    }

    pub(super) fn sigmoid_f32(&mut self, vec: bool, x: Value) -> Value {
        let a = self.b.ins().fabs(x);
        let na = self.b.ins().fneg(a);
        let e = self.exp_f32(vec, na);
        let one = self.mc(vec, 1.0);
        let d = self.b.ins().fadd(one, e);
        let pos = self.b.ins().fdiv(one, d);
        let neg = self.b.ins().fdiv(e, d);
        let c = self.mcmp(vec, FloatCC::GreaterThanOrEqual, x, 0.0);
        self.msel(vec, c, pos, neg)
    }
}
