//! The `weft` command line: check, run, graph and explain. `weft build` is a
//! separate executable, `weft-build` (`bin/weft-build.rs`), which this one
//! execs: it holds LLVM, and `weft` starts several times faster without it
//! (see ARCHITECTURE.md). This package's two binaries are the only code that
//! touches the filesystem, the process's exit status and clap.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_compiler::front;
use weft_compiler::interp::{self, RunOptions};
use weft_compiler::ir::graph::Graph;
use weft_compiler::jit::program::JitProgram;
use weft_compiler::jit::JitMode;
use weft_compiler::pipeline::Stage;
use weft_runtime::flags::{parse_run_flags, usage_text, FlagSpec};

mod cache;
mod common;
mod graph;
mod verify;

use common::{
    compile, on_compiler_thread, parse_deny, parse_sets, MessageFormat, EXIT_DATA, EXIT_USAGE,
};

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "An ahead-of-time compiler for tensor workflows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check a program: every shape, dtype and broadcast.
    Check {
        file: PathBuf,
        /// Diagnostics as text on stderr (human) or one JSON object per line on stdout (json).
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
        /// Print the graph IR after a pass (elaborate, autodiff, simplify).
        #[arg(long, value_name = "PASS")]
        dump_after: Option<String>,
        /// Override a `const` (NAME=VALUE).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// `--deny warnings`: report warnings as errors (exit status 1).
        #[arg(long, value_name = "warnings")]
        deny: Option<String>,
    },
    /// Compile in-process and run a program.
    #[command(disable_help_flag = true)]
    Run {
        /// FILE and the run flags, in any order: --input NAME=FILE.npy|NUMBER,
        /// --param NAME=FILE.npy, --steps N, --out DIR, --threads N,
        /// --set NAME=VALUE, --log NAME, --log-every K, --dump-after PASS,
        /// --message-format human|json, --jit MODE, --engine ENGINE, --stats,
        /// --manifest FILE, --dump NAME.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Compile a program through LLVM to a native executable.
    ///
    /// Runs the `weft-build` executable beside `weft` (or `$WEFT_BUILD_EXE`)
    /// with the arguments as given: see `weft build --help`.
    #[command(disable_help_flag = true)]
    Build {
        /// FILE [-o EXE] [--set NAME=VALUE].. [--emit KIND] [--target-cpu CPU].
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<OsString>,
    },
    /// Draw the program's graph as Graphviz DOT (or SVG).
    ///
    /// One node per input, param, `let`, output and update, with its type and
    /// line; function calls as clusters; gradients dashed. On stdout.
    Graph {
        file: PathBuf,
        /// DOT text, or SVG rendered by Graphviz's `dot`.
        #[arg(long, value_enum, default_value_t = graph::GraphFormat::Dot)]
        format: graph::GraphFormat,
        /// Colour the lets by the time a run spent in them: a trace written
        /// by `weft run --profile`.
        #[arg(long, value_name = "TRACE")]
        profile: Option<PathBuf>,
        /// Write the graph to FILE instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Override a `const` (NAME=VALUE).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Explain a diagnostic code, with a wrong and a fixed example.
    Explain { code: String },
    /// Re-run a run recorded with `--manifest FILE` and check its outputs.
    ///
    /// Exit 0 when every output hashes as recorded, 4 when one differs, 3
    /// when an input, the program or the manifest itself does not match.
    Verify { file: PathBuf },
}

fn main() -> ExitCode {
    common::default_sigpipe();
    // `weft help build` shows weft-build's help, as `weft build --help` does.
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.len() == 3 && argv[1] == "help" && argv[2] == "build" {
        return exec_build(&[OsString::from("--help")]);
    }
    match Cli::parse().command {
        Command::Build { args } => exec_build(&args),
        command => on_compiler_thread(move || real_main(command)),
    }
}

/// Replaces this process with `weft-build ARGS`: the executable beside this
/// one (`std::env::current_exe`, symbolic links resolved), or
/// `$WEFT_BUILD_EXE` when set. Returns only when that fails.
fn exec_build(args: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let (exe, shown) = match std::env::var_os("WEFT_BUILD_EXE").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            let shown = format!("WEFT_BUILD_EXE={}", p.display());
            (p, shown)
        }
        None => match std::env::current_exe() {
            Ok(weft) => {
                let p = weft.with_file_name("weft-build");
                let shown = format!("next to weft ({})", p.display());
                (p, shown)
            }
            Err(e) => {
                eprintln!(
                    "error: weft build needs the weft-build executable next to weft: \
                     cannot tell where weft is: {e}"
                );
                return ExitCode::from(EXIT_USAGE);
            }
        },
    };
    if std::env::var_os("WEFT_BUILD_EXE").is_some_and(|v| !v.is_empty()) {
        return run_build_override(&exe, &shown, args);
    }
    let err = std::process::Command::new(&exe).args(args).exec();
    eprintln!("error: weft build needs the weft-build executable {shown}: {err}");
    ExitCode::from(EXIT_USAGE)
}

/// `$WEFT_BUILD_EXE`, which may be anything: run it as a child, pass its
/// stderr through, and when it fails without a word (or dies by a signal)
/// say so, rather than exit silently.
fn run_build_override(exe: &Path, shown: &str, args: &[OsString]) -> ExitCode {
    use std::io::{Read, Write};
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args).stderr(std::process::Stdio::piped());
    if std::io::stderr().is_terminal() {
        cmd.env("WEFT_STDERR_TTY", "1");
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: weft build needs the weft-build executable {shown}: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut said = false;
    if let Some(mut err) = child.stderr.take() {
        let mut buf = [0u8; 8192];
        let mut out = std::io::stderr();
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            said = true;
            let _ = out.write_all(&buf[..n]);
        }
    }
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: waiting for {shown}: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(sig) = status.signal() {
        eprintln!("error: {shown} was killed by signal {sig}");
        return ExitCode::from(EXIT_USAGE);
    }
    let code = status.code().unwrap_or(i32::from(EXIT_USAGE));
    if code != 0 && !said {
        eprintln!(
            "error: {shown} exited with status {code} and no message: is it weft-build? \
             (unset WEFT_BUILD_EXE to use the weft-build next to weft)"
        );
    }
    ExitCode::from(u8::try_from(code).unwrap_or(EXIT_USAGE))
}

fn real_main(command: Command) -> ExitCode {
    match command {
        Command::Check {
            file,
            message_format,
            dump_after,
            sets,
            deny,
        } => {
            let sets = match parse_sets(&sets) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let deny = match deny.as_deref().map(parse_deny).transpose() {
                Ok(d) => d.unwrap_or(false),
                Err(code) => return code,
            };
            match compile(
                &file,
                message_format,
                dump_after.as_deref(),
                sets,
                Stage::Lowered,
                deny,
            ) {
                Ok(_) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        Command::Run { args } => match split_file(&args) {
            Some((file, flags)) => run(&file, &flags),
            None => run_without_file(&args),
        },
        // `main` execs weft-build before it starts this thread.
        Command::Build { args } => exec_build(&args),
        Command::Graph {
            file,
            format,
            profile,
            output,
            sets,
        } => match parse_sets(&sets) {
            Ok(sets) => graph::graph(graph::GraphArgs {
                file,
                format,
                profile,
                output,
                sets,
            }),
            Err(code) => code,
        },
        Command::Verify { file } => verify::verify(&file),
        Command::Explain { code } => match front::codes::lookup(&code) {
            Some(info) => {
                print!("{}", info.render());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "error: no diagnostic code `{code}`; the codes are {}",
                    front::codes::ranges()
                );
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

/// Flags of `weft run` that take no value (every other flag takes one,
/// as `--flag VALUE` or `--flag=VALUE`).
const RUN_SWITCHES: [&str; 3] = ["--help", "-h", "--stats"];

/// The program file among `weft run`'s arguments (the first that is neither
/// a flag nor a flag's value), and the other arguments in order: flags may
/// come before the file (`weft run --steps 3 prog.weft`).
fn split_file(args: &[String]) -> Option<(PathBuf, Vec<String>)> {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if RUN_SWITCHES.contains(&a.as_str()) || (a.starts_with("--") && a.contains('=')) {
            i += 1;
        } else if a.starts_with('-') && a.len() > 1 {
            i += 2;
        } else {
            let mut rest = args.to_vec();
            let file = rest.remove(i);
            return Some((PathBuf::from(file), rest));
        }
    }
    None
}

/// `weft run` without a program: its usage for `--help` (exit 0), else an
/// error (exit 2).
fn run_without_file(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print_run_usage("weft run FILE");
        return ExitCode::SUCCESS;
    }
    eprintln!("error: weft run needs a program: weft run FILE [RUN FLAGS] (see weft run --help)");
    ExitCode::from(EXIT_USAGE)
}

const RUN_SPEC: FlagSpec = FlagSpec {
    allow_set: true,
    allow_dump: true,
    extra_flags: &[
        "--dump-after",
        "--message-format",
        "--jit",
        "--engine",
        "--deny",
        "--cache",
    ],
    extra_help: &[
        (
            "--jit auto|always|never",
            "when kernels are compiled by Cranelift (default auto: when hot)",
        ),
        (
            "--engine kernels|reference",
            "reference: the graph interpreter, the oracle (default kernels)",
        ),
        (
            "--cache DIR",
            "keep values computed only from inputs and consts in DIR, and reuse them",
        ),
        (
            "--dump-after PASS",
            "print the graph IR after a pass (elaborate, autodiff, simplify)",
        ),
        (
            "--message-format human|json",
            "diagnostics as text on stderr, or JSON lines on stdout",
        ),
        (
            "--deny warnings",
            "report warnings as errors (exit status 1)",
        ),
    ],
};

fn print_run_usage(name: &str) {
    print!("{}", usage_text(name, &RUN_SPEC));
}

fn run(file: &Path, args: &[String]) -> ExitCode {
    let flags = match parse_run_flags(args, &RUN_SPEC) {
        Ok(f) => f,
        Err(e) if e.help => {
            print_run_usage(&format!("weft run {}", file.display()));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut format = MessageFormat::Human;
    let mut dump_after = None;
    let mut jit = JitMode::Auto;
    let mut reference = false;
    let mut deny = false;
    let mut cache_dir: Option<PathBuf> = None;
    for (k, v) in &flags.extra {
        match (k.as_str(), v.as_str()) {
            ("--deny", v) => match parse_deny(v) {
                Ok(d) => deny = d,
                Err(code) => return code,
            },
            ("--message-format", "json") => format = MessageFormat::Json,
            ("--message-format", "human") => format = MessageFormat::Human,
            ("--message-format", other) => {
                eprintln!("error: --message-format must be `human` or `json`, not `{other}`");
                return ExitCode::from(EXIT_USAGE);
            }
            ("--dump-after", p) => dump_after = Some(p.to_string()),
            ("--jit", m) => match m.parse::<JitMode>() {
                Ok(m) => jit = m,
                Err(_) => {
                    eprintln!("error: --jit must be `auto`, `always` or `never`, not `{m}`");
                    return ExitCode::from(EXIT_USAGE);
                }
            },
            ("--cache", d) => cache_dir = Some(PathBuf::from(d)),
            ("--engine", "reference") => reference = true,
            ("--engine", "kernels") => reference = false,
            ("--engine", other) => {
                eprintln!("error: --engine must be `kernels` or `reference`, not `{other}`");
                return ExitCode::from(EXIT_USAGE);
            }
            _ => {}
        }
    }
    let t0 = std::time::Instant::now();
    let stop = if reference {
        Stage::Lowered
    } else {
        Stage::Scheduled
    };
    let c = match common::compile_dumping(
        file,
        format,
        dump_after.as_deref(),
        flags.sets.clone(),
        &flags.dump,
        stop,
        deny,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let front = t0.elapsed();
    if reference && (flags.checkpoint.is_some() || flags.resume.is_some()) {
        eprintln!("error: --checkpoint and --resume need the kernel engine (--engine kernels, the default)");
        return ExitCode::from(EXIT_USAGE);
    }
    if reference && cache_dir.is_some() {
        eprintln!("error: --cache needs the kernel engine (--engine kernels, the default)");
        return ExitCode::from(EXIT_USAGE);
    }
    if reference && (flags.profile.is_some() || flags.stats) {
        eprintln!("error: --profile and --stats measure the kernel engine (--engine kernels, the default), not the reference interpreter");
        return ExitCode::from(EXIT_USAGE);
    }
    // Section 13: join the job when an MPI launcher started this process.
    if let Err(e) = weft_runtime::dist::init() {
        eprintln!("error: {e}");
        return ExitCode::from(u8::try_from(e.exit_code).unwrap_or(EXIT_USAGE));
    }
    let root = weft_runtime::dist::is_root();
    if weft_runtime::dist::world() > 1 && cache_dir.is_some() {
        // Every process would compute and store the same entries at once.
        eprintln!("{}", weft_runtime::dist::error_text("--cache is not supported in a distributed run (run it once alone to fill the cache)"));
        return ended(EXIT_USAGE.into());
    }
    let mut last_checkpoint = None;
    let outputs = if reference {
        run_reference(&c.graph, &flags)
    } else {
        match &cache_dir {
            Some(dir) => run_cached(dir, &c.graph, c.program, &flags, jit, &mut last_checkpoint),
            None => run_kernels(c.program, &flags, jit, flags.stats, &mut last_checkpoint),
        }
    };
    if flags.stats && root {
        eprintln!(
            "front end: {:.3} ms; scheduling, compiling and running: {:.3} ms",
            front.as_secs_f64() * 1e3,
            (t0.elapsed() - front).as_secs_f64() * 1e3
        );
    }
    let outputs = match outputs {
        Ok(o) => o,
        Err(e) => {
            match format {
                MessageFormat::Human => {
                    eprintln!("{}", weft_runtime::dist::error_text(&e.message))
                }
                MessageFormat::Json => print!(
                    "{}",
                    front::diag::run_error_json(
                        &file.display().to_string(),
                        &e.message,
                        e.exit_code
                    )
                ),
            }
            return ended(e.exit_code);
        }
    };
    if !root {
        return ended(0);
    }
    match &flags.out {
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!(
                    "error: cannot create output directory {}: {e}",
                    dir.display()
                );
                return ended(EXIT_DATA.into());
            }
            for (name, arr) in &outputs {
                let path = dir.join(format!("{name}.npy"));
                if let Err(e) = weft_runtime::npy::write_npy_file(&path, arr) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ended(EXIT_DATA.into());
                }
            }
        }
        None => {
            for (name, arr) in &outputs {
                println!("{}", weft_runtime::print::format_output(name, arr));
            }
        }
    }
    // The last step's checkpoint once the outputs are delivered (see
    // `weft_runtime::driver::Finished`).
    if let Some(Err(e)) = last_checkpoint.as_mut().map(|f| f.checkpoint()) {
        eprintln!("error: {e}");
        return ended(e.exit_code);
    }
    // `--manifest`: the record of the run, once everything is delivered.
    if let Err(e) = verify::record_run(
        file,
        args,
        &c.map,
        &c.graph,
        &flags,
        last_checkpoint.as_mut(),
        &outputs,
    ) {
        eprintln!("error: {e}");
        return ended(e.exit_code);
    }
    ended(0)
}

/// The end of `weft run` with status `code`: in a distributed job,
/// `MPI_Finalize` after a success, `MPI_Abort` (ending every process) after
/// a failure.
fn ended(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(weft_runtime::dist::finish(code)).unwrap_or(EXIT_USAGE))
}

type Outputs = Result<Vec<(String, weft_runtime::NpyArray)>, weft_runtime::RunError>;

/// The graph interpreter: the oracle every backend is tested against.
fn run_reference(graph: &Graph, flags: &weft_runtime::RunArgs) -> Outputs {
    let log = if flags.log.is_empty() && flags.log_file.is_some() {
        graph
            .outputs
            .iter()
            .filter(|(_, id)| graph.ty(*id).rank() == 0)
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        flags.log.clone()
    };
    let opts = RunOptions {
        steps: flags.steps,
        log: log.clone(),
        log_every: flags.log_every,
        progress: std::io::stderr().is_terminal() && weft_runtime::dist::is_root(),
    };
    let mut logger = Logger::new(flags, log)?;
    let mut sink = |step: u64, name: &str, t: &interp::tensor::Tensor| {
        logger.log(step, name, &t.to_npy());
    };
    let outs = interp::run(graph, &flags.inputs, &flags.params, &opts, &mut sink);
    logger.finish(outs.map(|o| o.into_iter().map(|(n, t)| (n, t.to_npy())).collect()))
}

/// Where `--log` values go: stderr, or the CSV file of `--log-file`.
struct Logger {
    csv: Option<weft_runtime::logcsv::CsvLog>,
    error: Option<weft_runtime::RunError>,
    root: bool,
}

impl Logger {
    fn new(
        flags: &weft_runtime::RunArgs,
        names: Vec<String>,
    ) -> Result<Logger, weft_runtime::RunError> {
        // Section 13: only rank 0 logs.
        let root = weft_runtime::dist::is_root();
        let csv = match &flags.log_file {
            Some(path) if root => Some(weft_runtime::logcsv::CsvLog::create(path, names)?),
            _ => None,
        };
        Ok(Logger {
            csv,
            error: None,
            root,
        })
    }

    fn log(&mut self, step: u64, name: &str, arr: &weft_runtime::NpyArray) {
        if !self.root {
            return;
        }
        match &mut self.csv {
            Some(c) => {
                if let Err(e) = c.record(step, name, arr) {
                    self.error.get_or_insert(e);
                }
            }
            None => eprintln!(
                "step {step}: {}",
                weft_runtime::print::format_output(name, arr)
            ),
        }
    }

    /// The run's result, or the first error of the log.
    fn finish(self, result: Outputs) -> Outputs {
        let out = result?;
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(c) = self.csv {
            c.finish()?;
        }
        Ok(out)
    }
}

/// [`run_kernels`] with `--cache DIR`: the values computed only from inputs
/// and consts are loaded from DIR, or computed once and stored there.
fn run_cached(
    dir: &Path,
    graph: &Graph,
    program: Result<weft_compiler::kernel::Program, String>,
    flags: &weft_runtime::RunArgs,
    mode: JitMode,
    last_checkpoint: &mut Option<weft_runtime::driver::Finished>,
) -> Outputs {
    let mut compute =
        |prog, f: &weft_runtime::RunArgs| run_kernels(Ok(prog), f, mode, false, &mut None);
    match cache::prepare(dir, graph, flags, &mut compute)? {
        Some((prog, run, report)) => {
            if flags.stats {
                eprintln!(
                    "cache {}: {} values loaded, {} computed ({} damaged entries replaced)",
                    dir.display(),
                    report.hits,
                    report.computed,
                    report.damaged
                );
            }
            run_kernels(Ok(prog), &run, mode, flags.stats, last_checkpoint)
        }
        None => run_kernels(program, flags, mode, flags.stats, last_checkpoint),
    }
}

/// The kernel IR, each kernel interpreted until it is hot and then compiled
/// by Cranelift, driven by the same runtime code as a built executable.
fn run_kernels(
    prog: Result<weft_compiler::kernel::Program, String>,
    flags: &weft_runtime::RunArgs,
    mode: JitMode,
    stats: bool,
    last_checkpoint: &mut Option<weft_runtime::driver::Finished>,
) -> Outputs {
    let prog = prog.map_err(|e| weft_runtime::RunError {
        exit_code: weft_runtime::Exit::Compile.code(),
        message: format!("cannot run this program: {e}"),
    })?;
    // The driver runs one step when no param is updated and no value changes per step.
    let steps = if prog.updates.is_empty() && !prog.feeds.iter().any(|f| f.per_step()) {
        1
    } else {
        flags.steps.max(1)
    };
    // `--threads` (default: one per core) sizes the runtime's pool, which
    // GEMM uses in `weft run` as in a built executable.
    weft_compiler::jit::set_threads(flags.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }));
    // The profile starts before the JIT's first compilations, which it shows.
    if flags.profile.is_some() || stats {
        weft_runtime::profile::start();
    }
    let jp = JitProgram::new(&prog, mode, Some(steps), stats);
    let desc =
        weft_runtime::program::parse_descriptor(weft_runtime::driver::Program::descriptor(&jp))
            .map_err(|e| weft_runtime::RunError {
                exit_code: weft_runtime::Exit::Internal.code(),
                message: format!("internal compiler error: {e}"),
            })?;
    let mut logger = Logger::new(flags, weft_runtime::driver::log_names(&desc, flags))?;
    let mut sink = |step: u64, name: &str, arr: &weft_runtime::NpyArray| {
        logger.log(step, name, arr);
    };
    let bar = progress_bar(flags.steps);
    let mut progress = |k: u64, _n: u64| {
        if let Some(b) = &bar {
            b.set_position(k);
        }
    };
    let mut note = |msg: &str| eprintln!("{msg}");
    let result =
        weft_runtime::driver::run_observed(&jp, &desc, flags, &mut sink, &mut progress, &mut note)
            .map(|mut finished| {
                let outputs = std::mem::take(&mut finished.outputs);
                *last_checkpoint = Some(finished);
                outputs
            });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let warnings = jp.take_warnings();
    if !weft_runtime::dist::is_root() {
        return logger.finish(result);
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if stats {
        eprint!("{}", jp.stats_table());
    }
    logger.finish(result)
}

/// A progress bar on stderr for runs of several steps, when stderr is a terminal.
fn progress_bar(steps: u64) -> Option<indicatif::ProgressBar> {
    if steps < 2 || !std::io::stderr().is_terminal() || !weft_runtime::dist::is_root() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}
