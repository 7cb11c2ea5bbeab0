//! The primitive ops of the graph IR: one exhaustive enum, each op with its
//! type rule ([`infer`]). Everything the front end accepts lowers to these;
//! composite functions (softmax, layer_norm, ...) are written in weft.
//!
//! IR conventions, which keep every later pass simple:
//! - elementwise binary ops and `Select` take operands of one exact shape:
//!   broadcasting is an explicit `Broadcast` node;
//! - reductions keep the reduced axes (as size 1); dropping them is a `Reshape`;
//! - `MatMul` takes two operands of rank ≥ 2 with identical batch axes;
//! - literals are scalars; a filled tensor is `Broadcast(Literal)`.

use super::types::{broadcasts_to, element_count, DType, Dim, Scalar, Shape, TensorType};
use super::window::Window;

use crate::ops::{literal_fits, Kind, OpError};
pub use crate::ops::{BinaryOp, ReduceOp, UnaryOp};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    Normal { mean: f64, std: f64 },
    Uniform { lo: f64, hi: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A declared `input`, bound from `--input`.
    Input {
        name: String,
        ty: TensorType,
    },
    /// The current value of a `param`.
    Param {
        name: String,
        ty: TensorType,
    },
    /// A scalar constant of the given dtype.
    Literal {
        value: Scalar,
        dtype: DType,
    },
    /// The product of some run-time sizes, as a scalar of `dtype` (`mean` divides by it).
    SizeOf {
        dims: Vec<Dim>,
        dtype: DType,
    },
    /// Position along `axis`, in a tensor of type `ty` (`arange` is the 1-D case).
    Iota {
        ty: TensorType,
        axis: usize,
    },
    /// Counter-based random numbers (see `weft_runtime::rng`): element `i` is a function of (seed, i).
    Random {
        ty: TensorType,
        dist: Distribution,
        seed: u64,
    },
    Unary(UnaryOp),
    /// Both operands have one exact type (comparisons give `bool`).
    Binary(BinaryOp),
    /// `where(cond, a, b)`: all three of one shape, `cond` is `bool`.
    Select,
    Cast {
        to: DType,
    },
    /// NumPy broadcast of the operand to `shape`.
    Broadcast {
        shape: Shape,
    },
    /// Same elements, C order, new shape.
    Reshape {
        shape: Shape,
    },
    /// Output axis `i` is input axis `perm[i]`.
    Transpose {
        perm: Vec<usize>,
    },
    /// Elements `start, start+step, ..` (`len` of them) along `axis`. A negative
    /// `start` counts from the end of the axis at run time.
    Slice {
        axis: usize,
        start: i64,
        step: u64,
        len: Dim,
    },
    /// The adjoint of `Slice`: the operand placed at those positions of a zero tensor of type `ty`.
    SliceGrad {
        ty: TensorType,
        axis: usize,
        start: i64,
        step: u64,
    },
    /// Operands joined along `axis`.
    Concat {
        axis: usize,
    },
    /// `table[idx]`: rows of `table` picked by the integer tensor `idx`; shape `idx.shape + table.shape[1..]`.
    Gather,
    /// The adjoint of `Gather`: `(idx, g)` rows added into a zero tensor of type `ty` (duplicates accumulate).
    ScatterAdd {
        ty: TensorType,
    },
    /// Every window of the last two axes: `[.., H, W]` to `[.., KH, KW, OH, OW]`,
    /// `fill` where a window reaches into the padding (see `ir/window.rs`).
    Window {
        win: Window,
        fill: Scalar,
    },
    /// The adjoint of `Window`: each element of `[.., KH, KW, OH, OW]` added
    /// into its position of a zero tensor of type `ty` (padding dropped).
    WindowGrad {
        win: Window,
        ty: TensorType,
    },
    /// `conv2d(x, w)`: `x` `[N, C, H, W]`, `w` `[O, C/groups, KH, KW]` (the
    /// window's kernel), result `[N, O, OH, OW]` (PyTorch's cross-correlation).
    Conv2d {
        win: Window,
        groups: u64,
    },
    /// The gradient of `Conv2d` in its input: `(dy, w)` to `ty`, the input's type.
    Conv2dGradInput {
        win: Window,
        groups: u64,
        ty: TensorType,
    },
    /// The gradient of `Conv2d` in its weight: `(x, dy)` to `ty`, the weight's type.
    Conv2dGradWeight {
        win: Window,
        groups: u64,
        ty: TensorType,
    },
    /// Running sums along `axis` (from its end when `reverse`), in the
    /// operand's dtype, sequentially.
    Cumsum {
        axis: usize,
        reverse: bool,
    },
    /// Reduces `axes` (sorted, distinct), keeping them as size 1.
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
    },
    /// Index of the first maximum along `axis` (which is dropped); `i64`.
    ArgMax {
        axis: usize,
    },
    /// `[.., M, K] @ [.., K, N]` with identical batch axes.
    MatMul,
    /// Identity whose derivative is zero.
    StopGradient,
    /// `all_sum`: the element-wise sum of the operand over the processes of
    /// a distributed run (language.md §13); the identity in a world of one.
    /// Numeric (not bool or u8); linear, its own derivative.
    AllSum,
    /// `d args[0] / d args[1]`; removed by the autodiff pass.
    Grad,
}

impl Op {
    /// A short name for printing and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Param { .. } => "param",
            Op::Literal { .. } => "literal",
            Op::SizeOf { .. } => "sizeof",
            Op::Iota { .. } => "iota",
            Op::Random { .. } => "random",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Select => "select",
            Op::Cast { .. } => "cast",
            Op::Broadcast { .. } => "broadcast",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice { .. } => "slice",
            Op::SliceGrad { .. } => "slice_grad",
            Op::Concat { .. } => "concat",
            Op::Gather => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::Cumsum { .. } => "cumsum",
            Op::Conv2d { .. } => "conv2d",
            Op::Conv2dGradInput { .. } => "conv2d_grad_input",
            Op::Conv2dGradWeight { .. } => "conv2d_grad_weight",
            Op::Window { .. } => "window",
            Op::WindowGrad { .. } => "window_grad",
            Op::Reduce { op, .. } => match op {
                ReduceOp::Sum => "reduce_sum",
                ReduceOp::Max => "reduce_max",
                ReduceOp::Min => "reduce_min",
                ReduceOp::Prod => "reduce_prod",
            },
            Op::ArgMax { .. } => "argmax",
            Op::MatMul => "matmul",
            Op::StopGradient => "stop_gradient",
            Op::AllSum => "all_sum",
            Op::Grad => "grad",
        }
    }

    /// Operand count, or None for variadic (`Concat`, at least one).
    pub fn arity(&self) -> Option<usize> {
        Some(match self {
            Op::Input { .. }
            | Op::Param { .. }
            | Op::Literal { .. }
            | Op::SizeOf { .. }
            | Op::Iota { .. }
            | Op::Random { .. } => 0,
            Op::Unary(_)
            | Op::Cast { .. }
            | Op::Broadcast { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::SliceGrad { .. }
            | Op::Reduce { .. }
            | Op::ArgMax { .. }
            | Op::Window { .. }
            | Op::WindowGrad { .. }
            | Op::Cumsum { .. }
            | Op::StopGradient
            | Op::AllSum => 1,
            Op::Binary(_)
            | Op::Gather
            | Op::ScatterAdd { .. }
            | Op::MatMul
            | Op::Conv2d { .. }
            | Op::Conv2dGradInput { .. }
            | Op::Conv2dGradWeight { .. }
            | Op::Grad => 2,
            Op::Select => 3,
            Op::Concat { .. } => return None,
        })
    }
}

/// The shape of `Op::Window`'s result for an operand of shape `x`: the
/// last two axes become `KH, KW, OH, OW`; None when a literal length is 0
/// or no window fits it. The output length of a size-name axis is a size
/// expression (`(H - 3) div 2 + 1`), checked to be positive at run time.
pub fn window_shape(win: &Window, x: &[Dim]) -> Option<Shape> {
    let r = x.len().checked_sub(2)?;
    let out = |a: usize| -> Option<Dim> {
        match &x[r + a] {
            Dim::Lit(0) => None,
            Dim::Lit(n) => win.out_len(a, *n).map(Dim::Lit),
            d => Dim::from_poly(win.out_poly(a, &d.poly())?),
        }
    };
    let (oh, ow) = (out(0)?, out(1)?);
    let mut s = x[..r].to_vec();
    s.extend([Dim::Lit(win.kernel[0]), Dim::Lit(win.kernel[1]), oh, ow]);
    Some(s)
}

/// The type of `conv2d(x, w)` with window `win` (whose kernel is `w`'s last
/// two lengths) and `groups`: `[N, O, OH, OW]`, or None when the operands do
/// not fit (rank, float dtype, channels, an empty output).
pub fn conv2d_type(
    win: &Window,
    groups: u64,
    x: &TensorType,
    w: &TensorType,
) -> Option<TensorType> {
    if x.rank() != 4 || w.rank() != 4 || x.dtype != w.dtype || !x.dtype.is_float() || groups == 0 {
        return None;
    }
    if [w.shape[2].as_lit()?, w.shape[3].as_lit()?] != win.kernel {
        return None;
    }
    let channels = match (x.shape[1].as_lit(), w.shape[1].as_lit()) {
        (Some(c), Some(cg)) => c == cg * groups,
        _ => groups == 1 && x.shape[1] == w.shape[1],
    };
    let outs = match w.shape[0].as_lit() {
        Some(o) => o % groups == 0,
        None => groups == 1,
    };
    if !channels || !outs {
        return None;
    }
    let win_shape = window_shape(win, &x.shape)?;
    let shape = vec![
        x.shape[0].clone(),
        w.shape[0].clone(),
        win_shape[4].clone(),
        win_shape[5].clone(),
    ];
    Some(TensorType::new(x.dtype, shape))
}

/// The dtypes a collective (`all_sum`) sums over processes: the float and
/// integer dtypes the engines compute in (not `bool`, `u8` or the half
/// floats).
pub fn collective_dtype(d: DType) -> bool {
    match d {
        DType::F32 | DType::F64 | DType::I32 | DType::I64 => true,
        DType::F16 | DType::BF16 | DType::U8 | DType::Bool => false,
    }
}

/// Why an op's type rule refuses its operands: a compiler bug when it
/// happens after the front end (which reports user errors itself), so the
/// verifier and the graph builder turn it into their internal error.
#[derive(Clone, Debug, PartialEq)]
pub enum InferError {
    /// The wrong number of operands (`want` None: at least one).
    Arity {
        op: &'static str,
        want: Option<usize>,
        got: usize,
    },
    /// The semantics table's dtype rule refuses the operands.
    Op(OpError),
    /// Shapes, axes or dtypes that the op does not combine.
    Operands { op: &'static str, detail: String },
}

impl From<OpError> for InferError {
    fn from(e: OpError) -> Self {
        InferError::Op(e)
    }
}

impl std::fmt::Display for InferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InferError::Arity {
                op,
                want: Some(n),
                got,
            } => {
                write!(f, "{op} takes {n} operands, got {got}")
            }
            InferError::Arity { op, want: None, .. } => {
                write!(f, "{op} takes at least one operand")
            }
            InferError::Op(e) => write!(f, "{e}"),
            InferError::Operands { detail, .. } => f.write_str(detail),
        }
    }
}

/// The type rule of every op: the result type from the operand types, or why
/// the operands are invalid. The front end reports user errors itself, with
/// spans and hints, before it builds a node; a failure here is a compiler bug
/// (the verifier calls this after every pass).
pub fn infer(op: &Op, args: &[&TensorType]) -> Result<TensorType, InferError> {
    let bad = |detail: String| InferError::Operands {
        op: op.name(),
        detail,
    };
    if let Some(n) = op.arity() {
        if args.len() != n {
            return Err(InferError::Arity {
                op: op.name(),
                want: Some(n),
                got: args.len(),
            });
        }
    } else if args.is_empty() {
        return Err(InferError::Arity {
            op: op.name(),
            want: None,
            got: 0,
        });
    }
    match op {
        Op::Input { ty, .. } | Op::Param { ty, .. } => Ok(ty.clone()),
        Op::Literal { value, dtype } => {
            literal_fits(*value, *dtype)?;
            Ok(TensorType::scalar(*dtype))
        }
        Op::SizeOf { dtype, .. } => {
            if dtype.is_numeric() {
                Ok(TensorType::scalar(*dtype))
            } else {
                Err(bad("sizeof needs a numeric dtype".into()))
            }
        }
        Op::Iota { ty, axis } => {
            if *axis >= ty.rank() || !ty.dtype.is_numeric() {
                Err(bad(format!("iota axis {axis} invalid for {ty}")))
            } else {
                Ok(ty.clone())
            }
        }
        Op::Random { ty, .. } => {
            if ty.dtype.is_float() {
                Ok(ty.clone())
            } else {
                Err(bad(format!(
                    "random values need a float dtype, not {}",
                    ty.dtype
                )))
            }
        }
        Op::Unary(u) => Ok(args[0].with_dtype(u.result(args[0].dtype)?)),
        Op::Binary(b) => {
            let (x, y) = (args[0], args[1]);
            if x != y {
                return Err(bad(format!("{} operands differ: {x} and {y}", b.name())));
            }
            Ok(x.with_dtype(b.result(x.dtype)?))
        }
        Op::Select => {
            let (c, a, b) = (args[0], args[1], args[2]);
            if c.dtype != DType::Bool || a != b || c.shape != a.shape {
                Err(bad(format!(
                    "select needs bool condition and equal types: {c}, {a}, {b}"
                )))
            } else {
                Ok(a.clone())
            }
        }
        Op::Cast { to } => Ok(args[0].with_dtype(*to)),
        Op::Broadcast { shape } => {
            if broadcasts_to(&args[0].shape, shape) {
                Ok(TensorType::new(args[0].dtype, shape.clone()))
            } else {
                Err(bad(format!(
                    "{} does not broadcast to {:?}",
                    args[0], shape
                )))
            }
        }
        Op::Reshape { shape } => {
            if element_count(&args[0].shape) == element_count(shape) {
                Ok(TensorType::new(args[0].dtype, shape.clone()))
            } else {
                Err(bad(format!(
                    "reshape of {} to {:?} changes the element count",
                    args[0], shape
                )))
            }
        }
        Op::Transpose { perm } => {
            let a = args[0];
            let mut seen = vec![false; a.rank()];
            if perm.len() != a.rank() {
                return Err(bad(format!("permutation {perm:?} for rank {}", a.rank())));
            }
            for &p in perm {
                if p >= a.rank() || seen[p] {
                    return Err(bad(format!("invalid permutation {perm:?}")));
                }
                seen[p] = true;
            }
            Ok(TensorType::new(
                a.dtype,
                perm.iter().map(|&p| a.shape[p].clone()).collect(),
            ))
        }
        Op::Slice {
            axis, len, step, ..
        } => {
            let a = args[0];
            if *axis >= a.rank() || *step == 0 {
                return Err(bad(format!("slice axis {axis} invalid for {a}")));
            }
            let mut t = a.clone();
            t.shape[*axis] = len.clone();
            Ok(t)
        }
        Op::SliceGrad { ty, axis, step, .. } => {
            let a = args[0];
            if *axis >= ty.rank() || a.rank() != ty.rank() || a.dtype != ty.dtype || *step == 0 {
                return Err(bad(format!("slice_grad of {a} into {ty} is invalid")));
            }
            Ok(ty.clone())
        }
        Op::Concat { axis } => {
            let first = args[0];
            if *axis >= first.rank() {
                return Err(bad(format!("concat axis {axis} invalid for {first}")));
            }
            let mut total = super::types::Poly::default();
            for a in args {
                if a.dtype != first.dtype || a.rank() != first.rank() {
                    return Err(bad(format!("concat operands {first} and {a} differ")));
                }
                for (i, (x, y)) in a.shape.iter().zip(&first.shape).enumerate() {
                    if i != *axis && x != y {
                        return Err(bad(format!(
                            "concat operands {first} and {a} differ on axis {i}"
                        )));
                    }
                }
                total = total
                    .add(&a.shape[*axis].poly())
                    .ok_or_else(|| bad("the concatenated length overflows".into()))?;
            }
            let mut t = first.clone();
            t.shape[*axis] = Dim::from_poly(total)
                .ok_or_else(|| bad("the concatenated length is negative".into()))?;
            Ok(t)
        }
        Op::Gather => {
            let (table, idx) = (args[0], args[1]);
            if table.rank() == 0 || !idx.dtype.is_int() {
                return Err(bad(format!("gather of {table} by {idx}")));
            }
            let mut shape = idx.shape.clone();
            shape.extend(table.shape[1..].iter().cloned());
            Ok(TensorType::new(table.dtype, shape))
        }
        Op::ScatterAdd { ty } => {
            let (idx, g) = (args[0], args[1]);
            let mut want = idx.shape.clone();
            if ty.rank() == 0 || !idx.dtype.is_int() {
                return Err(bad(format!("scatter_add into {ty} by {idx}")));
            }
            want.extend(ty.shape[1..].iter().cloned());
            if g.shape != want || g.dtype != ty.dtype {
                return Err(bad(format!("scatter_add of {g} into {ty} by {idx}")));
            }
            Ok(ty.clone())
        }
        Op::Window { win, fill } => {
            let a = args[0];
            let out =
                window_shape(win, &a.shape).ok_or_else(|| bad(format!("window ({win}) of {a}")))?;
            literal_fits(*fill, a.dtype)?;
            Ok(TensorType::new(a.dtype, out))
        }
        Op::WindowGrad { win, ty } => {
            let a = args[0];
            if window_shape(win, &ty.shape).as_ref() != Some(&a.shape) || a.dtype != ty.dtype {
                return Err(bad(format!("window_grad ({win}) of {a} into {ty}")));
            }
            Ok(ty.clone())
        }
        Op::Conv2d { win, groups } => {
            conv2d_type(win, *groups, args[0], args[1]).ok_or_else(|| {
                bad(format!(
                    "conv2d ({win}, groups {groups}) of {} and {}",
                    args[0], args[1]
                ))
            })
        }
        Op::Conv2dGradInput { win, groups, ty } => {
            let (dy, w) = (args[0], args[1]);
            match conv2d_type(win, *groups, ty, w) {
                Some(t) if &t == dy => Ok(ty.clone()),
                _ => Err(bad(format!("conv2d_grad_input of {dy} and {w} into {ty}"))),
            }
        }
        Op::Conv2dGradWeight { win, groups, ty } => {
            let (x, dy) = (args[0], args[1]);
            match conv2d_type(win, *groups, x, ty) {
                Some(t) if &t == dy => Ok(ty.clone()),
                _ => Err(bad(format!("conv2d_grad_weight of {x} and {dy} into {ty}"))),
            }
        }
        Op::Cumsum { axis, .. } => {
            let a = args[0];
            if *axis >= a.rank() {
                return Err(bad(format!("cumsum axis {axis} invalid for {a}")));
            }
            if !ReduceOp::Sum.defined_on(Kind::of(a.dtype)) || !crate::ops::arithmetic(a.dtype) {
                return Err(OpError::NotDefined {
                    op: "cumsum",
                    dtype: a.dtype,
                }
                .into());
            }
            Ok(a.clone())
        }
        Op::Reduce { op, axes } => {
            let a = args[0];
            if !axes.windows(2).all(|w| w[0] < w[1]) || axes.iter().any(|&x| x >= a.rank()) {
                return Err(bad(format!("reduce axes {axes:?} invalid for {a}")));
            }
            if !op.defined_on(Kind::of(a.dtype)) || !crate::ops::arithmetic(a.dtype) {
                return Err(OpError::NotDefined {
                    op: op.name(),
                    dtype: a.dtype,
                }
                .into());
            }
            let mut t = a.clone();
            for &x in axes {
                t.shape[x] = Dim::Lit(1);
            }
            Ok(t)
        }
        Op::ArgMax { axis } => {
            let a = args[0];
            if *axis >= a.rank() {
                return Err(bad(format!("argmax axis {axis} invalid for {a}")));
            }
            if !crate::ops::arithmetic(a.dtype) {
                return Err(OpError::NotDefined {
                    op: "argmax",
                    dtype: a.dtype,
                }
                .into());
            }
            let mut shape = a.shape.clone();
            shape.remove(*axis);
            Ok(TensorType::new(DType::I64, shape))
        }
        Op::MatMul => {
            let (a, b) = (args[0], args[1]);
            let (ra, rb) = (a.rank(), b.rank());
            if ra < 2
                || ra != rb
                || a.dtype != b.dtype
                || !a.dtype.is_numeric()
                || !crate::ops::arithmetic(a.dtype)
            {
                return Err(bad(format!("matmul of {a} and {b}")));
            }
            if a.shape[..ra - 2] != b.shape[..rb - 2] || a.shape[ra - 1] != b.shape[rb - 2] {
                return Err(bad(format!("matmul of {a} and {b}: axes disagree")));
            }
            let mut shape: Shape = a.shape[..ra - 1].to_vec();
            shape.push(b.shape[rb - 1].clone());
            Ok(TensorType::new(a.dtype, shape))
        }
        Op::StopGradient => Ok(args[0].clone()),
        Op::AllSum => {
            let a = args[0];
            if collective_dtype(a.dtype) {
                Ok(a.clone())
            } else {
                Err(OpError::NotDefined {
                    op: "all_sum",
                    dtype: a.dtype,
                }
                .into())
            }
        }
        Op::Grad => {
            let (y, x) = (args[0], args[1]);
            if !y.shape.is_empty() || !y.dtype.is_float() || !x.dtype.is_float() {
                return Err(bad(format!("grad of {y} with respect to {x}")));
            }
            Ok(x.clone())
        }
    }
}
