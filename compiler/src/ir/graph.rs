//! The graph IR: a DAG (petgraph) of primitive ops over typed tensors.
//!
//! Nodes are appended only after their operands, so node index order is a
//! topological order; the verifier checks it. Each node keeps its operands in
//! `args` (in order); the petgraph edges mirror them for graph algorithms.
//! Building a node never panics: a node whose operands break its type rule is
//! recorded in [`Graph::bugs`] (a compiler bug, reported as such) and gets a
//! fallback type.

use petgraph::graph::{DiGraph, NodeIndex};

use super::op::{infer, BinaryOp, Distribution, Op, ReduceOp, UnaryOp};
use super::provenance::Provenance;
use super::types::{DType, Dim, Scalar, Shape, TensorType};
use weft_grammar::ast::Span;

pub type NodeId = NodeIndex<u32>;

#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    pub args: Vec<NodeId>,
    pub ty: TensorType,
    /// The source expression this node computes, for diagnostics and provenance.
    pub span: Option<Span>,
    /// The `let`/`output` name bound to this node, if any (printing only).
    pub label: Option<String>,
}

/// How a param gets its first value (unless `--param` gives a file).
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    Full(Scalar),
    Random {
        dist: Distribution,
        seed: u64,
    },
    /// `arange`-like: position along the last axis.
    Iota,
}

pub use weft_runtime::feed::{Dist, Feed, SeedPart};

/// A value the run supplies to each step (`step`, `rank`, `world`, a batch's
/// rows, per-step random values): an `Input` node named `#...` that no
/// `--input` can give; the driver computes it ([`weft_runtime::feed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FeedDecl {
    pub name: String,
    pub feed: Feed<Dim>,
    pub node: NodeId,
}

#[derive(Clone, Debug)]
pub struct ParamDecl {
    pub name: String,
    pub ty: TensorType,
    pub init: Init,
    pub node: NodeId,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub dag: DiGraph<Node, u32>,
    /// Size names, in declaration order.
    pub dims: Vec<String>,
    pub inputs: Vec<(String, NodeId)>,
    /// Feeds, after the inputs in the step's input list.
    pub feeds: Vec<FeedDecl>,
    pub params: Vec<ParamDecl>,
    pub outputs: Vec<(String, NodeId)>,
    /// `update P = node`, in source order.
    pub updates: Vec<(String, NodeId)>,
    /// `until` conditions (bool scalars): the run ends after the first step
    /// in which one is true.
    pub until: Vec<NodeId>,
    /// Type-rule violations met while building: compiler bugs.
    pub bugs: Vec<String>,
    /// Where each node comes from (calls, `let`s): set by the front end on
    /// the graph it returns; passes do not carry it ([`Provenance`]).
    pub provenance: Option<Box<Provenance>>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.dag.node_count() == 0
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.dag[id]
    }

    pub fn ty(&self, id: NodeId) -> &TensorType {
        &self.dag[id].ty
    }

    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        self.dag.node_indices()
    }

    /// Appends a node; its type comes from the op's type rule.
    pub fn add(&mut self, op: Op, args: &[NodeId], span: Option<Span>) -> NodeId {
        let tys: Vec<&TensorType> = args.iter().map(|&a| &self.dag[a].ty).collect();
        let ty = match infer(&op, &tys) {
            Ok(t) => t,
            Err(e) => {
                self.bugs.push(format!("building {}: {e}", op.name()));
                tys.first()
                    .map(|t| (*t).clone())
                    .unwrap_or(TensorType::scalar(DType::F32))
            }
        };
        let id = self.dag.add_node(Node {
            op,
            args: args.to_vec(),
            ty,
            span,
            label: None,
        });
        for (i, &a) in args.iter().enumerate() {
            self.dag.add_edge(a, id, i as u32);
        }
        id
    }

    pub fn set_label(&mut self, id: NodeId, label: &str) {
        let n = &mut self.dag[id];
        if n.label.is_none() && !matches!(n.op, Op::Input { .. } | Op::Param { .. }) {
            n.label = Some(label.to_string());
        }
    }

    pub fn param(&self, name: &str) -> Option<&ParamDecl> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The index in `params` of each param name: for lookups over every
    /// update or output in linear time (programs may have 10,000s of params).
    pub fn param_indices(&self) -> std::collections::HashMap<&str, usize> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect()
    }

    // ---- builders used by the front end and by autodiff -------------------

    pub fn literal(&mut self, value: Scalar, dtype: DType, span: Option<Span>) -> NodeId {
        let value = match (value, dtype.is_float()) {
            (Scalar::Int(i), true) => Scalar::Float(i as f64),
            (v, _) => v,
        };
        self.add(Op::Literal { value, dtype }, &[], span)
    }

    /// A tensor of type `ty` filled with `value`.
    pub fn full(&mut self, value: f64, ty: &TensorType, span: Option<Span>) -> NodeId {
        let v = if ty.dtype.is_float() {
            Scalar::Float(value)
        } else if ty.dtype == DType::Bool {
            Scalar::Bool(value != 0.0)
        } else {
            Scalar::Int(value as i64)
        };
        let l = self.literal(v, ty.dtype, span);
        self.broadcast(l, &ty.shape, span)
    }

    pub fn zeros_like(&mut self, ty: &TensorType) -> NodeId {
        self.full(0.0, ty, None)
    }

    pub fn unary(&mut self, u: UnaryOp, a: NodeId, span: Option<Span>) -> NodeId {
        self.add(Op::Unary(u), &[a], span)
    }

    /// `x b y`. On `u8` operands, which no engine computes on, the op runs
    /// in `i32` and an arithmetic result is cast back: NumPy's wrapping
    /// `uint8` arithmetic (every `u8` value and every product of two is exact
    /// in `i32`, and `i32` wraps modulo a multiple of 256).
    pub fn binary(&mut self, b: BinaryOp, x: NodeId, y: NodeId, span: Option<Span>) -> NodeId {
        if self.ty(x).dtype == DType::U8 && self.ty(y).dtype == DType::U8 {
            let xw = self.cast(x, DType::I32, span);
            let yw = self.cast(y, DType::I32, span);
            let r = self.add(Op::Binary(b), &[xw, yw], span);
            return if b.is_comparison() {
                r
            } else {
                self.cast(r, DType::U8, span)
            };
        }
        self.add(Op::Binary(b), &[x, y], span)
    }

    /// `x op scalar`, the scalar taking x's dtype.
    pub fn binary_scalar(&mut self, b: BinaryOp, x: NodeId, v: f64, span: Option<Span>) -> NodeId {
        let ty = self.ty(x).clone();
        let s = self.full(v, &ty, span);
        self.binary(b, x, s, span)
    }

    pub fn broadcast(&mut self, a: NodeId, shape: &[Dim], span: Option<Span>) -> NodeId {
        if self.ty(a).shape == shape {
            return a;
        }
        self.add(
            Op::Broadcast {
                shape: shape.to_vec(),
            },
            &[a],
            span,
        )
    }

    pub fn reshape(&mut self, a: NodeId, shape: &[Dim], span: Option<Span>) -> NodeId {
        if self.ty(a).shape == shape {
            return a;
        }
        self.add(
            Op::Reshape {
                shape: shape.to_vec(),
            },
            &[a],
            span,
        )
    }

    pub fn cast(&mut self, a: NodeId, to: DType, span: Option<Span>) -> NodeId {
        if self.ty(a).dtype == to {
            return a;
        }
        self.add(Op::Cast { to }, &[a], span)
    }

    pub fn transpose(&mut self, a: NodeId, perm: &[usize], span: Option<Span>) -> NodeId {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return a;
        }
        self.add(
            Op::Transpose {
                perm: perm.to_vec(),
            },
            &[a],
            span,
        )
    }

    /// Reduction keeping the reduced axes as size 1. No axes: the operand itself.
    pub fn reduce(
        &mut self,
        op: ReduceOp,
        a: NodeId,
        axes: &[usize],
        span: Option<Span>,
    ) -> NodeId {
        if axes.is_empty() {
            return a;
        }
        let mut axes = axes.to_vec();
        axes.sort_unstable();
        axes.dedup();
        self.add(Op::Reduce { op, axes }, &[a], span)
    }

    /// Sums `g` (of a broadcast result's shape) back down to `shape`: the
    /// adjoint of NumPy broadcasting.
    pub fn sum_to(&mut self, g: NodeId, shape: &[Dim], span: Option<Span>) -> NodeId {
        let gshape = self.ty(g).shape.clone();
        if gshape == shape {
            return g;
        }
        let lead = gshape.len() - shape.len().min(gshape.len());
        let mut axes: Vec<usize> = (0..lead).collect();
        for (i, d) in shape.iter().enumerate() {
            if d.is_one() && !gshape[lead + i].is_one() {
                axes.push(lead + i);
            }
        }
        let r = self.reduce(ReduceOp::Sum, g, &axes, span);
        self.reshape(r, shape, span)
    }

    /// Every size expression of the program (in node types, `size_of`
    /// nodes and `batch` feeds), each once, in order of first appearance: the derived sizes
    /// of the ABI's `dims` array.
    pub fn size_exprs(&self) -> Vec<std::sync::Arc<super::types::Poly>> {
        let mut out: Vec<std::sync::Arc<super::types::Poly>> = Vec::new();
        let mut see = |d: &Dim| {
            if let Dim::Expr(p) = d {
                if !out.contains(p) {
                    out.push(p.clone());
                }
            }
        };
        for id in self.ids() {
            self.ty(id).shape.iter().for_each(&mut see);
            if let Op::SizeOf { dims, .. } = &self.node(id).op {
                dims.iter().for_each(&mut see);
            }
        }
        for f in &self.feeds {
            if let Feed::Batch { rows, .. } = &f.feed {
                see(rows);
            }
        }
        out
    }

    pub fn shape_of(&self, a: NodeId) -> Shape {
        self.ty(a).shape.clone()
    }

    /// Removes every node not needed by an output or an update, and merges
    /// identical nodes (same op, same operands). Returns the new graph.
    pub fn simplified(&self) -> Graph {
        crate::passes::simplify::run(self)
    }
}
