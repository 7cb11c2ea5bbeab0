//! The one place where the semantics table's typed errors
//! ([`OpError`]: an op not defined on a dtype, a literal out of range)
//! become diagnostics, whatever construct met them.

use weft_grammar::ast::Span;

use crate::front::diag::Diagnostic;
use crate::ir::types::{DType, Scalar, TensorType};
use crate::ops::OpError;

/// Where the table's rule was applied.
pub(crate) enum Site<'a> {
    /// A builtin function of one tensor: `exp(n)`.
    Call {
        name: &'a str,
        arg: Span,
        ty: &'a TensorType,
    },
    /// An operator on two operands of one dtype: `a < b`, `p + q`;
    /// `operand` is one whose dtype is the offending one.
    Operator {
        sym: &'a str,
        span: Span,
        operand: Span,
    },
    /// A literal taking a dtype (`value` at `span`).
    Literal { value: Scalar, span: Span },
}

/// The diagnostic for `e` at `site`.
pub(crate) fn op_diagnostic(e: &OpError, site: Site) -> Diagnostic {
    match (e, site) {
        (OpError::LiteralRange { value, dtype }, Site::Literal { span, .. }) => {
            let range = match dtype {
                DType::I32 => format!("{} to {}", i32::MIN, i32::MAX),
                DType::F32 => format!("magnitudes up to {:e}", f32::MAX),
                d => format!("the range of {d}"),
            };
            let text = match value {
                Scalar::Float(v) if v.abs() >= 1e16 => format!("{v:e}"),
                v => v.to_string(),
            };
            Diagnostic::error(
                "E0319",
                format!("the {} literal {text} does not fit {dtype}", kind(*value)),
                span,
            )
            .label(format!("{dtype} holds {range}"))
            .note("a literal takes the dtype of the tensor it meets (i32 or f32 when it meets none), and weft never wraps or rounds a constant silently")
            .help(format!(
                "use a wider dtype: `cast(.., {})`",
                if dtype.is_int() { "i64" } else { "f64" }
            ))
        }
        (e, Site::Literal { value, span }) => {
            let d = match e {
                OpError::NotDefined { dtype, .. }
                | OpError::Unsupported { dtype }
                | OpError::LiteralRange { dtype, .. } => *dtype,
                OpError::Operands { .. } => DType::F32,
            };
            match value {
                Scalar::Float(_) if d.is_int() => Diagnostic::error(
                    "E0304",
                    format!("a float literal cannot be {d}"),
                    span,
                )
                .label(format!("float literal meets an {d} tensor"))
                .note("a literal takes the dtype of the tensor it meets, and a float cannot become an integer")
                .help("write an integer literal, or convert the tensor with `cast(.., f32)`"),
                v => Diagnostic::error(
                    "E0303",
                    format!("{} literal cannot be {d}", article(kind(v))),
                    span,
                )
                .label(format!(
                    "{} literal meets {} {d} tensor",
                    article(kind(v)),
                    article_for(d)
                )),
            }
        }
        (e, Site::Call { name, arg, ty }) => Diagnostic::error(
            "E0305",
            format!("`{name}` needs a float tensor, found `{ty}`"),
            arg,
        )
        .label(format!("this is `{ty}`"))
        .note(e.to_string())
        .help("convert it first: `cast(.., f32)`"),
        (e, Site::Operator { sym, span, operand }) => {
            let d = match e {
                OpError::NotDefined { dtype, .. } | OpError::Unsupported { dtype } => *dtype,
                OpError::LiteralRange { dtype, .. } => *dtype,
                OpError::Operands { .. } => DType::Bool,
            };
            let mut diag =
                Diagnostic::error("E0305", format!("`{sym}` is not defined on {d}"), span)
                    .label(format!("{d} operands"))
                    .with(operand, format!("this is {d}"));
            if d == DType::Bool {
                diag =
                    diag.help("convert with `cast(.., f32)`, or combine conditions with `where`");
            }
            diag
        }
    }
}

fn kind(s: Scalar) -> &'static str {
    match s {
        Scalar::Float(_) => "float",
        Scalar::Int(_) => "integer",
        Scalar::Bool(_) => "bool",
    }
}

fn article(word: &str) -> String {
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {word}", if vowel { "an" } else { "a" })
}

fn article_for(d: DType) -> &'static str {
    // "an f32", "an i64", but "a bool", "a bf16".
    if d.name().starts_with('b') {
        "a"
    } else {
        "an"
    }
}
