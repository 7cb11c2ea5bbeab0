//! The semantics table of weft's scalar operations: one place that says
//! what every unary, binary, cast and reduction operation means, below
//! every engine.
//!
//! For each operation the table gives
//! - its **dtype rule** ([`UnaryOp::result`], [`BinaryOp::result`],
//!   [`literal_fits`]), used by the graph IR's `infer`, the front end's
//!   checks and the kernel verifier;
//! - one **reference evaluation** on scalars ([`UnaryOp::eval`],
//!   [`BinaryOp::eval`], [`cast`], [`ReduceOp::fold`]), used by the graph
//!   interpreter, the kernel interpreter, the JIT's host functions and the
//!   front end's constant folder;
//! - its **cost** per element, used by the scheduler and the JIT's tiering;
//! - one **lowering** ([`UnaryOp::lower`], [`BinaryOp::lower`],
//!   [`lower_cast`], [`ReduceOp::lower_fold`]) written against the small
//!   [`Emit`] trait, which Cranelift (scalar and `f32x4`), LLVM and the
//!   evaluating emitter [`Eval`] implement.
//!
//! `f32` `exp`, `log`, `tanh` and `sigmoid` ([`vmath`]) are written once
//! against [`Emit`] too: the interpreters run them through [`Eval`], the
//! JIT and LLVM emit the same operations.
//!
//! Every dispatch here matches exhaustively, with no fallback arm: an
//! operation or dtype added to the enums does not compile until the table
//! says what it means everywhere. The tests of this module check that the
//! lowering, run through [`Eval`], gives the reference evaluation's bits on
//! special values (NaN, ±0, ±inf, subnormals, extreme integers).

mod binary;
mod cast;
mod divmod;
mod emit;
mod eval;
pub mod num;
mod reduce;
mod specials;
mod unary;
mod val;
pub mod vmath;

#[cfg(test)]
mod tests;

pub use binary::{BinaryOp, Exact};
pub use cast::{cast, lower_cast};
pub use emit::{Conv, Emit, EmitResult, FBin, FCmp, FUn, Host, IBin, ICmp};
pub use eval::Eval;
pub use reduce::{argmax_better, lower_argmax_better, lower_partials, ReduceOp, PARTIALS};
pub use specials::special_values;
pub use unary::UnaryOp;
pub use val::Val;

use crate::ir::types::{DType, Scalar};

/// What an operation sees of a dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Bool,
}

impl Kind {
    pub fn of(d: DType) -> Kind {
        match d {
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Kind::Float,
            DType::I32 | DType::I64 | DType::U8 => Kind::Int,
            DType::Bool => Kind::Bool,
        }
    }
}

/// Why an operation cannot be applied: a typed error that the front end
/// turns into a diagnostic and the IR verifiers into an internal error.
#[derive(Clone, Debug, PartialEq)]
pub enum OpError {
    /// The operation is not defined on this dtype (`exp` of an integer,
    /// arithmetic on `bool`).
    NotDefined { op: &'static str, dtype: DType },
    /// The dtype has no run-time representation yet (`f16`, `bf16`).
    Unsupported { dtype: DType },
    /// A literal that does not fit the dtype it takes.
    LiteralRange { value: Scalar, dtype: DType },
    /// Operand values of dtypes the operation does not combine (an engine
    /// bug: the type rules rule it out).
    Operands { op: &'static str, detail: String },
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::NotDefined { op, dtype } => write!(f, "{op} is not defined on {dtype}"),
            OpError::Unsupported { dtype } => write!(f, "{dtype} is not supported at run time"),
            OpError::LiteralRange { value, dtype } => {
                write!(f, "the literal {value} does not fit {dtype}")
            }
            OpError::Operands { op, detail } => write!(f, "{op} of {detail}"),
        }
    }
}

impl From<OpError> for String {
    fn from(e: OpError) -> String {
        e.to_string()
    }
}

/// Whether a literal may take `dtype`: a float literal only a float dtype
/// (and a finite one must stay finite), an integer any numeric dtype within
/// its range, a bool only `bool`.
pub fn literal_fits(value: Scalar, dtype: DType) -> Result<(), OpError> {
    let range = || OpError::LiteralRange { value, dtype };
    let ok = match (value, Kind::of(dtype)) {
        (Scalar::Float(v), Kind::Float) => match dtype {
            DType::F32 | DType::F16 | DType::BF16 => !v.is_finite() || (v as f32).is_finite(),
            DType::F64 | DType::I32 | DType::I64 | DType::U8 | DType::Bool => true,
        },
        (Scalar::Int(v), Kind::Int) => match dtype {
            DType::I32 => i32::try_from(v).is_ok(),
            DType::U8 => u8::try_from(v).is_ok(),
            DType::I64 | DType::F16 | DType::BF16 | DType::F32 | DType::F64 | DType::Bool => true,
        },
        (Scalar::Int(_), Kind::Float) => true,
        (Scalar::Bool(_), Kind::Bool) => true,
        (Scalar::Float(_), Kind::Int | Kind::Bool)
        | (Scalar::Int(_), Kind::Bool)
        | (Scalar::Bool(_), Kind::Float | Kind::Int) => {
            return Err(OpError::NotDefined {
                op: "a literal",
                dtype,
            })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(range())
    }
}

/// Whether the table's arithmetic, comparisons and reductions are defined on
/// `d`. `u8` is a storage dtype in the engines: the front end computes
/// its arithmetic in `i32` and casts back, which wraps like NumPy's `uint8`.
pub fn arithmetic(d: DType) -> bool {
    d != DType::U8
}

/// Whether values of `d` exist at run time (`f16` and `bf16` do not yet).
pub fn runtime_dtype(d: DType) -> Result<(), OpError> {
    match d {
        DType::F16 | DType::BF16 => Err(OpError::Unsupported { dtype: d }),
        DType::F32 | DType::F64 | DType::I32 | DType::I64 | DType::U8 | DType::Bool => Ok(()),
    }
}
