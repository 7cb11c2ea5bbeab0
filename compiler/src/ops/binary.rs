//! Binary operations: dtype rule, reference evaluation, cost, lowering.
//!
//! Semantics (NumPy's unless noted): `maximum`/`minimum` propagate NaN (the
//! first operand when it is NaN, else the second when it is; of two equal
//! values, the first); integer
//! arithmetic wraps; integer `div` is floor division with `x // 0 = 0` and
//! `MIN // -1 = MIN`; integer `pow` wraps, and a negative exponent gives 0
//! unless the base is ±1; comparisons follow IEEE 754 (every comparison
//! with NaN is false except `!=`); `bool` has `==` and `!=` only.

use super::emit::{Emit, EmitResult, FBin, FCmp, Host, IBin, ICmp};
use super::num::{Float, Int};
use super::{runtime_dtype, Kind, OpError, Val};
use crate::ir::types::DType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Floats: true division. Integers: floor division (Python's `//`).
    Div,
    Pow,
    Max,
    Min,
    /// NumPy's `%`: the remainder with the sign of the divisor (`divmod.rs`).
    Rem,
    /// NumPy's `//`: floats rounded down as NumPy does; integers as `Div`.
    FloorDiv,
    /// `atan2(y, x)`, floats only (the C library's).
    Atan2,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A fold of two exact integer constants (see [`BinaryOp::eval_exact`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exact {
    Int(i64),
    /// The exact result does not fit `i64`.
    Overflow,
    /// The result is not an integer of the operands' kind (a comparison,
    /// a true division, a negative power).
    NotInt,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 16] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Rem,
        BinaryOp::FloorDiv,
        BinaryOp::Atan2,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Eq,
        BinaryOp::Ne,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "maximum",
            BinaryOp::Min => "minimum",
            BinaryOp::Rem => "rem",
            BinaryOp::FloorDiv => "floor_div",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
        }
    }

    pub fn is_comparison(self) -> bool {
        match self {
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => true,
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::Rem
            | BinaryOp::FloorDiv
            | BinaryOp::Atan2 => false,
        }
    }

    /// The dtype rule: which kinds of operands (both of one dtype) the op is
    /// defined on.
    pub fn defined_on(self, k: Kind) -> bool {
        match k {
            Kind::Float => true,
            Kind::Int => self != BinaryOp::Atan2,
            Kind::Bool => matches!(self, BinaryOp::Eq | BinaryOp::Ne),
        }
    }

    /// The result dtype for operands of dtype `d`.
    pub fn result(self, d: DType) -> Result<DType, OpError> {
        if !self.defined_on(Kind::of(d)) || !super::arithmetic(d) {
            return Err(OpError::NotDefined {
                op: self.name(),
                dtype: d,
            });
        }
        Ok(if self.is_comparison() { DType::Bool } else { d })
    }

    /// A rough cost of one element, in simple arithmetic operations.
    pub fn cost(self) -> u32 {
        match self {
            BinaryOp::Pow | BinaryOp::Atan2 => 8,
            BinaryOp::Rem | BinaryOp::FloorDiv => 10,
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => 1,
        }
    }

    /// The reference evaluation of an arithmetic op on floats (None for a
    /// comparison).
    pub fn eval_float<T: Float>(self, x: T, y: T) -> Option<T> {
        // A NaN operand gives that NaN (quieted), the first one when both
        // are: x86's rule for `addss x, y`, which compiled code follows. The
        // reference says so explicitly, so that the order in which this
        // Rust code's compiler puts the operands of a commutative operation
        // cannot change the NaN's sign or payload.
        let nan = |r: T| {
            if x.is_nan() {
                x.quieted()
            } else if y.is_nan() {
                y.quieted()
            } else {
                r
            }
        };
        Some(match self {
            BinaryOp::Add => nan(x + y),
            BinaryOp::Sub => nan(x - y),
            BinaryOp::Mul => nan(x * y),
            BinaryOp::Div => nan(x / y),
            BinaryOp::Pow => x.powf(y),
            BinaryOp::Rem => super::divmod::divmod_float(x, y).1,
            BinaryOp::FloorDiv => super::divmod::divmod_float(x, y).0,
            BinaryOp::Atan2 => x.atan2(y),
            BinaryOp::Max => {
                if x.is_nan() || x >= y {
                    x
                } else {
                    y
                }
            }
            BinaryOp::Min => {
                if x.is_nan() || x <= y {
                    x
                } else {
                    y
                }
            }
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => return None,
        })
    }

    /// The reference evaluation of an arithmetic op on integers (None for a
    /// comparison).
    pub fn eval_int<T: Int>(self, x: T, y: T) -> Option<T> {
        Some(match self {
            BinaryOp::Add => x.wadd(y),
            BinaryOp::Sub => x.wsub(y),
            BinaryOp::Mul => x.wmul(y),
            BinaryOp::Div => x.floor_div(y),
            BinaryOp::Pow => x.ipow(y),
            BinaryOp::Max => x.max(y),
            BinaryOp::Min => x.min(y),
            BinaryOp::Rem => super::divmod::rem_int(x, y),
            BinaryOp::FloorDiv => x.floor_div(y),
            BinaryOp::Atan2 => return None,
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => return None,
        })
    }

    /// The reference evaluation of a comparison (None for arithmetic).
    pub fn eval_compare<T: PartialOrd>(self, x: T, y: T) -> Option<bool> {
        Some(match self {
            BinaryOp::Lt => x < y,
            BinaryOp::Le => x <= y,
            BinaryOp::Gt => x > y,
            BinaryOp::Ge => x >= y,
            BinaryOp::Eq => x == y,
            BinaryOp::Ne => x != y,
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::Rem
            | BinaryOp::FloorDiv
            | BinaryOp::Atan2 => return None,
        })
    }

    /// The reference evaluation on two values of one dtype.
    pub fn eval(self, x: Val, y: Val) -> Result<Val, OpError> {
        let bad = || OpError::Operands {
            op: self.name(),
            detail: format!("{x:?} and {y:?}"),
        };
        self.result(x.dtype())?;
        if self.is_comparison() {
            let r = match (x, y) {
                (Val::F32(p), Val::F32(q)) => self.eval_compare(p, q),
                (Val::F64(p), Val::F64(q)) => self.eval_compare(p, q),
                (Val::I32(p), Val::I32(q)) => self.eval_compare(p, q),
                (Val::I64(p), Val::I64(q)) => self.eval_compare(p, q),
                (Val::Bool(p), Val::Bool(q)) => self.eval_compare(p, q),
                _ => None,
            };
            return r.map(Val::Bool).ok_or_else(bad);
        }
        match (x, y) {
            (Val::F32(p), Val::F32(q)) => self.eval_float(p, q).map(Val::F32),
            (Val::F64(p), Val::F64(q)) => self.eval_float(p, q).map(Val::F64),
            (Val::I32(p), Val::I32(q)) => self.eval_int(p, q).map(Val::I32),
            (Val::I64(p), Val::I64(q)) => self.eval_int(p, q).map(Val::I64),
            _ => None,
        }
        .ok_or_else(bad)
    }

    /// The exact value of the op on two integer constants, as the front
    /// end folds weak literals: no wrapping (an overflow is reported), and
    /// results that are not integers left to the float fold.
    pub fn eval_exact(self, x: i64, y: i64) -> Exact {
        let checked = |r: Option<i64>| r.map_or(Exact::Overflow, Exact::Int);
        match self {
            BinaryOp::Add => checked(x.checked_add(y)),
            BinaryOp::Sub => checked(x.checked_sub(y)),
            BinaryOp::Mul => checked(x.checked_mul(y)),
            BinaryOp::Max => Exact::Int(x.max(y)),
            BinaryOp::Min => Exact::Int(x.min(y)),
            BinaryOp::Pow => match u32::try_from(y) {
                Ok(e) => checked(x.checked_pow(e)),
                Err(_) if y < 0 => Exact::NotInt,
                Err(_) => Exact::Overflow,
            },
            // NumPy's values: 0 for a zero divisor.
            BinaryOp::Rem if y == 0 => Exact::Int(0),
            BinaryOp::Rem => {
                let r = x.wrapping_rem(y);
                Exact::Int(if r != 0 && (r < 0) != (y < 0) {
                    r + y
                } else {
                    r
                })
            }
            BinaryOp::FloorDiv if y == 0 => Exact::Int(0),
            BinaryOp::FloorDiv => match x.checked_div(y) {
                Some(q) if x % y != 0 && (x < 0) != (y < 0) => Exact::Int(q - 1),
                Some(q) => Exact::Int(q),
                None => Exact::Overflow,
            },
            BinaryOp::Div
            | BinaryOp::Atan2
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => Exact::NotInt,
        }
    }

    /// The op's code for operands `x`, `y` of dtype `d`.
    pub fn lower<E: Emit>(self, e: &mut E, d: DType, x: E::V, y: E::V) -> EmitResult<E::V> {
        runtime_dtype(d)?;
        self.result(d)?;
        match Kind::of(d) {
            Kind::Float => {
                let cmp = |e: &mut E, c: FCmp| e.fcmp(c, x, y);
                match self {
                    BinaryOp::Add => e.float_binary(FBin::Add, x, y),
                    BinaryOp::Sub => e.float_binary(FBin::Sub, x, y),
                    BinaryOp::Mul => e.float_binary(FBin::Mul, x, y),
                    BinaryOp::Div => e.float_binary(FBin::Div, x, y),
                    BinaryOp::Pow => e.call(Host::Pow, d, &[x, y]),
                    BinaryOp::Rem => super::divmod::lower_float(e, d, x, y, true),
                    BinaryOp::FloorDiv => super::divmod::lower_float(e, d, x, y, false),
                    BinaryOp::Atan2 => e.call(Host::Atan2, d, &[x, y]),
                    BinaryOp::Max | BinaryOp::Min => {
                        // x if x is NaN or wins, else y.
                        let c = if self == BinaryOp::Max {
                            FCmp::Ge
                        } else {
                            FCmp::Le
                        };
                        let nan = e.fcmp(FCmp::Uno, x, x)?;
                        let wins = e.fcmp(c, x, y)?;
                        let c = e.int_binary(IBin::Or, nan, wins)?;
                        e.select(c, x, y)
                    }
                    BinaryOp::Lt => cmp(e, FCmp::Lt),
                    BinaryOp::Le => cmp(e, FCmp::Le),
                    BinaryOp::Gt => cmp(e, FCmp::Gt),
                    BinaryOp::Ge => cmp(e, FCmp::Ge),
                    BinaryOp::Eq => cmp(e, FCmp::Eq),
                    BinaryOp::Ne => cmp(e, FCmp::Ne),
                }
            }
            Kind::Int => {
                let cmp = |e: &mut E, c: ICmp| e.icmp(c, x, y);
                match self {
                    BinaryOp::Add => e.int_binary(IBin::Add, x, y),
                    BinaryOp::Sub => e.int_binary(IBin::Sub, x, y),
                    BinaryOp::Mul => e.int_binary(IBin::Mul, x, y),
                    BinaryOp::Div | BinaryOp::FloorDiv => {
                        super::divmod::lower_floor_div_int(e, d, x, y)
                    }
                    BinaryOp::Rem => super::divmod::lower_rem_int(e, d, x, y),
                    BinaryOp::Atan2 => Err(OpError::NotDefined {
                        op: self.name(),
                        dtype: d,
                    }
                    .into()),
                    BinaryOp::Pow => e.call(Host::IPow, d, &[x, y]),
                    BinaryOp::Max => e.int_binary(IBin::SMax, x, y),
                    BinaryOp::Min => e.int_binary(IBin::SMin, x, y),
                    BinaryOp::Lt => cmp(e, ICmp::Slt),
                    BinaryOp::Le => cmp(e, ICmp::Sle),
                    BinaryOp::Gt => cmp(e, ICmp::Sgt),
                    BinaryOp::Ge => cmp(e, ICmp::Sge),
                    BinaryOp::Eq => cmp(e, ICmp::Eq),
                    BinaryOp::Ne => cmp(e, ICmp::Ne),
                }
            }
            Kind::Bool => match self {
                BinaryOp::Eq => e.icmp(ICmp::Eq, x, y),
                BinaryOp::Ne => e.icmp(ICmp::Ne, x, y),
                BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Pow
                | BinaryOp::Max
                | BinaryOp::Min
                | BinaryOp::Rem
                | BinaryOp::FloorDiv
                | BinaryOp::Atan2
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge => Err(OpError::NotDefined {
                    op: self.name(),
                    dtype: d,
                }
                .into()),
            },
        }
    }
}
