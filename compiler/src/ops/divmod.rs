//! NumPy's `%` (`BinaryOp::Rem`: the remainder with the sign of the
//! divisor) and `//` (`BinaryOp::FloorDiv`), the reference evaluation and
//! the lowering of both.
//!
//! Floats follow NumPy's `npy_divmod` step by step: `m = fmod(a, b)`;
//! `d = (a − m) / b`; when `m ≠ 0` has the other sign than `b`, `m += b`
//! and `d −= 1`; a zero `m` takes `b`'s sign; the quotient is `floor(d)`,
//! plus one when `d − floor(d) > 0.5`, and a zero quotient takes the sign
//! of `a / b`. A zero divisor gives `fmod(a, 0)` (NaN) and `a / 0`.
//! Integers: `a // b` is floor division (`BinaryOp::Div`'s), `a % b =
//! a − (a // b)·b`, both 0 for a zero divisor (NumPy's values, without its
//! warning), wrapping.

use super::emit::{Emit, EmitResult, FBin, FCmp, FUn, Host, IBin, ICmp};
use super::num::{Float, Int};
use super::{BinaryOp, Val};
use crate::ir::types::{DType, Scalar};

/// `(a // b, a % b)` of two floats, as NumPy computes them. Arithmetic
/// goes through the table's operations, so that NaN operands propagate
/// by its rule whatever order this compiler gives them.
pub(super) fn divmod_float<T: Float>(a: T, b: T) -> (T, T) {
    let op = |o: BinaryOp, x: T, y: T| o.eval_float(x, y).unwrap_or(x);
    let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
    let m = a.fmod(b);
    let q = op(BinaryOp::Div, a, b);
    if b == zero {
        return (q, m);
    }
    let mut d = op(BinaryOp::Div, op(BinaryOp::Sub, a, m), b);
    let mut m2 = m;
    if m != zero {
        if (b < zero) != (m < zero) {
            m2 = op(BinaryOp::Add, m, b);
            d = op(BinaryOp::Sub, d, one);
        }
    } else {
        m2 = zero.copysign(b);
    }
    let fd = if d != zero {
        let f = d.floor();
        if op(BinaryOp::Sub, d, f) > T::from_f64(0.5) {
            op(BinaryOp::Add, f, one)
        } else {
            f
        }
    } else {
        zero.copysign(q)
    };
    (fd, m2)
}

/// `a % b` of two integers (0 for a zero divisor), wrapping.
pub(super) fn rem_int<T: Int>(a: T, b: T) -> T {
    if b == T::ZERO {
        return T::ZERO;
    }
    a.wsub(a.floor_div(b).wmul(b))
}

/// The code of `a // b` (`want_rem` false) or `a % b` of floats.
pub(super) fn lower_float<E: Emit>(
    e: &mut E,
    d: DType,
    a: E::V,
    b: E::V,
    want_rem: bool,
) -> EmitResult<E::V> {
    let k =
        |e: &mut E, v: f64| -> EmitResult<E::V> { e.konst(Val::constant(Scalar::Float(v), d)?) };
    let (zero, one, half) = (k(e, 0.0)?, k(e, 1.0)?, k(e, 0.5)?);
    let m = e.call(Host::Fmod, d, &[a, b])?;
    let q = e.float_binary(FBin::Div, a, b)?;
    let bz = e.fcmp(FCmp::Eq, b, zero)?;
    let am = e.float_binary(FBin::Sub, a, m)?;
    let d0 = e.float_binary(FBin::Div, am, b)?;
    // m != 0 (true for NaN), with the other sign than b
    let mnz = e.fcmp(FCmp::Ne, m, zero)?;
    let blt = e.fcmp(FCmp::Lt, b, zero)?;
    let mlt = e.fcmp(FCmp::Lt, m, zero)?;
    let other = e.int_binary(IBin::Xor, blt, mlt)?;
    let adj = e.int_binary(IBin::And, mnz, other)?;
    if want_rem {
        let mb = e.float_binary(FBin::Add, m, b)?;
        let m1 = e.select(adj, mb, m)?;
        let signed = e.float_binary(FBin::CopySign, zero, b)?;
        let m2 = e.select(mnz, m1, signed)?;
        return e.select(bz, m, m2);
    }
    let d0m = e.float_binary(FBin::Sub, d0, one)?;
    let d1 = e.select(adj, d0m, d0)?;
    let dnz = e.fcmp(FCmp::Ne, d1, zero)?;
    let f = e.float_unary(FUn::Floor, d1)?;
    let frac = e.float_binary(FBin::Sub, d1, f)?;
    let up = e.fcmp(FCmp::Gt, frac, half)?;
    let f1 = e.float_binary(FBin::Add, f, one)?;
    let f2 = e.select(up, f1, f)?;
    let signed = e.float_binary(FBin::CopySign, zero, q)?;
    let fd = e.select(dnz, f2, signed)?;
    e.select(bz, q, fd)
}

/// The machine quotient and remainder of integers, the division run with a
/// safe divisor (1 where `b` is 0 or -1, which would trap).
struct IntDiv<V> {
    q: V,
    r: V,
    is0: V,
    ism1: V,
    zero: V,
    one: V,
}

fn int_divmod<E: Emit>(e: &mut E, d: DType, a: E::V, b: E::V) -> EmitResult<IntDiv<E::V>> {
    let k = |e: &mut E, v: i64| -> EmitResult<E::V> { e.konst(Val::constant(Scalar::Int(v), d)?) };
    let (zero, one, m1) = (k(e, 0)?, k(e, 1)?, k(e, -1)?);
    let is0 = e.icmp(ICmp::Eq, b, zero)?;
    let ism1 = e.icmp(ICmp::Eq, b, m1)?;
    let special = e.int_binary(IBin::Or, is0, ism1)?;
    let safe = e.select(special, one, b)?;
    let q = e.int_binary(IBin::SDiv, a, safe)?;
    let r = e.int_binary(IBin::SRem, a, safe)?;
    Ok(IntDiv {
        q,
        r,
        is0,
        ism1,
        zero,
        one,
    })
}

/// Integer floor division (`Div` and `FloorDiv`) without a trap: the
/// truncated quotient moved down where the remainder has the other sign,
/// then `x // 0 = 0` and `x // -1 = -x` (wrapping) selected.
pub(super) fn lower_floor_div_int<E: Emit>(
    e: &mut E,
    d: DType,
    a: E::V,
    b: E::V,
) -> EmitResult<E::V> {
    let IntDiv {
        q,
        r,
        is0,
        ism1,
        zero,
        one,
    } = int_divmod(e, d, a, b)?;
    let rnz = e.icmp(ICmp::Ne, r, zero)?;
    let sa = e.icmp(ICmp::Slt, a, zero)?;
    let sb = e.icmp(ICmp::Slt, b, zero)?;
    let diff = e.int_binary(IBin::Xor, sa, sb)?;
    let adj = e.int_binary(IBin::And, rnz, diff)?;
    let q1 = e.int_binary(IBin::Sub, q, one)?;
    let q = e.select(adj, q1, q)?;
    let neg = e.int_binary(IBin::Sub, zero, a)?;
    let q = e.select(ism1, neg, q)?;
    e.select(is0, zero, q)
}

/// The code of `a % b` of integers: the machine remainder (`b` 0 or -1
/// give 0) moved to the divisor's sign.
pub(super) fn lower_rem_int<E: Emit>(e: &mut E, d: DType, a: E::V, b: E::V) -> EmitResult<E::V> {
    let IntDiv {
        r, is0, ism1, zero, ..
    } = int_divmod(e, d, a, b)?;
    let rnz = e.icmp(ICmp::Ne, r, zero)?;
    let rlt = e.icmp(ICmp::Slt, r, zero)?;
    let blt = e.icmp(ICmp::Slt, b, zero)?;
    let other = e.int_binary(IBin::Xor, rlt, blt)?;
    let adj = e.int_binary(IBin::And, rnz, other)?;
    let rb = e.int_binary(IBin::Add, r, b)?;
    let r = e.select(adj, rb, r)?;
    // A safe divisor of 1 leaves r = 0 already; -1 gives 0 too.
    let special = e.int_binary(IBin::Or, is0, ism1)?;
    e.select(special, zero, r)
}
