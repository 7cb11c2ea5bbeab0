//! The emitter trait: the few machine operations the table's lowerings are
//! written in. Cranelift (one lane or `f32x4`), LLVM and [`super::Eval`]
//! implement it; each picks its own representation of a comparison result
//! (`i8`, an `i32x4` mask, `i1`, `Val::Bool`).
//!
//! Semantics every implementation keeps (the tests run the lowerings
//! through [`super::Eval`] against the reference evaluation):
//! - float operations round correctly to the operand's precision; an
//!   emitter may contract `a * b + c` into an FMA only where its
//!   documentation says so (LLVM, see weft-llvm's `expr`);
//! - integer `Add`, `Sub`, `Mul` and `Shl` wrap; `SDiv`/`SRem` are only
//!   ever emitted with a divisor that is neither 0 nor -1; shift amounts are
//!   below the bit width;
//! - `FloatToInt` truncates toward zero and saturates, NaN giving 0.

use super::Val;
use crate::ir::types::DType;

pub type EmitResult<T> = Result<T, String>;

/// Float operations of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FUn {
    Neg,
    Abs,
    Sqrt,
    Floor,
    Ceil,
    /// Round to nearest, ties to even.
    Nearest,
}

/// Float operations of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FBin {
    Add,
    Sub,
    Mul,
    Div,
    /// The magnitude of the first operand with the sign of the second.
    CopySign,
}

/// Integer operations of two operands (also `And`, `Or`, `Xor` on
/// comparison results).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IBin {
    Add,
    Sub,
    Mul,
    SDiv,
    SRem,
    And,
    Or,
    Xor,
    Shl,
    /// Arithmetic (sign-filling) right shift.
    AShr,
    /// Logical (zero-filling) right shift.
    LShr,
    SMax,
    SMin,
}

/// Float comparisons. `O*` are false when either operand is NaN; `Ne`,
/// `Uno`, `UGt` and `ULt` are true then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FCmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Either operand is NaN.
    Uno,
    /// Unordered or greater.
    UGt,
    /// Unordered or less.
    ULt,
}

/// Integer comparisons (signed `S*`, unsigned `U*`; `bool` orders false
/// before true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ICmp {
    Eq,
    Ne,
    Slt,
    Sle,
    Sgt,
    Sge,
    Ult,
    Ugt,
}

/// Conversions, each to the dtype it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// Float → signed integer: toward zero, saturating, NaN → 0.
    FloatToInt(DType),
    /// Float → signed integer toward zero, for an operand known to be in
    /// range — or NaN, when the lowering then discards the result. An
    /// emitter may convert without saturating (LLVM's `fptosi`, which
    /// vectorises; its saturating form does not on x86).
    FloatToIntInRange(DType),
    /// Signed integer → float, to nearest.
    IntToFloat(DType),
    /// `bool` → 0 or 1 of a numeric dtype.
    BoolToNum(DType),
    /// Float → float (exact widening, or rounding to nearest).
    FloatToFloat(DType),
    /// Integer → integer (sign extension, or wrapping truncation).
    IntToInt(DType),
    /// The same bits as another type of the same width (f32 ↔ i32, f64 ↔ i64).
    Bits(DType),
}

/// Functions an emitter calls rather than inlines; [`Host::eval`] is their
/// definition (the C library's, through Rust's `std`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Exp,
    Log,
    Sin,
    Cos,
    Tanh,
    Tan,
    Atan,
    Log1p,
    Expm1,
    Erf,
    /// Float power.
    Pow,
    /// Integer power, wrapping (see [`super::num::Int::ipow`]).
    IPow,
}

impl Host {
    pub const ALL: [Host; 12] = [
        Host::Exp,
        Host::Log,
        Host::Sin,
        Host::Cos,
        Host::Tanh,
        Host::Tan,
        Host::Atan,
        Host::Log1p,
        Host::Expm1,
        Host::Erf,
        Host::Pow,
        Host::IPow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Host::Exp => "exp",
            Host::Log => "log",
            Host::Sin => "sin",
            Host::Cos => "cos",
            Host::Tanh => "tanh",
            Host::Tan => "tan",
            Host::Atan => "atan",
            Host::Log1p => "log1p",
            Host::Expm1 => "expm1",
            Host::Erf => "erf",
            Host::Pow => "pow",
            Host::IPow => "ipow",
        }
    }

    /// The number of operands.
    pub fn arity(self) -> usize {
        match self {
            Host::Exp
            | Host::Log
            | Host::Sin
            | Host::Cos
            | Host::Tanh
            | Host::Tan
            | Host::Atan
            | Host::Log1p
            | Host::Expm1
            | Host::Erf => 1,
            Host::Pow | Host::IPow => 2,
        }
    }

    /// The dtypes a call may have (its operands' and its result's).
    pub fn dtypes(self) -> &'static [DType] {
        match self {
            Host::Exp
            | Host::Log
            | Host::Sin
            | Host::Cos
            | Host::Tanh
            | Host::Tan
            | Host::Atan
            | Host::Log1p
            | Host::Expm1
            | Host::Erf
            | Host::Pow => &[DType::F32, DType::F64],
            Host::IPow => &[DType::I32, DType::I64],
        }
    }

    /// The function's value.
    pub fn eval(self, args: &[Val]) -> EmitResult<Val> {
        use crate::ops::num::{Float, Int};
        let bad = || format!("host function {} of {args:?}", self.name());
        Ok(match (self, args) {
            (Host::Exp, [Val::F32(x)]) => Val::F32(x.exp()),
            (Host::Exp, [Val::F64(x)]) => Val::F64(x.exp()),
            (Host::Log, [Val::F32(x)]) => Val::F32(x.ln()),
            (Host::Log, [Val::F64(x)]) => Val::F64(x.ln()),
            (Host::Sin, [Val::F32(x)]) => Val::F32(x.sin()),
            (Host::Sin, [Val::F64(x)]) => Val::F64(x.sin()),
            (Host::Cos, [Val::F32(x)]) => Val::F32(x.cos()),
            (Host::Cos, [Val::F64(x)]) => Val::F64(x.cos()),
            (Host::Tanh, [Val::F32(x)]) => Val::F32(x.tanh()),
            (Host::Tanh, [Val::F64(x)]) => Val::F64(x.tanh()),
            (Host::Tan, [Val::F32(x)]) => Val::F32(Float::tan(*x)),
            (Host::Tan, [Val::F64(x)]) => Val::F64(Float::tan(*x)),
            (Host::Atan, [Val::F32(x)]) => Val::F32(Float::atan(*x)),
            (Host::Atan, [Val::F64(x)]) => Val::F64(Float::atan(*x)),
            (Host::Log1p, [Val::F32(x)]) => Val::F32(Float::ln_1p(*x)),
            (Host::Log1p, [Val::F64(x)]) => Val::F64(Float::ln_1p(*x)),
            (Host::Expm1, [Val::F32(x)]) => Val::F32(Float::exp_m1(*x)),
            (Host::Expm1, [Val::F64(x)]) => Val::F64(Float::exp_m1(*x)),
            (Host::Erf, [Val::F32(x)]) => Val::F32(Float::erf(*x)),
            (Host::Erf, [Val::F64(x)]) => Val::F64(Float::erf(*x)),
            (Host::Pow, [Val::F32(x), Val::F32(y)]) => Val::F32(x.powf(*y)),
            (Host::Pow, [Val::F64(x), Val::F64(y)]) => Val::F64(x.powf(*y)),
            (Host::IPow, [Val::I32(x), Val::I32(y)]) => Val::I32(x.ipow(*y)),
            (Host::IPow, [Val::I64(x), Val::I64(y)]) => Val::I64(x.ipow(*y)),
            (
                Host::Exp
                | Host::Log
                | Host::Sin
                | Host::Cos
                | Host::Tanh
                | Host::Tan
                | Host::Atan
                | Host::Log1p
                | Host::Expm1
                | Host::Erf
                | Host::Pow,
                _,
            )
            | (Host::IPow, _) => return Err(bad()),
        })
    }
}

/// The machine operations of a lowering. `V` is one value: a scalar, or a
/// vector of lanes on which every operation acts lane by lane.
pub trait Emit {
    type V: Copy;

    /// A constant with `v`'s dtype (in every lane).
    fn konst(&mut self, v: Val) -> EmitResult<Self::V>;
    fn float_unary(&mut self, op: FUn, x: Self::V) -> EmitResult<Self::V>;
    fn float_binary(&mut self, op: FBin, a: Self::V, b: Self::V) -> EmitResult<Self::V>;
    fn int_binary(&mut self, op: IBin, a: Self::V, b: Self::V) -> EmitResult<Self::V>;
    fn fcmp(&mut self, c: FCmp, a: Self::V, b: Self::V) -> EmitResult<Self::V>;
    fn icmp(&mut self, c: ICmp, a: Self::V, b: Self::V) -> EmitResult<Self::V>;
    /// `c ? a : b` for a comparison result `c`.
    fn select(&mut self, c: Self::V, a: Self::V, b: Self::V) -> EmitResult<Self::V>;
    /// `x` of dtype `from` converted.
    fn convert(&mut self, x: Self::V, from: DType, c: Conv) -> EmitResult<Self::V>;
    /// A host function of operands of dtype `d`.
    fn call(&mut self, f: Host, d: DType, args: &[Self::V]) -> EmitResult<Self::V>;
}
