//! Unary operations: dtype rule, reference evaluation, cost, lowering.
//!
//! Semantics (NumPy's unless noted): `sign` is -1/0/+1 with `sign(±0) = 0`
//! and `sign(NaN) = NaN`; `relu(x) = max(x, 0)` with `relu(NaN) = NaN` and
//! `relu(-0) = +0`; `rsqrt(x) = 1 / sqrt(x)`; `sigmoid` never overflows
//! (see [`vmath::lower_sigmoid`]); `f32` `exp`, `log`, `tanh` and `sigmoid`
//! are [`vmath`]'s, `f64` ones the C library's, `sin` and `cos` the C
//! library's in both precisions, as are `tan`, `atan`, `log1p`, `expm1` and
//! `erf`; `round` rounds halves to even. On integers `neg` and `abs` wrap
//! (`abs(MIN) = MIN`).

use super::emit::{Emit, EmitResult, FBin, FCmp, FUn, Host, IBin, ICmp};
use super::num::{Float, Int};
use super::{runtime_dtype, vmath, Kind, OpError, Val};
use crate::ir::types::{DType, Scalar};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Abs,
    Sign,
    Floor,
    Ceil,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    /// `log(1 + e^x)`, computed stably.
    Softplus,
    Tan,
    Atan,
    /// `log(1 + x)`, accurate near 0 (the C library's `log1p`).
    Log1p,
    /// `e^x - 1`, accurate near 0 (the C library's `expm1`).
    Expm1,
    /// The error function (the C library's `erf`).
    Erf,
    /// Rounding to the nearest integer, halves to even (NumPy's `round`).
    Round,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 21] = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Relu,
        UnaryOp::Softplus,
        UnaryOp::Tan,
        UnaryOp::Atan,
        UnaryOp::Log1p,
        UnaryOp::Expm1,
        UnaryOp::Erf,
        UnaryOp::Round,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Sign => "sign",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Relu => "relu",
            UnaryOp::Softplus => "softplus",
            UnaryOp::Tan => "tan",
            UnaryOp::Atan => "atan",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Expm1 => "expm1",
            UnaryOp::Erf => "erf",
            UnaryOp::Round => "round",
        }
    }

    pub fn from_name(s: &str) -> Option<UnaryOp> {
        UnaryOp::ALL.into_iter().find(|u| u.name() == s)
    }

    /// The dtype rule: which kinds of operand the op is defined on.
    pub fn defined_on(self, k: Kind) -> bool {
        let on_ints = match self {
            UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Relu => true,
            UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Tanh
            | UnaryOp::Sigmoid
            | UnaryOp::Softplus
            | UnaryOp::Tan
            | UnaryOp::Atan
            | UnaryOp::Log1p
            | UnaryOp::Expm1
            | UnaryOp::Erf
            | UnaryOp::Round => false,
        };
        match k {
            Kind::Float => true,
            Kind::Int => on_ints,
            Kind::Bool => false,
        }
    }

    /// Whether the op is defined on integer tensors too (else floats only).
    pub fn accepts_int(self) -> bool {
        self.defined_on(Kind::Int)
    }

    /// The result dtype for an operand of dtype `d`.
    pub fn result(self, d: DType) -> Result<DType, OpError> {
        if self.defined_on(Kind::of(d)) && super::arithmetic(d) {
            Ok(d)
        } else {
            Err(OpError::NotDefined {
                op: self.name(),
                dtype: d,
            })
        }
    }

    /// A rough cost of one element, in simple arithmetic operations.
    pub fn cost(self) -> u32 {
        match self {
            UnaryOp::Softplus => 16,
            UnaryOp::Tan | UnaryOp::Atan | UnaryOp::Log1p | UnaryOp::Expm1 | UnaryOp::Erf => 12,
            UnaryOp::Round => 1,
            UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Tanh
            | UnaryOp::Sigmoid
            | UnaryOp::Sin
            | UnaryOp::Cos => 8,
            UnaryOp::Neg
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Abs
            | UnaryOp::Sign
            | UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Relu => 1,
        }
    }

    /// The reference evaluation on a float.
    pub fn eval_float<T: Float>(self, x: T) -> T {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.weft_exp(),
            UnaryOp::Log => x.weft_log(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Rsqrt => T::ONE / x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > T::ZERO {
                    T::ONE
                } else if x < T::ZERO {
                    -T::ONE
                } else if x.is_nan() {
                    x
                } else {
                    T::ZERO
                }
            }
            UnaryOp::Floor => x.floor(),
            UnaryOp::Ceil => x.ceil(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tanh => x.weft_tanh(),
            UnaryOp::Sigmoid => {
                let e = (-x.abs()).weft_exp();
                let d = T::ONE + e;
                if x >= T::ZERO {
                    T::ONE / d
                } else {
                    e / d
                }
            }
            UnaryOp::Relu => {
                if x > T::ZERO || x.is_nan() {
                    x
                } else {
                    T::ZERO
                }
            }
            // max(x, 0) + log1p(e^-|x|), log1p(e) as log(u) * e / (u - 1)
            // with u = 1 + e (exact when u rounds to 1).
            UnaryOp::Softplus => {
                let e = (-x.abs()).weft_exp();
                let u = T::ONE + e;
                let d = u - T::ONE;
                let l = if d == T::ZERO {
                    e
                } else {
                    u.weft_log() * (e / d)
                };
                let m = super::BinaryOp::Max.eval_float(x, T::ZERO).unwrap_or(x);
                // The table's addition: its NaN rule, whatever order this
                // compiler gives `+`'s operands.
                super::BinaryOp::Add.eval_float(m, l).unwrap_or(m)
            }
            UnaryOp::Tan => x.tan(),
            UnaryOp::Atan => x.atan(),
            UnaryOp::Log1p => x.ln_1p(),
            UnaryOp::Expm1 => x.exp_m1(),
            UnaryOp::Erf => x.erf(),
            UnaryOp::Round => x.round_even(),
        }
    }

    /// The reference evaluation on an integer; None where the op is not
    /// defined on integers.
    pub fn eval_int<T: Int>(self, x: T) -> Option<T> {
        Some(match self {
            UnaryOp::Neg => x.wneg(),
            UnaryOp::Abs => x.wabs(),
            UnaryOp::Sign => match x.cmp(&T::ZERO) {
                std::cmp::Ordering::Greater => T::ONE,
                std::cmp::Ordering::Less => T::ONE.wneg(),
                std::cmp::Ordering::Equal => T::ZERO,
            },
            UnaryOp::Relu => x.max(T::ZERO),
            UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Tanh
            | UnaryOp::Sigmoid
            | UnaryOp::Softplus
            | UnaryOp::Tan
            | UnaryOp::Atan
            | UnaryOp::Log1p
            | UnaryOp::Expm1
            | UnaryOp::Erf
            | UnaryOp::Round => return None,
        })
    }

    /// The reference evaluation on one value.
    pub fn eval(self, v: Val) -> Result<Val, OpError> {
        let undefined = || OpError::NotDefined {
            op: self.name(),
            dtype: v.dtype(),
        };
        Ok(match v {
            Val::F32(x) => Val::F32(self.eval_float(x)),
            Val::F64(x) => Val::F64(self.eval_float(x)),
            Val::I32(x) => Val::I32(self.eval_int(x).ok_or_else(undefined)?),
            Val::I64(x) => Val::I64(self.eval_int(x).ok_or_else(undefined)?),
            Val::U8(_) | Val::Bool(_) => return Err(undefined()),
        })
    }

    /// The op's code for an operand `x` of dtype `d`.
    pub fn lower<E: Emit>(self, e: &mut E, d: DType, x: E::V) -> EmitResult<E::V> {
        runtime_dtype(d)?;
        self.result(d)?;
        let k =
            |e: &mut E, v: i64| -> EmitResult<E::V> { e.konst(Val::constant(Scalar::Int(v), d)?) };
        match Kind::of(d) {
            Kind::Float => {
                let host_exp = |e: &mut E, x: E::V| e.call(Host::Exp, DType::F64, &[x]);
                let f32 = d == DType::F32;
                match self {
                    UnaryOp::Neg => e.float_unary(FUn::Neg, x),
                    UnaryOp::Abs => e.float_unary(FUn::Abs, x),
                    UnaryOp::Sqrt => e.float_unary(FUn::Sqrt, x),
                    UnaryOp::Floor => e.float_unary(FUn::Floor, x),
                    UnaryOp::Ceil => e.float_unary(FUn::Ceil, x),
                    UnaryOp::Rsqrt => {
                        let s = e.float_unary(FUn::Sqrt, x)?;
                        let one = k(e, 1)?;
                        e.float_binary(FBin::Div, one, s)
                    }
                    UnaryOp::Exp if f32 => vmath::lower_exp(e, x),
                    UnaryOp::Log if f32 => vmath::lower_log(e, x),
                    UnaryOp::Tanh if f32 => vmath::lower_tanh(e, x),
                    UnaryOp::Sigmoid if f32 => vmath::lower_sigmoid(e, d, x, vmath::lower_exp::<E>),
                    UnaryOp::Sigmoid => vmath::lower_sigmoid(e, d, x, host_exp),
                    UnaryOp::Exp => e.call(Host::Exp, d, &[x]),
                    UnaryOp::Log => e.call(Host::Log, d, &[x]),
                    UnaryOp::Tanh => e.call(Host::Tanh, d, &[x]),
                    UnaryOp::Sin => e.call(Host::Sin, d, &[x]),
                    UnaryOp::Cos => e.call(Host::Cos, d, &[x]),
                    UnaryOp::Tan => e.call(Host::Tan, d, &[x]),
                    UnaryOp::Atan => e.call(Host::Atan, d, &[x]),
                    UnaryOp::Log1p => e.call(Host::Log1p, d, &[x]),
                    UnaryOp::Expm1 => e.call(Host::Expm1, d, &[x]),
                    UnaryOp::Erf => e.call(Host::Erf, d, &[x]),
                    UnaryOp::Round => e.float_unary(FUn::Nearest, x),
                    UnaryOp::Sign => {
                        let (zero, one, m1) = (k(e, 0)?, k(e, 1)?, k(e, -1)?);
                        let nan = e.fcmp(FCmp::Uno, x, x)?;
                        let r = e.select(nan, x, zero)?;
                        let lt = e.fcmp(FCmp::Lt, x, zero)?;
                        let r = e.select(lt, m1, r)?;
                        let gt = e.fcmp(FCmp::Gt, x, zero)?;
                        e.select(gt, one, r)
                    }
                    UnaryOp::Relu => {
                        let zero = k(e, 0)?;
                        let c = e.fcmp(FCmp::UGt, x, zero)?;
                        e.select(c, x, zero)
                    }
                    UnaryOp::Softplus => {
                        let (zero, one) = (k(e, 0)?, k(e, 1)?);
                        let a = e.float_unary(FUn::Abs, x)?;
                        let na = e.float_unary(FUn::Neg, a)?;
                        let ex = if f32 {
                            vmath::lower_exp(e, na)?
                        } else {
                            e.call(Host::Exp, d, &[na])?
                        };
                        let u = e.float_binary(FBin::Add, one, ex)?;
                        let dd = e.float_binary(FBin::Sub, u, one)?;
                        let lu = if f32 {
                            vmath::lower_log(e, u)?
                        } else {
                            e.call(Host::Log, d, &[u])?
                        };
                        let q = e.float_binary(FBin::Div, ex, dd)?;
                        let l = e.float_binary(FBin::Mul, lu, q)?;
                        let exact = e.fcmp(FCmp::Eq, dd, zero)?;
                        let l = e.select(exact, ex, l)?;
                        let m = super::BinaryOp::Max.lower(e, d, x, zero)?;
                        e.float_binary(FBin::Add, m, l)
                    }
                }
            }
            Kind::Int => {
                let zero = k(e, 0)?;
                match self {
                    UnaryOp::Neg => e.int_binary(IBin::Sub, zero, x),
                    UnaryOp::Abs => {
                        let neg = e.int_binary(IBin::Sub, zero, x)?;
                        let lt = e.icmp(ICmp::Slt, x, zero)?;
                        e.select(lt, neg, x)
                    }
                    UnaryOp::Sign => {
                        let (one, m1) = (k(e, 1)?, k(e, -1)?);
                        let lt = e.icmp(ICmp::Slt, x, zero)?;
                        let r = e.select(lt, m1, zero)?;
                        let gt = e.icmp(ICmp::Sgt, x, zero)?;
                        e.select(gt, one, r)
                    }
                    UnaryOp::Relu => e.int_binary(IBin::SMax, x, zero),
                    UnaryOp::Exp
                    | UnaryOp::Log
                    | UnaryOp::Sqrt
                    | UnaryOp::Rsqrt
                    | UnaryOp::Floor
                    | UnaryOp::Ceil
                    | UnaryOp::Sin
                    | UnaryOp::Cos
                    | UnaryOp::Tanh
                    | UnaryOp::Sigmoid
                    | UnaryOp::Softplus
                    | UnaryOp::Tan
                    | UnaryOp::Atan
                    | UnaryOp::Log1p
                    | UnaryOp::Expm1
                    | UnaryOp::Erf
                    | UnaryOp::Round => Err(OpError::NotDefined {
                        op: self.name(),
                        dtype: d,
                    }
                    .into()),
                }
            }
            Kind::Bool => Err(OpError::NotDefined {
                op: self.name(),
                dtype: d,
            }
            .into()),
        }
    }
}
