//! The whole compiler in one function: source text → checked graph →
//! optimised graph (the pass pipeline, verified after every pass) → kernel
//! program. [`compile`] is what the command line (`weft check`, `weft run`,
//! `weft build`), the test harness and the differential tests call; nothing
//! else strings the stages together.
//!
//! It touches no file: sibling modules come through the caller's
//! [`Loader`], and the result carries the diagnostics as data for the
//! caller to render ([`crate::front::diag`]).

use crate::front::diag::Diagnostic;
use crate::front::source::SourceMap;
use crate::front::{self, Loader};
use crate::ir::graph::Graph;
use crate::kernel::{self, Program};
use crate::passes;

pub mod cache;
pub mod dump;

/// Where [`compile`] stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// After the front end: names resolved, every type and shape checked.
    Checked,
    /// After the pass pipeline (autodiff, simplify), each pass verified.
    Lowered,
    /// After scheduling: the kernel program every engine executes.
    Scheduled,
}

/// A program to compile.
pub struct Input<'a> {
    /// The name diagnostics give the file.
    pub name: String,
    pub text: String,
    /// Sibling modules (`use NAME` reads `NAME.weft` through it).
    pub loader: &'a dyn Loader,
    /// `--set NAME=VALUE` overrides of consts.
    pub sets: Vec<(String, String)>,
    /// `--deny warnings`: warnings are errors.
    pub deny_warnings: bool,
}

/// Why a compilation stopped early.
#[derive(Debug)]
pub enum Failure {
    /// A `--set` names no const, or its value is not a literal: a usage
    /// error, with its message.
    BadSet(String),
    /// A `--dump` names no top-level `let`: a usage error, with its
    /// message.
    BadDump(String),
    /// The program has errors: see the diagnostics.
    Rejected,
    /// A bug in weft: a verifier refused what a pass produced.
    Internal(String),
    /// The kernel backends cannot run this program (yet): the scheduler's
    /// message (`f16` values, for instance).
    Unschedulable(String),
}

/// What [`compile`] produced: the diagnostics (errors and warnings, with the
/// source map to render them), and the stages it reached.
pub struct Compilation {
    pub map: SourceMap,
    pub diags: Vec<Diagnostic>,
    /// The graph of the last graph stage reached (`Checked` or `Lowered`).
    pub graph: Option<Graph>,
    /// The kernel program, at [`Stage::Scheduled`].
    pub program: Option<Program>,
    pub failure: Option<Failure>,
}

impl Compilation {
    fn fail(mut self, f: Failure) -> Compilation {
        self.failure = Some(f);
        self
    }
}

/// Compiles `input` up to `stop`. `observe` sees the graph after each pass
/// of the pipeline (by pass name), for `--dump-after`.
pub fn compile(input: Input, stop: Stage, observe: &mut dyn FnMut(&str, &Graph)) -> Compilation {
    compile_dumping(input, &[], stop, observe)
}

/// [`compile`], keeping the top-level `let`s named in `dump` (`weft run
/// --dump NAME`) as extra outputs after the program's own ([`dump`]); an
/// unknown name is [`Failure::BadDump`].
pub fn compile_dumping(
    input: Input,
    dump: &[String],
    stop: Stage,
    observe: &mut dyn FnMut(&str, &Graph),
) -> Compilation {
    let mut map = SourceMap::new();
    let id = map.add(&input.name, input.text);
    let mut c = Compilation {
        map,
        diags: Vec::new(),
        graph: None,
        program: None,
        failure: None,
    };
    let consts = front::const_names(&c.map, id);
    for (name, value) in &input.sets {
        if let Err(msg) = front::check_set(&consts, name, value) {
            return c.fail(Failure::BadSet(format!("--set {name}={value}: {msg}")));
        }
    }
    let out = front::compile(
        &mut c.map,
        id,
        input.loader,
        &front::Options {
            sets: input.sets,
            deny_warnings: input.deny_warnings,
        },
    );
    c.diags = out.diags;
    let Some(mut graph) = out.graph else {
        return c.fail(Failure::Rejected);
    };
    if let Err(msg) = dump::add_outputs(&mut graph, dump) {
        return c.fail(Failure::BadDump(msg));
    }
    if stop == Stage::Checked {
        c.graph = Some(graph);
        return c;
    }
    let graph = match passes::run_pipeline(graph, observe) {
        Ok(g) => g,
        Err(e) => return c.fail(Failure::Internal(e)),
    };
    if stop == Stage::Scheduled {
        match kernel::schedule(&graph) {
            Ok(mut p) => {
                source_lines(&c.map, id, &mut p);
                c.program = Some(p)
            }
            Err(e) => {
                c.graph = Some(graph);
                return c.fail(Failure::Unschedulable(e));
            }
        }
    }
    c.graph = Some(graph);
    c
}

/// Each kernel's source lines (`Origin::lines`): `12` in the program's own
/// file `main`, `nn.weft:40` in another; in order, without repeats.
fn source_lines(map: &SourceMap, main: weft_grammar::ast::FileId, p: &mut Program) {
    for o in &mut p.origins {
        let mut lines: Vec<(weft_grammar::ast::FileId, usize)> = o
            .spans
            .iter()
            .map(|s| (s.file, map.line_col(*s).0))
            .collect();
        lines.sort_by_key(|&(f, l)| (f != main, f, l));
        lines.dedup();
        o.lines = lines
            .into_iter()
            .map(|(f, l)| {
                if f == main {
                    l.to_string()
                } else {
                    let name = map.name(f);
                    let base = name.rsplit('/').next().unwrap_or(&name).to_string();
                    format!("{base}:{l}")
                }
            })
            .collect();
    }
}

/// The kernel program of the vector-Jacobian product of a lowered graph
/// (`weft build --lib`, [`passes::vjp`]): differentiated and optimised by
/// the same pipeline, verified after every pass.
pub fn vjp_program(lowered: &Graph) -> Result<Program, String> {
    let g = passes::run_pipeline(passes::vjp::vjp_graph(lowered), &mut |_, _| {})?;
    kernel::schedule(&g)
}
