//! The tiered executor of `weft run`.
//!
//! Every kernel starts in the kernel-IR interpreter (tier 0). In
//! [`JitMode::Auto`], a kernel that becomes hot is compiled with Cranelift
//! and swapped in at its next call:
//! - a run of [`PREDICT_HOT_STEPS`] steps or more compiles every kernel
//!   before the first step, split between this thread and a background one;
//! - before any call, a kernel whose estimated interpreter time at the run's
//!   sizes ([`interp_estimate`]) exceeds [`COMPILE_COST`] is compiled on the
//!   spot, so big data never waits for the interpreter;
//! - otherwise a kernel with [`Tiered::hot_time`] spent in it, or whose
//!   remaining calls ([`Tiered::expected_calls`], when the run's length is
//!   known) would take longer than a compile at the rate measured so far —
//!   or, when it is not known, called [`Tiered::hot_calls`] times — is sent
//!   to the background thread.
//!
//! So a small one-step program is only interpreted, and a training loop
//! runs compiled code from its first step.
//! [`JitMode::Always`] compiles every kernel it can before the first step,
//! synchronously; [`JitMode::Never`] only interprets. A kernel that cannot be
//! compiled stays in the interpreter with a warning. Compiled kernels compute
//! exactly what the interpreter computes (see the module `jit`), so the tier
//! never changes a result.

use std::fmt::Write as _;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weft_runtime::profile;

use super::{compile_kernel, compile_kernels, supports, CompiledKernel};
use crate::kernel::interp::{dim_value, Layout, StepMemory, StepResult, StepState};
use crate::kernel::{Kernel, Program};

/// About what compiling one kernel costs (measured: 0.2-1.2 ms each for
/// the MLP example's kernels, `weft run --stats`).
pub const COMPILE_COST: Duration = Duration::from_micros(500);

/// About what the kernel interpreter spends per expression node and element
/// (the MLP example's step: ~240,000 node evaluations in ~2.4 ms).
pub const INTERP_NODE_COST: Duration = Duration::from_nanos(10);

/// The interpreter's time for one call of `k` at these sizes, estimated
/// from its element count and expression size (matrix products and random
/// fills run native code in the interpreter too: no estimate).
pub fn interp_estimate(prog: &Program, dims: &[u64], k: &Kernel) -> Duration {
    let numel = |shape: &[crate::ir::types::Dim]| -> u64 {
        shape
            .iter()
            .map(|d| dim_value(prog, dims, d))
            .fold(1u64, u64::saturating_mul)
    };
    let (elems, nodes) = match k {
        Kernel::Map { out, expr } => (numel(&prog.buffers[*out].shape), expr.nodes()),
        Kernel::Reduce { shape, expr, .. } => (numel(shape), expr.nodes() + 1),
        _ => (0, 0),
    };
    let n = elems.saturating_mul(nodes as u64);
    INTERP_NODE_COST.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A run of at least this many steps compiles every kernel before the
/// first step (interpreting a step of the MLP example takes about 5 ms,
/// compiling all of its 26 kernels about 3.5 ms, split over two threads).
pub const PREDICT_HOT_STEPS: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitMode {
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for JitMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(JitMode::Auto),
            "always" => Ok(JitMode::Always),
            "never" => Ok(JitMode::Never),
            _ => Err(format!(
                "--jit must be `auto`, `always` or `never`, not `{s}`"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// In the interpreter, may be compiled when hot.
    Interp,
    /// Being compiled on the background thread.
    Compiling,
    /// Compiled code.
    Jit,
    /// Cranelift could not compile it: interpreter for good.
    Failed,
    /// A kind of kernel the JIT does not compile (gather, concat, ...).
    InterpOnly,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Compiling => "compiling",
            Tier::Jit => "jit",
            Tier::Failed => "interp (jit failed)",
            Tier::InterpOnly => "interp (not jitted)",
        }
    }
}

#[derive(Clone, Debug)]
pub struct KernelStats {
    pub tier: Tier,
    pub calls: u64,
    /// Calls that ran compiled code.
    pub jit_calls: u64,
    /// Time spent in the kernel, both tiers.
    pub time: Duration,
    pub compile_time: Option<Duration>,
    pub vectorized: bool,
}

type Done = (usize, Result<CompiledKernel, String>);

/// Buffer addresses, kept between steps only for their allocation: they
/// are rewritten at the start of each step and used only during it.
struct Ptrs(Vec<*mut u8>);

// SAFETY: the addresses are never dereferenced outside the step (on the
// calling thread) that wrote them.
unsafe impl Send for Ptrs {}

struct Worker {
    tx: Option<Sender<Vec<usize>>>,
    rx: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub struct Tiered<'p> {
    prog: &'p Program,
    mode: JitMode,
    /// Calls after which a kernel is compiled (Auto).
    pub hot_calls: u64,
    /// Time in a kernel after which it is compiled (Auto).
    pub hot_time: Duration,
    /// How many times each kernel will be called in all, when known.
    pub expected_calls: Option<u64>,
    /// Whether to time compiled kernels too (for `--stats`); interpreted
    /// calls are always timed (hotness).
    pub timing: bool,
    compiled: Vec<Option<CompiledKernel>>,
    stats: Vec<KernelStats>,
    warnings: Vec<String>,
    worker: Option<Worker>,
    /// Kernels sent to the worker and not yet installed.
    in_flight: usize,
    /// Whether a step has run.
    started: bool,
    /// Wall time spent compiling before the first step.
    upfront: Duration,
    /// The memory layout for the dims of the last step.
    layout: Option<(Vec<u64>, Layout)>,
    /// Whether every kernel runs compiled code (the step's fast path).
    all_jit: bool,
    /// The buffer addresses of the fast path (kept for its allocation).
    ptrs: Ptrs,
}

fn kind_name(k: &Kernel) -> &'static str {
    k.kind()
}

/// [`compile_kernels`], recorded as one compile event on `lane` of the
/// profile (`--profile`) when one is being taken.
fn profiled_compile(
    prog: &Program,
    ks: &[usize],
    lane: u32,
) -> Vec<Result<CompiledKernel, String>> {
    let t0 = profile::now();
    let rs = compile_kernels(prog, ks);
    profile::record(profile::Event {
        what: profile::What::Compile(ks.len() as u32),
        lane,
        start: t0,
        dur: profile::now().saturating_sub(t0),
    });
    rs
}

impl<'p> Tiered<'p> {
    /// In `Always` mode, compiles every kernel it can now.
    pub fn new(prog: &'p Program, mode: JitMode) -> Self {
        let n = prog.kernels.len();
        let stats = prog
            .kernels
            .iter()
            .map(|k| KernelStats {
                tier: if supports(k) {
                    Tier::Interp
                } else {
                    Tier::InterpOnly
                },
                calls: 0,
                jit_calls: 0,
                time: Duration::ZERO,
                compile_time: None,
                vectorized: false,
            })
            .collect();
        let mut t = Tiered {
            prog,
            mode,
            hot_calls: 2,
            hot_time: Duration::from_millis(2),
            expected_calls: None,
            timing: false,
            compiled: vec![None; n],
            stats,
            warnings: Vec::new(),
            worker: None,
            in_flight: 0,
            started: false,
            upfront: Duration::ZERO,
            layout: None,
            all_jit: false,
            ptrs: Ptrs(Vec::new()),
        };
        if mode == JitMode::Always {
            t.compile_all(true);
        }
        t
    }

    fn install(&mut self, k: usize, r: Result<CompiledKernel, String>) {
        match r {
            Ok(ck) => {
                let s = &mut self.stats[k];
                s.tier = Tier::Jit;
                s.compile_time = Some(ck.compile_time);
                s.vectorized = ck.vectorized;
                self.compiled[k] = Some(ck);
                self.all_jit = self.compiled.iter().all(Option::is_some);
            }
            Err(e) => {
                self.stats[k].tier = Tier::Failed;
                self.warnings.push(format!(
                    "kernel {k} ({}) stays in the interpreter: the JIT cannot compile it: {e}",
                    kind_name(&self.prog.kernels[k])
                ));
            }
        }
    }

    fn worker(&mut self) -> &Worker {
        self.worker.get_or_insert_with(|| {
            let (tx, req) = channel::<Vec<usize>>();
            let (done, rx) = channel::<Done>();
            let prog = Arc::new(self.prog.clone());
            let handle = std::thread::Builder::new()
                .name("weft-jit".into())
                .spawn(move || {
                    for batch in req {
                        let rs = profiled_compile(&prog, &batch, profile::LANE_COMPILER);
                        for (k, r) in batch.into_iter().zip(rs) {
                            if done.send((k, r)).is_err() {
                                return;
                            }
                        }
                    }
                })
                .ok();
            Worker {
                tx: handle.as_ref().map(|_| tx),
                rx,
                handle,
            }
        })
    }

    /// Installs kernels the background thread has finished.
    fn poll(&mut self) {
        let Some(w) = &self.worker else { return };
        let done: Vec<Done> = w.rx.try_iter().collect();
        for (k, r) in done {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.install(k, r);
        }
    }

    /// Waits for every compilation in flight (tests and benchmarks).
    pub fn wait_compiled(&mut self) {
        while self.stats.iter().any(|s| s.tier == Tier::Compiling) {
            let Some(w) = &self.worker else { return };
            match w.rx.recv() {
                Ok((k, r)) => {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    self.install(k, r)
                }
                Err(_) => return,
            }
        }
    }

    /// Runs one step, like `kernel::interp::step`, on memory the caller
    /// owns: `regions` as [`StepState::new`] takes them. Memory that does
    /// not fit the program fails with `u32::MAX`.
    pub fn step(&mut self, dims: &[u64], regions: Vec<&mut [u8]>) -> Result<(), u32> {
        let st = StepState::new(self.prog, dims, regions).map_err(|_| u32::MAX)?;
        self.step_on(dims, st)
    }

    /// [`Tiered::step`] on memory given by address and length.
    ///
    /// # Safety
    /// As `StepState::from_raw`.
    pub unsafe fn step_raw(
        &mut self,
        dims: &[u64],
        regions: Vec<(*mut u8, usize)>,
    ) -> Result<(), u32> {
        self.layout(dims).map_err(|_| u32::MAX)?;
        let Some((_, layout)) = &self.layout else {
            return Err(u32::MAX);
        };
        if self.all_jit {
            // Every kernel compiled: straight to the code, no interpreter
            // state (the regions are checked as `StepState` would).
            let need = layout.region_bytes();
            if regions.len() != need.len() || regions.iter().zip(need).any(|(r, &n)| r.1 < n) {
                return Err(u32::MAX);
            }
            let mut ptrs = std::mem::take(&mut self.ptrs.0);
            ptrs.clear();
            for &(r, off) in layout.locations() {
                ptrs.push(regions[r].0.wrapping_add(off));
            }
            let mut r = Ok(());
            let profiled = profile::on();
            for (k, ck) in self.compiled.iter().enumerate() {
                let Some(ck) = ck else { continue };
                let t0 = self.timing.then(Instant::now);
                if profiled {
                    profile::enter(k as u32);
                }
                // SAFETY: the pointers address the step's buffers, each of
                // its size at these dims (checked above).
                r = ck.call(dims, &ptrs);
                if profiled {
                    profile::exit(k as u32);
                }
                let s = &mut self.stats[k];
                s.calls += 1;
                s.jit_calls += 1;
                if let Some(t0) = t0 {
                    s.time += t0.elapsed();
                }
                if r.is_err() {
                    break;
                }
            }
            self.ptrs.0 = ptrs;
            return r;
        }
        let layout = layout.clone();
        let st = StepState::with_layout(self.prog, dims, regions, &layout).map_err(|_| u32::MAX)?;
        self.step_on(dims, st)
    }

    /// The memory layout at these dims (kept from step to step).
    pub fn layout(&mut self, dims: &[u64]) -> Result<&Layout, String> {
        if self
            .layout
            .as_ref()
            .is_none_or(|(d, _)| d.as_slice() != dims)
        {
            let l = Layout::new(self.prog, dims)?;
            self.layout = Some((dims.to_vec(), l));
        }
        match &self.layout {
            Some((_, l)) => Ok(l),
            None => Err("no layout".into()),
        }
    }

    fn step_on(&mut self, dims: &[u64], mut st: StepState) -> Result<(), u32> {
        // Compiled code trusts the buffer sizes, which `StepState::new`
        // checked; the regions do not move during the step.
        let ptrs = st.buffer_ptrs();
        self.run_kernels(dims, &mut st, &ptrs)
    }

    /// Compiles every kernel still in the interpreter on two threads: the
    /// background thread takes about half of the work (estimated from the
    /// kernels' sizes), this thread the rest, each in one module. With
    /// `wait`, returns when all are installed; otherwise the background
    /// thread's kernels are swapped in as they arrive.
    fn compile_all(&mut self, wait: bool) {
        let t0 = Instant::now();
        self.compile_all_inner(wait);
        self.upfront += t0.elapsed();
    }

    fn compile_all_inner(&mut self, wait: bool) {
        let prog = self.prog;
        let mut ks: Vec<usize> = (0..prog.kernels.len())
            .filter(|&k| self.stats[k].tier == Tier::Interp)
            .collect();
        let cost = |k: usize| match &prog.kernels[k] {
            Kernel::Map { expr, .. } | Kernel::Reduce { expr, .. } => 8 + expr.nodes(),
            _ => 4,
        };
        ks.sort_by_key(|&k| std::cmp::Reverse(cost(k)));
        let (mut there, mut here) = (Vec::new(), Vec::new());
        let (mut wt, mut ht) = (0, 0);
        for k in ks {
            self.stats[k].tier = Tier::Compiling;
            if wt <= ht {
                wt += cost(k);
                there.push(k);
            } else {
                ht += cost(k);
                here.push(k);
            }
        }
        there.sort_unstable();
        here.sort_unstable();
        let n = there.len();
        if n > 0 {
            let batch = there.clone();
            let sent = self
                .worker()
                .tx
                .as_ref()
                .is_some_and(|tx| tx.send(batch).is_ok());
            if sent {
                self.in_flight += n;
            } else {
                here.extend(there);
            }
        }
        let rs = profiled_compile(prog, &here, profile::LANE_STEP);
        for (k, r) in here.into_iter().zip(rs) {
            self.install(k, r);
        }
        if wait {
            self.wait_compiled();
        }
    }

    /// Sends kernel `k` to the compiling thread (or compiles it now when
    /// there is no thread).
    fn make_hot(&mut self, k: usize) {
        let prog = self.prog;
        self.stats[k].tier = Tier::Compiling;
        let sent = self
            .worker()
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(vec![k]).is_ok());
        if sent {
            self.in_flight += 1;
        } else {
            let r = compile_kernel(prog, &prog.kernels[k]);
            self.install(k, r);
        }
    }

    fn run_kernels(
        &mut self,
        dims: &[u64],
        st: &mut StepState,
        ptrs: &[*mut u8],
    ) -> Result<(), u32> {
        let prog = self.prog;
        // A run of many steps: every kernel will be hot, so all of them are
        // compiled, on two threads, before the first runs (one step
        // interpreted costs as much as hundreds compiled; compiling the MLP
        // example's 26 kernels takes about 3.5 ms of work in all).
        if self.mode == JitMode::Auto
            && !self.started
            && self.expected_calls.is_some_and(|n| n >= PREDICT_HOT_STEPS)
        {
            self.compile_all(true);
        }
        self.started = true;
        for k in 0..prog.kernels.len() {
            if self.in_flight > 0 {
                self.poll();
            }
            // Measured expensive before it runs: a kernel whose estimated
            // interpreter time at these sizes exceeds a compile is compiled
            // now, here (16M elements of W1 took 3.8 s interpreted, 1 ms to
            // compile).
            if self.mode == JitMode::Auto
                && self.stats[k].tier == Tier::Interp
                && interp_estimate(prog, dims, &prog.kernels[k]) > COMPILE_COST
            {
                self.stats[k].tier = Tier::Compiling;
                let r = compile_kernel(prog, &prog.kernels[k]);
                self.install(k, r);
            }
            let timed = self.timing || self.compiled[k].is_none();
            let t0 = timed.then(Instant::now);
            let profiled = profile::on();
            if profiled {
                profile::enter(k as u32);
            }
            let r = match &self.compiled[k] {
                // SAFETY: the pointers address the step's buffers, each of
                // its size at these dims (checked by `StepState::new`).
                Some(ck) => unsafe { ck.call(dims, ptrs) },
                None => st.run_kernel(k),
            };
            if profiled {
                profile::exit(k as u32);
            }
            let s = &mut self.stats[k];
            s.calls += 1;
            s.jit_calls += self.compiled[k].is_some() as u64;
            if let Some(t0) = t0 {
                s.time += t0.elapsed();
            }
            r?;
            let worth = |s: &KernelStats| match self.expected_calls {
                Some(n) => {
                    let left = n.saturating_sub(s.calls) as f64;
                    s.time.as_secs_f64() / s.calls as f64 * left >= COMPILE_COST.as_secs_f64()
                }
                None => false,
            };
            // With the run's length known, a kernel compiles when its remaining
            // calls would cost more than a compile (a short run of many tiny
            // kernels stays interpreted); otherwise after `hot_calls` calls.
            let hot = match self.expected_calls {
                Some(_) => worth(s),
                None => s.calls >= self.hot_calls,
            };
            if self.mode == JitMode::Auto
                && s.tier == Tier::Interp
                && (hot || s.time >= self.hot_time)
            {
                self.make_hot(k);
            }
        }
        Ok(())
    }

    /// [`Tiered::step`] on copies of `inputs` and `params`, with fresh
    /// outputs and updates (tests and benchmarks).
    pub fn step_owned(
        &mut self,
        dims: &[u64],
        inputs: &[Vec<u8>],
        params: &[Vec<u8>],
    ) -> Result<StepResult, u32> {
        let mut mem = StepMemory::new(self.prog, dims, inputs, params);
        self.step(dims, mem.regions())?;
        Ok(mem.finish())
    }

    pub fn stats(&self) -> &[KernelStats] {
        &self.stats
    }

    /// Warnings not yet taken (kernels the JIT could not compile).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The `--stats` table: per kernel its tier, calls and time.
    pub fn stats_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:>6}  {:<11}  {:<20}  {:>7}  {:>9}  {:>11}  {:>12}  source (lets and lines)",
            "kernel", "kind", "tier", "calls", "jit calls", "time ms", "compile ms"
        );
        let mut total = Duration::ZERO;
        for (k, st) in self.stats.iter().enumerate() {
            total += st.time;
            let tier = if st.tier == Tier::Jit && st.vectorized {
                "jit (f32x4)".to_string()
            } else {
                st.tier.name().to_string()
            };
            let source = self
                .prog
                .origins
                .get(k)
                .map(|o| weft_runtime::program::source_text(&o.lets, &o.lines))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{:>6}  {:<11}  {:<20}  {:>7}  {:>9}  {:>11.3}  {:>12}  {source}",
                k,
                kind_name(&self.prog.kernels[k]),
                tier,
                st.calls,
                st.jit_calls,
                st.time.as_secs_f64() * 1e3,
                st.compile_time
                    .map(|t| format!("{:.3}", t.as_secs_f64() * 1e3))
                    .unwrap_or_else(|| "-".into())
            );
        }
        let _ = writeln!(
            s,
            "total time in kernels: {:.3} ms",
            total.as_secs_f64() * 1e3
        );
        if !self.upfront.is_zero() {
            let _ = writeln!(
                s,
                "compiling before the first step: {:.3} ms (wall)",
                self.upfront.as_secs_f64() * 1e3
            );
        }
        s
    }
}
