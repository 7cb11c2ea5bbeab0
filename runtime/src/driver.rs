//! The run of a built program: flags, descriptor, binding, steps, outputs.
//! Every failure is a message on stderr and an exit status, the same as
//! `weft run`'s (2 usage, 3 bad data or a failed step, 101 a damaged
//! program); nothing here panics on user data.

use std::ffi::c_void;
use std::io::Write;

use crate::bind;
use crate::buf::AlignedBuf;
use crate::checkpoint;
use crate::feed::Feed;
use crate::flags::{parse_run_flags, usage_text, FlagSpec, RunArgs};
use crate::npy::write_npy_file;
use crate::print::format_output;
use crate::program::{parse_descriptor, DimSpec, ProgramDesc, TensorDecl};
use crate::stepper::{copy_in, Stepper};
use crate::RunError;

/// The flags a built program accepts: `weft run`'s but `--set`.
pub const SPEC: FlagSpec = FlagSpec {
    allow_set: false,
    allow_dump: false,
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

/// Declares a program object's four symbols (docs/abi.md) and a unit type
/// `$ty` implementing [`Program`] over them: what an executable (`weft_`
/// symbols) and a library (also `weft_vjp_` ones) link against.
/// `linked_program!(Main, weft_program_desc, weft_program_desc_len,
/// weft_arena_bytes, weft_step)`.
#[macro_export]
macro_rules! linked_program {
    ($ty:ident, $desc:ident, $len:ident, $arena:ident, $step:ident) => {
        extern "C" {
            static $desc: [u8; 0];
            static $len: u64;
            fn $arena(dims: *const i64) -> u64;
            fn $step(
                dims: *const i64,
                inputs: *const *const ::std::ffi::c_void,
                params: *const *const ::std::ffi::c_void,
                outputs: *const *mut ::std::ffi::c_void,
                updates: *const *mut ::std::ffi::c_void,
                arena: *mut ::std::ffi::c_void,
            ) -> i32;
        }

        /// The program object linked in.
        pub struct $ty;

        impl $crate::driver::Program for $ty {
            fn descriptor(&self) -> &[u8] {
                // SAFETY: the program object defines both symbols
                // (docs/abi.md): `$len` bytes of constant data.
                unsafe {
                    let len = usize::try_from($len).unwrap_or(0);
                    ::std::slice::from_raw_parts(::std::ptr::addr_of!($desc).cast::<u8>(), len)
                }
            }

            fn arena_bytes(&self, dims: &[i64]) -> u64 {
                // SAFETY: `dims` has one value per size of the descriptor.
                unsafe { $arena(dims.as_ptr()) }
            }

            unsafe fn step(
                &self,
                dims: *const i64,
                inputs: *const *const ::std::ffi::c_void,
                params: *const *const ::std::ffi::c_void,
                outputs: *const *mut ::std::ffi::c_void,
                updates: *const *mut ::std::ffi::c_void,
                arena: *mut ::std::ffi::c_void,
            ) -> i32 {
                $step(dims, inputs, params, outputs, updates, arena)
            }
        }
    };
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
    // In a distributed job: MPI_Finalize, or MPI_Abort ending every process.
    crate::dist::finish(code)
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
    // `--manifest` records the arguments as given.
    let given = flags.clone();
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
    // Section 13: join the job when an MPI launcher started this process.
    if let Err(e) = crate::dist::init() {
        let _ = writeln!(err, "error: {e}");
        return e.exit_code;
    }
    // Only rank 0 prints, logs and writes files; every process reports its
    // own failure, naming its rank.
    let root = crate::dist::is_root();
    let fail = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        let _ = writeln!(err, "{}", crate::dist::error_text(&e.to_string()));
    };
    let threads = flags.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    set_threads(threads);
    let mut finished = {
        let err = std::cell::RefCell::new(&mut *err);
        let mut csv = match &flags.log_file {
            Some(path) if root => {
                match crate::logcsv::CsvLog::create(path, log_names(&desc, &flags)) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        fail(*err.borrow_mut(), &e);
                        return e.exit_code;
                    }
                }
            }
            _ => None,
        };
        let mut csv_err = None;
        let mut log_sink = |step: u64, name: &str, arr: &crate::NpyArray| match &mut csv {
            Some(c) => {
                if let Err(e) = c.record(step, name, arr) {
                    csv_err.get_or_insert(e);
                }
            }
            None => {
                let _ = writeln!(
                    err.borrow_mut(),
                    "step {step}: {}",
                    format_output(name, arr)
                );
            }
        };
        let mut note = |msg: &str| {
            let _ = writeln!(err.borrow_mut(), "{msg}");
        };
        let result = run(prog, &desc, &flags, &mut log_sink, &mut note);
        let finished = csv.map_or(Ok(()), |c| c.finish());
        match (result, csv_err.map_or(finished, Err)) {
            (Ok(o), Ok(())) => o,
            (Err(e), _) | (_, Err(e)) => {
                fail(*err.borrow_mut(), &e);
                return e.exit_code;
            }
        }
    };
    if !root {
        return 0;
    }
    let outputs = &finished.outputs;
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
            for (name, arr) in outputs {
                let path = dir.join(format!("{name}.npy"));
                if let Err(e) = write_npy_file(&path, arr) {
                    let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                    return 3;
                }
            }
        }
        None => {
            for (name, arr) in outputs {
                let _ = writeln!(out, "{}", format_output(name, arr));
            }
            let _ = out.flush();
        }
    }
    // The last step's checkpoint once the outputs are delivered: a run
    // resumed from it has nothing left to do.
    if let Err(e) = finished.checkpoint() {
        let _ = writeln!(err, "error: {e}");
        return e.exit_code;
    }
    // `--manifest`: the record of the run, once everything is delivered.
    if let (Some(path), Some(record)) = (&flags.manifest, finished.record.take()) {
        let written = crate::manifest::ProgramRef::executable().and_then(|program| {
            crate::manifest::write_run(path, program, given, record, &finished.outputs)
        });
        if let Err(e) = written {
            let _ = writeln!(err, "error: {e}");
            return e.exit_code;
        }
    }
    if flags.stats {
        let _ = write!(
            err,
            "{}",
            crate::profile::stats_table(&finished.events, &desc.kernels)
        );
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

/// Binds the data, runs the steps and returns the outputs in declaration
/// order. `log_sink(step, name, value)` receives the `--log` outputs,
/// `note` what a user should know (a resumed run, a damaged checkpoint
/// passed over).
pub fn run(
    prog: &dyn Program,
    desc: &ProgramDesc,
    flags: &RunArgs,
    log_sink: &mut dyn FnMut(u64, &str, &crate::NpyArray),
    note: &mut dyn FnMut(&str),
) -> Result<Finished, RunError> {
    run_observed(prog, desc, flags, log_sink, &mut |_, _| {}, note)
}

/// What a run leaves to its caller: the outputs, in declaration order, and
/// the checkpoint of its last step, which the caller writes with
/// [`Finished::checkpoint`] once the outputs are delivered — so that a
/// final checkpoint exists only when the run's outputs do, and a run
/// resumed from it has nothing left to do.
pub struct Finished {
    pub outputs: Vec<(String, crate::NpyArray)>,
    /// The profile's events (with `--profile` or `--stats`; the trace is
    /// already written).
    pub events: Vec<crate::profile::Event>,
    /// Some(step) when a resumed run found its checkpoint at the last step:
    /// it ran nothing and has no outputs to deliver.
    pub complete_at: Option<u64>,
    /// With `--manifest`: the hashed inputs and initial params, for the
    /// record the caller writes once the outputs are delivered.
    pub record: Option<crate::manifest::Partial>,
    last: Option<PendingCheckpoint>,
}

struct PendingCheckpoint {
    dir: std::path::PathBuf,
    program: String,
    step: u64,
    keep: Option<u64>,
    params: Vec<(String, crate::NpyArray)>,
}

impl PendingCheckpoint {
    fn write(self) -> Result<std::path::PathBuf, RunError> {
        checkpoint::write(&self.dir, &self.program, self.step, self.params, self.keep)
    }
}

impl Finished {
    /// Writes the checkpoint of the last step (with `--checkpoint`).
    pub fn checkpoint(&mut self) -> Result<(), RunError> {
        match self.last.take() {
            Some(p) => p.write().map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Periodic checkpoints, encoded and written on a thread of their own from
/// a snapshot of the params, so that a step waits only for the copy (and
/// for the previous checkpoint, when it is still being written).
#[derive(Default)]
struct Background {
    writing: Option<std::thread::JoinHandle<Result<std::path::PathBuf, RunError>>>,
}

impl Background {
    fn submit(&mut self, p: PendingCheckpoint) -> Result<(), RunError> {
        self.wait()?;
        self.writing = Some(std::thread::spawn(move || p.write()));
        Ok(())
    }

    /// Waits for the checkpoint being written; its error, if any.
    fn wait(&mut self) -> Result<(), RunError> {
        match self.writing.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(RunError::data("the checkpoint writer failed")))
                .map(|_| ()),
            None => Ok(()),
        }
    }
}

/// The params as checkpoint leaves.
fn param_leaves(
    desc: &ProgramDesc,
    params: &[AlignedBuf],
    shapes: &[Vec<usize>],
) -> Vec<(String, crate::NpyArray)> {
    desc.params
        .iter()
        .zip(params)
        .zip(shapes)
        .map(|((p, b), s)| (p.decl.name.clone(), b.to_npy(p.decl.dtype, s)))
        .collect()
}

/// [`run`], calling `progress(step, steps)` after each step (`weft run`'s
/// progress bar).
pub fn run_observed(
    prog: &dyn Program,
    desc: &ProgramDesc,
    flags: &RunArgs,
    log_sink: &mut dyn FnMut(u64, &str, &crate::NpyArray),
    progress: &mut dyn FnMut(u64, u64),
    note: &mut dyn FnMut(&str),
) -> Result<Finished, RunError> {
    bind::check_names(desc, &flags.inputs, &flags.params)?;
    let logged = check_log(desc, flags)?;
    // Section 13: only rank 0 logs, notes, profiles and checkpoints.
    let root = crate::dist::is_root();
    let mut quiet = |_: &str| {};
    let note: &mut dyn FnMut(&str) = if root { note } else { &mut quiet };
    let bound = bind::bind(desc, &flags.inputs, &flags.params, true)?;
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
    for arr in &bound.params {
        params.push(copy_in(arr)?);
    }
    let mut stepper = Stepper::new(prog, desc, &bound.dims)?;
    let steps = if desc.steps_matter() {
        flags.steps.max(1)
    } else {
        1
    };
    let program = checkpoint::program_id(prog.descriptor());
    let mut start = 0;
    let mut resumed = None;
    if let Some(from) = &flags.resume {
        match checkpoint::newest(from, &mut |w| note(&format!("warning: {w}")))? {
            Some((path, ck)) => {
                let step = ck.step;
                let values =
                    checkpoint::params_from(ck, &path, desc, &program, &stepper.param_shapes)?;
                for (p, v) in params.iter_mut().zip(&values) {
                    *p = copy_in(v)?;
                }
                start = step;
                note(&format!("resuming from {} (step {step})", path.display()));
                resumed = Some(crate::manifest::Resumed {
                    checkpoint: crate::manifest::absolute(&path).display().to_string(),
                    step,
                });
            }
            None => note(&format!(
                "no checkpoint in {}: starting from step 0",
                from.display()
            )),
        }
    }
    // Every process must run the same steps on the same sizes, or their
    // collectives would not match: one check before the first step.
    agree_on_start(start, steps, &stepper.dims)?;
    if start >= steps && flags.resume.is_some() && start > 0 {
        note(&format!(
            "the run was complete: its checkpoint is at step {start} of {steps}; nothing to do"
        ));
        return Ok(Finished {
            outputs: Vec::new(),
            events: Vec::new(),
            complete_at: Some(start),
            record: None,
            last: None,
        });
    }
    // `--manifest`: the inputs, and the params as the first step sees them.
    let record = flags.manifest.as_ref().map(|_| crate::manifest::Partial {
        inputs: crate::manifest::input_entries(
            desc.inputs.iter().map(|d| d.name.as_str()),
            &bound.inputs,
        ),
        params: crate::manifest::entries(&param_leaves(desc, &params, &stepper.param_shapes)),
        resumed,
    });
    let mut input_ptrs: Vec<*const c_void> = Vec::with_capacity(inputs.len());
    let mut next_mapped = mapped.iter();
    for b in &inputs {
        input_ptrs.push(match b {
            Some(b) => b.as_ptr().cast(),
            None => next_mapped
                .next()
                .map_or(std::ptr::null(), |m| m.data_ptr().cast()),
        });
    }
    let mut taken = start;
    let mut background = Background::default();
    let profiling = flags.profile.is_some() || flags.stats;
    if profiling {
        crate::profile::start();
    }
    for k in start + 1..=steps {
        let stop = stepper.step(prog, desc, &input_ptrs, &mut params, k - 1)?;
        // Every process of a job stops after the same step.
        let stop = !desc.until.is_empty() && crate::dist::any(stop);
        taken = k;
        // Pages of mapped datasets read by this step leave the process now and then.
        if k % RELEASE_EVERY == 0 {
            mapped.iter().for_each(|m| m.release());
        }
        progress(k, steps);
        // `until`: the run ends after a step in which a condition is true.
        let last = k == steps || stop;
        if let Some(dir) = flags.checkpoint.as_ref().filter(|_| root) {
            if !last && flags.checkpoint_every > 0 && k % flags.checkpoint_every == 0 {
                background.submit(PendingCheckpoint {
                    dir: dir.clone(),
                    program: program.clone(),
                    step: k,
                    keep: flags.keep,
                    params: param_leaves(desc, &params, &stepper.param_shapes),
                })?;
            }
        }
        let log_now = root
            && !logged.is_empty()
            && (last || (flags.log_every > 0 && k % flags.log_every == 0));
        if log_now {
            for &i in &logged {
                log_sink(
                    k,
                    &desc.outputs[i].decl.name,
                    &stepper.output_value(desc, i, &params),
                );
            }
        }
        if last {
            break;
        }
    }
    background.wait()?;
    let events = if profiling {
        crate::profile::finish()
    } else {
        Vec::new()
    };
    if let Some(path) = flags.profile.as_ref().filter(|_| root) {
        let text = crate::profile::trace_json(&events, &desc.kernels, "weft");
        crate::atomic::write_atomic(path, text.as_bytes()).map_err(|e| {
            RunError::data(format!("cannot write the profile {}: {e}", path.display()))
        })?;
    }
    let outputs = (0..desc.outputs.len())
        .map(|i| {
            (
                desc.outputs[i].decl.name.clone(),
                stepper.output_value(desc, i, &params),
            )
        })
        .collect();
    let last = flags
        .checkpoint
        .as_ref()
        .filter(|_| root)
        .map(|dir| PendingCheckpoint {
            dir: dir.clone(),
            program,
            step: taken,
            keep: flags.keep,
            params: param_leaves(desc, &params, &stepper.param_shapes),
        });
    Ok(Finished {
        outputs,
        events,
        complete_at: None,
        record,
        last,
    })
}

/// Fails unless every process of the job starts at step `start`, runs to
/// `steps` and bound the sizes `dims` (a world of one always agrees): a
/// process resumed from another checkpoint, or given other data, would
/// otherwise wait forever in a collective.
fn agree_on_start(start: u64, steps: u64, dims: &[i64]) -> Result<(), RunError> {
    let mut vals = vec![start as i64, steps as i64];
    vals.extend_from_slice(dims);
    let Err((lo, hi)) = crate::dist::agree(&vals) else {
        return Ok(());
    };
    let what = if lo[0] != hi[0] {
        format!(
            "they resume at different steps (from {} to {}): give every process the same \
             --resume directory, on a file system they share",
            lo[0], hi[0]
        )
    } else if lo[1] != hi[1] {
        format!(
            "they were given different --steps (from {} to {})",
            lo[1], hi[1]
        )
    } else {
        "their inputs bind the program's sizes differently: give every process the same data"
            .to_string()
    };
    Err(RunError::data(format!(
        "the processes of this job cannot run together: {what}"
    )))
}

/// Steps between two releases of mapped inputs' resident pages.
const RELEASE_EVERY: u64 = 8;

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
