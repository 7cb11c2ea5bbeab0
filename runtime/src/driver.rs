//! The run of a built program: flags, descriptor, binding, steps, outputs.
//! Every failure is a message on stderr and an exit status, the same as
//! `weft run`'s (2 usage, 3 bad data or a failed step, 101 a damaged
//! program); nothing here panics on user data.

use std::ffi::c_void;
use std::io::Write;

use crate::bind::{self, byte_size, concrete_text};
use crate::buf::AlignedBuf;
use crate::feed::{self, Feed, FeedState, StepCtx};
use crate::flags::{parse_run_flags, usage_text, FlagSpec, RunArgs};
use crate::npy::write_npy_file;
use crate::print::format_output;
use crate::program::{parse_descriptor, DimSpec, OutputSrc, ProgramDesc, TensorDecl};
use crate::RunError;

/// The flags a built program accepts: `weft run`'s but `--set`.
pub const SPEC: FlagSpec = FlagSpec {
    allow_set: false,
    extra_flags: &[],
    extra_help: &[],
};

/// Exit status for a damaged program (a descriptor the runtime cannot read).
pub use crate::error::EXIT_INTERNAL;

/// A program object: the symbols of docs/abi.md.
pub trait Program {
    fn descriptor(&self) -> &[u8];
    fn arena_bytes(&self, dims: &[i64]) -> u64;
    /// `weft_step`.
    ///
    /// # Safety
    /// The pointers are the ABI's: one buffer of the declared size per
    /// input, param, step output and update, and the arena.
    unsafe fn step(
        &self,
        dims: *const i64,
        inputs: *const *const c_void,
        params: *const *const c_void,
        outputs: *const *mut c_void,
        updates: *const *mut c_void,
        arena: *mut c_void,
    ) -> i32;
}

/// Runs the program with the process's arguments (`args[0]` is its name);
/// returns the exit status. Output goes to the process's stdout/stderr.
/// `set_threads` sizes the caller's thread pool from `--threads`.
pub fn main(prog: &dyn Program, args: Vec<Vec<u8>>, set_threads: &dyn Fn(usize)) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run_with(prog, args, &mut out, &mut err, set_threads);
    let _ = out.flush();
    let _ = err.flush();
    code
}

/// [`main`] with the streams given (for tests).
pub fn run_with(
    prog: &dyn Program,
    args: Vec<Vec<u8>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    set_threads: &dyn Fn(usize),
) -> i32 {
    let mut args = args.into_iter();
    let name = args
        .next()
        .map(|a| String::from_utf8_lossy(&a).into_owned())
        .unwrap_or_else(|| "program".into());
    let mut flags = Vec::new();
    for a in args {
        match String::from_utf8(a) {
            Ok(s) => flags.push(s),
            Err(e) => {
                let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let _ = writeln!(err, "error: argument '{shown}' is not valid UTF-8");
                return 2;
            }
        }
    }
    let flags = match parse_run_flags(&flags, &SPEC) {
        Ok(f) => f,
        Err(e) if e.help => {
            let _ = write!(out, "{}", usage_text(&name, &SPEC));
            return 0;
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    let desc = match parse_descriptor(prog.descriptor()) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            let _ = writeln!(
                err,
                "note: this executable is damaged or was built by a different weft; rebuild it"
            );
            return EXIT_INTERNAL;
        }
    };
    if let Err(msg) = crate::cpu::check(&desc.requires, &crate::cpu::has) {
        let _ = writeln!(err, "error: {msg}");
        return crate::error::EXIT_USAGE;
    }
    let threads = flags.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    set_threads(threads);
    let outputs = {
        let mut csv = match &flags.log_file {
            Some(path) => match crate::logcsv::CsvLog::create(path, log_names(&desc, &flags)) {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return e.exit_code;
                }
            },
            None => None,
        };
        let mut csv_err = None;
        let mut log_sink = |step: u64, name: &str, arr: &crate::NpyArray| match &mut csv {
            Some(c) => {
                if let Err(e) = c.record(step, name, arr) {
                    csv_err.get_or_insert(e);
                }
            }
            None => {
                let _ = writeln!(err, "step {step}: {}", format_output(name, arr));
            }
        };
        let result = run(prog, &desc, &flags, &mut log_sink);
        let finished = csv.map_or(Ok(()), |c| c.finish());
        match (result, csv_err.map_or(finished, Err)) {
            (Ok(o), Ok(())) => o,
            (Err(e), _) | (_, Err(e)) => {
                let _ = writeln!(err, "error: {e}");
                return e.exit_code;
            }
        }
    };
    match &flags.out {
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                let _ = writeln!(
                    err,
                    "error: cannot create output directory {}: {e}",
                    dir.display()
                );
                return 3;
            }
            for (name, arr) in &outputs {
                let path = dir.join(format!("{name}.npy"));
                if let Err(e) = write_npy_file(&path, arr) {
                    let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                    return 3;
                }
            }
        }
        None => {
            for (name, arr) in &outputs {
                let _ = writeln!(out, "{}", format_output(name, arr));
            }
        }
    }
    0
}

/// The outputs a run logs: `--log`'s, or with `--log-file` alone every
/// scalar output.
pub fn log_names(desc: &ProgramDesc, flags: &RunArgs) -> Vec<String> {
    if flags.log.is_empty() && flags.log_file.is_some() {
        desc.outputs
            .iter()
            .filter(|o| o.decl.rank() == 0)
            .map(|o| o.decl.name.clone())
            .collect()
    } else {
        flags.log.clone()
    }
}

/// The logged outputs' indices; an unknown name is a usage error listing
/// the outputs (as `weft run` says it).
fn check_log(desc: &ProgramDesc, flags: &RunArgs) -> Result<Vec<usize>, RunError> {
    let mut logged = Vec::new();
    for name in &log_names(desc, flags) {
        match desc.outputs.iter().position(|o| &o.decl.name == name) {
            Some(i) => logged.push(i),
            None => {
                let outs: Vec<&str> = desc.outputs.iter().map(|o| o.decl.name.as_str()).collect();
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

/// A zeroed buffer for a value declared as `d`.
fn alloc_for(desc: &ProgramDesc, d: &TensorDecl, shape: &[usize]) -> Result<AlignedBuf, RunError> {
    let bytes = byte_size(d.dtype, shape)
        .ok_or_else(|| RunError::data(bind::too_large(&desc.type_text(d), d.dtype, shape)))?;
    AlignedBuf::zeroed(bytes).ok_or_else(|| {
        RunError::data(format!(
            "not enough memory for a value of type {} ({bytes} bytes)",
            concrete_text(d.dtype, shape)
        ))
    })
}

fn copy_in(arr: &crate::NpyArray) -> Result<AlignedBuf, RunError> {
    AlignedBuf::from_npy(arr).ok_or_else(|| {
        RunError::data(format!(
            "not enough memory for a value of type {}",
            concrete_text(arr.dtype(), &arr.shape)
        ))
    })
}

/// Binds the data, runs the steps and returns the outputs in declaration
/// order. `log_sink(step, name, value)` receives the `--log` outputs.
pub fn run(
    prog: &dyn Program,
    desc: &ProgramDesc,
    flags: &RunArgs,
    log_sink: &mut dyn FnMut(u64, &str, &crate::NpyArray),
) -> Result<Vec<(String, crate::NpyArray)>, RunError> {
    run_observed(prog, desc, flags, log_sink, &mut |_, _| {})
}

/// [`run`], calling `progress(step, steps)` after each step (`weft run`'s
/// progress bar).
pub fn run_observed(
    prog: &dyn Program,
    desc: &ProgramDesc,
    flags: &RunArgs,
    log_sink: &mut dyn FnMut(u64, &str, &crate::NpyArray),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<(String, crate::NpyArray)>, RunError> {
    bind::check_names(desc, &flags.inputs, &flags.params)?;
    let logged = check_log(desc, flags)?;
    let bound = bind::bind(desc, &flags.inputs, &flags.params, true)?;
    let dims = bound.all_dims(desc)?;
    let dims: Vec<i64> = dims
        .iter()
        .map(|&d| i64::try_from(d).map_err(|_| RunError::data(format!("size {d} is too large"))))
        .collect::<Result<_, _>>()?;
    // Mapped inputs are used in place; the others are copied into aligned buffers.
    let mut inputs: Vec<Option<AlignedBuf>> = Vec::with_capacity(bound.inputs.len());
    let mut mapped: Vec<&crate::mmap::Mapped> = Vec::new();
    for v in &bound.inputs {
        match v {
            bind::InputValue::Array(a) => inputs.push(Some(copy_in(a)?)),
            bind::InputValue::Mapped(m) => {
                inputs.push(None);
                mapped.push(m);
            }
        }
    }
    let mut params: Vec<AlignedBuf> = Vec::with_capacity(bound.params.len());
    for arr in bound.params {
        params.push(copy_in(&arr)?);
    }
    let param_shapes: Vec<Vec<usize>> = desc
        .params
        .iter()
        .map(|p| bind::resolve_shape(desc, &bound.dims, &p.decl))
        .collect::<Result<_, _>>()?;
    // Step outputs, by step index (the `until` conditions last).
    let until_decl = TensorDecl {
        name: "until".into(),
        dtype: crate::DType::Bool,
        shape: vec![],
    };
    let mut step_decls: Vec<Option<(&TensorDecl, Vec<usize>)>> = vec![None; desc.step_outputs()];
    for &u in &desc.until {
        if let Some(slot) = step_decls.get_mut(u) {
            *slot = Some((&until_decl, vec![]));
        }
    }

    for o in &desc.outputs {
        if let OutputSrc::Step(i) = o.src {
            let shape = bind::resolve_shape(desc, &bound.dims, &o.decl)?;
            step_decls[i] = Some((&o.decl, shape));
        }
    }
    let mut outputs = Vec::with_capacity(step_decls.len());
    let mut step_shapes = Vec::with_capacity(step_decls.len());
    for sd in step_decls {
        // `validate` checked that every step output is declared once.
        let (d, shape) = sd.ok_or_else(|| RunError::data("a step output is not declared"))?;
        outputs.push(alloc_for(desc, d, &shape)?);
        step_shapes.push(shape);
    }
    let mut updates = Vec::with_capacity(desc.updates.len());
    for &p in &desc.updates {
        updates.push(alloc_for(desc, &desc.params[p].decl, &param_shapes[p])?);
    }
    let arena_bytes = prog.arena_bytes(&dims);
    let mut arena = usize::try_from(arena_bytes)
        .ok()
        .and_then(AlignedBuf::zeroed)
        .ok_or_else(|| {
            RunError::data(format!(
                "not enough memory for the program's scratch space ({arena_bytes} bytes)"
            ))
        })?;
    let steps = if desc.steps_matter() {
        flags.steps.max(1)
    } else {
        1
    };
    let mut feeds = Feeds::new(desc, &bound.dims)?;
    let mut input_ptrs: Vec<*const c_void> = Vec::with_capacity(inputs.len() + desc.feeds.len());
    let mut next_mapped = mapped.iter();
    for b in &inputs {
        input_ptrs.push(match b {
            Some(b) => b.as_ptr().cast(),
            None => next_mapped
                .next()
                .map_or(std::ptr::null(), |m| m.data_ptr().cast()),
        });
    }
    input_ptrs.extend(feeds.bufs.iter().map(|b| b.as_ptr().cast::<c_void>()));
    let value_of = |i: usize, params: &[AlignedBuf], outputs: &[AlignedBuf]| {
        let o = &desc.outputs[i];
        match o.src {
            OutputSrc::Step(k) => outputs[k].to_npy(o.decl.dtype, &step_shapes[k]),
            OutputSrc::Param(p) => params[p].to_npy(desc.params[p].decl.dtype, &param_shapes[p]),
        }
    };
    for k in 1..=steps {
        let ctx = StepCtx {
            step: k - 1,
            ..StepCtx::default()
        };
        if feeds.refresh(desc, ctx, k == 1)? {
            input_ptrs.truncate(inputs.len());
            input_ptrs.extend(feeds.bufs.iter().map(|b| b.as_ptr().cast::<c_void>()));
        }
        let param_ptrs: Vec<*const c_void> = params.iter().map(|b| b.as_ptr().cast()).collect();
        let output_ptrs: Vec<*mut c_void> =
            outputs.iter_mut().map(|b| b.as_mut_ptr().cast()).collect();
        let update_ptrs: Vec<*mut c_void> =
            updates.iter_mut().map(|b| b.as_mut_ptr().cast()).collect();
        // SAFETY: one buffer of the declared size per input, param, step
        // output and update, and `weft_arena_bytes(dims)` bytes of arena, all
        // 64-byte aligned (docs/abi.md).
        let code = unsafe {
            prog.step(
                dims.as_ptr(),
                input_ptrs.as_ptr(),
                param_ptrs.as_ptr(),
                output_ptrs.as_ptr(),
                update_ptrs.as_ptr(),
                arena.as_mut_ptr().cast(),
            )
        };
        if code != 0 {
            return Err(RunError::data(match desc.error_message(code) {
                Some(m) => m.to_string(),
                None => format!("the program failed with error code {code}"),
            }));
        }
        // Pages of mapped datasets read by this step leave the process now and then.
        if k % RELEASE_EVERY == 0 {
            mapped.iter().for_each(|m| m.release());
        }
        // All updates are assigned together, after the step: each update
        // buffer becomes its param, and the old value's buffer the next
        // step's update buffer (the step writes every element of it).
        for (u, &p) in desc.updates.iter().enumerate() {
            std::mem::swap(&mut params[p], &mut updates[u]);
        }
        progress(k, steps);
        // `until`: the run ends after a step in which a condition is true.
        let stop = desc.until.iter().any(|&u| {
            outputs
                .get(u)
                .is_some_and(|b| b.bytes().first().is_some_and(|&x| x != 0))
        });
        let last = k == steps || stop;
        let log_now =
            !logged.is_empty() && (last || (flags.log_every > 0 && k % flags.log_every == 0));
        if log_now {
            for &i in &logged {
                log_sink(
                    k,
                    &desc.outputs[i].decl.name,
                    &value_of(i, &params, &outputs),
                );
            }
        }
        if last {
            break;
        }
    }
    Ok((0..desc.outputs.len())
        .map(|i| {
            (
                desc.outputs[i].decl.name.clone(),
                value_of(i, &params, &outputs),
            )
        })
        .collect())
}

/// Steps between two releases of mapped inputs' resident pages.
const RELEASE_EVERY: u64 = 8;

/// The feeds' buffers, refreshed before each step.
struct Feeds {
    bufs: Vec<AlignedBuf>,
    shapes: Vec<Vec<usize>>,
    resolved: Vec<Feed<u64>>,
    states: Vec<FeedState>,
}

impl Feeds {
    fn new(desc: &ProgramDesc, dims: &[Option<usize>]) -> Result<Feeds, RunError> {
        let mut f = Feeds {
            bufs: Vec::new(),
            shapes: Vec::new(),
            resolved: Vec::new(),
            states: Vec::new(),
        };
        for fd in &desc.feeds {
            f.shapes.push(bind::resolve_shape(desc, dims, &fd.decl)?);
            f.resolved.push(resolve_feed(desc, dims, &fd.feed)?);
            f.states.push(FeedState::default());
            f.bufs.push(alloc_for(
                desc,
                &fd.decl,
                f.shapes.last().map_or(&[][..], |s| s),
            )?);
        }
        Ok(f)
    }

    /// Computes the feeds that change at this step (all of them on the
    /// first); true when a buffer was replaced.
    fn refresh(&mut self, desc: &ProgramDesc, ctx: StepCtx, first: bool) -> Result<bool, RunError> {
        let mut changed = false;
        for (i, fd) in desc.feeds.iter().enumerate() {
            if !first && !fd.feed.per_step() {
                continue;
            }
            let v = feed::value(
                &self.resolved[i],
                fd.decl.dtype,
                &self.shapes[i],
                ctx,
                &mut self.states[i],
            )?;
            self.bufs[i] = copy_in(&v)?;
            changed = true;
        }
        Ok(changed)
    }
}

/// A feed with the number of rows of its batch known.
pub fn resolve_feed(
    desc: &ProgramDesc,
    dims: &[Option<usize>],
    feed: &Feed<DimSpec>,
) -> Result<Feed<u64>, RunError> {
    let mut err = None;
    let f = feed.map_rows(|d| {
        let decl = TensorDecl {
            name: "batch".into(),
            dtype: crate::DType::I64,
            shape: vec![*d],
        };
        match bind::resolve_shape(desc, dims, &decl) {
            Ok(s) => s.first().map_or(0, |&n| n as u64),
            Err(e) => {
                err = Some(e);
                0
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(f),
    }
}

#[cfg(test)]
mod tests;
