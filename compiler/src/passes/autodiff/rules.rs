//! The derivative rules: one vector-Jacobian product per primitive op, in
//! one exhaustive `match` ([`vjp`]). A new op does not compile until it has a
//! rule here.
//!
//! Every rule builds its result from primitive ops that themselves have rules
//! (no opaque "backward" kernels), so the backward graph is differentiable
//! again: `grad` of an expression containing `grad` works.
//!
//! Conventions:
//! - a rule returns one entry per operand: `Some(node)` is that operand's
//!   cotangent contribution, with the operand's exact type; `None` is "no
//!   gradient" (an integer or bool operand, an index operand, a comparison,
//!   `stop_gradient`, or a derivative that is zero almost everywhere:
//!   `sign`, `floor`, `ceil`);
//! - a rule only builds contributions for operands the sweep marked as needed;
//! - emitted nodes carry the span of the forward node (provenance).
//!
//! Non-smooth points and ties, chosen like JAX:
//! - `relu`: the subgradient at 0 is 0; `abs`: `sign(x)·g`, so 0 at 0;
//! - `maximum`/`minimum`: where `a == b` each operand gets half the cotangent;
//! - `reduce_max`/`reduce_min`: the cotangent is shared equally by all the
//!   elements equal to the result (like JAX and `torch.amax`):
//!   `mask = cast(x == r)`, `g_x = mask · g / sum(mask over the axes)`;
//! - `pow(a, b)`: `d/da = b·a^(b-1)`, taken as 0 where `b == 0` (so `a^0` has
//!   no NaN at `a = 0`); `d/db = log(a)·a^b` where `a > 0` and 0 where
//!   `a ≤ 0` (at 0 it is the limit; below 0 the real power is only defined at
//!   integer `b`, where it has no derivative in `b`). Both use the "double
//!   where" trick — the unused branch is computed on a safe value (1), not
//!   just masked — so that second derivatives have no NaN either. A constant
//!   exponent (a broadcast float literal, as `x ** 2`) gets the plain rule
//!   `c·a^(c-1)` and no `b` gradient is built unless asked for.

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op, ReduceOp, UnaryOp};
use crate::ir::types::{DType, Dim, Scalar, TensorType};
use weft_grammar::ast::Span;

/// A forward node of the graph being differentiated, as a rule sees it.
pub struct Fwd<'a> {
    pub op: &'a Op,
    /// Operands (ids in the graph being built).
    pub args: &'a [NodeId],
    /// The node itself (its value, reused by `exp`, `tanh`, `reduce_max`...).
    pub out: NodeId,
    pub span: Option<Span>,
    /// Which operands need a cotangent (the others get `None`).
    pub need: &'a [bool],
}

/// A node builder that stamps every node with one span.
struct B<'g> {
    g: &'g mut Graph,
    span: Option<Span>,
}

impl B<'_> {
    fn bin(&mut self, op: BinaryOp, x: NodeId, y: NodeId) -> NodeId {
        self.g.binary(op, x, y, self.span)
    }
    fn sub(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.bin(BinaryOp::Sub, x, y)
    }
    fn mul(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.bin(BinaryOp::Mul, x, y)
    }
    fn div(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.bin(BinaryOp::Div, x, y)
    }
    fn un(&mut self, u: UnaryOp, x: NodeId) -> NodeId {
        self.g.unary(u, x, self.span)
    }
    fn neg(&mut self, x: NodeId) -> NodeId {
        self.un(UnaryOp::Neg, x)
    }
    /// `x · v` for a scalar `v`; `x` itself when `v` is 1.
    fn scale(&mut self, x: NodeId, v: f64) -> NodeId {
        if v == 1.0 {
            return x;
        }
        self.g.binary_scalar(BinaryOp::Mul, x, v, self.span)
    }
    /// A tensor of `like`'s type filled with `v`.
    fn full(&mut self, v: f64, like: NodeId) -> NodeId {
        let ty = self.g.ty(like).clone();
        self.g.full(v, &ty, self.span)
    }
    fn select(&mut self, c: NodeId, x: NodeId, y: NodeId) -> NodeId {
        self.g.add(Op::Select, &[c, x, y], self.span)
    }
    fn op(&mut self, op: Op, args: &[NodeId]) -> NodeId {
        self.g.add(op, args, self.span)
    }
    /// The `len` elements of `x` along `axis` after those of `before` (a
    /// part of a concatenation): a slice when the offset is a literal,
    /// else a gather at `iota + offset`, the offset computed at run time.
    fn part(&mut self, x: NodeId, axis: usize, before: &[Dim], len: &Dim) -> NodeId {
        let lits: Option<u64> = before
            .iter()
            .try_fold(0u64, |acc, d| Some(acc + d.as_lit()?));
        if let Some(start) = lits.and_then(|s| i64::try_from(s).ok()) {
            let op = Op::Slice {
                axis,
                start,
                step: 1,
                len: len.clone(),
            };
            return self.op(op, &[x]);
        }
        let ty = self.g.ty(x).clone();
        let mut perm: Vec<usize> = (0..ty.rank()).collect();
        perm.remove(axis);
        perm.insert(0, axis);
        let xt = self.g.transpose(x, &perm, self.span);
        let mut offset = self.g.literal(Scalar::Int(0), DType::I64, self.span);
        for d in before {
            let n = self.op(
                Op::SizeOf {
                    dims: vec![d.clone()],
                    dtype: DType::I64,
                },
                &[],
            );
            offset = self.bin(BinaryOp::Add, offset, n);
        }
        let idx = self.op(
            Op::Iota {
                ty: TensorType::new(DType::I64, vec![len.clone()]),
                axis: 0,
            },
            &[],
        );
        let offset = self
            .g
            .broadcast(offset, std::slice::from_ref(len), self.span);
        let idx = self.bin(BinaryOp::Add, idx, offset);
        let part = self.op(Op::Gather, &[xt, idx]);
        let mut inv = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        self.g.transpose(part, &inv, self.span)
    }

    /// Swaps the last two axes (rank ≥ 2).
    fn t_last(&mut self, x: NodeId) -> NodeId {
        let r = self.g.ty(x).rank();
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(r - 2, r - 1);
        self.g.transpose(x, &perm, self.span)
    }
}

/// The float value of a node that is a (broadcast or reshaped) float literal.
fn const_of(g: &Graph, mut id: NodeId) -> Option<f64> {
    loop {
        let n = g.node(id);
        match &n.op {
            Op::Literal {
                value: Scalar::Float(v),
                ..
            } => return Some(*v),
            Op::Broadcast { .. } | Op::Reshape { .. } => id = *n.args.first()?,
            _ => return None,
        }
    }
}

/// The cotangent contribution of each operand of `f`, given the cotangent
/// `ct` of its result. An `Err` is a compiler bug (malformed IR, or a `grad`
/// node the pass should already have expanded).
pub fn vjp(g: &mut Graph, f: &Fwd, ct: NodeId) -> Result<Vec<Option<NodeId>>, String> {
    let a = f.args;
    if let Some(n) = f.op.arity() {
        if a.len() != n {
            return Err(format!("{} node with {} operands", f.op.name(), a.len()));
        }
    }
    // want[i]: operand i needs a cotangent and can carry one (a float).
    let want: Vec<bool> = a
        .iter()
        .enumerate()
        .map(|(i, &x)| f.need.get(i).copied().unwrap_or(false) && g.ty(x).dtype.is_float())
        .collect();
    let out = f.out;
    let mut b = B { g, span: f.span };
    Ok(match f.op {
        // Leaves: no operands.
        Op::Input { .. }
        | Op::Param { .. }
        | Op::Literal { .. }
        | Op::SizeOf { .. }
        | Op::Iota { .. }
        | Op::Random { .. } => Vec::new(),
        Op::Unary(u) => vec![if want[0] {
            unary(&mut b, *u, a[0], out, ct)
        } else {
            None
        }],
        Op::Binary(op) => binary(&mut b, *op, a[0], a[1], out, ct, &want),
        Op::Select => {
            let (c, x) = (a[0], a[1]);
            let mut r = vec![None, None, None];
            if want[1] || want[2] {
                let z = b.full(0.0, x);
                if want[1] {
                    r[1] = Some(b.select(c, ct, z));
                }
                if want[2] {
                    r[2] = Some(b.select(c, z, ct));
                }
            }
            r
        }
        Op::Cast { to } => {
            let from = b.g.ty(a[0]).dtype;
            vec![(want[0] && to.is_float()).then(|| b.g.cast(ct, from, b.span))]
        }
        Op::Broadcast { .. } => {
            let shape = b.g.shape_of(a[0]);
            vec![want[0].then(|| b.g.sum_to(ct, &shape, b.span))]
        }
        Op::Reshape { .. } => {
            let shape = b.g.shape_of(a[0]);
            vec![want[0].then(|| b.g.reshape(ct, &shape, b.span))]
        }
        Op::Transpose { perm } => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                match inv.get_mut(p) {
                    Some(slot) => *slot = i,
                    None => return Err(format!("invalid permutation {perm:?}")),
                }
            }
            vec![want[0].then(|| b.g.transpose(ct, &inv, b.span))]
        }
        Op::Slice {
            axis, start, step, ..
        } => {
            let ty = b.g.ty(a[0]).clone();
            let op = Op::SliceGrad {
                ty,
                axis: *axis,
                start: *start,
                step: *step,
            };
            vec![want[0].then(|| b.op(op, &[ct]))]
        }
        Op::SliceGrad {
            axis, start, step, ..
        } => {
            let Some(len) = b.g.ty(a[0]).shape.get(*axis).cloned() else {
                return Err(format!("slice_grad axis {axis} out of range"));
            };
            let op = Op::Slice {
                axis: *axis,
                start: *start,
                step: *step,
                len,
            };
            vec![want[0].then(|| b.op(op, &[ct]))]
        }
        Op::Concat { axis } => {
            let mut r = Vec::with_capacity(a.len());
            let mut before: Vec<Dim> = Vec::new();
            for (i, &x) in a.iter().enumerate() {
                let Some(len) = b.g.ty(x).shape.get(*axis).cloned() else {
                    return Err(format!("concat axis {axis} out of range"));
                };
                r.push(want[i].then(|| b.part(ct, *axis, &before, &len)));
                before.push(len);
            }
            r
        }
        Op::Gather => {
            let ty = b.g.ty(a[0]).clone();
            vec![
                want[0].then(|| b.op(Op::ScatterAdd { ty }, &[a[1], ct])),
                None,
            ]
        }
        Op::ScatterAdd { .. } => vec![None, want[1].then(|| b.op(Op::Gather, &[ct, a[0]]))],
        // conv2d is bilinear: <ct, conv(x, w)> = <convᵀ(ct, w), x> = <gw(x, ct), w>;
        // its two gradients are bilinear too, with the same three operations.
        Op::Conv2d { win, groups } => {
            let (x, w) = (a[0], a[1]);
            let (tx, tw) = (b.g.ty(x).clone(), b.g.ty(w).clone());
            let (win, groups) = (*win, *groups);
            vec![
                want[0].then(|| {
                    b.op(
                        Op::Conv2dGradInput {
                            win,
                            groups,
                            ty: tx,
                        },
                        &[ct, w],
                    )
                }),
                want[1].then(|| {
                    b.op(
                        Op::Conv2dGradWeight {
                            win,
                            groups,
                            ty: tw,
                        },
                        &[x, ct],
                    )
                }),
            ]
        }
        Op::Conv2dGradInput { win, groups, .. } => {
            // out = convᵀ(dy, w): <ct, out> = <conv(ct, w), dy> = <gw(ct, dy), w>
            let (dy, w) = (a[0], a[1]);
            let tw = b.g.ty(w).clone();
            let (win, groups) = (*win, *groups);
            vec![
                want[0].then(|| b.op(Op::Conv2d { win, groups }, &[ct, w])),
                want[1].then(|| {
                    b.op(
                        Op::Conv2dGradWeight {
                            win,
                            groups,
                            ty: tw,
                        },
                        &[ct, dy],
                    )
                }),
            ]
        }
        Op::Conv2dGradWeight { win, groups, .. } => {
            // out = gw(x, dy): <ct, out> = <conv(x, ct), dy> = <convᵀ(dy, ct), x>
            let (x, dy) = (a[0], a[1]);
            let tx = b.g.ty(x).clone();
            let (win, groups) = (*win, *groups);
            vec![
                want[0].then(|| {
                    b.op(
                        Op::Conv2dGradInput {
                            win,
                            groups,
                            ty: tx,
                        },
                        &[dy, ct],
                    )
                }),
                want[1].then(|| b.op(Op::Conv2d { win, groups }, &[x, ct])),
            ]
        }
        // The adjoint of running sums is running sums the other way.
        Op::Cumsum { axis, reverse } => {
            let op = Op::Cumsum {
                axis: *axis,
                reverse: !*reverse,
            };
            vec![want[0].then(|| b.op(op, &[ct]))]
        }
        // Both linear, each the other's adjoint; padding positions carry nothing.
        Op::Window { win, .. } => {
            let ty = b.g.ty(a[0]).clone();
            vec![want[0].then(|| b.op(Op::WindowGrad { win: *win, ty }, &[ct]))]
        }
        Op::WindowGrad { win, .. } => {
            let fill = Scalar::Float(0.0);
            vec![want[0].then(|| b.op(Op::Window { win: *win, fill }, &[ct]))]
        }
        Op::Reduce { op, axes } => {
            let x = a[0];
            let shape = b.g.shape_of(x);
            match op {
                _ if !want[0] => vec![None],
                ReduceOp::Sum => vec![Some(b.g.broadcast(ct, &shape, b.span))],
                ReduceOp::Max | ReduceOp::Min => {
                    // Ties share the cotangent equally.
                    let dtype = b.g.ty(x).dtype;
                    let rb = b.g.broadcast(out, &shape, b.span);
                    let hit = b.bin(BinaryOp::Eq, x, rb);
                    let mask = b.g.cast(hit, dtype, b.span);
                    let count = b.g.reduce(ReduceOp::Sum, mask, axes, b.span);
                    let share = b.div(ct, count);
                    let share = b.g.broadcast(share, &shape, b.span);
                    vec![Some(b.mul(mask, share))]
                }
                // The product of the others: out / x without a zero in the
                // lane; at a lane's only zero, the product of its nonzeros;
                // nothing where a lane has two zeros or more.
                ReduceOp::Prod => {
                    let dtype = b.g.ty(x).dtype;
                    let (z, one) = (b.full(0.0, x), b.full(1.0, x));
                    let is0 = b.bin(BinaryOp::Eq, x, z);
                    let safe = b.select(is0, one, x);
                    let nz = b.g.reduce(ReduceOp::Prod, safe, axes, b.span);
                    let zf = b.g.cast(is0, dtype, b.span);
                    let cnt = b.g.reduce(ReduceOp::Sum, zf, axes, b.span);
                    let nz = b.g.broadcast(nz, &shape, b.span);
                    let cnt = b.g.broadcast(cnt, &shape, b.span);
                    let ctb = b.g.broadcast(ct, &shape, b.span);
                    let none = b.bin(BinaryOp::Eq, cnt, z);
                    let single = b.bin(BinaryOp::Eq, cnt, one);
                    let others = b.div(nz, safe);
                    let g_nonzero = b.select(none, others, z);
                    let g_zero = b.select(single, nz, z);
                    let gx = b.select(is0, g_zero, g_nonzero);
                    vec![Some(b.mul(ctb, gx))]
                }
            }
        }
        Op::ArgMax { .. } => vec![None],
        Op::MatMul => {
            let (x, y) = (a[0], a[1]);
            if b.g.ty(x).rank() < 2 || b.g.ty(y).rank() < 2 {
                return Err("matmul of an operand of rank < 2".into());
            }
            let gx = if want[0] {
                let yt = b.t_last(y);
                Some(b.op(Op::MatMul, &[ct, yt]))
            } else {
                None
            };
            let gy = if want[1] {
                let xt = b.t_last(x);
                Some(b.op(Op::MatMul, &[xt, ct]))
            } else {
                None
            };
            vec![gx, gy]
        }
        Op::StopGradient => vec![None],
        // Linear, and its own adjoint (language.md §13): the gradient
        // through `all_sum` is the `all_sum` of the incoming gradient.
        Op::AllSum => vec![Some(b.op(Op::AllSum, &[ct]))],
        Op::Grad => return Err("a grad node reached the backward sweep".into()),
    })
}

/// `d/dx` of `y = u(x)`, applied to the cotangent `g`.
fn unary(b: &mut B, u: UnaryOp, x: NodeId, y: NodeId, g: NodeId) -> Option<NodeId> {
    Some(match u {
        UnaryOp::Neg => b.neg(g),
        UnaryOp::Exp => b.mul(g, y),
        UnaryOp::Log => b.div(g, x),
        // d sqrt(x) = 1 / (2 sqrt(x))
        UnaryOp::Sqrt => {
            let h = b.scale(g, 0.5);
            b.div(h, y)
        }
        // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y³
        UnaryOp::Rsqrt => {
            let y2 = b.mul(y, y);
            let y3 = b.mul(y2, y);
            let h = b.scale(g, -0.5);
            b.mul(h, y3)
        }
        UnaryOp::Abs => {
            let s = b.un(UnaryOp::Sign, x);
            b.mul(g, s)
        }
        UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => return None,
        // d tan = 1 + tan²
        UnaryOp::Tan => {
            let one = b.full(1.0, y);
            let y2 = b.mul(y, y);
            let d = b.bin(BinaryOp::Add, one, y2);
            b.mul(g, d)
        }
        // d atan = 1 / (1 + x²)
        UnaryOp::Atan => {
            let one = b.full(1.0, x);
            let x2 = b.mul(x, x);
            let d = b.bin(BinaryOp::Add, one, x2);
            b.div(g, d)
        }
        // d log1p = 1 / (1 + x)
        UnaryOp::Log1p => {
            let one = b.full(1.0, x);
            let d = b.bin(BinaryOp::Add, one, x);
            b.div(g, d)
        }
        // d expm1 = e^x = expm1(x) + 1
        UnaryOp::Expm1 => {
            let e = b.un(UnaryOp::Exp, x);
            b.mul(g, e)
        }
        // d erf = 2/√π e^(-x²)
        UnaryOp::Erf => {
            let x2 = b.mul(x, x);
            let nx2 = b.neg(x2);
            let e = b.un(UnaryOp::Exp, nx2);
            let d = b.scale(e, std::f64::consts::FRAC_2_SQRT_PI);
            b.mul(g, d)
        }
        UnaryOp::Sin => {
            let c = b.un(UnaryOp::Cos, x);
            b.mul(g, c)
        }
        UnaryOp::Cos => {
            let s = b.un(UnaryOp::Sin, x);
            let h = b.mul(g, s);
            b.neg(h)
        }
        // d tanh = 1 - y²
        UnaryOp::Tanh => {
            let one = b.full(1.0, y);
            let y2 = b.mul(y, y);
            let d = b.sub(one, y2);
            b.mul(g, d)
        }
        // d sigmoid = y (1 - y)
        UnaryOp::Sigmoid => {
            let one = b.full(1.0, y);
            let c = b.sub(one, y);
            let d = b.mul(y, c);
            b.mul(g, d)
        }
        // d softplus = sigmoid(x)
        UnaryOp::Softplus => {
            let s = b.un(UnaryOp::Sigmoid, x);
            b.mul(g, s)
        }
        // The subgradient at 0 is 0.
        UnaryOp::Relu => {
            let z = b.full(0.0, x);
            let pos = b.bin(BinaryOp::Gt, x, z);
            b.select(pos, g, z)
        }
    })
}

/// The two contributions of `out = op(x, y)`.
fn binary(
    b: &mut B,
    op: BinaryOp,
    x: NodeId,
    y: NodeId,
    out: NodeId,
    g: NodeId,
    want: &[bool],
) -> Vec<Option<NodeId>> {
    let (wx, wy) = (want[0], want[1]);
    match op {
        BinaryOp::Add => vec![wx.then_some(g), wy.then_some(g)],
        BinaryOp::Sub => vec![wx.then_some(g), wy.then(|| b.neg(g))],
        BinaryOp::Mul => vec![wx.then(|| b.mul(g, y)), wy.then(|| b.mul(g, x))],
        // d(x/y)/dy = -x/y² = -out/y
        BinaryOp::Div => {
            let gx = wx.then(|| b.div(g, y));
            let gy = if wy {
                let h = b.mul(g, out);
                let h = b.div(h, y);
                Some(b.neg(h))
            } else {
                None
            };
            vec![gx, gy]
        }
        BinaryOp::Pow => vec![
            if wx { pow_base(b, x, y, g) } else { None },
            if wy {
                Some(pow_exponent(b, x, out, g))
            } else {
                None
            },
        ],
        BinaryOp::Max | BinaryOp::Min => {
            if !wx && !wy {
                return vec![None, None];
            }
            // The winner takes the cotangent; a tie gives each half.
            let (win_x, win_y) = match op {
                BinaryOp::Max => (BinaryOp::Gt, BinaryOp::Lt),
                _ => (BinaryOp::Lt, BinaryOp::Gt),
            };
            let half = b.scale(g, 0.5);
            let z = b.full(0.0, g);
            let tie = b.bin(BinaryOp::Eq, x, y);
            let tied = b.select(tie, half, z);
            let mut side = |w: bool, cmp: BinaryOp| {
                w.then(|| {
                    let c = b.bin(cmp, x, y);
                    b.select(c, g, tied)
                })
            };
            vec![side(wx, win_x), side(wy, win_y)]
        }
        // x % y = x - floor_div(x, y)·y, the quotient piecewise constant.
        BinaryOp::Rem => vec![
            wx.then_some(g),
            wy.then(|| {
                let q = b.bin(BinaryOp::FloorDiv, x, y);
                let h = b.mul(g, q);
                b.neg(h)
            }),
        ],
        // atan2(x, y): d/dx = y / (x² + y²), d/dy = -x / (x² + y²).
        BinaryOp::Atan2 => {
            if !wx && !wy {
                return vec![None, None];
            }
            let xx = b.mul(x, x);
            let yy = b.mul(y, y);
            let r = b.bin(BinaryOp::Add, xx, yy);
            let gr = b.div(g, r);
            vec![
                wx.then(|| b.mul(gr, y)),
                wy.then(|| {
                    let h = b.mul(gr, x);
                    b.neg(h)
                }),
            ]
        }
        BinaryOp::FloorDiv
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne => vec![None, None],
    }
}

/// `g · b · a^(b-1)`, 0 where `b == 0`.
fn pow_base(b: &mut B, a: NodeId, e: NodeId, g: NodeId) -> Option<NodeId> {
    if let Some(c) = const_of(b.g, e) {
        return if c == 0.0 {
            None
        } else if c == 1.0 {
            Some(g)
        } else if c == 2.0 {
            let d = b.scale(a, 2.0);
            Some(b.mul(g, d))
        } else {
            let cm1 = b.full(c - 1.0, a);
            let p = b.bin(BinaryOp::Pow, a, cm1);
            let d = b.scale(p, c);
            Some(b.mul(g, d))
        };
    }
    let zero = b.full(0.0, e);
    let one = b.full(1.0, e);
    let e0 = b.bin(BinaryOp::Eq, e, zero);
    let es = b.select(e0, one, e);
    let em1 = b.sub(es, one);
    let p = b.bin(BinaryOp::Pow, a, em1);
    let d = b.mul(es, p);
    let gd = b.mul(g, d);
    Some(b.select(e0, zero, gd))
}

/// `g · log(a) · a^b` where `a > 0`, else 0.
fn pow_exponent(b: &mut B, a: NodeId, out: NodeId, g: NodeId) -> NodeId {
    let zero = b.full(0.0, a);
    let one = b.full(1.0, a);
    let pos = b.bin(BinaryOp::Gt, a, zero);
    let safe = b.select(pos, a, one);
    let l = b.un(UnaryOp::Log, safe);
    let d = b.mul(l, out);
    let gd = b.mul(g, d);
    b.select(pos, gd, zero)
}
