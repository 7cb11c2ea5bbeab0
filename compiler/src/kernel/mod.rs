//! The kernel IR: loop nests over buffers, shared by every backend.
//!
//! [`schedule::schedule`] lowers a graph IR program (after autodiff and
//! simplify) to a [`Program`]: the buffers it reads and writes, a list of
//! [`Kernel`]s in execution order, and a static memory plan. The kernel-IR
//! interpreter ([`interp`]), the Cranelift JIT (`crate::jit`) and the LLVM
//! backend (the weft-llvm crate) all execute exactly this, so they agree by
//! construction and can be compared kernel by kernel.
//!
//! Shapes stay symbolic: a [`Dim`] is a literal or a size name, resolved at
//! run time from the `dims` array of the ABI (docs/abi.md), whose order is
//! [`Program::dims`].
//!
//! Index spaces. An elementwise kernel ([`Kernel::Map`]) runs over its output
//! buffer's index space (C order) and computes each element with a scalar
//! [`Expr`] tree. A leaf [`Expr::Load`] reads a buffer *viewed* with some
//! shape of the same element count, at the current multi-index (a reshape of
//! a packed buffer is only a different view). [`Expr::Remap`] evaluates its
//! operand in another index space, each operand axis being either 0 (a
//! broadcast axis) or `start + step * i` of one current axis (transpose,
//! slice, broadcast, squeeze/unsqueeze). Reductions and argmax evaluate their
//! body in the operand's space, looping over the reduced axes innermost.
//!
//! Memory plan. Inputs, params, outputs and updates are the ABI's buffers;
//! every other buffer is a temp living in one *slot* of the arena. Temps
//! whose lifetimes (first writing kernel to last reading kernel) do not
//! overlap share a slot; a slot's byte size is the maximum of its members'
//! sizes rounded up to 64, evaluated at run time from the dims, and slots are
//! laid out one after the other (see [`plan`]).

pub mod desc;
pub mod fusion;
pub mod interp;
pub mod lower;
pub mod plan;
pub mod print;
pub mod schedule;
pub mod verify;
mod window;

#[cfg(any(test, feature = "testing"))]
pub mod specials;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use crate::ir::graph::Init;
use crate::ir::op::{BinaryOp, Distribution, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim, Scalar, Shape, TensorType};
use crate::ir::window::Window;

pub use schedule::schedule;

/// Index of a buffer in [`Program::buffers`].
pub type BufId = usize;

/// Where a buffer lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BufKind {
    /// `inputs[i]` of `weft_step` (read only).
    Input(usize),
    /// `params[i]`: the param's current value (read only).
    Param(usize),
    /// `outputs[i]`: a step output (numbered among the non-param outputs).
    Output(usize),
    /// `updates[i]`: the next value of a param.
    Update(usize),
    /// Scratch memory in arena slot `slot` (see [`Program::slots`]).
    Temp { slot: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub name: String,
    pub dtype: DType,
    pub shape: Shape,
    pub kind: BufKind,
}

/// One axis of a [`Expr::Remap`]'s operand space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AxisSrc {
    /// Always index 0 (a broadcast axis, or an axis of length 1).
    Zero,
    /// `start' + step * i` where `i` is axis `axis` of the current space and
    /// `start'` is `start`, or `start + len` (the operand axis' length) when
    /// `start < 0`.
    Outer { axis: usize, start: i64, step: u64 },
}

/// A scalar expression evaluated at one multi-index of the current space.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Element of `buf` viewed with shape `view` (C order, same element count).
    Load {
        buf: BufId,
        view: Shape,
    },
    Const {
        value: Scalar,
        dtype: DType,
    },
    /// The current index along `axis`.
    Iota {
        axis: usize,
        dtype: DType,
    },
    /// The product of run-time sizes.
    Size {
        dims: Vec<Dim>,
        dtype: DType,
    },
    Unary {
        op: UnaryOp,
        arg: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Select {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    Cast {
        to: DType,
        arg: Box<Expr>,
    },
    /// `arg` evaluated in the space of shape `shape`, mapped from the current one.
    Remap {
        shape: Shape,
        axes: Vec<AxisSrc>,
        arg: Box<Expr>,
    },
}

impl Expr {
    pub fn dtype(&self, bufs: &[Buffer]) -> DType {
        match self {
            Expr::Load { buf, .. } => bufs[*buf].dtype,
            Expr::Const { dtype, .. } | Expr::Iota { dtype, .. } | Expr::Size { dtype, .. } => {
                *dtype
            }
            Expr::Unary { arg, .. } | Expr::Remap { arg, .. } => arg.dtype(bufs),
            Expr::Binary { op, lhs, .. } => {
                if op.is_comparison() {
                    DType::Bool
                } else {
                    lhs.dtype(bufs)
                }
            }
            Expr::Select { then, .. } => then.dtype(bufs),
            Expr::Cast { to, .. } => *to,
        }
    }

    /// Calls `f` on every buffer the expression reads.
    pub fn for_each_load(&self, f: &mut dyn FnMut(BufId)) {
        match self {
            Expr::Load { buf, .. } => f(*buf),
            Expr::Const { .. } | Expr::Iota { .. } | Expr::Size { .. } => {}
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => {
                arg.for_each_load(f)
            }
            Expr::Binary { lhs, rhs, .. } => {
                lhs.for_each_load(f);
                rhs.for_each_load(f);
            }
            Expr::Select { cond, then, els } => {
                cond.for_each_load(f);
                then.for_each_load(f);
                els.for_each_load(f);
            }
        }
    }

    /// Whether the value is the same at every index (no load, no iota).
    pub fn is_invariant(&self) -> bool {
        match self {
            Expr::Load { .. } | Expr::Iota { .. } => false,
            Expr::Const { .. } | Expr::Size { .. } => true,
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => {
                arg.is_invariant()
            }
            Expr::Binary { lhs, rhs, .. } => lhs.is_invariant() && rhs.is_invariant(),
            Expr::Select { cond, then, els } => {
                cond.is_invariant() && then.is_invariant() && els.is_invariant()
            }
        }
    }

    /// An invariant expression ([`Expr::is_invariant`]) without its
    /// remaps, which only say where in another space its (constant) value
    /// is read: valid in a space of any rank.
    pub fn without_remaps(self) -> Expr {
        let b = |e: Box<Expr>| Box::new(e.without_remaps());
        match self {
            Expr::Remap { arg, .. } => arg.without_remaps(),
            Expr::Load { .. } | Expr::Const { .. } | Expr::Iota { .. } | Expr::Size { .. } => self,
            Expr::Unary { op, arg } => Expr::Unary { op, arg: b(arg) },
            Expr::Cast { to, arg } => Expr::Cast { to, arg: b(arg) },
            Expr::Binary { op, lhs, rhs } => Expr::Binary {
                op,
                lhs: b(lhs),
                rhs: b(rhs),
            },
            Expr::Select { cond, then, els } => Expr::Select {
                cond: b(cond),
                then: b(then),
                els: b(els),
            },
        }
    }

    /// The number of nodes of the expression tree.
    pub fn nodes(&self) -> usize {
        1 + match self {
            Expr::Load { .. } | Expr::Const { .. } | Expr::Iota { .. } | Expr::Size { .. } => 0,
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Remap { arg, .. } => {
                arg.nodes()
            }
            Expr::Binary { lhs, rhs, .. } => lhs.nodes() + rhs.nodes(),
            Expr::Select { cond, then, els } => cond.nodes() + then.nodes() + els.nodes(),
        }
    }

    /// A rough cost of evaluating one element (0 for a plain load).
    pub fn cost(&self) -> u32 {
        match self {
            Expr::Load { .. } | Expr::Const { .. } | Expr::Iota { .. } | Expr::Size { .. } => 0,
            Expr::Unary { op, arg } => op.cost() + arg.cost(),
            Expr::Binary { op, lhs, rhs } => op.cost() + lhs.cost() + rhs.cost(),
            Expr::Select { cond, then, els } => 1 + cond.cost() + then.cost() + els.cost(),
            Expr::Cast { arg, .. } => 1 + arg.cost(),
            Expr::Remap { arg, .. } => arg.cost(),
        }
    }
}

/// A run-time condition that a step checks; failing gives error `error`.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// `len` positions from `start` (from the end when negative) in steps of
    /// `step` fit an axis of length `n`.
    SliceFits {
        n: Dim,
        start: i64,
        step: u64,
        len: Dim,
    },
    /// Not (`product(lane) == 0` while `product(rest) > 0`): a max/min/argmax
    /// over an empty axis has no value.
    NonEmpty { lane: Vec<Dim>, rest: Vec<Dim> },
    /// The product of `dims` is a value of integer dtype `dtype` (a size
    /// used as a number: `mean`'s divisor, `sizeof`).
    SizeFits { dims: Vec<Dim>, dtype: DType },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    /// `out[i] = expr(i)` for every index `i` of `out`'s shape.
    Map { out: BufId, expr: Expr },
    /// `out` (the operand's shape with `axes` set to 1) is the reduction of
    /// `expr`, evaluated over the space `shape`, along `axes`. Order: each
    /// output element folds its lane in C order of the reduced axes — in
    /// sixteen interleaved partials combined by a fixed tree when the last
    /// axis of `shape` is reduced and the accumulator is a float
    /// (`ReduceOp::interleaved`, `ops::lower_partials`); `f32` sums
    /// accumulate in `f64` and round once. Every backend keeps this order
    /// exactly (language.md §14).
    Reduce {
        out: BufId,
        op: ReduceOp,
        shape: Shape,
        axes: Vec<usize>,
        expr: Expr,
    },
    /// Index (`i64`) of the first maximum of `expr` along `axis` of `shape`
    /// (a NaN counts as the maximum); `out` has `shape` without `axis`.
    ArgMax {
        out: BufId,
        shape: Shape,
        axis: usize,
        expr: Expr,
    },
    /// `out[b] = a[b] @ b[b]` over packed `[batch.., m, k] @ [batch.., k, n]`;
    /// `trans[0]`: `a` is stored transposed (`[batch.., k, m]`), `trans[1]`:
    /// `b` is (`[batch.., n, k]`) — floats only. Floats call
    /// `weft_rt_gemm_*`, integers loop (wrapping).
    MatMul {
        out: BufId,
        a: BufId,
        b: BufId,
        batch: Vec<Dim>,
        m: Dim,
        k: Dim,
        n: Dim,
        trans: [bool; 2],
    },
    /// `out[r, ..] = table[idx[r], ..]`: `count` indices, `rows` table rows
    /// of `width` elements; a negative index counts from the end; out of
    /// range fails with `error`.
    Gather {
        out: BufId,
        table: BufId,
        idx: BufId,
        rows: Dim,
        width: Vec<Dim>,
        count: Vec<Dim>,
        error: u32,
    },
    /// `out` zeroed, then row `r` of `g` added into row `idx[r]` (bool: or).
    ScatterAdd {
        out: BufId,
        idx: BufId,
        g: BufId,
        rows: Dim,
        width: Vec<Dim>,
        count: Vec<Dim>,
        error: u32,
    },
    /// `out` = parts joined along an axis: `outer` is the product of the axes
    /// before it, `inner` of those after; each part has its own axis length.
    Concat {
        out: BufId,
        outer: Vec<Dim>,
        inner: Vec<Dim>,
        parts: Vec<(BufId, Dim)>,
    },
    /// `out` zeroed, then `src` written at positions `start + step * t`
    /// (`t < len`) of an axis of length `n`.
    SliceGrad {
        out: BufId,
        src: BufId,
        outer: Vec<Dim>,
        inner: Vec<Dim>,
        n: Dim,
        len: Dim,
        start: i64,
        step: u64,
    },
    /// Every window of the last two axes of `src` (`[lead.., h, w]`):
    /// `out[b, kh, kw, oh, ow]` is `src[b, oh·sh + kh·dh − ph, ow·sw + kw·dw −
    /// pw]`, or `fill` outside it (`ir/window.rs`).
    Window {
        out: BufId,
        src: BufId,
        lead: Vec<Dim>,
        hw: [Dim; 2],
        ohw: [Dim; 2],
        win: Window,
        fill: Scalar,
    },
    /// The adjoint of `Window`: `out` (`[lead.., h, w]`) zeroed, then every
    /// element of `src` (`[lead.., kh, kw, oh, ow]`, C order) that reads
    /// inside added into the position it reads.
    WindowGrad {
        out: BufId,
        src: BufId,
        lead: Vec<Dim>,
        hw: [Dim; 2],
        ohw: [Dim; 2],
        win: Window,
    },
    /// A convolution product by the runtime's `weft_rt_conv2d_*` (im2col +
    /// GEMM per image): `kind` says which, `a`/`b` are `(x, w)`, `(dy, w)` or
    /// `(x, dy)`; `dims` = N, C, H, W, O.
    Conv {
        kind: ConvKind,
        out: BufId,
        a: BufId,
        b: BufId,
        dims: [Dim; 5],
        win: Window,
        groups: u64,
    },
    /// Running sums of `src` (`[outer.., n, inner..]`) along its `n` axis,
    /// from the end when `reverse`, in the dtype, in order.
    Cumsum {
        out: BufId,
        src: BufId,
        outer: Vec<Dim>,
        n: Dim,
        inner: Vec<Dim>,
        reverse: bool,
    },
    /// `out` filled by the runtime's counter-based generator.
    Random {
        out: BufId,
        dist: Distribution,
        seed: u64,
    },
    /// Fails the step with `error` unless `check` holds.
    Check { check: Check, error: u32 },
    /// `all_sum` (language.md §13): each part's `out` becomes the
    /// element-wise sum of its `src` (same dtype and length) over the
    /// processes of the run — every part in one call of the runtime's
    /// `weft_rt_allreduce_v1`, which packs them into one buffer for one
    /// collective. In a world of one it copies.
    AllReduce {
        dtype: DType,
        parts: Vec<(BufId, BufId)>,
    },
}

impl Kernel {
    /// The buffers the kernel writes (one, none for a check, one per part
    /// for an all-reduce).
    pub fn outputs(&self) -> Vec<BufId> {
        match self {
            Kernel::AllReduce { parts, .. } => parts.iter().map(|p| p.1).collect(),
            k => k.output().into_iter().collect(),
        }
    }

    /// The one buffer the kernel writes, if it writes exactly one.
    pub fn output(&self) -> Option<BufId> {
        match self {
            Kernel::Map { out, .. }
            | Kernel::Reduce { out, .. }
            | Kernel::ArgMax { out, .. }
            | Kernel::MatMul { out, .. }
            | Kernel::Gather { out, .. }
            | Kernel::ScatterAdd { out, .. }
            | Kernel::Concat { out, .. }
            | Kernel::SliceGrad { out, .. }
            | Kernel::Window { out, .. }
            | Kernel::WindowGrad { out, .. }
            | Kernel::Cumsum { out, .. }
            | Kernel::Conv { out, .. }
            | Kernel::Random { out, .. } => Some(*out),
            Kernel::Check { .. } | Kernel::AllReduce { .. } => None,
        }
    }

    /// The kernel's kind, as `--stats` and traces name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Kernel::Map { .. } => "map",
            Kernel::Reduce { .. } => "reduce",
            Kernel::ArgMax { .. } => "argmax",
            Kernel::MatMul { .. } => "matmul",
            Kernel::Gather { .. } => "gather",
            Kernel::ScatterAdd { .. } => "scatter_add",
            Kernel::Concat { .. } => "concat",
            Kernel::SliceGrad { .. } => "slice_grad",
            Kernel::Window { .. } => "window",
            Kernel::WindowGrad { .. } => "window_grad",
            Kernel::Conv { .. } => "conv",
            Kernel::Cumsum { .. } => "cumsum",
            Kernel::Random { .. } => "random",
            Kernel::Check { .. } => "check",
            Kernel::AllReduce { .. } => "all_reduce",
        }
    }

    /// The buffers the kernel reads, in a fixed order, without duplicates.
    pub fn inputs(&self) -> Vec<BufId> {
        let mut v = Vec::new();
        let mut add = |b: BufId| {
            if !v.contains(&b) {
                v.push(b)
            }
        };
        match self {
            Kernel::Map { expr, .. }
            | Kernel::Reduce { expr, .. }
            | Kernel::ArgMax { expr, .. } => expr.for_each_load(&mut add),
            Kernel::MatMul { a, b, .. } | Kernel::Conv { a, b, .. } => {
                add(*a);
                add(*b)
            }
            Kernel::Gather { table, idx, .. } => {
                add(*table);
                add(*idx)
            }
            Kernel::ScatterAdd { idx, g, .. } => {
                add(*idx);
                add(*g)
            }
            Kernel::Concat { parts, .. } => parts.iter().for_each(|(b, _)| add(*b)),
            Kernel::SliceGrad { src, .. }
            | Kernel::Window { src, .. }
            | Kernel::WindowGrad { src, .. }
            | Kernel::Cumsum { src, .. } => add(*src),
            Kernel::AllReduce { parts, .. } => parts.iter().for_each(|p| add(p.0)),
            Kernel::Random { .. } | Kernel::Check { .. } => {}
        }
        v
    }
}

/// Which product a [`Kernel::Conv`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKind {
    Forward,
    GradInput,
    GradWeight,
}

impl ConvKind {
    /// The `kind` argument of `weft_rt_conv2d_*`.
    pub fn code(self) -> i64 {
        match self {
            ConvKind::Forward => 0,
            ConvKind::GradInput => 1,
            ConvKind::GradWeight => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConvKind::Forward => "conv2d",
            ConvKind::GradInput => "conv2d_grad_input",
            ConvKind::GradWeight => "conv2d_grad_weight",
        }
    }
}

/// One of the 14 values of `weft_rt_conv2d_*`'s `dims`.
pub enum ConvArg<'a> {
    /// A size of the program (N, C, H, W, O).
    Size(&'a Dim),
    Lit(u64),
}

/// The 14 values of `weft_rt_conv2d_*`'s `dims`, in order: N, C, H, W, O,
/// KH, KW, the strides, paddings and dilations (h, w), groups.
pub fn conv_args<'a>(dims: &'a [Dim; 5], win: &Window, groups: u64) -> Vec<ConvArg<'a>> {
    let mut v: Vec<ConvArg> = dims.iter().map(ConvArg::Size).collect();
    v.extend(
        [
            win.kernel[0],
            win.kernel[1],
            win.stride[0],
            win.stride[1],
            win.padding[0],
            win.padding[1],
            win.dilation[0],
            win.dilation[1],
            groups,
        ]
        .map(ConvArg::Lit),
    );
    v
}

/// Where an output's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSrc {
    /// `outputs[i]` of the step.
    Step(usize),
    /// The value of param `p` after the last update.
    Param(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub ty: TensorType,
    pub init: Init,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The ABI's `dims` array: the size names, then the text of each
    /// derived size (`derived`).
    pub dims: Vec<String>,
    /// The program's size expressions: `dims[dims.len() - derived.len() + i]`
    /// is `derived[i]`, which the runtime's binding computes from the size
    /// names (docs/abi.md, `size` records).
    pub derived: Vec<std::sync::Arc<crate::ir::types::Poly>>,
    /// The program's inputs, then its feeds (the step's `inputs[]`).
    pub inputs: Vec<(String, TensorType)>,
    /// What each feed supplies: `feeds[j]` is input `inputs.len() - feeds.len() + j`.
    pub feeds: Vec<crate::ir::graph::Feed<Dim>>,
    pub params: Vec<ParamInfo>,
    /// Every output, in declaration order.
    pub outputs: Vec<(String, TensorType, OutputSrc)>,
    /// Step outputs holding the `until` conditions (after the others).
    pub until: Vec<usize>,
    /// `updates[i]` is the next value of param `updates[i]`.
    pub updates: Vec<usize>,
    pub buffers: Vec<Buffer>,
    pub kernels: Vec<Kernel>,
    /// Arena slots: the temps sharing each (see the module header).
    pub slots: Vec<Vec<BufId>>,
    /// Step error messages: error code `k` is `errors[k - 1]`.
    pub errors: Vec<String>,
    /// Per kernel: what of the source it computes (`--stats`, `--profile`).
    pub origins: Vec<Origin>,
}

/// The source a kernel computes: the `let`s (and gradients) whose values
/// its fused expression holds, and their source positions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origin {
    /// `let` names (a record's leaves by path, `d_loss/d_w` for a gradient),
    /// in graph order, without repeats.
    pub lets: Vec<String>,
    /// The source spans of the graph nodes it computes.
    pub spans: Vec<weft_grammar::ast::Span>,
    /// `spans` as lines for people: `12` in the program's own file,
    /// `nn.weft:40` in another (filled by the pipeline, which has the
    /// source map; empty otherwise).
    pub lines: Vec<String>,
}

impl Program {
    /// Index of a size name in `dims`.
    pub fn dim_index(&self, name: &str) -> Option<usize> {
        self.dims.iter().position(|d| d == name)
    }

    /// Where `dims` holds a size (None for a literal, or a size the program
    /// does not know, which the verifier rejects).
    pub fn dim_slot(&self, d: &Dim) -> Option<usize> {
        match d {
            Dim::Lit(_) => None,
            Dim::Sym(s) => self.dim_index(s),
            Dim::Expr(p) => {
                let base = self.dims.len() - self.derived.len();
                self.derived.iter().position(|q| q == p).map(|i| base + i)
            }
        }
    }

    /// The number of size names (before the derived sizes in `dims`).
    pub fn base_dims(&self) -> usize {
        self.dims.len() - self.derived.len()
    }

    /// The number of step outputs (`outputs[]` of `weft_step`).
    pub fn step_outputs(&self) -> usize {
        self.outputs
            .iter()
            .filter(|o| matches!(o.2, OutputSrc::Step(_)))
            .count()
            + self.until.len()
    }

    /// The number of the program's own inputs (before the feeds).
    pub fn user_inputs(&self) -> usize {
        self.inputs.len() - self.feeds.len()
    }
}

/// The `trans` argument of `weft_rt_gemm_*` (bit 0: `a` transposed, bit 1: `b`).
pub fn trans_bits(trans: [bool; 2]) -> i64 {
    i64::from(trans[0]) | (i64::from(trans[1]) << 1)
}

/// The `dtype` argument of `weft_rt_allreduce_v1`: 0 `f32`, 1 `f64`, 2
/// `i32`, 3 `i64` (None for a dtype no collective takes).
pub fn allreduce_code(d: DType) -> Option<i64> {
    match d {
        DType::F32 => Some(0),
        DType::F64 => Some(1),
        DType::I32 => Some(2),
        DType::I64 => Some(3),
        DType::F16 | DType::BF16 | DType::U8 | DType::Bool => None,
    }
}

/// Bytes per element as stored in buffers (bool: one byte).
pub fn elem_bytes(d: DType) -> u64 {
    match d {
        DType::F16 | DType::BF16 => 2,
        DType::F32 | DType::I32 => 4,
        DType::F64 | DType::I64 => 8,
        DType::U8 | DType::Bool => 1,
    }
}
