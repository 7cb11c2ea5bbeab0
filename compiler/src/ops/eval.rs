//! [`Eval`]: the emitter that computes. A lowering run through it gives
//! the value the emitted code gives; the interpreters use it for the parts
//! of the table written only as lowerings ([`super::vmath`]), and the tests
//! use it to check every lowering against the reference evaluation.

use super::emit::{Conv, Emit, EmitResult, FBin, FCmp, FUn, Host, IBin, ICmp};
use super::Val;
use crate::ir::types::DType;

/// Computes each operation on [`Val`]s.
pub struct Eval;

fn mismatch(what: &str, a: Val, b: Val) -> String {
    format!("{what} of {a:?} and {b:?}")
}

macro_rules! float_op {
    ($x:expr, $f:expr, $what:expr) => {
        match $x {
            Val::F32(v) => Ok(Val::F32($f(v as f64) as f32)),
            Val::F64(v) => Ok(Val::F64($f(v))),
            other => Err(format!("{} of {other:?}", $what)),
        }
    };
}

fn fun(op: FUn, x: Val) -> EmitResult<Val> {
    // Each of these is exact in f64 and f32 alike (sign, magnitude,
    // rounding to an integer), so computing the f32 case in f64 and
    // converting back gives the f32 operation's bits; `sqrt` is done in
    // the operand's own precision.
    match (op, x) {
        (FUn::Sqrt, Val::F32(v)) => Ok(Val::F32(v.sqrt())),
        (FUn::Sqrt, Val::F64(v)) => Ok(Val::F64(v.sqrt())),
        (FUn::Neg, Val::F32(v)) => Ok(Val::F32(-v)),
        (FUn::Abs, Val::F32(v)) => Ok(Val::F32(v.abs())),
        (FUn::Neg | FUn::Abs | FUn::Sqrt | FUn::Floor | FUn::Ceil | FUn::Nearest, _) => {
            float_op!(
                x,
                |v: f64| match op {
                    FUn::Neg => -v,
                    FUn::Abs => v.abs(),
                    FUn::Sqrt => v.sqrt(),
                    FUn::Floor => v.floor(),
                    FUn::Ceil => v.ceil(),
                    FUn::Nearest => v.round_ties_even(),
                },
                "float op"
            )
        }
    }
}

fn fbin(op: FBin, a: Val, b: Val) -> EmitResult<Val> {
    fn go<T>(op: FBin, x: T, y: T) -> T
    where
        T: std::ops::Add<Output = T>
            + std::ops::Sub<Output = T>
            + std::ops::Mul<Output = T>
            + std::ops::Div<Output = T>
            + super::num::Float,
    {
        match op {
            FBin::Add => x + y,
            FBin::Sub => x - y,
            FBin::Mul => x * y,
            FBin::Div => x / y,
            FBin::CopySign => x.copysign(y),
        }
    }
    match (a, b) {
        (Val::F32(x), Val::F32(y)) => Ok(Val::F32(go(op, x, y))),
        (Val::F64(x), Val::F64(y)) => Ok(Val::F64(go(op, x, y))),
        _ => Err(mismatch("float op", a, b)),
    }
}

fn ibin(op: IBin, a: Val, b: Val) -> EmitResult<Val> {
    macro_rules! int {
        ($x:expr, $y:expr, $bits:expr, $u:ty) => {
            match op {
                IBin::Add => $x.wrapping_add($y),
                IBin::Sub => $x.wrapping_sub($y),
                IBin::Mul => $x.wrapping_mul($y),
                IBin::SDiv => $x.checked_div($y).unwrap_or(0),
                IBin::SRem => $x.checked_rem($y).unwrap_or(0),
                IBin::And => $x & $y,
                IBin::Or => $x | $y,
                IBin::Xor => $x ^ $y,
                IBin::Shl => $x.wrapping_shl($y as u32),
                IBin::AShr => $x.wrapping_shr($y as u32),
                IBin::LShr => (($x as $u).wrapping_shr($y as u32)) as _,
                IBin::SMax => $x.max($y),
                IBin::SMin => $x.min($y),
            }
        };
    }
    match (a, b) {
        (Val::I32(x), Val::I32(y)) => Ok(Val::I32(int!(x, y, 32, u32))),
        (Val::I64(x), Val::I64(y)) => Ok(Val::I64(int!(x, y, 64, u64))),
        (Val::Bool(x), Val::Bool(y)) => match op {
            IBin::And => Ok(Val::Bool(x & y)),
            IBin::Or => Ok(Val::Bool(x | y)),
            IBin::Xor => Ok(Val::Bool(x ^ y)),
            IBin::Add
            | IBin::Sub
            | IBin::Mul
            | IBin::SDiv
            | IBin::SRem
            | IBin::Shl
            | IBin::AShr
            | IBin::LShr
            | IBin::SMax
            | IBin::SMin => Err(mismatch("integer op", a, b)),
        },
        _ => Err(mismatch("integer op", a, b)),
    }
}

fn fcmp(c: FCmp, a: Val, b: Val) -> EmitResult<Val> {
    fn go<T: PartialOrd>(c: FCmp, x: T, y: T) -> bool {
        let uno = x.partial_cmp(&y).is_none();
        match c {
            FCmp::Eq => x == y,
            FCmp::Ne => x != y,
            FCmp::Lt => x < y,
            FCmp::Le => x <= y,
            FCmp::Gt => x > y,
            FCmp::Ge => x >= y,
            FCmp::Uno => uno,
            FCmp::UGt => uno || x > y,
            FCmp::ULt => uno || x < y,
        }
    }
    match (a, b) {
        (Val::F32(x), Val::F32(y)) => Ok(Val::Bool(go(c, x, y))),
        (Val::F64(x), Val::F64(y)) => Ok(Val::Bool(go(c, x, y))),
        _ => Err(mismatch("float comparison", a, b)),
    }
}

fn icmp(c: ICmp, a: Val, b: Val) -> EmitResult<Val> {
    fn go<S: Ord, U: Ord>(c: ICmp, x: S, y: S, ux: U, uy: U) -> bool {
        match c {
            ICmp::Eq => x == y,
            ICmp::Ne => x != y,
            ICmp::Slt => x < y,
            ICmp::Sle => x <= y,
            ICmp::Sgt => x > y,
            ICmp::Sge => x >= y,
            ICmp::Ult => ux < uy,
            ICmp::Ugt => ux > uy,
        }
    }
    Ok(Val::Bool(match (a, b) {
        (Val::I32(x), Val::I32(y)) => go(c, x, y, x as u32, y as u32),
        (Val::I64(x), Val::I64(y)) => go(c, x, y, x as u64, y as u64),
        // A bool is a one-bit integer: signed, true is -1.
        (Val::Bool(x), Val::Bool(y)) => go(c, -(x as i8), -(y as i8), x as u8, y as u8),
        _ => return Err(mismatch("integer comparison", a, b)),
    }))
}

fn convert(x: Val, from: DType, c: Conv) -> EmitResult<Val> {
    let bad = || format!("conversion {c:?} of {x:?}");
    if x.dtype() != from {
        return Err(bad());
    }
    let c = match c {
        // Evaluated saturating, as Cranelift emits it.
        Conv::FloatToIntInRange(d) => Conv::FloatToInt(d),
        c => c,
    };
    Ok(match (c, x) {
        (Conv::FloatToInt(DType::I32), Val::F32(v)) => Val::I32(v as i32),
        (Conv::FloatToInt(DType::I32), Val::F64(v)) => Val::I32(v as i32),
        (Conv::FloatToInt(DType::I64), Val::F32(v)) => Val::I64(v as i64),
        (Conv::FloatToInt(DType::I64), Val::F64(v)) => Val::I64(v as i64),
        (Conv::IntToFloat(DType::F32), Val::I32(v)) => Val::F32(v as f32),
        (Conv::IntToFloat(DType::F32), Val::I64(v)) => Val::F32(v as f32),
        (Conv::IntToFloat(DType::F64), Val::I32(v)) => Val::F64(v as f64),
        (Conv::IntToFloat(DType::F64), Val::I64(v)) => Val::F64(v as f64),
        (Conv::BoolToNum(DType::F32), Val::Bool(v)) => Val::F32(u8::from(v) as f32),
        (Conv::BoolToNum(DType::F64), Val::Bool(v)) => Val::F64(u8::from(v) as f64),
        (Conv::BoolToNum(DType::I32), Val::Bool(v)) => Val::I32(v as i32),
        (Conv::BoolToNum(DType::I64), Val::Bool(v)) => Val::I64(v as i64),
        (Conv::FloatToFloat(DType::F32), Val::F64(v)) => Val::F32(v as f32),
        (Conv::FloatToFloat(DType::F64), Val::F32(v)) => Val::F64(v as f64),
        (Conv::IntToInt(DType::I32), Val::I64(v)) => Val::I32(v as i32),
        (Conv::IntToInt(DType::I64), Val::I32(v)) => Val::I64(v as i64),
        // u8: saturating from floats, zero-extended, wrapping from wider integers.
        (Conv::FloatToInt(DType::U8), Val::F32(v)) => Val::U8(v as u8),
        (Conv::FloatToInt(DType::U8), Val::F64(v)) => Val::U8(v as u8),
        (Conv::IntToFloat(DType::F32), Val::U8(v)) => Val::F32(f32::from(v)),
        (Conv::IntToFloat(DType::F64), Val::U8(v)) => Val::F64(f64::from(v)),
        (Conv::BoolToNum(DType::U8), Val::Bool(v)) => Val::U8(u8::from(v)),
        (Conv::IntToInt(DType::I32), Val::U8(v)) => Val::I32(i32::from(v)),
        (Conv::IntToInt(DType::I64), Val::U8(v)) => Val::I64(i64::from(v)),
        (Conv::IntToInt(DType::U8), Val::I32(v)) => Val::U8(v as u8),
        (Conv::IntToInt(DType::U8), Val::I64(v)) => Val::U8(v as u8),
        (Conv::Bits(DType::I32), Val::F32(v)) => Val::I32(v.to_bits() as i32),
        (Conv::Bits(DType::F32), Val::I32(v)) => Val::F32(f32::from_bits(v as u32)),
        (Conv::Bits(DType::I64), Val::F64(v)) => Val::I64(v.to_bits() as i64),
        (Conv::Bits(DType::F64), Val::I64(v)) => Val::F64(f64::from_bits(v as u64)),
        (
            Conv::FloatToInt(_)
            | Conv::FloatToIntInRange(_)
            | Conv::IntToFloat(_)
            | Conv::BoolToNum(_)
            | Conv::FloatToFloat(_)
            | Conv::IntToInt(_)
            | Conv::Bits(_),
            _,
        ) => return Err(bad()),
    })
}

impl Emit for Eval {
    type V = Val;

    fn konst(&mut self, v: Val) -> EmitResult<Val> {
        Ok(v)
    }

    fn float_unary(&mut self, op: FUn, x: Val) -> EmitResult<Val> {
        fun(op, x)
    }

    fn float_binary(&mut self, op: FBin, a: Val, b: Val) -> EmitResult<Val> {
        fbin(op, a, b)
    }

    fn float_fma(&mut self, a: Val, b: Val, c: Val) -> EmitResult<Val> {
        match (a, b, c) {
            (Val::F32(a), Val::F32(b), Val::F32(c)) => Ok(Val::F32(a.mul_add(b, c))),
            (Val::F64(a), Val::F64(b), Val::F64(c)) => Ok(Val::F64(a.mul_add(b, c))),
            _ => Err(format!("fma of {a:?}, {b:?}, {c:?}")),
        }
    }

    fn int_binary(&mut self, op: IBin, a: Val, b: Val) -> EmitResult<Val> {
        ibin(op, a, b)
    }

    fn fcmp(&mut self, c: FCmp, a: Val, b: Val) -> EmitResult<Val> {
        fcmp(c, a, b)
    }

    fn icmp(&mut self, c: ICmp, a: Val, b: Val) -> EmitResult<Val> {
        icmp(c, a, b)
    }

    fn select(&mut self, c: Val, a: Val, b: Val) -> EmitResult<Val> {
        match c {
            Val::Bool(c) if a.dtype() == b.dtype() => Ok(if c { a } else { b }),
            _ => Err(format!("select {c:?} of {a:?} and {b:?}")),
        }
    }

    fn convert(&mut self, x: Val, from: DType, c: Conv) -> EmitResult<Val> {
        convert(x, from, c)
    }

    fn call(&mut self, f: Host, d: DType, args: &[Val]) -> EmitResult<Val> {
        if args.iter().any(|a| a.dtype() != d) {
            return Err(format!("host function {} of {args:?} as {d}", f.name()));
        }
        f.eval(args)
    }
}
