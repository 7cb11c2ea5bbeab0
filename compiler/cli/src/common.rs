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
use weft_compiler::front::{self, diag, source::SourceMap, Loader};
use weft_compiler::ir::graph::Graph;
use weft_compiler::{ir, passes};

/// The program does not compile (diagnostics were printed).
pub const EXIT_COMPILE: u8 = 1;
/// A bad command line, a missing file, a missing tool.
pub const EXIT_USAGE: u8 = 2;
/// An internal compiler error.
pub const EXIT_ICE: u8 = 101;

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
        let text = std::fs::read_to_string(&path).ok()?;
        Some((path.display().to_string(), text))
    }
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

/// Reads, checks and lowers a program through the pass pipeline, printing
/// diagnostics. Err is the exit status to end with.
pub fn compile(
    file: &Path,
    format: MessageFormat,
    dump_after: Option<&str>,
    sets: Vec<(String, String)>,
) -> Result<Graph, ExitCode> {
    if let Some(p) = dump_after {
        if !passes::pass_names().contains(&p) {
            eprintln!(
                "error: --dump-after: no pass named `{p}`; the passes are: {}",
                passes::pass_names().join(", ")
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    }
    let text = match std::fs::read(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                eprintln!("error: {} is not UTF-8 text", file.display());
                return Err(ExitCode::from(EXIT_USAGE));
            }
        },
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    let mut map = SourceMap::new();
    let id = map.add(&file.display().to_string(), text);
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = FileLoader { dir };
    let consts = front::const_names(&map, id);
    for (name, value) in &sets {
        if let Err(msg) = front::check_set(&consts, name, value) {
            eprintln!("error: --set {name}={value}: {msg}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
    }
    let out = front::compile(&mut map, id, &loader, &front::Options { sets });
    match format {
        MessageFormat::Json => print!("{}", diag::render_json(&map, &out.diags)),
        MessageFormat::Human => {
            eprint!(
                "{}",
                diag::render(&map, &out.diags, std::io::stderr().is_terminal())
            )
        }
    }
    let Some(graph) = out.graph else {
        return Err(ExitCode::from(EXIT_COMPILE));
    };
    let mut dump = |name: &str, g: &Graph| {
        if dump_after == Some(name) {
            print!("{}", ir::print::print(g));
        }
    };
    passes::run_pipeline(graph, &mut dump).map_err(|e| {
        eprintln!("{e}");
        eprintln!("note: this is a bug in weft, not in your program; please report it");
        ExitCode::from(EXIT_ICE)
    })
}
