//! The front end: parsing, name resolution, type and shape checking, and
//! elaboration into the graph IR, in one walk.
//!
//! Checking and elaboration are one pass: each expression is checked and, if
//! it is well typed, emitted as graph nodes. Functions are inlined at each
//! call with their size parameters bound by unification, so an error inside a
//! function body is reported with the call that triggered it. The front end
//! never panics and never stops at the first error: an ill-typed expression
//! becomes `Val::Error`, which silences errors that would only follow from it.
//!
//! It does not touch the filesystem: sibling modules come through a
//! [`Loader`] that the CLI provides.

pub mod codes;
pub mod diag;
pub(crate) mod elab;
mod lints;
pub mod source;

use std::collections::HashMap;

use weft_grammar::ast::{FileId, Item, Program};

use crate::ir::graph::Graph;
use diag::Diagnostic;
use source::{SourceMap, STDLIB};

/// Finds the text of a sibling module `M.weft`.
pub trait Loader {
    /// `(display name, text)` of module `name`, or None when there is no such file.
    fn load(&self, name: &str) -> Option<(String, String)>;
}

/// A loader that knows no sibling modules.
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, _name: &str) -> Option<(String, String)> {
        None
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--set NAME=VALUE`: overrides of `const`s.
    pub sets: Vec<(String, String)>,
    /// `--deny warnings`: warnings are errors.
    pub deny_warnings: bool,
}

pub struct Output {
    /// The elaborated graph, when there is no error.
    pub graph: Option<Graph>,
    pub diags: Vec<Diagnostic>,
}

/// A parsed module: its file and its items.
pub(crate) struct Module {
    pub name: String,
    pub file: FileId,
    pub program: Program,
    pub is_main: bool,
}

/// Parses, checks and elaborates the program in `file` of `map`.
pub fn compile(map: &mut SourceMap, file: FileId, loader: &dyn Loader, opts: &Options) -> Output {
    let mut diags = Vec::new();
    let text = map.text(file).to_string();
    let (program, errs) = weft_grammar::parse(file, &text);
    diags.extend(errs.into_iter().map(syntax_diag));
    let mut modules = vec![Module {
        name: "main".into(),
        file,
        program,
        is_main: true,
    }];
    load_modules(map, loader, &mut modules, &mut diags);
    let elab::Elaborated {
        graph,
        diags: more,
        used,
    } = elab::elaborate(&modules, opts);
    diags.extend(more);
    diags.extend(rank_limit(&graph, file));
    diags.extend(size_limit(&graph, file));
    if !diags.iter().any(|d| d.is_error()) {
        diags.extend(lints::lints(&modules[0], &text, &graph, &used));
        if opts.deny_warnings {
            for d in &mut diags {
                d.severity = diag::Severity::Error;
            }
        }
    }
    dedup(&mut diags);
    diags.sort_by_key(|d| (d.primary.file != file, d.primary.file, d.primary.start));
    let has_errors = diags.iter().any(|d| d.is_error());
    Output {
        graph: if has_errors { None } else { Some(graph) },
        diags,
    }
}

/// The highest tensor rank weft runs (the runtime's, NumPy's since 2.0).
pub const MAX_RANK: usize = 64;

/// E0320 for the first value whose rank exceeds [`MAX_RANK`] (a written
/// type, or one that broadcasting or `expand_dims` built): caught here, not
/// by the runtime as a damaged program.
fn rank_limit(g: &crate::ir::graph::Graph, file: FileId) -> Option<Diagnostic> {
    let id = g.ids().find(|&id| g.ty(id).rank() > MAX_RANK)?;
    let n = g.node(id);
    let span = n
        .span
        .unwrap_or_else(|| weft_grammar::ast::Span::new(file, 0, 0));
    Some(
        Diagnostic::error(
            "E0320",
            format!(
                "a tensor of rank {} is beyond weft's limit of {MAX_RANK} axes",
                n.ty.rank()
            ),
            span,
        )
        .label(format!("this has rank {}", n.ty.rank()))
        .note("every engine, and the .npy format, handle at most 64 axes"),
    )
}

/// The most elements one tensor may have (2^40, about 10^12: 4 TiB of
/// `f32`), checked at compile time where a shape is all literals.
pub const MAX_ELEMENTS: u64 = 1 << 40;

/// E0327 for the first value of literal shape beyond [`MAX_ELEMENTS`].
fn size_limit(g: &crate::ir::graph::Graph, file: FileId) -> Option<Diagnostic> {
    let count = |t: &crate::ir::types::TensorType| -> Option<u64> {
        t.shape
            .iter()
            .map(|d| d.as_lit())
            .try_fold(1u64, |acc, n| n.map(|n| acc.saturating_mul(n)))
    };
    let id = g
        .ids()
        .find(|&id| count(g.ty(id)).is_some_and(|n| n > MAX_ELEMENTS))?;
    let n = g.node(id);
    let span = n
        .span
        .unwrap_or_else(|| weft_grammar::ast::Span::new(file, 0, 0));
    Some(
        Diagnostic::error(
            "E0327",
            format!(
                "`{}` has more elements than weft's limit of 2^40 for one tensor",
                n.ty
            ),
            span,
        )
        .label(format!("this is `{}`", n.ty))
        .note(
            "2^40 elements (about 10^12) is 4 TiB of f32: no machine holds or computes it in a run",
        )
        .help("check the sizes; for large data use size names (`dim N`) bound by the inputs"),
    )
}

fn syntax_diag(e: weft_grammar::ast::SyntaxError) -> Diagnostic {
    let mut d = Diagnostic::error(e.code, e.message, e.span);
    d.label = "here".into();
    if !e.expected.is_empty() {
        d = d.note(format!("expected {}", join_or(&e.expected)));
    }
    d
}

fn join_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// Loads every module named by a `use`, transitively: the standard library
/// first, then sibling files. Unknown modules are reported by elaboration.
fn load_modules(
    map: &mut SourceMap,
    loader: &dyn Loader,
    modules: &mut Vec<Module>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut known: HashMap<String, ()> = HashMap::new();
    let mut i = 0;
    while i < modules.len() {
        let uses: Vec<String> = modules[i]
            .program
            .items
            .iter()
            .filter_map(|it| match it {
                Item::Use { module, .. } => Some(module.name.clone()),
                _ => None,
            })
            .collect();
        for name in uses {
            if known.insert(name.clone(), ()).is_some() {
                continue;
            }
            let found = STDLIB
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, t)| (format!("<stdlib>/{n}.weft"), t.to_string()))
                .or_else(|| loader.load(&name));
            if let Some((display, text)) = found {
                let file = map.add(&display, text);
                let src = map.text(file).to_string();
                let (program, errs) = weft_grammar::parse(file, &src);
                diags.extend(errs.into_iter().map(syntax_diag));
                modules.push(Module {
                    name,
                    file,
                    program,
                    is_main: false,
                });
            }
        }
        i += 1;
    }
}

fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen: Vec<(&'static str, weft_grammar::ast::Span, String)> = Vec::new();
    diags.retain(|d| {
        let key = (d.code, d.primary, d.message.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

/// Levenshtein distance, for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

/// The `const`s the program in `file` declares, with their literal kinds,
/// for validating `--set` before compiling.
pub fn const_names(
    map: &SourceMap,
    file: FileId,
) -> Vec<(String, Option<crate::ir::types::Scalar>)> {
    let (program, _) = weft_grammar::parse(file, map.text(file));
    program
        .items
        .iter()
        .filter_map(|it| match it {
            Item::Const { name, value, .. } => {
                Some((name.name.clone(), elab::static_literal(value)))
            }
            _ => None,
        })
        .collect()
}

/// Checks one `--set NAME=VALUE` against the program's consts.
pub fn check_set(
    consts: &[(String, Option<crate::ir::types::Scalar>)],
    name: &str,
    value: &str,
) -> Result<(), String> {
    use crate::ir::types::Scalar;
    let Some((_, lit)) = consts.iter().find(|(n, _)| n == name) else {
        let names: Vec<&str> = consts.iter().map(|(n, _)| n.as_str()).collect();
        return Err(if names.is_empty() {
            format!("the program has no const named `{name}` (it declares no consts)")
        } else {
            format!(
                "the program has no const named `{name}`; its consts are: {}",
                names.join(", ")
            )
        });
    };
    let Some(lit) = lit else { return Ok(()) };
    if elab::parse_set_value(value, *lit).is_none() {
        let (declared, kind) = match lit {
            Scalar::Float(_) => ("a float", "a number"),
            Scalar::Int(_) => ("an integer", "an integer"),
            Scalar::Bool(_) => ("a bool", "`true` or `false`"),
        };
        return Err(format!(
            "`{name}` is {declared} const, so the value must be {kind}"
        ));
    }
    Ok(())
}
