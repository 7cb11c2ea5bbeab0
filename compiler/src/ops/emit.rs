//! The emitter trait: the few machine operations the table's lowerings are
//! written in. Cranelift (one lane or `f32x4`), LLVM and [`super::Eval`]
//! implement it; each picks its own representation of a comparison result
//! (`i8`, an `i32x4` mask, `i1`, `Val::Bool`).
//!
//! Semantics every implementation keeps (the tests run the lowerings
//! through [`super::Eval`] against the reference evaluation):
//! - float operations round correctly to the operand's precision, each one
//!   on its own: no emitter contracts `a * b + c` into an FMA or reorders
//!   arithmetic; a fused multiply-add is `float_fma`, written where the
//!   table wants one (`vmath`'s polynomials), so every engine gives the
//!   same bits;
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
    /// The C library's `fmod` (Rust's `%` on floats).
    Fmod,
    Atan2,
    /// Integer power, wrapping (see [`super::num::Int::ipow`]).
    IPow,
}

/// What a host function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostKind {
    Float1,
    Float2,
    Int2,
}

impl Host {
    pub const ALL: [Host; 14] = [
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
        Host::Fmod,
        Host::Atan2,
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
            Host::Fmod => "fmod",
            Host::Atan2 => "atan2",
            Host::IPow => "ipow",
        }
    }

    /// Its operands: one float ([`Host::float1`]), two floats, two integers.
    fn kind(self) -> HostKind {
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
            | Host::Erf => HostKind::Float1,
            Host::Pow | Host::Fmod | Host::Atan2 => HostKind::Float2,
            Host::IPow => HostKind::Int2,
        }
    }

    /// The number of operands.
    pub fn arity(self) -> usize {
        match self.kind() {
            HostKind::Float1 => 1,
            HostKind::Float2 | HostKind::Int2 => 2,
        }
    }

    /// The dtypes a call may have (its operands' and its result's).
    pub fn dtypes(self) -> &'static [DType] {
        match self.kind() {
            HostKind::Float1 | HostKind::Float2 => &[DType::F32, DType::F64],
            HostKind::Int2 => &[DType::I32, DType::I64],
        }
    }

    /// A function of one float, in either precision (None for the others).
    fn float1<T: crate::ops::num::Float>(self, x: T) -> Option<T> {
        Some(match self {
            Host::Exp => x.exp(),
            Host::Log => x.ln(),
            Host::Sin => x.sin(),
            Host::Cos => x.cos(),
            Host::Tanh => x.tanh(),
            Host::Tan => x.tan(),
            Host::Atan => x.atan(),
            Host::Log1p => x.ln_1p(),
            Host::Expm1 => x.exp_m1(),
            Host::Erf => x.erf(),
            Host::Pow | Host::Fmod | Host::Atan2 | Host::IPow => return None,
        })
    }

    /// The function's value.
    pub fn eval(self, args: &[Val]) -> EmitResult<Val> {
        use crate::ops::num::Int;
        let bad = || format!("host function {} of {args:?}", self.name());
        let r = match (self, args) {
            (_, [Val::F32(x)]) => self.float1(*x).map(Val::F32),
            (_, [Val::F64(x)]) => self.float1(*x).map(Val::F64),
            (Host::Pow, [Val::F32(x), Val::F32(y)]) => Some(Val::F32(x.powf(*y))),
            (Host::Pow, [Val::F64(x), Val::F64(y)]) => Some(Val::F64(x.powf(*y))),
            (Host::Fmod, [Val::F32(x), Val::F32(y)]) => Some(Val::F32(x % y)),
            (Host::Fmod, [Val::F64(x), Val::F64(y)]) => Some(Val::F64(x % y)),
            (Host::Atan2, [Val::F32(x), Val::F32(y)]) => Some(Val::F32(x.atan2(*y))),
            (Host::Atan2, [Val::F64(x), Val::F64(y)]) => Some(Val::F64(x.atan2(*y))),
            (Host::IPow, [Val::I32(x), Val::I32(y)]) => Some(Val::I32(x.ipow(*y))),
            (Host::IPow, [Val::I64(x), Val::I64(y)]) => Some(Val::I64(x.ipow(*y))),
            _ => None,
        };
        r.ok_or_else(bad)
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
    /// `a * b + c` rounded once (a fused multiply-add, in every engine).
    fn float_fma(&mut self, a: Self::V, b: Self::V, c: Self::V) -> EmitResult<Self::V>;
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
