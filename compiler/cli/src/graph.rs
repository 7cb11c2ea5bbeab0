//! `weft graph FILE [--format dot|svg] [--profile TRACE] [-o FILE]`
//! (language.md §14): the program's graph at the level it was written — one
//! vertex per input, param, `let`, output and update, function calls as
//! clusters, the gradient lets set apart — as Graphviz DOT, or SVG through
//! Graphviz's `dot`; with a trace of `weft run --profile`, the lets coloured
//! by the time spent in them.
//!
//! `view.rs` builds the vertices and edges from the elaborated graph and its
//! provenance table, `dot.rs` writes DOT, `trace.rs` reads the trace.

mod dot;
mod trace;
mod view;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use clap::ValueEnum;
use weft_compiler::pipeline::Stage;

use crate::common::{compile, MessageFormat, EXIT_DATA, EXIT_ICE, EXIT_USAGE};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
}

pub struct GraphArgs {
    pub file: PathBuf,
    pub format: GraphFormat,
    pub profile: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub sets: Vec<(String, String)>,
}

/// Runs `weft graph`: exit 0, 1 (the program does not compile), 2 (a bad
/// command line, an unreadable trace, no `dot` for SVG), 3 (a malformed
/// trace, an output that cannot be written).
pub fn graph(args: GraphArgs) -> ExitCode {
    let c = match compile(
        &args.file,
        MessageFormat::Human,
        None,
        args.sets,
        Stage::Checked,
        false,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let profile = match &args.profile {
        Some(p) => match read_trace(p) {
            Ok(p) => Some(p),
            Err(code) => return code,
        },
        None => None,
    };
    // The program's file is the first `pipeline::compile` adds to the map.
    let main = weft_grammar::ast::FileId(0);
    let view = match view::build(&c.graph, &c.map, main) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ICE);
        }
    };
    let times = profile.as_ref().map(|p| dot::times(&view, p));
    let title = args.file.display().to_string();
    let text = dot::render(&view, &title, times.as_ref());
    let bytes = match args.format {
        GraphFormat::Dot => text.into_bytes(),
        GraphFormat::Svg => match svg(&text) {
            Ok(b) => b,
            Err(code) => return code,
        },
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &bytes) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_DATA);
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush()) {
                eprintln!("error: cannot write the graph to stdout: {e}");
                return ExitCode::from(EXIT_DATA);
            }
        }
    }
    ExitCode::SUCCESS
}

/// The trace of `--profile`: exit 2 when it cannot be read, 3 when it is
/// not a trace-event file.
fn read_trace(path: &Path) -> Result<trace::Profile, ExitCode> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8(b).map_err(|_| {
            eprintln!(
                "error: --profile {}: not a trace-event file: not UTF-8 text",
                path.display()
            );
            ExitCode::from(EXIT_DATA)
        })?,
        Err(e) => {
            eprintln!("error: --profile: cannot read {}: {e}", path.display());
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    trace::parse(&text).map_err(|e| {
        eprintln!(
            "error: --profile {}: not a trace of `weft run --profile`: {e}",
            path.display()
        );
        ExitCode::from(EXIT_DATA)
    })
}

/// The message when Graphviz is not installed.
const NO_DOT: &str = "error: --format svg needs Graphviz's `dot` on the PATH: install graphviz \
                      (e.g. `apt-get install graphviz`), or use --format dot and render it yourself";

/// DOT text through `dot -Tsvg`.
fn svg(text: &str) -> Result<Vec<u8>, ExitCode> {
    let child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{NO_DOT}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
        Err(e) => {
            eprintln!("error: --format svg: cannot run Graphviz's `dot`: {e}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    // Written from another thread, so that a large graph cannot block both
    // processes on full pipes.
    let writer = child.stdin.take().map(|mut stdin| {
        let text = text.to_string();
        std::thread::spawn(move || stdin.write_all(text.as_bytes()))
    });
    let mut out = Vec::new();
    let mut err = Vec::new();
    let read = child
        .stdout
        .take()
        .map(|mut o| o.read_to_end(&mut out))
        .transpose();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut err);
    }
    let wrote = writer.map(|w| w.join());
    let status = child.wait();
    let failed = |why: String| {
        eprintln!("error: --format svg: Graphviz's `dot` failed: {why}");
        ExitCode::from(EXIT_USAGE)
    };
    let status = status.map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        let why = String::from_utf8_lossy(&err);
        return Err(failed(format!("{status}: {}", why.trim())));
    }
    read.map_err(|e| failed(e.to_string()))?;
    match wrote {
        Some(Ok(Err(e))) => Err(failed(e.to_string())),
        Some(Err(_)) => Err(failed("the thread writing to it panicked".to_string())),
        Some(Ok(Ok(()))) | None => Ok(out),
    }
}
