//! The contract's section 10 in the front end: `step`, `rank` and `world`,
//! `batch(..)`, seed tuples of `normal`/`uniform`/`nn.dropout`. Each value
//! that the run supplies per step is a feed ([`crate::ir::graph::FeedDecl`]):
//! an input node named `#...` that the driver fills before each step.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::Bound;
use crate::front::diag::Diagnostic;
use crate::ir::graph::{Dist, Feed, FeedDecl, NodeId, SeedPart};
use crate::ir::op::{BinaryOp, Distribution, Op};
use crate::ir::types::{DType, Dim, Scalar, TensorType};

/// How a seed argument was given.
pub(crate) enum Seed {
    /// Known at compile time (a literal, a const, or a tuple of them).
    Static(u64),
    /// A tuple containing `step` or `rank`.
    PerRun(Vec<SeedPart>),
}

impl<'m> Elab<'m> {
    /// The node of a feed, shared by every use of an equal feed of the same type.
    pub(crate) fn feed(&mut self, feed: Feed<Dim>, ty: TensorType, span: Span) -> NodeId {
        if let Some(f) = self
            .g
            .feeds
            .iter()
            .find(|f| f.feed == feed && *self.g.ty(f.node) == ty)
        {
            return f.node;
        }
        let kind = match &feed {
            Feed::Step => "step",
            Feed::Rank => "rank",
            Feed::World => "world",
            Feed::Batch { .. } => "batch",
            Feed::Random { .. } => "random",
        };
        let name = match feed {
            Feed::Step | Feed::Rank | Feed::World => format!("#{kind}"),
            _ => format!("#{kind}{}", self.g.feeds.len()),
        };
        let node = self.g.add(
            Op::Input {
                name: name.clone(),
                ty,
            },
            &[],
            Some(span),
        );
        self.g.feeds.push(FeedDecl { name, feed, node });
        node
    }

    /// `step`, `rank`, `world`: `i64` scalars.
    pub(crate) fn run_value(&mut self, name: &str, span: Span) -> Option<Val> {
        let feed = match name {
            "step" => Feed::Step,
            "rank" => Feed::Rank,
            "world" => Feed::World,
            _ => return None,
        };
        Some(Val::Tensor(self.feed(
            feed,
            TensorType::new(DType::I64, vec![]),
            span,
        )))
    }

    /// `all_sum(x)` (numeric `x`) and `all_mean(x)` (floating `x`): one
    /// `AllSum` node, divided by `world` for the mean (so the gradient of
    /// either is the same collective of the incoming gradient). Records
    /// reach here leaf by leaf.
    pub(crate) fn collective(&mut self, mean: bool, v: Val, s: Span, span: Span) -> Option<Val> {
        let name = if mean { "all_mean" } else { "all_sum" };
        let id = self.tensor_of(&v, s, None)?;
        let t = self.g.ty(id).clone();
        let ok = if mean {
            matches!(t.dtype, DType::F32 | DType::F64)
        } else {
            crate::ir::op::collective_dtype(t.dtype)
        };
        if !ok {
            let (want, help) = if mean {
                (
                    "an `f32` or `f64` tensor",
                    format!("a mean of integers is not an integer: `{name}(cast(x, f32))`, or `all_sum` for an integer total"),
                )
            } else {
                (
                    "an `f32`, `f64`, `i32` or `i64` tensor",
                    format!("cast it first: `{name}(cast(x, i32))`"),
                )
            };
            self.err(
                Diagnostic::error("E0332", format!("`{name}` needs {want}, found `{t}`"), s)
                    .label(format!("this is `{t}`"))
                    .help(help),
            );
            return None;
        }
        let sum = self.g.add(Op::AllSum, &[id], Some(span));
        if !mean {
            return Some(Val::Tensor(sum));
        }
        let world = self.feed(Feed::World, TensorType::new(DType::I64, vec![]), span);
        let w = self.g.cast(world, t.dtype, Some(span));
        let w = self.g.broadcast(w, &t.shape, Some(span));
        Some(Val::Tensor(self.g.binary(
            BinaryOp::Div,
            sum,
            w,
            Some(span),
        )))
    }

    /// The feed a node is, if any.
    fn feed_of(&self, id: NodeId) -> Option<&Feed<Dim>> {
        self.g.feeds.iter().find(|f| f.node == id).map(|f| &f.feed)
    }

    /// A `seed=` argument: an integer literal or const, or a tuple of them,
    /// `step` and `rank` (E0325 otherwise).
    pub(crate) fn seed_arg(&mut self, v: &Val, span: Span) -> Option<Seed> {
        let parts: Vec<Val> = match v {
            Val::Tuple(vs) => vs.clone(),
            other => vec![other.clone()],
        };
        let bad = |this: &mut Self, what: String| {
            this.err(
                Diagnostic::error("E0325", format!("invalid seed: {what}"), span)
                    .label("not a seed")
                    .help("a seed is a non-negative integer literal or const, or a tuple of them, `step` and `rank`: `seed=(3, step)`"),
            );
            None
        };
        if parts.is_empty() {
            return bad(self, "the tuple is empty".into());
        }
        let mut out = Vec::with_capacity(parts.len());
        for p in &parts {
            match p {
                Val::Static(Scalar::Int(k)) if *k >= 0 => out.push(SeedPart::Lit(*k as u64)),
                Val::Static(Scalar::Int(k)) => {
                    return bad(self, format!("{k} is negative"));
                }
                Val::Tensor(id) => match self.feed_of(*id) {
                    Some(Feed::Step) => out.push(SeedPart::Step),
                    Some(Feed::Rank) => out.push(SeedPart::Rank),
                    _ => {
                        let t = self.g.ty(*id).clone();
                        return bad(
                            self,
                            format!("a `{t}` value computed at run time; only `step` and `rank` may vary"),
                        );
                    }
                },
                Val::Error => return None,
                other => {
                    let t = self.type_str(other);
                    return bad(self, format!("a {t}, not an integer"));
                }
            }
        }
        if out.iter().all(|p| matches!(p, SeedPart::Lit(_))) {
            let lits: Vec<u64> = out
                .iter()
                .map(|p| match p {
                    SeedPart::Lit(k) => *k,
                    SeedPart::Step | SeedPart::Rank => 0,
                })
                .collect();
            return Some(Seed::Static(weft_runtime::feed::seed_of(&lits)));
        }
        Some(Seed::PerRun(out))
    }

    /// Random values of type `ty` for a seed.
    pub(crate) fn random(
        &mut self,
        ty: TensorType,
        dist: Distribution,
        seed: Seed,
        span: Span,
    ) -> NodeId {
        match seed {
            Seed::Static(seed) => self.g.add(Op::Random { ty, dist, seed }, &[], Some(span)),
            Seed::PerRun(parts) => {
                let dist = match dist {
                    Distribution::Normal { mean, std } => Dist::Normal { mean, std },
                    Distribution::Uniform { lo, hi } => Dist::Uniform { lo, hi },
                };
                self.feed(Feed::Random { dist, seed: parts }, ty, span)
            }
        }
    }

    /// `batch(X, SIZE, shuffle=K)` / `batch((X, Y, ..), SIZE, shuffle=K)`.
    pub(super) fn batch(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (xv, xs, _) = a[0].clone()?;
        let (sv, ss, _) = a[1].clone()?;
        let size = self.static_int(&sv, ss, "the batch size")?;
        if size <= 0 {
            self.err(
                Diagnostic::error(
                    "E0314",
                    format!("the batch size must be positive, not {size}"),
                    ss,
                )
                .label("not a positive size"),
            );
            return None;
        }
        let shuffle = match &a[2] {
            None => None,
            Some((v, s, _)) => {
                let k = self.static_int(v, *s, "the shuffle key")?;
                if k < 0 {
                    self.err(
                        Diagnostic::error(
                            "E0314",
                            format!("the shuffle key must not be negative, not {k}"),
                            *s,
                        )
                        .label("negative key"),
                    );
                    return None;
                }
                Some(k as u64)
            }
        };
        let (items, tuple) = match &xv {
            Val::Tuple(vs) => (vs.clone(), true),
            other => (vec![other.clone()], false),
        };
        if items.is_empty() {
            self.err(
                Diagnostic::error("E0313", "`batch` needs at least one tensor", xs)
                    .label("empty tuple"),
            );
            return None;
        }
        let mut nodes = Vec::with_capacity(items.len());
        for v in &items {
            let id = self.tensor_of(v, xs, None)?;
            let t = self.g.ty(id).clone();
            if t.rank() == 0 {
                self.err(
                    Diagnostic::error(
                        "E0313",
                        format!("`batch` takes rows of a tensor, found the scalar `{t}`"),
                        xs,
                    )
                    .label("no leading axis"),
                );
                return None;
            }
            if let Some(p) = self.param_in(id) {
                self.err(
                    Diagnostic::error(
                        "E0324",
                        format!("`batch` takes inputs, or values computed from inputs only; this one depends on param `{p}`"),
                        xs,
                    )
                    .label("depends on a param")
                    .note("a dataset is an input: its rows are picked per step without copying it"),
                );
                return None;
            }
            nodes.push(id);
        }
        let n = self.g.ty(nodes[0]).shape[0].clone();
        for &id in &nodes[1..] {
            let t = self.g.ty(id).clone();
            if t.shape[0] != n {
                let t0 = self.g.ty(nodes[0]).clone();
                self.err(
                    Diagnostic::error(
                        "E0324",
                        format!("`batch` over tensors with different leading axes: {n} and {}", t.shape[0]),
                        xs,
                    )
                    .label(format!("`{t0}` and `{t}`"))
                    .note("the tensors of one `batch` are rows of one dataset: they share their first axis")
                    .help("give each dataset its own `batch`, or slice them to one length"),
                );
                return None;
            }
        }
        let idx = self.feed(
            Feed::Batch {
                rows: n,
                size: size as u64,
                shuffle,
            },
            TensorType::new(DType::I64, vec![Dim::Lit(size as u64)]),
            span,
        );
        let out: Vec<Val> = nodes
            .iter()
            .map(|&x| Val::Tensor(self.g.add(Op::Gather, &[x, idx], Some(span))))
            .collect();
        Some(if tuple {
            Val::Tuple(out)
        } else {
            out.into_iter().next()?
        })
    }

    /// The name of a param that `id` depends on, if any.
    fn param_in(&self, id: NodeId) -> Option<String> {
        let mut seen = vec![false; self.g.len()];
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            let node = self.g.node(n);
            if let Op::Param { name, .. } = &node.op {
                return Some(name.clone());
            }
            stack.extend(node.args.iter().copied());
        }
        None
    }

    /// `nn.dropout(x, p, seed=..)`: zero each element with probability `p`,
    /// scale the rest by `1/(1-p)`.
    pub(super) fn dropout(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (xv, xs, _) = a[0].clone()?;
        let (pv, ps, _) = a[1].clone()?;
        let x = self.tensor_of(&xv, xs, None)?;
        let t = self.g.ty(x).clone();
        if !t.dtype.is_float() {
            self.err(
                Diagnostic::error(
                    "E0305",
                    format!("`dropout` needs a floating tensor, found `{t}`"),
                    xs,
                )
                .label(format!("this is `{t}`")),
            );
            return None;
        }
        let p = match pv {
            Val::Static(Scalar::Float(p)) => p,
            Val::Static(Scalar::Int(p)) => p as f64,
            Val::Error => return None,
            other => {
                let ts = self.type_str(&other);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("the dropout probability must be a literal or const, found `{ts}`"),
                        ps,
                    )
                    .label("not known at compile time"),
                );
                return None;
            }
        };
        if !(0.0..1.0).contains(&p) {
            self.err(
                Diagnostic::error(
                    "E0314",
                    format!("the dropout probability must be in [0, 1), not {p}"),
                    ps,
                )
                .label("out of range"),
            );
            return None;
        }
        let (sv, ss, _) = a[2].clone()?;
        let seed = self.seed_arg(&sv, ss)?;
        let u = self.random(
            t.clone(),
            Distribution::Uniform { lo: 0.0, hi: 1.0 },
            seed,
            span,
        );
        let keep = self.g.binary_scalar(BinaryOp::Ge, u, p, Some(span));
        let scaled = self
            .g
            .binary_scalar(BinaryOp::Mul, x, 1.0 / (1.0 - p), Some(span));
        let zero = self.g.full(0.0, &t, Some(span));
        Some(Val::Tensor(self.g.add(
            Op::Select,
            &[keep, scaled, zero],
            Some(span),
        )))
    }
}
