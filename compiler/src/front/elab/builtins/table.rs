//! The builtin functions of the contract's section 6, as a table: each
//! [`Builtin`] has its name and its signature here, and its type and shape
//! rule in the one `match` of `Elab::builtin` (which fails to compile when a
//! builtin is added here and not there).

use crate::ops::UnaryOp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// `exp`, `log`, ... `relu`: the table's unary ops.
    Unary(UnaryOp),
    Pow,
    Maximum,
    Minimum,
    Where,
    Cast,
    Sum,
    Mean,
    Max,
    Min,
    Argmax,
    Matmul,
    Transpose,
    Reshape,
    BroadcastTo,
    Concat,
    Stack,
    ExpandDims,
    Squeeze,
    OneHot,
    Gather,
    Zeros,
    Ones,
    Full,
    Arange,
    Normal,
    Uniform,
    Grad,
    StopGradient,
    ZerosLike,
    OnesLike,
    FullLike,
    Batch,
    /// `nn.dropout`: reached through the module `nn` only.
    Dropout,
    Clip,
    IsNan,
    IsFinite,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    Atan2,
    FloorDiv,
    Argmin,
    Any,
    All,
    Var,
    Std,
    Logsumexp,
    Eye,
    Tril,
    Triu,
    Flip,
    Pad,
    ScatterAdd,
    Prod,
    Cumsum,
    Einsum,
    Sort,
    Argsort,
    Topk,
    /// `all_sum`, `all_mean` (section 13).
    AllSum,
    AllMean,
}

/// A parameter: its name, and whether it must be given.
pub(crate) type Param = (&'static str, bool);

const X: &[Param] = &[("x", true)];
const AB: &[Param] = &[("a", true), ("b", true)];

impl Builtin {
    /// Every builtin but the unary ops (see [`Builtin::all`]).
    const OTHERS: [Builtin; 61] = [
        Builtin::Pow,
        Builtin::Maximum,
        Builtin::Minimum,
        Builtin::Where,
        Builtin::Cast,
        Builtin::Sum,
        Builtin::Mean,
        Builtin::Max,
        Builtin::Min,
        Builtin::Argmax,
        Builtin::Matmul,
        Builtin::Transpose,
        Builtin::Reshape,
        Builtin::BroadcastTo,
        Builtin::Concat,
        Builtin::Stack,
        Builtin::ExpandDims,
        Builtin::Squeeze,
        Builtin::OneHot,
        Builtin::Gather,
        Builtin::Zeros,
        Builtin::Ones,
        Builtin::Full,
        Builtin::Arange,
        Builtin::Normal,
        Builtin::Uniform,
        Builtin::Grad,
        Builtin::StopGradient,
        Builtin::ZerosLike,
        Builtin::OnesLike,
        Builtin::FullLike,
        Builtin::Batch,
        Builtin::Dropout,
        Builtin::Clip,
        Builtin::IsNan,
        Builtin::IsFinite,
        Builtin::Conv2d,
        Builtin::MaxPool2d,
        Builtin::AvgPool2d,
        Builtin::Atan2,
        Builtin::FloorDiv,
        Builtin::Argmin,
        Builtin::Any,
        Builtin::All,
        Builtin::Var,
        Builtin::Std,
        Builtin::Logsumexp,
        Builtin::Eye,
        Builtin::Tril,
        Builtin::Triu,
        Builtin::Flip,
        Builtin::Pad,
        Builtin::ScatterAdd,
        Builtin::Prod,
        Builtin::Cumsum,
        Builtin::Einsum,
        Builtin::Sort,
        Builtin::Argsort,
        Builtin::Topk,
        Builtin::AllSum,
        Builtin::AllMean,
    ];

    /// Every builtin, in the order of the contract.
    pub(crate) fn all() -> impl Iterator<Item = Builtin> {
        UnaryOp::ALL
            .into_iter()
            .map(Builtin::Unary)
            .chain(Builtin::OTHERS)
    }

    /// A builtin in scope everywhere.
    pub(crate) fn lookup(name: &str) -> Option<Builtin> {
        Builtin::all().find(|b| b.name() == name && b.module().is_none())
    }

    /// A builtin that is an item of standard-library module `module`.
    pub(crate) fn in_module(module: &str, name: &str) -> Option<Builtin> {
        Builtin::all().find(|b| b.name() == name && b.module() == Some(module))
    }

    /// The standard-library module a builtin belongs to (None: global).
    pub(crate) fn module(self) -> Option<&'static str> {
        match self {
            Builtin::Dropout => Some("nn"),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::Unary(u) => u.name(),
            Builtin::Pow => "pow",
            Builtin::Maximum => "maximum",
            Builtin::Minimum => "minimum",
            Builtin::Where => "where",
            Builtin::Cast => "cast",
            Builtin::Sum => "sum",
            Builtin::Mean => "mean",
            Builtin::Max => "max",
            Builtin::Min => "min",
            Builtin::Argmax => "argmax",
            Builtin::Matmul => "matmul",
            Builtin::Transpose => "transpose",
            Builtin::Reshape => "reshape",
            Builtin::BroadcastTo => "broadcast_to",
            Builtin::Concat => "concat",
            Builtin::Stack => "stack",
            Builtin::ExpandDims => "expand_dims",
            Builtin::Squeeze => "squeeze",
            Builtin::OneHot => "one_hot",
            Builtin::Gather => "gather",
            Builtin::Zeros => "zeros",
            Builtin::Ones => "ones",
            Builtin::Full => "full",
            Builtin::Arange => "arange",
            Builtin::Normal => "normal",
            Builtin::Uniform => "uniform",
            Builtin::Grad => "grad",
            Builtin::StopGradient => "stop_gradient",
            Builtin::ZerosLike => "zeros_like",
            Builtin::OnesLike => "ones_like",
            Builtin::FullLike => "full_like",
            Builtin::Batch => "batch",
            Builtin::Dropout => "dropout",
            Builtin::Clip => "clip",
            Builtin::IsNan => "isnan",
            Builtin::IsFinite => "isfinite",
            Builtin::Conv2d => "conv2d",
            Builtin::MaxPool2d => "max_pool2d",
            Builtin::AvgPool2d => "avg_pool2d",
            Builtin::Atan2 => "atan2",
            Builtin::FloorDiv => "floor_div",
            Builtin::Argmin => "argmin",
            Builtin::Any => "any",
            Builtin::All => "all",
            Builtin::Var => "var",
            Builtin::Std => "std",
            Builtin::Logsumexp => "logsumexp",
            Builtin::Eye => "eye",
            Builtin::Tril => "tril",
            Builtin::Triu => "triu",
            Builtin::Flip => "flip",
            Builtin::Pad => "pad",
            Builtin::ScatterAdd => "scatter_add",
            Builtin::Prod => "prod",
            Builtin::Cumsum => "cumsum",
            Builtin::Einsum => "einsum",
            Builtin::Sort => "sort",
            Builtin::Argsort => "argsort",
            Builtin::Topk => "topk",
            Builtin::AllSum => "all_sum",
            Builtin::AllMean => "all_mean",
        }
    }

    /// Whether the builtin applies to records leaf by leaf (section 9: the
    /// elementwise builtins, `cast` and `stop_gradient`).
    pub(crate) fn leafwise(self) -> bool {
        match self {
            Builtin::Unary(_)
            | Builtin::Pow
            | Builtin::Maximum
            | Builtin::Minimum
            | Builtin::Where
            | Builtin::Cast
            | Builtin::StopGradient
            | Builtin::ZerosLike
            | Builtin::OnesLike
            | Builtin::FullLike
            | Builtin::Clip
            | Builtin::IsNan
            | Builtin::IsFinite
            | Builtin::Atan2
            | Builtin::FloorDiv
            | Builtin::AllSum
            | Builtin::AllMean => true,
            Builtin::Sum
            | Builtin::Mean
            | Builtin::Max
            | Builtin::Min
            | Builtin::Argmax
            | Builtin::Matmul
            | Builtin::Transpose
            | Builtin::Reshape
            | Builtin::BroadcastTo
            | Builtin::Concat
            | Builtin::Stack
            | Builtin::ExpandDims
            | Builtin::Squeeze
            | Builtin::OneHot
            | Builtin::Gather
            | Builtin::Zeros
            | Builtin::Ones
            | Builtin::Full
            | Builtin::Arange
            | Builtin::Normal
            | Builtin::Uniform
            | Builtin::Grad
            | Builtin::Batch
            | Builtin::Dropout
            | Builtin::Conv2d
            | Builtin::MaxPool2d
            | Builtin::AvgPool2d
            | Builtin::Argmin
            | Builtin::Any
            | Builtin::All
            | Builtin::Var
            | Builtin::Std
            | Builtin::Logsumexp
            | Builtin::Eye
            | Builtin::Tril
            | Builtin::Triu
            | Builtin::Flip
            | Builtin::Pad
            | Builtin::ScatterAdd
            | Builtin::Prod
            | Builtin::Cumsum
            | Builtin::Einsum
            | Builtin::Sort
            | Builtin::Argsort
            | Builtin::Topk => false,
        }
    }

    /// The parameters, positional order first.
    pub(crate) fn params(self) -> &'static [Param] {
        match self {
            Builtin::Unary(_) | Builtin::StopGradient | Builtin::AllSum | Builtin::AllMean => X,
            Builtin::Pow | Builtin::Maximum | Builtin::Minimum | Builtin::Matmul => AB,
            Builtin::Where => &[("cond", true), ("a", true), ("b", true)],
            Builtin::Cast => &[("x", true), ("dtype", true)],
            Builtin::Sum | Builtin::Mean | Builtin::Max | Builtin::Min | Builtin::Prod => {
                &[("x", true), ("axis", false), ("keepdims", false)]
            }
            Builtin::Argmax | Builtin::Squeeze => &[("x", true), ("axis", false)],
            Builtin::Transpose => &[("x", true), ("axes", false)],
            Builtin::Reshape | Builtin::BroadcastTo => &[("x", true), ("shape", true)],
            Builtin::Concat | Builtin::Stack => &[("tensors", true), ("axis", false)],
            Builtin::ExpandDims => &[("x", true), ("axis", true)],
            Builtin::OneHot => &[("labels", true), ("k", true), ("dtype", false)],
            Builtin::Gather => &[("table", true), ("idx", true)],
            Builtin::Zeros | Builtin::Ones => &[("shape", true), ("dtype", false)],
            Builtin::Full => &[("shape", true), ("value", true), ("dtype", false)],
            Builtin::Arange => &[("n", true), ("dtype", false)],
            Builtin::Normal => &[
                ("shape", true),
                ("mean", true),
                ("std", true),
                ("seed", false),
                ("dtype", false),
            ],
            Builtin::Uniform => &[
                ("shape", true),
                ("lo", true),
                ("hi", true),
                ("seed", false),
                ("dtype", false),
            ],
            Builtin::Grad => &[("y", true), ("x", true)],
            Builtin::ZerosLike | Builtin::OnesLike => X,
            Builtin::FullLike => &[("x", true), ("value", true)],
            Builtin::Batch => &[("x", true), ("size", true), ("shuffle", false)],
            Builtin::Dropout => &[("x", true), ("p", true), ("seed", true)],
            Builtin::Clip => &[("x", true), ("lo", true), ("hi", true)],
            Builtin::IsNan | Builtin::IsFinite => X,
            Builtin::Conv2d => &[
                ("x", true),
                ("w", true),
                ("stride", false),
                ("padding", false),
                ("dilation", false),
                ("groups", false),
            ],
            Builtin::Atan2 | Builtin::FloorDiv => AB,
            Builtin::Argmin => &[("x", true), ("axis", false)],
            Builtin::Any | Builtin::All | Builtin::Var | Builtin::Std | Builtin::Logsumexp => {
                &[("x", true), ("axis", false), ("keepdims", false)]
            }
            Builtin::Eye => &[("n", true), ("dtype", false)],
            Builtin::Tril | Builtin::Triu => &[("x", true), ("k", false)],
            Builtin::Flip => &[("x", true), ("axis", false)],
            Builtin::Pad => &[("x", true), ("pad_width", true), ("value", false)],
            Builtin::ScatterAdd => &[("table", true), ("idx", true), ("values", true)],
            Builtin::Cumsum | Builtin::Sort | Builtin::Argsort => &[("x", true), ("axis", false)],
            Builtin::Topk => &[("x", true), ("k", true)],
            // Up to six operands after the spec.
            Builtin::Einsum => &[
                ("spec", true),
                ("a", true),
                ("b", false),
                ("c", false),
                ("d", false),
                ("e", false),
                ("f", false),
            ],
            Builtin::MaxPool2d | Builtin::AvgPool2d => &[
                ("x", true),
                ("k", true),
                ("stride", false),
                ("padding", false),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names: Vec<&str> = Builtin::all().map(Builtin::name).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} twice");
            let b = Builtin::all().find(|b| b.name() == *n);
            let found = match b.and_then(Builtin::module) {
                Some(m) => Builtin::in_module(m, n),
                None => Builtin::lookup(n),
            };
            assert_eq!(found.map(Builtin::name), Some(*n));
        }
        assert!(names.contains(&"stop_gradient") && names.contains(&"exp"));
    }
}
