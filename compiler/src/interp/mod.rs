//! The reference interpreter of the graph IR: the oracle every compiled
//! backend is tested against. Correctness and clarity first.
//!
//! [`run`] binds the run's data ([`bind`]), then runs the steps of the
//! contract's section 7: in a step every node is computed (in index order,
//! which is topological) from the current params and the inputs; at the end
//! of the step all updates are evaluated, then assigned together. Outputs are
//! values of the last step, except an output whose node is a `Param`, which
//! gives the param's value after the last update.
//!
//! Optimisations that keep those semantics:
//! - a step computes only the nodes its results need: the updates, plus the
//!   outputs on the last step and the logged outputs on a logged step (a
//!   run-time error in an output-only node therefore surfaces on the last step);
//! - nodes that depend on no param are computed once and reused;
//! - each intermediate is freed after its last use in a step;
//! - a program without updates runs one step whatever `steps` says.
//!
//! Errors: every failure is a [`RunError`]. Exit status 2 for usage errors
//! (unknown names), 3 for bad data, [`EXIT_UNSUPPORTED`] (1) for programs the
//! interpreter cannot run (`f16`/`bf16`), [`EXIT_INTERNAL`] (101, as a Rust
//! panic) for compiler bugs (ill-typed IR). Nothing here panics on user data.

pub mod bind;
pub mod dims;
pub(crate) mod feeds;
pub mod kernels;
pub mod tensor;

#[cfg(test)]
mod tests_driver;
#[cfg(test)]
mod tests_kernels;
#[cfg(test)]
mod tests_shape;
#[cfg(test)]
mod tests_support;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;

use weft_runtime::{InputArg, RunError};

pub use dims::{ConcreteType, DimEnv};
pub use kernels::eval;
pub use tensor::Tensor;

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;
use crate::ir::types::DType;

/// Exit status for a compiler bug met at run time (ill-typed IR).
pub const EXIT_INTERNAL: i32 = weft_runtime::Exit::Internal.code();
/// Exit status for a program the interpreter cannot run (f16/bf16 values).
pub const EXIT_UNSUPPORTED: i32 = weft_runtime::Exit::Compile.code();

/// An internal error: a compiler bug, never the user's data.
pub fn internal(msg: String) -> RunError {
    RunError {
        exit_code: EXIT_INTERNAL,
        message: format!("internal error in the interpreter (a compiler bug): {msg}"),
    }
}

/// How to run: the contract's `--steps`, and the `--log NAME`/`--log-every K`
/// extension flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Steps to run (≥ 1; a program without updates runs one).
    pub steps: u64,
    /// Outputs to report through the log sink during the run.
    pub log: Vec<String>,
    /// Log after step `k` when `k % log_every == 0` and after the last step;
    /// 0 means only after the last step.
    pub log_every: u64,
    /// Show a progress bar on stderr (only when it is a terminal and the run
    /// has at least 2 steps).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            steps: 1,
            log: Vec::new(),
            log_every: 1,
            progress: false,
        }
    }
}

/// Refuses programs the interpreter cannot run, before touching any data.
fn check_program(g: &Graph) -> Result<(), RunError> {
    for id in g.ids() {
        let n = g.node(id);
        if matches!(n.ty.dtype, DType::F16 | DType::BF16) {
            return Err(tensor::f16_unsupported(n.ty.dtype));
        }
        if n.op == Op::Grad {
            return Err(internal(
                "a grad node reached the interpreter (autodiff did not run)".into(),
            ));
        }
        if n.args.iter().any(|a| a.index() >= id.index()) {
            return Err(internal(format!("node %{} uses a later node", id.index())));
        }
    }
    let valid = |id: &NodeId| id.index() < g.len();
    let nodes = g
        .inputs
        .iter()
        .chain(&g.outputs)
        .chain(&g.updates)
        .map(|(_, id)| id);
    if !nodes.chain(g.params.iter().map(|p| &p.node)).all(valid) {
        return Err(internal(
            "the program's interface points at missing nodes".into(),
        ));
    }
    let index = g.param_indices();
    for (name, _) in &g.updates {
        if !index.contains_key(name.as_str()) {
            return Err(internal(format!(
                "update of `{name}`, which is not a param"
            )));
        }
    }
    Ok(())
}

/// Runs `g` on the given data. `inputs` are the `--input` flags, `params`
/// the `--param` flags; `log_sink(step, name, value)` receives the logged
/// outputs (`opts.log`). Returns the outputs in declaration order.
pub fn run(
    g: &Graph,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
    opts: &RunOptions,
    log_sink: &mut dyn FnMut(u64, &str, &Tensor),
) -> Result<Vec<(String, Tensor)>, RunError> {
    check_program(g)?;
    bind::check_names(g, inputs, params)?;
    let logged = check_log(g, opts)?;
    if opts.steps == 0 && !g.updates.is_empty() {
        return Err(RunError::usage("--steps must be at least 1"));
    }
    let bound = bind::bind(g, inputs, params)?;
    run_bound(g, bound, &logged, opts, log_sink)
}

/// The logged outputs' nodes; an unknown name is a usage error listing the outputs.
fn check_log(g: &Graph, opts: &RunOptions) -> Result<Vec<(String, NodeId)>, RunError> {
    let mut logged = Vec::new();
    for name in &opts.log {
        match g.outputs.iter().find(|(n, _)| n == name) {
            Some(&(_, id)) => logged.push((name.clone(), id)),
            None => {
                let outs: Vec<&str> = g.outputs.iter().map(|(n, _)| n.as_str()).collect();
                let list = if outs.is_empty() {
                    "the program has no outputs".to_string()
                } else {
                    format!("the outputs are: {}", outs.join(", "))
                };
                return Err(RunError::usage(format!(
                    "--log {name}: no output named `{name}`; {list}"
                )));
            }
        }
    }
    Ok(logged)
}

/// [`run`] after the data is bound.
pub(crate) fn run_bound(
    g: &Graph,
    bound: bind::Bound,
    logged: &[(String, NodeId)],
    opts: &RunOptions,
    log_sink: &mut dyn FnMut(u64, &str, &Tensor),
) -> Result<Vec<(String, Tensor)>, RunError> {
    let steps_matter = !g.updates.is_empty() || g.feeds.iter().any(|f| f.feed.per_step());
    let steps = if steps_matter { opts.steps.max(1) } else { 1 };
    let mut m = Machine::new(g, bound)?;
    let mut feeds = feeds::Feeds::new(g, &m.env)?;
    let bar = progress_bar(opts.progress, steps);
    let result = (|| {
        for k in 1..=steps {
            let ctx = weft_runtime::feed::StepCtx {
                step: k - 1,
                rank: weft_runtime::dist::rank(),
                world: weft_runtime::dist::world(),
            };
            for (node, t) in feeds.values(g, ctx, k == 1)? {
                m.leaves[node.index()] = Some(Rc::new(t));
            }
            // With `until`, any step may be the last: its outputs are computed.
            let may_end = k == steps || !g.until.is_empty();
            let log_maybe =
                !logged.is_empty() && (may_end || (opts.log_every > 0 && k % opts.log_every == 0));
            let mut roots: Vec<(String, NodeId)> = if log_maybe {
                logged.to_vec()
            } else {
                Vec::new()
            };
            roots.extend(g.until.iter().map(|id| ("until".to_string(), *id)));
            let vals = m.step(may_end, &roots)?;
            let stop = g.until.iter().any(|id| {
                vals[id.index()]
                    .as_ref()
                    .is_some_and(|t| t.as_bool_scalar() == Some(true))
            });
            // Every process of a job stops after the same step.
            let stop = !g.until.is_empty() && weft_runtime::dist::any(stop);
            let last = k == steps || stop;
            let log_now =
                !logged.is_empty() && (last || (opts.log_every > 0 && k % opts.log_every == 0));
            if log_now {
                for (name, id) in logged {
                    let v = m.output_value(*id, &vals)?;
                    match &bar {
                        Some(b) => b.suspend(|| log_sink(k, name, &v)),
                        None => log_sink(k, name, &v),
                    }
                }
            }
            if let Some(b) = &bar {
                b.inc(1);
            }
            if last {
                return g
                    .outputs
                    .iter()
                    .map(|(name, id)| Ok((name.clone(), unwrap_rc(m.output_value(*id, &vals)?))))
                    .collect();
            }
        }
        Err(internal("the step loop ended without a last step".into()))
    })();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

fn unwrap_rc(t: Rc<Tensor>) -> Tensor {
    Rc::try_unwrap(t).unwrap_or_else(|rc| (*rc).clone())
}

/// A bar for runs of ≥ 2 steps when stderr is a terminal (indicatif also
/// hides itself otherwise; the explicit check avoids even creating it).
fn progress_bar(wanted: bool, steps: u64) -> Option<indicatif::ProgressBar> {
    if !wanted || steps < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(steps),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {rate}  eta {eta}")
    {
        let rate = |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} steps/s", s.per_sec());
        };
        bar.set_style(style.with_key("rate", rate));
    }
    Some(bar)
}

/// The running program: resolved types, bound data, current params, and the
/// cache of param-independent values.
struct Machine<'g> {
    g: &'g Graph,
    env: DimEnv,
    types: Vec<ConcreteType>,
    /// Input node values by node index.
    leaves: Vec<Option<Rc<Tensor>>>,
    /// Node index → index in `g.params` (Param nodes only).
    param_of: Vec<Option<usize>>,
    params: Vec<Rc<Tensor>>,
    /// Depends on no param: computed once.
    is_static: Vec<bool>,
    /// A static node worth keeping across steps: used by a non-static node,
    /// or an output or update itself.
    keep_static: Vec<bool>,
    cache: Vec<Option<Rc<Tensor>>>,
    /// `updates` as (param index, node).
    updates: Vec<(usize, NodeId)>,
}

impl<'g> Machine<'g> {
    fn new(g: &'g Graph, bound: bind::Bound) -> Result<Machine<'g>, RunError> {
        let n = g.len();
        let mut types = Vec::with_capacity(n);
        for id in g.ids() {
            let ct = bound
                .env
                .resolve(g.ty(id))
                .map_err(|e| e.context(node_desc(g, id)))?;
            types.push(ct);
        }
        let mut leaves = vec![None; n];
        for (id, t) in bound.inputs {
            leaves[id.index()] = Some(Rc::new(t));
        }
        let mut param_of = vec![None; n];
        for (i, p) in g.params.iter().enumerate() {
            param_of[p.node.index()] = Some(i);
        }
        let mut per_step = vec![false; n];
        for f in &g.feeds {
            per_step[f.node.index()] = f.feed.per_step();
        }
        let mut is_static = vec![true; n];
        for id in g.ids() {
            let node = g.node(id);
            let i = id.index();
            is_static[i] = !matches!(node.op, Op::Param { .. })
                && !per_step[i]
                && node.args.iter().all(|a| is_static[a.index()]);
        }
        let mut keep_static = vec![false; n];
        for id in g.ids() {
            for a in &g.node(id).args {
                if is_static[a.index()] && !is_static[id.index()] {
                    keep_static[a.index()] = true;
                }
            }
        }
        for (_, id) in g.outputs.iter().chain(&g.updates) {
            keep_static[id.index()] |= is_static[id.index()];
        }
        for id in &g.until {
            keep_static[id.index()] |= is_static[id.index()];
        }
        let mut updates = Vec::new();
        let index = g.param_indices();
        for (name, id) in &g.updates {
            let p = index
                .get(name.as_str())
                .copied()
                .ok_or_else(|| internal(format!("update of `{name}`")))?;
            updates.push((p, *id));
        }
        Ok(Machine {
            g,
            env: bound.env,
            types,
            leaves,
            param_of,
            params: bound.params.into_iter().map(Rc::new).collect(),
            is_static,
            keep_static,
            cache: vec![None; n],
            updates,
        })
    }

    /// The value of output node `id` after a step whose values are `vals`.
    fn output_value(
        &self,
        id: NodeId,
        vals: &[Option<Rc<Tensor>>],
    ) -> Result<Rc<Tensor>, RunError> {
        if let Some(p) = self.param_of[id.index()] {
            return Ok(self.params[p].clone());
        }
        vals[id.index()]
            .clone()
            .ok_or_else(|| internal(format!("output node %{} was not computed", id.index())))
    }

    /// Runs one step: computes what the updates (and, on the last step, the
    /// outputs; on a logged step, the logged outputs) need, then assigns the
    /// updates. Returns the step's values of the roots.
    fn step(
        &mut self,
        last: bool,
        logged: &[(String, NodeId)],
    ) -> Result<Vec<Option<Rc<Tensor>>>, RunError> {
        let g = self.g;
        let n = g.len();
        let mut roots: Vec<NodeId> = self.updates.iter().map(|&(_, id)| id).collect();
        if last {
            roots.extend(g.outputs.iter().map(|(_, id)| *id));
        }
        roots.extend(logged.iter().map(|(_, id)| *id));
        let mut is_root = vec![false; n];
        for r in &roots {
            is_root[r.index()] = true;
        }
        // The nodes to compute: backwards from the roots, stopping at cached values.
        let mut needed = vec![false; n];
        let mut stack = roots.clone();
        while let Some(id) = stack.pop() {
            let i = id.index();
            if needed[i] {
                continue;
            }
            needed[i] = true;
            if self.cache[i].is_none() {
                stack.extend(g.node(id).args.iter().copied());
            }
        }
        let mut last_use = vec![usize::MAX; n];
        for id in g
            .ids()
            .filter(|id| needed[id.index()] && self.cache[id.index()].is_none())
        {
            for a in &g.node(id).args {
                last_use[a.index()] = id.index();
            }
        }
        let mut vals: Vec<Option<Rc<Tensor>>> = vec![None; n];
        for id in g.ids().filter(|id| needed[id.index()]) {
            let i = id.index();
            let v = self.value_of(id, &vals)?;
            if self.is_static[i] && self.keep_static[i] && self.cache[i].is_none() {
                self.cache[i] = Some(v.clone());
            }
            vals[i] = Some(v);
            // Only nodes computed this step have operands with `last_use` here.
            for a in &g.node(id).args {
                if last_use[a.index()] == i && !is_root[a.index()] {
                    vals[a.index()] = None;
                }
            }
        }
        let mut new_params = Vec::with_capacity(self.updates.len());
        for &(p, id) in &self.updates {
            let v = vals[id.index()]
                .clone()
                .ok_or_else(|| internal(format!("update node %{} was not computed", id.index())))?;
            new_params.push((p, v));
        }
        for (p, v) in new_params {
            self.params[p] = v;
        }
        Ok(vals)
    }

    /// The value of one node, its operands being in `vals`.
    fn value_of(&self, id: NodeId, vals: &[Option<Rc<Tensor>>]) -> Result<Rc<Tensor>, RunError> {
        let i = id.index();
        if let Some(v) = &self.cache[i] {
            return Ok(v.clone());
        }
        let node = self.g.node(id);
        match &node.op {
            Op::Input { .. } => {
                return self.leaves[i]
                    .clone()
                    .ok_or_else(|| internal(format!("input node %{i} is not bound")))
            }
            Op::Param { .. } => {
                let p = self.param_of[i]
                    .ok_or_else(|| internal(format!("param node %{i} is not declared")))?;
                return Ok(self.params[p].clone());
            }
            _ => {}
        }
        let args: Vec<Rc<Tensor>> = node
            .args
            .iter()
            .map(|a| {
                vals[a.index()]
                    .clone()
                    .ok_or_else(|| internal(format!("operand %{} of %{i} is gone", a.index())))
            })
            .collect::<Result<_, _>>()?;
        if node.op == Op::StopGradient {
            // Identity: share the operand's value instead of copying it.
            if let [a] = args.as_slice() {
                return Ok(a.clone());
            }
        }
        let refs: Vec<&Tensor> = args.iter().map(|a| &**a).collect();
        let out = &self.types[i];
        probe_memory(out).map_err(|e| e.context(node_desc(self.g, id)))?;
        let t =
            eval(&node.op, &refs, out, &self.env).map_err(|e| e.context(node_desc(self.g, id)))?;
        Ok(Rc::new(t))
    }
}

/// `node %7 (slice `h`)`, for error context.
fn node_desc(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    match &n.label {
        Some(l) => format!("in `{l}` (node %{}, {})", id.index(), n.op.name()),
        None => format!("in node %{} ({})", id.index(), n.op.name()),
    }
}

/// Values above this size are allocated only after asking the allocator
/// whether it could: a huge size then becomes an error, not an abort.
const PROBE_BYTES: usize = 1 << 30;

pub(crate) fn probe_memory(ty: &ConcreteType) -> Result<(), RunError> {
    let bytes = ty
        .byte_size()
        .ok_or_else(|| RunError::data(format!("a value of type {ty} is too large")))?;
    if bytes >= PROBE_BYTES {
        let mut probe: Vec<u8> = Vec::new();
        probe.try_reserve_exact(bytes).map_err(|_| {
            RunError::data(format!(
                "not enough memory for a value of type {ty} ({bytes} bytes)"
            ))
        })?;
    }
    Ok(())
}
