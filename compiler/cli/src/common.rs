//! What both executables need, `weft` and `weft-build`: reading and
//! compiling a program with its diagnostics, `--set`, the exit statuses and
//! the compiler's thread. Included by both (`mod common;` in `main.rs`,
//! `#[path = "../common.rs"] mod common;` in `bin/weft-build.rs`): the
//! binaries are the only code that touches the filesystem, the process's
//! exit status and clap.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use weft_compiler::front::source::SourceMap;
use weft_compiler::front::{diag, Loader};
use weft_compiler::ir::graph::Graph;
use weft_compiler::kernel::Program;
use weft_compiler::pipeline::{self, Failure, Stage};
use weft_compiler::{ir, passes};
use weft_runtime::Exit;

/// The program does not compile (diagnostics were printed).
pub const EXIT_COMPILE: u8 = Exit::Compile.byte();
/// A bad command line, a missing file, a missing tool.
pub const EXIT_USAGE: u8 = Exit::Usage.byte();
/// An internal compiler error.
pub const EXIT_ICE: u8 = Exit::Internal.byte();
/// Bad run-time data.
#[allow(dead_code)] // weft-build never reads data
pub const EXIT_DATA: u8 = Exit::Data.byte();

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MessageFormat {
    Human,
    Json,
}

/// Sibling modules: `M.weft` next to the program.
struct FileLoader {
    dir: PathBuf,
}

impl Loader for FileLoader {
    fn load(&self, name: &str) -> Option<(String, String)> {
        let path = self.dir.join(format!("{name}.weft"));
        let text = String::from_utf8(read_source(&path).ok()?).ok()?;
        Some((path.display().to_string(), text))
    }
}

/// Gives SIGPIPE back its default action, which Rust's start-up sets to
/// "ignore": a write to a closed pipe (`weft run P | head -1`) then ends the
/// process quietly, as it ends any Unix tool and a built executable, rather
/// than failing with a "Broken pipe" panic.
pub fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL, before any other
    // thread starts; no handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The largest source file weft reads (a larger one, or an endless one such
/// as `/dev/zero`, is refused before it exhausts memory).
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// A source file's bytes, at most [`MAX_SOURCE_BYTES`] of them.
fn read_source(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, the limit for a weft source file",
            MAX_SOURCE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// The compiler recurses over expressions and item dependencies; it runs on
/// a thread with a large (lazily committed) stack so that deep programs are
/// diagnosed rather than overflow.
const STACK_BYTES: usize = 1 << 30;

/// Runs `f` on the compiler's thread and returns its exit status (101 when
/// it panics or cannot start).
pub fn on_compiler_thread(f: impl FnOnce() -> ExitCode + Send + 'static) -> ExitCode {
    let worker = std::thread::Builder::new().stack_size(STACK_BYTES).spawn(f);
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::from(EXIT_ICE),
        Err(e) => {
            eprintln!("error: cannot start the compiler thread: {e}");
            ExitCode::from(EXIT_ICE)
        }
    }
}

/// `--set NAME=VALUE` arguments, split (the values are checked by [`compile`]).
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>, ExitCode> {
    let mut out = Vec::new();
    for s in sets {
        match s.split_once('=') {
            Some((n, v)) if !n.is_empty() => out.push((n.to_string(), v.to_string())),
            _ => {
                eprintln!("error: --set expects NAME=VALUE, got `{s}`");
                return Err(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    Ok(out)
}

/// What a command gets from the compiler.
pub struct Compiled {
    /// The graph after the pass pipeline (after the front end only, for
    /// [`Stage::Checked`]). (`weft-build` needs only the program.)
    #[allow(dead_code)]
    pub graph: Graph,
    /// The kernel program, at [`Stage::Scheduled`]: Err when the kernel
    /// backends cannot run this program (the scheduler's message).
    pub program: Result<Program, String>,
    /// The program's files, for source positions. (`weft-build` needs only
    /// the program.)
    #[allow(dead_code)]
    pub map: SourceMap,
}

/// Reads a program and runs [`pipeline::compile`] up to `stop`, printing
/// the diagnostics. Err is the exit status to end with.
pub fn compile(
    file: &Path,
    format: MessageFormat,
    dump_after: Option<&str>,
    sets: Vec<(String, String)>,
    stop: Stage,
    deny_warnings: bool,
) -> Result<Compiled, ExitCode> {
    compile_dumping(file, format, dump_after, sets, &[], stop, deny_warnings)
}

/// [`compile`], keeping the `let`s of `weft run --dump NAME` as extra
/// outputs ([`pipeline::compile_dumping`]); an unknown name is exit status 2.
pub fn compile_dumping(
    file: &Path,
    format: MessageFormat,
    dump_after: Option<&str>,
    sets: Vec<(String, String)>,
    dump_lets: &[String],
    stop: Stage,
    deny_warnings: bool,
) -> Result<Compiled, ExitCode> {
    if let Some(p) = dump_after {
        if !passes::pass_names().contains(&p) {
            eprintln!(
                "error: --dump-after: no pass named `{p}`; the passes are: {}",
                passes::pass_names().join(", ")
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    }
    let text = match read_source(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                return Err(file_error(
                    format,
                    file,
                    format!("{} is not UTF-8 text (byte {at} is not)", file.display()),
                ));
            }
        },
        Err(e) => {
            return Err(file_error(
                format,
                file,
                format!("cannot read {}: {e}", file.display()),
            ))
        }
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = FileLoader { dir };
    let input = pipeline::Input {
        name: file.display().to_string(),
        text,
        loader: &loader,
        sets,
        deny_warnings,
    };
    let mut dump = |name: &str, g: &Graph| {
        if dump_after == Some(name) {
            print!("{}", ir::print::print(g));
        }
    };
    let c = pipeline::compile_dumping(input, dump_lets, stop, &mut dump);
    match format {
        MessageFormat::Json => print!("{}", diag::render_json(&c.map, &c.diags)),
        MessageFormat::Human => {
            eprint!("{}", diag::render(&c.map, &c.diags, stderr_is_terminal()))
        }
    }
    let program = match c.failure {
        None => c.program.ok_or_else(String::new),
        Some(Failure::BadSet(msg) | Failure::BadDump(msg)) => {
            eprintln!("error: {msg}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
        Some(Failure::Rejected) => return Err(ExitCode::from(EXIT_COMPILE)),
        Some(Failure::Internal(e)) => {
            eprintln!("{e}");
            eprintln!("note: this is a bug in weft, not in your program; please report it");
            return Err(ExitCode::from(EXIT_ICE));
        }
        Some(Failure::Unschedulable(e)) => Err(e),
    };
    match c.graph {
        Some(graph) => Ok(Compiled {
            graph,
            program,
            map: c.map,
        }),
        None => Err(ExitCode::from(EXIT_ICE)),
    }
}

/// An error about the source file itself (missing, unreadable, too large,
/// not UTF-8): text on stderr, or with `--message-format json` one JSON
/// object on stdout like a diagnostic's, with no code and line 0. Exit 2.
fn file_error(format: MessageFormat, file: &Path, message: String) -> ExitCode {
    match format {
        MessageFormat::Human => eprintln!("error: {message}"),
        MessageFormat::Json => print!(
            "{}",
            diag::file_error_json(&file.display().to_string(), &message)
        ),
    }
    ExitCode::from(EXIT_USAGE)
}

/// `--deny LINT`: only `warnings` (every warning becomes an error).
pub fn parse_deny(v: &str) -> Result<bool, ExitCode> {
    if v == "warnings" {
        Ok(true)
    } else {
        eprintln!("error: --deny takes `warnings`, not `{v}`");
        Err(ExitCode::from(EXIT_USAGE))
    }
}

/// Whether diagnostics on stderr get colours: stderr is a terminal, or
/// `weft build` runs this executable with a piped stderr on behalf of a
/// terminal (`WEFT_STDERR_TTY=1`).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal() || std::env::var_os("WEFT_STDERR_TTY").is_some_and(|v| v == "1")
}
