//! The scheduling pass: graph IR (after autodiff and simplify) to kernel IR.
//!
//! Expects a verified graph without `Grad` nodes and without `f16`/`bf16`
//! values (refused with an error). Guarantees a [`Program`] that passes
//! [`super::verify::verify`], whose kernels, run in order, compute every
//! output and update of the graph.
//!
//! Fusion rules. Nodes are visited in index (topological) order; each node
//! gets an [`Expr`] computing its value in its own index space:
//! - elementwise ops (unary, binary, select, cast, stop_gradient), constants
//!   (literal, sizeof, iota) and index ops (broadcast, transpose, slice,
//!   reshapes that only add or drop axes of length 1, and any reshape of a
//!   buffer: a new view) compose their operands' expressions: a chain of them
//!   becomes one loop when something materialises it;
//! - a node is *materialised* (its expression written to a buffer by a
//!   [`Kernel::Map`]) when it is an output or update (written straight into
//!   the ABI's buffer), when it is used more than once and recomputing it
//!   would cost more than a few operations, when a broadcast would repeat an
//!   expensive expression, when a general reshape needs its operand packed,
//!   and when a consumer needs a packed buffer (matmul, gather, scatter_add,
//!   concat, slice_grad operands), and when its expression has more than
//!   [`MAX_FUSED_NODES`] nodes (a long chain becomes several loops);
//! - reductions and argmax take their operand's expression as their body:
//!   they fuse with every elementwise producer (always legal here: the body
//!   is pure); their result is a buffer;
//! - matmul, gather, scatter_add, concat, slice_grad and random are kernels
//!   of their own writing a buffer.
//!
//! Collectives. An `all_sum` is visited right after its operand (not at
//! its place in index order: the order stays topological), materialises
//! the operand and is left *pending*:
//! its [`Kernel::AllReduce`] is emitted only when a kernel is about to read
//! one pending result (or at the end), and then carries every pending
//! `all_sum` of that dtype — all the gradients of a training step, computed
//! by the backward pass before the first update reads one, go to the
//! runtime in one call, one collective over one packed buffer.
//!
//! Run-time checks (slices over size-name axes, max/min/argmax over an axis
//! that may be empty) become [`Kernel::Check`]s placed where the node was.

mod origin;
mod rules;

use origin::{origin, owners};
use rules::{packed_operands, split_full_reduction, swapped_last, unit_axes_map, visit_order};

use super::plan;
use super::{
    AxisSrc, BufId, BufKind, Buffer, Check, ConvKind, Expr, Kernel, OutputSrc, ParamInfo, Program,
};
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{Op, ReduceOp};
use crate::ir::types::{element_count, DType, Dim, Shape};

/// An expression of more nodes is materialised: each node's expression is
/// built from (cloned) operand expressions, so unbounded fusion of a chain
/// of K elementwise ops would cost O(K²) time and memory to compile. At this
/// size a loop does hundreds of operations per element loaded, so splitting
/// it costs no measurable run time.
pub const MAX_FUSED_NODES: usize = 1024;

/// Lowers `g` to the kernel IR, with its memory plan.
pub fn schedule(g: &Graph) -> Result<Program, String> {
    for id in g.ids() {
        let n = g.node(id);
        if matches!(n.ty.dtype, DType::F16 | DType::BF16) {
            return Err(format!(
                "{} values are not supported by the compiled backends yet",
                n.ty.dtype
            ));
        }
        if n.op == Op::Grad {
            return Err("a grad node reached the scheduler (autodiff did not run)".into());
        }
    }
    let mut s = Sched {
        g,
        prog: Program {
            dims: g
                .dims
                .iter()
                .cloned()
                .chain(g.size_exprs().iter().map(|p| p.to_string()))
                .collect(),
            derived: g.size_exprs(),
            inputs: Vec::new(),
            feeds: Vec::new(),
            params: Vec::new(),
            outputs: Vec::new(),
            until: Vec::new(),
            updates: Vec::new(),
            buffers: Vec::new(),
            kernels: Vec::new(),
            slots: Vec::new(),
            errors: Vec::new(),
            origins: Vec::new(),
        },
        exprs: vec![None; g.len()],
        uses: vec![0; g.len()],
        dests: vec![Vec::new(); g.len()],
        fused: vec![Vec::new(); g.len()],
        reading: Vec::new(),
        kernel_nodes: Vec::new(),
        materialised: Vec::new(),
        packed_later: vec![false; g.len()],
        pending: Vec::new(),
    };
    s.interface()?;
    for id in g.ids() {
        for a in packed_operands(g, id) {
            s.packed_later[a.index()] = true;
        }
    }
    for id in g.ids() {
        for a in &g.node(id).args {
            s.uses[a.index()] += 1;
        }
    }
    for id in visit_order(g) {
        s.reading.clear();
        let before = s.prog.kernels.len();
        s.node(id)?;
        // The kernels this node added compute it and what was fused into
        // the expressions they read; a node still unwritten carries that on.
        let mut nodes = std::mem::take(&mut s.reading);
        nodes.push(id);
        let after = s.prog.kernels.len();
        for k in before..after {
            // A kernel materialising an operand computes that operand only.
            let own = s.materialised.iter().find(|(m, _)| *m == k);
            s.kernel_nodes
                .push(own.map_or_else(|| nodes.clone(), |(_, n)| n.clone()));
        }
        s.materialised.clear();
        if !matches!(s.exprs[id.index()], Some(Expr::Load { .. }) | None) {
            s.fused[id.index()] = nodes;
        }
    }
    // Collectives whose results only the ABI's buffers hold.
    s.flush();
    for (k, n) in std::mem::take(&mut s.materialised) {
        if k == s.kernel_nodes.len() {
            s.kernel_nodes.push(n);
        }
    }
    let owners = owners(g);
    s.prog.origins = s
        .kernel_nodes
        .iter()
        .map(|n| origin(g, &owners, n))
        .collect();
    plan::assign_slots(&mut s.prog);
    super::verify::verify(&s.prog)?;
    Ok(s.prog)
}

struct Sched<'g> {
    g: &'g Graph,
    prog: Program,
    /// Per node not yet written to a buffer: the nodes fused into its
    /// expression (its own index included).
    fused: Vec<Vec<NodeId>>,
    /// The fused nodes of the expressions read while scheduling one node.
    reading: Vec<NodeId>,
    /// Per kernel, the graph nodes it computes.
    kernel_nodes: Vec<Vec<NodeId>>,
    /// Kernels that materialised an operand while scheduling one node, and
    /// the nodes each computes.
    materialised: Vec<(usize, Vec<NodeId>)>,
    /// Nodes some kernel reads as a packed buffer ([`packed_operands`]).
    packed_later: Vec<bool>,
    /// The expression computing each node (a `Load` once it has a buffer).
    exprs: Vec<Option<Expr>>,
    uses: Vec<u32>,
    /// The ABI buffers (outputs, updates) each node must be written to.
    dests: Vec<Vec<BufId>>,
    /// `all_sum` nodes whose all-reduce is not emitted yet: (node, source
    /// buffer, result buffer).
    pending: Vec<(NodeId, BufId, BufId)>,
}

impl Sched<'_> {
    fn buffer(&mut self, name: String, id: NodeId, kind: BufKind) -> BufId {
        let ty = self.g.ty(id);
        self.prog.buffers.push(Buffer {
            name,
            dtype: ty.dtype,
            shape: ty.shape.clone(),
            kind,
        });
        self.prog.buffers.len() - 1
    }

    fn load(&self, buf: BufId) -> Expr {
        Expr::Load {
            buf,
            view: self.prog.buffers[buf].shape.clone(),
        }
    }

    fn interface(&mut self) -> Result<(), String> {
        let g = self.g;
        for (i, (name, id)) in g.inputs.iter().enumerate() {
            self.prog.inputs.push((name.clone(), g.ty(*id).clone()));
            let b = self.buffer(name.clone(), *id, BufKind::Input(i));
            self.exprs[id.index()] = Some(self.load(b));
        }
        for (j, f) in g.feeds.iter().enumerate() {
            self.prog
                .inputs
                .push((f.name.clone(), g.ty(f.node).clone()));
            self.prog.feeds.push(f.feed.clone());
            let b = self.buffer(f.name.clone(), f.node, BufKind::Input(g.inputs.len() + j));
            self.exprs[f.node.index()] = Some(self.load(b));
        }
        for (i, p) in g.params.iter().enumerate() {
            self.prog.params.push(ParamInfo {
                name: p.name.clone(),
                ty: p.ty.clone(),
                init: p.init.clone(),
            });
            let b = self.buffer(p.name.clone(), p.node, BufKind::Param(i));
            self.exprs[p.node.index()] = Some(self.load(b));
        }
        let param_of_node: std::collections::HashMap<NodeId, usize> = g
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.node, i))
            .collect();
        let mut k = 0;
        for (name, id) in &g.outputs {
            let src = match param_of_node.get(id).copied() {
                Some(p) => OutputSrc::Param(p),
                None => {
                    let b = self.buffer(name.clone(), *id, BufKind::Output(k));
                    self.dests[id.index()].push(b);
                    k += 1;
                    OutputSrc::Step(k - 1)
                }
            };
            self.prog
                .outputs
                .push((name.clone(), g.ty(*id).clone(), src));
        }
        for id in &g.until {
            let b = self.buffer("until".into(), *id, BufKind::Output(k));
            self.dests[id.index()].push(b);
            self.prog.until.push(k);
            k += 1;
        }
        let index = g.param_indices();
        for (i, (name, id)) in g.updates.iter().enumerate() {
            let p = index
                .get(name.as_str())
                .copied()
                .ok_or_else(|| format!("update of `{name}`, which is not a param"))?;
            self.prog.updates.push(p);
            let b = self.buffer(format!("{name}.next"), *id, BufKind::Update(i));
            self.dests[id.index()].push(b);
        }
        Ok(())
    }

    fn expr(&mut self, id: NodeId) -> Result<Expr, String> {
        self.reading.extend_from_slice(&self.fused[id.index()]);
        self.exprs[id.index()]
            .clone()
            .ok_or_else(|| format!("node %{} used before it is computed", id.index()))
    }

    /// The expression of operand `id`, moved out when this is its only use
    /// (a chain of single-use nodes is then built in linear time), else cloned.
    fn operand(&mut self, id: NodeId) -> Result<Expr, String> {
        if self.uses[id.index()] == 1 {
            if let Some(e) = self.exprs[id.index()].take() {
                self.reading.extend_from_slice(&self.fused[id.index()]);
                return Ok(e);
            }
        }
        self.expr(id)
    }

    fn temp(&mut self, id: NodeId) -> BufId {
        let name = match &self.g.node(id).label {
            Some(l) => format!("{l}.{}", id.index()),
            None => format!("t{}", id.index()),
        };
        self.buffer(name, id, BufKind::Temp { slot: usize::MAX })
    }

    /// The buffer node `id` is computed into: its first ABI destination, or a temp.
    fn home(&mut self, id: NodeId) -> BufId {
        match self.dests[id.index()].first() {
            Some(&b) => b,
            None => self.temp(id),
        }
    }

    /// Writes `e` (node `id`'s value) into a buffer; the node becomes a load of it.
    fn materialise(&mut self, id: NodeId, e: Expr) -> BufId {
        let out = self.home(id);
        let mut nodes = self.fused[id.index()].clone();
        nodes.push(id);
        let k = self.push(Kernel::Map { out, expr: e });
        self.materialised.push((k, nodes));
        self.exprs[id.index()] = Some(self.load(out));
        out
    }

    /// Appends a kernel, after the pending all-reduces when it reads one of
    /// their results; its index.
    fn push(&mut self, k: Kernel) -> usize {
        let reads = k.inputs();
        if self.pending.iter().any(|p| reads.contains(&p.2)) {
            self.flush();
        }
        self.prog.kernels.push(k);
        self.prog.kernels.len() - 1
    }

    /// Emits every pending all-reduce: one kernel per dtype, in the order
    /// the `all_sum`s came.
    fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut dtypes: Vec<DType> = Vec::new();
        for p in &pending {
            let d = self.prog.buffers[p.2].dtype;
            if !dtypes.contains(&d) {
                dtypes.push(d);
            }
        }
        for d in dtypes {
            let of_d: Vec<&(NodeId, BufId, BufId)> = pending
                .iter()
                .filter(|p| self.prog.buffers[p.2].dtype == d)
                .collect();
            let mut nodes = Vec::new();
            for p in &of_d {
                nodes.extend_from_slice(&self.fused[p.0.index()]);
                nodes.push(p.0);
            }
            let parts = of_d.iter().map(|p| (p.1, p.2)).collect();
            self.materialised.push((self.prog.kernels.len(), nodes));
            self.prog
                .kernels
                .push(Kernel::AllReduce { dtype: d, parts });
        }
    }

    /// A packed buffer holding node `id` (materialised if needed).
    fn operand_buf(&mut self, id: NodeId) -> Result<BufId, String> {
        match self.expr(id)? {
            Expr::Load { buf, .. } => Ok(buf),
            e => Ok(self.materialise(id, e)),
        }
    }

    fn error(&mut self, msg: String) -> u32 {
        self.prog.errors.push(msg);
        self.prog.errors.len() as u32
    }

    fn check(&mut self, check: Check, msg: String) {
        let statically_ok = match &check {
            Check::SliceFits {
                n,
                start,
                step,
                len,
            } => match (n.as_lit(), len.as_lit()) {
                (Some(n), Some(len)) => slice_fits(n, *start, *step, len),
                _ => false,
            },
            Check::NonEmpty { lane, .. } => lane.iter().all(|d| d.as_lit().is_some_and(|n| n > 0)),
            Check::SizeFits { dims, dtype } => dims
                .iter()
                .map(|d| d.as_lit())
                .try_fold(1u64, |acc, n| acc.checked_mul(n?))
                .is_some_and(|n| size_fits(n, *dtype)),
        };
        if !statically_ok {
            let error = self.error(msg);
            self.push(Kernel::Check { check, error });
        }
    }

    fn node(&mut self, id: NodeId) -> Result<(), String> {
        let g = self.g;
        let n = g.node(id);
        let arg = |i: usize| n.args[i];
        let shape_of = |x: NodeId| g.ty(x).shape.clone();
        let mut computed: Option<BufId> = None;
        let fused: Option<Expr> = match &n.op {
            Op::Input { .. } | Op::Param { .. } => None,
            Op::Grad => return Err("grad node".into()),
            Op::Literal { value, dtype } => Some(Expr::Const {
                value: *value,
                dtype: *dtype,
            }),
            Op::SizeOf { dims, dtype } => {
                if dtype.is_int() {
                    self.check(
                        Check::SizeFits {
                            dims: dims.clone(),
                            dtype: *dtype,
                        },
                        format!(
                            "the size {} does not fit {dtype}",
                            dims.iter()
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                                .join(" * ")
                        ),
                    );
                }
                Some(Expr::Size {
                    dims: dims.clone(),
                    dtype: *dtype,
                })
            }
            Op::Iota { ty, axis } => Some(Expr::Iota {
                axis: *axis,
                dtype: ty.dtype,
            }),
            Op::Unary(u) => Some(Expr::Unary {
                op: *u,
                arg: Box::new(self.operand(arg(0))?),
            }),
            Op::Binary(b) => Some(Expr::Binary {
                op: *b,
                lhs: Box::new(self.operand(arg(0))?),
                rhs: Box::new(self.operand(arg(1))?),
            }),
            Op::Select => Some(Expr::Select {
                cond: Box::new(self.operand(arg(0))?),
                then: Box::new(self.operand(arg(1))?),
                els: Box::new(self.operand(arg(2))?),
            }),
            Op::Cast { to } => Some(Expr::Cast {
                to: *to,
                arg: Box::new(self.operand(arg(0))?),
            }),
            Op::StopGradient => Some(self.operand(arg(0))?),
            Op::Broadcast { shape } => {
                let from = shape_of(arg(0));
                let mut e = self.expr(arg(0))?;
                if e.is_invariant() {
                    // The same value at every index, in any space.
                    Some(e.without_remaps())
                } else {
                    if e.cost() > 2 && element_count(&from) != element_count(shape) {
                        let b = self.materialise(arg(0), e);
                        e = self.load(b);
                    }
                    let lead = shape.len() - from.len();
                    let axes = from
                        .iter()
                        .enumerate()
                        .map(|(j, d)| {
                            if d.is_one() {
                                AxisSrc::Zero
                            } else {
                                AxisSrc::Outer {
                                    axis: lead + j,
                                    start: 0,
                                    step: 1,
                                }
                            }
                        })
                        .collect();
                    Some(Expr::Remap {
                        shape: from,
                        axes,
                        arg: Box::new(e),
                    })
                }
            }
            Op::Reshape { shape } => {
                let from = shape_of(arg(0));
                let e = self.expr(arg(0))?;
                Some(match e {
                    e if e.is_invariant() => e.without_remaps(),
                    Expr::Load { buf, .. } => Expr::Load {
                        buf,
                        view: shape.clone(),
                    },
                    e => match unit_axes_map(&from, shape) {
                        Some(axes) => Expr::Remap {
                            shape: from,
                            axes,
                            arg: Box::new(e),
                        },
                        None => {
                            let buf = self.materialise(arg(0), e);
                            Expr::Load {
                                buf,
                                view: shape.clone(),
                            }
                        }
                    },
                })
            }
            Op::Transpose { perm } => {
                let from = shape_of(arg(0));
                let mut axes = vec![AxisSrc::Zero; from.len()];
                for (i, &p) in perm.iter().enumerate() {
                    axes[p] = AxisSrc::Outer {
                        axis: i,
                        start: 0,
                        step: 1,
                    };
                }
                Some(Expr::Remap {
                    shape: from,
                    axes,
                    arg: Box::new(self.expr(arg(0))?),
                })
            }
            Op::Slice {
                axis,
                start,
                step,
                len,
            } => {
                let from = shape_of(arg(0));
                self.check(
                    Check::SliceFits { n: from[*axis].clone(), start: *start, step: *step, len: len.clone() },
                    format!(
                        "slice along axis {axis}: {len} elements from {start} in steps of {step} do not fit an axis of length {}",
                        from[*axis]
                    ),
                );
                let axes = (0..from.len())
                    .map(|j| {
                        if j == *axis {
                            AxisSrc::Outer {
                                axis: j,
                                start: *start,
                                step: *step,
                            }
                        } else {
                            AxisSrc::Outer {
                                axis: j,
                                start: 0,
                                step: 1,
                            }
                        }
                    })
                    .collect();
                Some(Expr::Remap {
                    shape: from,
                    axes,
                    arg: Box::new(self.expr(arg(0))?),
                })
            }
            Op::AllSum => {
                let src = self.operand_buf(arg(0))?;
                if self.pending.iter().any(|p| p.2 == src) {
                    self.flush();
                }
                let out = self.home(id);
                self.pending.push((id, src, out));
                computed = Some(out);
                None
            }
            Op::Random { dist, seed, .. } => {
                let out = self.home(id);
                self.push(Kernel::Random {
                    out,
                    dist: *dist,
                    seed: *seed,
                });
                computed = Some(out);
                None
            }
            Op::Reduce { op, axes } => {
                let from = shape_of(arg(0));
                if op.empty(DType::I64).is_none() {
                    self.non_empty(&from, axes, op.name());
                }
                let expr = self.expr(arg(0))?;
                let out = self.home(id);
                if split_full_reduction(&from, axes) {
                    self.two_stage_reduce(*op, out, from, expr);
                } else {
                    self.push(Kernel::Reduce {
                        out,
                        op: *op,
                        shape: from,
                        axes: axes.clone(),
                        expr,
                    });
                }
                computed = Some(out);
                None
            }
            Op::ArgMax { axis } => {
                let from = shape_of(arg(0));
                self.non_empty(&from, &[*axis], "argmax");
                let expr = self.expr(arg(0))?;
                let out = self.home(id);
                self.push(Kernel::ArgMax {
                    out,
                    shape: from,
                    axis: *axis,
                    expr,
                });
                computed = Some(out);
                None
            }
            Op::MatMul => {
                let sa = shape_of(arg(0));
                let sb = shape_of(arg(1));
                let r = sa.len();
                // A float operand that transposes its last two axes is read
                // in place by GEMM, not copied.
                let float = n.ty.dtype.is_float();
                let (xa, ta) = swapped_last(g, arg(0))
                    .filter(|_| float)
                    .map_or((arg(0), false), |x| (x, true));
                let (xb, tb) = swapped_last(g, arg(1))
                    .filter(|_| float)
                    .map_or((arg(1), false), |x| (x, true));
                let a = self.operand_buf(xa)?;
                let b = self.operand_buf(xb)?;
                let out = self.home(id);
                self.push(Kernel::MatMul {
                    out,
                    a,
                    b,
                    batch: sa[..r - 2].to_vec(),
                    m: sa[r - 2].clone(),
                    k: sa[r - 1].clone(),
                    n: sb[r - 1].clone(),
                    trans: [ta, tb],
                });
                computed = Some(out);
                None
            }
            Op::Gather => {
                let st = shape_of(arg(0));
                let table = self.operand_buf(arg(0))?;
                let idx = self.operand_buf(arg(1))?;
                let error = self.error(format!(
                    "gather: an index is out of range for a table of {} rows",
                    st[0]
                ));
                let out = self.home(id);
                self.push(Kernel::Gather {
                    out,
                    table,
                    idx,
                    rows: st[0].clone(),
                    width: st[1..].to_vec(),
                    count: shape_of(arg(1)),
                    error,
                });
                computed = Some(out);
                None
            }
            Op::ScatterAdd { ty } => {
                let idx = self.operand_buf(arg(0))?;
                let gb = self.operand_buf(arg(1))?;
                let error = self.error(format!(
                    "scatter_add: an index is out of range for a table of {} rows",
                    ty.shape[0]
                ));
                let out = self.home(id);
                self.push(Kernel::ScatterAdd {
                    out,
                    idx,
                    g: gb,
                    rows: ty.shape[0].clone(),
                    width: ty.shape[1..].to_vec(),
                    count: shape_of(arg(0)),
                    error,
                });
                computed = Some(out);
                None
            }
            Op::Conv2d { win, groups }
            | Op::Conv2dGradInput { win, groups, .. }
            | Op::Conv2dGradWeight { win, groups, .. } => {
                let (x_shape, w_shape) = match &n.op {
                    Op::Conv2d { .. } => (shape_of(arg(0)), shape_of(arg(1))),
                    Op::Conv2dGradInput { ty, .. } => (ty.shape.clone(), shape_of(arg(1))),
                    _ => (shape_of(arg(0)), n.ty.shape.clone()),
                };
                let kind = match &n.op {
                    Op::Conv2d { .. } => ConvKind::Forward,
                    Op::Conv2dGradInput { .. } => ConvKind::GradInput,
                    _ => ConvKind::GradWeight,
                };
                let a = self.operand_buf(arg(0))?;
                let b = self.operand_buf(arg(1))?;
                let out = self.home(id);
                self.push(Kernel::Conv {
                    kind,
                    out,
                    a,
                    b,
                    dims: [
                        x_shape[0].clone(),
                        x_shape[1].clone(),
                        x_shape[2].clone(),
                        x_shape[3].clone(),
                        w_shape[0].clone(),
                    ],
                    win: *win,
                    groups: *groups,
                });
                computed = Some(out);
                None
            }
            Op::Cumsum { axis, reverse } => {
                let s = &n.ty.shape;
                let src = self.operand_buf(arg(0))?;
                let out = self.home(id);
                self.push(Kernel::Cumsum {
                    out,
                    src,
                    outer: s[..*axis].to_vec(),
                    n: s[*axis].clone(),
                    inner: s[axis + 1..].to_vec(),
                    reverse: *reverse,
                });
                computed = Some(out);
                None
            }
            Op::Window { win, fill } => {
                let sx = shape_of(arg(0));
                let r = sx.len() - 2;
                let so = &n.ty.shape;
                let src = self.operand_buf(arg(0))?;
                let out = self.home(id);
                self.push(Kernel::Window {
                    out,
                    src,
                    lead: sx[..r].to_vec(),
                    hw: [sx[r].clone(), sx[r + 1].clone()],
                    ohw: [so[r + 2].clone(), so[r + 3].clone()],
                    win: *win,
                    fill: *fill,
                });
                computed = Some(out);
                None
            }
            Op::WindowGrad { win, ty } => {
                let so = shape_of(arg(0));
                let r = ty.rank() - 2;
                let src = self.operand_buf(arg(0))?;
                let out = self.home(id);
                self.push(Kernel::WindowGrad {
                    out,
                    src,
                    lead: ty.shape[..r].to_vec(),
                    hw: [ty.shape[r].clone(), ty.shape[r + 1].clone()],
                    ohw: [so[r + 2].clone(), so[r + 3].clone()],
                    win: *win,
                });
                computed = Some(out);
                None
            }
            Op::Concat { axis } => {
                let mut parts = Vec::new();
                for &a in &n.args {
                    let b = self.operand_buf(a)?;
                    parts.push((b, g.ty(a).shape[*axis].clone()));
                }
                let out = self.home(id);
                self.push(Kernel::Concat {
                    out,
                    outer: n.ty.shape[..*axis].to_vec(),
                    inner: n.ty.shape[axis + 1..].to_vec(),
                    parts,
                });
                computed = Some(out);
                None
            }
            Op::SliceGrad {
                ty,
                axis,
                start,
                step,
            } => {
                let len = shape_of(arg(0))[*axis].clone();
                let nn = ty.shape[*axis].clone();
                self.check(
                    Check::SliceFits { n: nn.clone(), start: *start, step: *step, len: len.clone() },
                    format!(
                        "slice_grad along axis {axis}: {len} elements from {start} in steps of {step} do not fit an axis of length {nn}"
                    ),
                );
                let src = self.operand_buf(arg(0))?;
                let out = self.home(id);
                self.push(Kernel::SliceGrad {
                    out,
                    src,
                    outer: ty.shape[..*axis].to_vec(),
                    inner: ty.shape[axis + 1..].to_vec(),
                    n: nn,
                    len,
                    start: *start,
                    step: *step,
                });
                computed = Some(out);
                None
            }
        };
        let dests = self.dests[id.index()].clone();
        let mut first_written = None;
        if let Some(out) = computed {
            self.exprs[id.index()] = Some(self.load(out));
            first_written = Some(out);
        } else if let Some(e) = fused {
            let many = self.uses[id.index()] > 1 && e.cost() * (self.uses[id.index()] - 1) > 4;
            // A value some kernel will read packed is written once, now,
            // and its other users read it rather than recompute it.
            let shared = self.uses[id.index()] > 1
                && self.packed_later[id.index()]
                && !matches!(e, Expr::Load { .. });
            if !dests.is_empty() || many || shared || e.nodes() > MAX_FUSED_NODES {
                first_written = Some(self.materialise(id, e));
            } else {
                self.exprs[id.index()] = Some(e);
            }
        }
        // Remaining destinations (or all of them, for an input or param) get copies.
        for d in dests {
            if Some(d) != first_written {
                let e = self.expr(id)?;
                self.push(Kernel::Map { out: d, expr: e });
            }
        }
        Ok(())
    }

    /// A scratch buffer of the arena.
    fn scratch(&mut self, name: String, dtype: DType, shape: Shape) -> BufId {
        self.prog.buffers.push(Buffer {
            name,
            dtype,
            shape,
            kind: BufKind::Temp { slot: usize::MAX },
        });
        self.prog.buffers.len() - 1
    }

    /// A reduction of every axis in two kernels, so that the first can run
    /// on every thread: per index of axis 0 over the others (in the
    /// accumulator's dtype, `f64` for `f32` sums and products), then over
    /// axis 0, then (where the accumulator is wider) the cast to `out`.
    fn two_stage_reduce(&mut self, op: ReduceOp, out: BufId, from: Shape, expr: Expr) {
        let r = from.len();
        let dtype = self.prog.buffers[out].dtype;
        let acc = op.accumulator(dtype);
        let e1 = if acc == dtype {
            expr
        } else {
            Expr::Cast {
                to: acc,
                arg: Box::new(expr),
            }
        };
        let mut ps = vec![Dim::Lit(1); r];
        ps[0] = from[0].clone();
        let name = self.prog.buffers[out].name.clone();
        let part = self.scratch(format!("{name}.rows"), acc, ps.clone());
        self.push(Kernel::Reduce {
            out: part,
            op,
            shape: from,
            axes: (1..r).collect(),
            expr: e1,
        });
        let total = if acc == dtype {
            out
        } else {
            self.scratch(format!("{name}.acc"), acc, vec![Dim::Lit(1); r])
        };
        let e2 = self.load(part);
        self.push(Kernel::Reduce {
            out: total,
            op,
            shape: ps,
            axes: vec![0],
            expr: e2,
        });
        if total != out {
            let e3 = Expr::Cast {
                to: dtype,
                arg: Box::new(self.load(total)),
            };
            self.push(Kernel::Map { out, expr: e3 });
        }
    }

    fn non_empty(&mut self, shape: &Shape, axes: &[usize], what: &str) {
        let lane = axes.iter().map(|&a| shape[a].clone()).collect();
        let rest = (0..shape.len())
            .filter(|a| !axes.contains(a))
            .map(|a| shape[a].clone())
            .collect();
        self.check(
            Check::NonEmpty { lane, rest },
            format!("{what} over an axis of length 0: it has no identity"),
        );
    }
}

/// Whether a size (a product of lengths, `None` when it overflows `u64`)
/// is a value of integer dtype `dtype` (see [`Check::SizeFits`]).
pub fn size_fits(n: u64, dtype: DType) -> bool {
    match dtype {
        DType::I32 => i32::try_from(n).is_ok(),
        DType::I64 => i64::try_from(n).is_ok(),
        DType::U8 => u8::try_from(n).is_ok(),
        DType::F16 | DType::BF16 | DType::F32 | DType::F64 | DType::Bool => true,
    }
}

/// Whether `len` positions from `start` in steps of `step` fit an axis of length `n`.
pub fn slice_fits(n: u64, start: i64, step: u64, len: u64) -> bool {
    let n = n as i128;
    let s = if start < 0 {
        start as i128 + n
    } else {
        start as i128
    };
    if s < 0 || s > n || step == 0 {
        return false;
    }
    len == 0 || s + (len as i128 - 1) * (step as i128) < n
}
