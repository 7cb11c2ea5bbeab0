//! The RUN FLAGS of the command-line contract, parsed by hand so that
//! `weft run FILE [RUN FLAGS]` and a built executable `EXE [RUN FLAGS]` accept
//! exactly the same flags and report exactly the same messages.
//!
//! | flag | meaning |
//! |---|---|
//! | `--input NAME=FILE.npy` | an input from a `.npy` file |
//! | `--input NAME=NUMBER` | a scalar input: an integer (`3`, `-3`), a float (`0.5`, `1e-3`, `inf`, `nan`) or `true`/`false`; any other value is a path |
//! | `--param NAME=FILE.npy` | a param's initial value from a `.npy` file |
//! | `--steps N` | run `N` ≥ 1 steps (default 1) |
//! | `--out DIR` | write `DIR/NAME.npy` for every output instead of printing |
//! | `--threads N` | worker threads, 1 ≤ `N` ≤ [`MAX_THREADS`] |
//! | `--set NAME=VALUE` | override a `const` (only where [`FlagSpec::allow_set`]) |
//! | `--log NAME` | print output `NAME` during the run (repeatable) |
//! | `--log-every K` | with `--log`, print every `K` steps; default 1 when `N` ≤ 20, else ⌈`N`/20⌉ |
//! | `--log-file FILE` | write the logged values to `FILE` as CSV (a header, then one row per logged step; every step unless `--log-every`); without `--log`, every scalar output is logged |
//! | `--stats` | per kernel: calls, time, and the source `let`s and lines it computes, on stderr (takes no value) |
//! | `--profile FILE` | write a Chrome trace-event JSON file (Perfetto): one event per kernel call |
//! | `--manifest FILE` | write a JSON provenance record of the run (BLAKE3 hashes, a Merkle root) |
//! | `--dump NAME` | write intermediate `let` NAME of the last step (repeatable; where the caller accepts it) |
//! | `-h`, `--help` | print the usage text |
//!
//! Every flag takes its value either as the next argument or after `=`
//! (`--steps 5`, `--steps=5`).  A flag other than `--input`, `--param`,
//! `--set` and `--log` may be given once; an input, param or const may be
//! named once; a repeated `--log NAME` is ignored.  A value may not start
//! with `--`, so a forgotten value is reported rather than swallowing the
//! next flag.  Arguments that are not flags are errors.

use std::fmt;
use std::path::PathBuf;

/// The largest `--threads` accepted.
pub const MAX_THREADS: usize = 1024;

/// The parsed run flags.
#[derive(Clone, Debug, PartialEq)]
pub struct RunArgs {
    /// `--input NAME=...`, in command-line order, names distinct.
    pub inputs: Vec<(String, InputArg)>,
    /// `--param NAME=FILE.npy`, in command-line order, names distinct.
    pub params: Vec<(String, PathBuf)>,
    /// `--steps N` (default 1, always ≥ 1).
    pub steps: u64,
    /// `--out DIR`.
    pub out: Option<PathBuf>,
    /// `--threads N` (≥ 1); `None` lets the caller choose.
    pub threads: Option<usize>,
    /// `--set NAME=VALUE`, the value unparsed; names distinct.
    pub sets: Vec<(String, String)>,
    /// `--log NAME`, in first-given order, without repeats.
    pub log: Vec<String>,
    /// `--log-every K`, or the default (1 if steps ≤ 20, else ⌈steps/20⌉;
    /// 1 with `--log-file`).
    pub log_every: u64,
    /// `--log-file FILE`: the logged values as CSV.
    pub log_file: Option<PathBuf>,
    /// `--checkpoint DIR`, `--checkpoint-every K` (0: after the last step
    /// only), `--keep N` (None: keep all), `--resume DIR|FILE`.
    pub checkpoint: Option<PathBuf>,
    pub checkpoint_every: u64,
    pub keep: Option<u64>,
    pub resume: Option<PathBuf>,
    /// `--stats` (a switch).
    pub stats: bool,
    /// `--profile FILE`: a Chrome trace of the run.
    pub profile: Option<PathBuf>,
    /// `--manifest FILE`: the run's provenance record.
    pub manifest: Option<PathBuf>,
    /// `--dump NAME` (repeatable, in first-given order, without repeats):
    /// intermediate `let`s to write; only where [`FlagSpec::allow_dump`].
    pub dump: Vec<String>,
    /// The caller's extra flags, as (`--name` exactly as in
    /// [`FlagSpec::extra_flags`], value), in command-line order.
    pub extra: Vec<(String, String)>,
}

/// The value of an `--input`.
#[derive(Clone, Debug, PartialEq)]
pub enum InputArg {
    File(PathBuf),
    Scalar(ScalarLit),
}

/// A scalar given on the command line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarLit {
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// What the caller accepts beyond the common flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagSpec {
    /// Whether `--set NAME=VALUE` is accepted (`weft run`: yes; a built
    /// executable: no, its constants are fixed at build time).
    pub allow_set: bool,
    /// Whether `--dump NAME` is accepted (`weft run`, which can keep any
    /// `let`; a built executable cannot).
    pub allow_dump: bool,
    /// Additional `--name VALUE` flags, written with their dashes
    /// (e.g. `&["--jit"]`); each may be given once.
    pub extra_flags: &'static [&'static str],
    /// The usage rows of the caller's own flags, `(FLAG VALUE, what)`; when
    /// empty, each extra flag gets a row pointing to the command's docs.
    pub extra_help: &'static [(&'static str, &'static str)],
}

/// A command-line usage problem (exit status 2), or a request for help
/// (exit status 0: print [`usage_text`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// The message for stderr; empty for a help request.
    pub message: String,
    /// `-h`/`--help` was given.
    pub help: bool,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            help: false,
        }
    }

    fn help() -> Self {
        UsageError {
            message: String::new(),
            help: true,
        }
    }

    /// 0 for a help request, 2 for a usage error.
    pub fn exit_code(&self) -> i32 {
        if self.help {
            0
        } else {
            crate::error::EXIT_USAGE
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.help {
            f.write_str("help requested")
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for UsageError {}

/// The flags every caller accepts (plus `--set` and the extras).
const COMMON: [&str; 16] = [
    "--checkpoint",
    "--checkpoint-every",
    "--keep",
    "--resume",
    "--input",
    "--param",
    "--steps",
    "--out",
    "--threads",
    "--log",
    "--log-every",
    "--log-file",
    "--stats",
    "--profile",
    "--manifest",
    "--help",
];

fn check_name(flag: &str, name: &str) -> Result<(), UsageError> {
    if name.is_empty() {
        return Err(UsageError::new(format!(
            "{flag}: the name before '=' is empty"
        )));
    }
    if !crate::program::is_path(name) {
        return Err(UsageError::new(format!(
            "{flag}: '{name}' is not a valid name (names match [A-Za-z_][A-Za-z0-9_]*, with `.` between the fields of a record: net.w1)"
        )));
    }
    Ok(())
}

/// Splits `NAME=VALUE`, checking both parts.
fn split_assignment<'v>(
    flag: &str,
    form: &str,
    value: &'v str,
) -> Result<(&'v str, &'v str), UsageError> {
    let Some((name, rhs)) = value.split_once('=') else {
        return Err(UsageError::new(format!(
            "{flag} expects {form}, got '{value}' (no '=')"
        )));
    };
    check_name(flag, name)?;
    if rhs.is_empty() {
        return Err(UsageError::new(format!(
            "{flag} {name}=: the value after '=' is empty"
        )));
    }
    Ok((name, rhs))
}

/// Parses a count flag's value (`--steps`, `--threads`, `--log-every`).
fn parse_count(flag: &str, value: &str) -> Result<u64, UsageError> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UsageError::new(format!(
            "{flag} expects a positive integer, got '{value}'"
        )));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| UsageError::new(format!("{flag}: '{value}' is too large")))?;
    if n == 0 {
        return Err(UsageError::new(format!("{flag} must be at least 1, got 0")));
    }
    Ok(n)
}

/// Interprets the value of `--input NAME=VALUE`: a number or `true`/`false`
/// is a scalar, anything else a path.
fn parse_input_value(name: &str, value: &str) -> Result<InputArg, UsageError> {
    match value {
        "true" => return Ok(InputArg::Scalar(ScalarLit::Bool(true))),
        "false" => return Ok(InputArg::Scalar(ScalarLit::Bool(false))),
        _ => {}
    }
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .map(|n| InputArg::Scalar(ScalarLit::Int(n)))
            .map_err(|_| {
                UsageError::new(format!(
                    "--input {name}={value}: the integer is out of range for i64"
                ))
            });
    }
    match value.parse::<f64>() {
        Ok(x) => Ok(InputArg::Scalar(ScalarLit::Float(x))),
        Err(_) => Ok(InputArg::File(PathBuf::from(value))),
    }
}

/// The number of single-character edits turning `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Every flag name `spec` accepts, with dashes.
fn known_flags(spec: &FlagSpec) -> Vec<String> {
    let mut all: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    if spec.allow_set {
        all.push("--set".to_string());
    }
    if spec.allow_dump {
        all.push("--dump".to_string());
    }
    all.extend(spec.extra_flags.iter().map(|f| dashed(f)));
    all
}

fn dashed(flag: &str) -> String {
    format!("--{}", flag.trim_start_matches('-'))
}

fn unknown_flag(flag: &str, spec: &FlagSpec) -> UsageError {
    let closest = known_flags(spec)
        .into_iter()
        .map(|k| (edit_distance(flag, &k), k))
        .min_by_key(|(d, _)| *d);
    let hint = match closest {
        Some((d, k)) if d <= 3.max(flag.len() / 3) => format!(" (did you mean '{k}'?)"),
        _ => " (see --help)".to_string(),
    };
    UsageError::new(format!("unknown flag '{flag}'{hint}"))
}

/// Parses the run flags (the arguments after `weft run FILE`, or after a
/// built executable's name).
pub fn parse_run_flags(args: &[String], spec: &FlagSpec) -> Result<RunArgs, UsageError> {
    let mut run = RunArgs {
        inputs: Vec::new(),
        params: Vec::new(),
        steps: 1,
        out: None,
        threads: None,
        sets: Vec::new(),
        log: Vec::new(),
        log_every: 1,
        log_file: None,
        checkpoint: None,
        checkpoint_every: 0,
        keep: None,
        resume: None,
        stats: false,
        profile: None,
        manifest: None,
        dump: Vec::new(),
        extra: Vec::new(),
    };
    let mut steps = None;
    let mut log_every = None;
    let mut every = None;
    let extras: Vec<String> = spec.extra_flags.iter().map(|f| dashed(f)).collect();

    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Err(UsageError::help());
        }
        if !arg.starts_with('-') || arg == "-" {
            return Err(UsageError::new(format!(
                "unexpected argument '{arg}' (run flags start with '--'; see --help)"
            )));
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (arg.as_str(), None),
        };
        let known = known_flags(spec);
        if !known.iter().any(|k| k == flag) {
            if flag == "--set" {
                return Err(UsageError::new(
                    "--set is only accepted by `weft run` and `weft build`; \
                     a built program's constants are fixed when it is built",
                ));
            }
            if flag == "--dump" {
                return Err(UsageError::new(
                    "--dump is only accepted by `weft run`: a built program keeps only its outputs",
                ));
            }
            return Err(unknown_flag(flag, spec));
        }
        if flag == "--help" {
            return Err(UsageError::new("--help takes no value"));
        }
        if flag == "--stats" {
            if inline.is_some() {
                return Err(UsageError::new("--stats takes no value"));
            }
            if run.stats {
                return Err(UsageError::new("--stats given twice"));
            }
            run.stats = true;
            continue;
        }
        let value: &str = match inline {
            Some(v) => v,
            None => match args.get(i) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    v
                }
                Some(v) => {
                    return Err(UsageError::new(format!(
                        "{flag} needs a value, but is followed by '{v}'"
                    )))
                }
                None => return Err(UsageError::new(format!("{flag} needs a value"))),
            },
        };
        if value.is_empty() {
            return Err(UsageError::new(format!("{flag} needs a value, got ''")));
        }
        let once = |set: bool| -> Result<(), UsageError> {
            if set {
                Err(UsageError::new(format!("{flag} given twice")))
            } else {
                Ok(())
            }
        };
        match flag {
            "--input" => {
                let (name, rhs) = split_assignment(flag, "NAME=FILE.npy or NAME=NUMBER", value)?;
                if run.inputs.iter().any(|(n, _)| n == name) {
                    return Err(UsageError::new(format!("input '{name}' given twice")));
                }
                let input = parse_input_value(name, rhs)?;
                run.inputs.push((name.to_string(), input));
            }
            "--param" => {
                let (name, rhs) = split_assignment(flag, "NAME=FILE.npy", value)?;
                if run.params.iter().any(|(n, _)| n == name) {
                    return Err(UsageError::new(format!("param '{name}' given twice")));
                }
                run.params.push((name.to_string(), PathBuf::from(rhs)));
            }
            "--set" => {
                let (name, rhs) = split_assignment(flag, "NAME=VALUE", value)?;
                if run.sets.iter().any(|(n, _)| n == name) {
                    return Err(UsageError::new(format!("--set {name} given twice")));
                }
                run.sets.push((name.to_string(), rhs.to_string()));
            }
            "--steps" => {
                once(steps.is_some())?;
                steps = Some(parse_count(flag, value)?);
            }
            "--log-every" => {
                once(log_every.is_some())?;
                log_every = Some(parse_count(flag, value)?);
            }
            "--threads" => {
                once(run.threads.is_some())?;
                let n = parse_count(flag, value)?;
                if n > MAX_THREADS as u64 {
                    return Err(UsageError::new(format!(
                        "--threads must be at most {MAX_THREADS}, got {n}"
                    )));
                }
                run.threads = Some(n as usize);
            }
            "--out" => {
                once(run.out.is_some())?;
                run.out = Some(PathBuf::from(value));
            }
            "--log-file" => {
                once(run.log_file.is_some())?;
                run.log_file = Some(PathBuf::from(value));
            }
            "--checkpoint" => {
                once(run.checkpoint.is_some())?;
                run.checkpoint = Some(PathBuf::from(value));
            }
            "--checkpoint-every" => {
                once(every.is_some())?;
                every = Some(parse_count(flag, value)?);
            }
            "--keep" => {
                once(run.keep.is_some())?;
                run.keep = Some(parse_count(flag, value)?);
            }
            "--resume" => {
                once(run.resume.is_some())?;
                run.resume = Some(PathBuf::from(value));
            }
            "--profile" => {
                once(run.profile.is_some())?;
                run.profile = Some(PathBuf::from(value));
            }
            "--manifest" => {
                once(run.manifest.is_some())?;
                run.manifest = Some(PathBuf::from(value));
            }
            "--dump" => {
                check_name(flag, value)?;
                if !run.dump.iter().any(|n| n == value) {
                    run.dump.push(value.to_string());
                }
            }
            "--log" => {
                check_name(flag, value)?;
                if !run.log.iter().any(|n| n == value) {
                    run.log.push(value.to_string());
                }
            }
            _ => {
                // One of the caller's extra flags.
                once(run.extra.iter().any(|(f, _)| f == flag))?;
                let original = extras
                    .iter()
                    .position(|e| e == flag)
                    .and_then(|p| spec.extra_flags.get(p))
                    .map_or(flag, |f| *f);
                run.extra.push((original.to_string(), value.to_string()));
            }
        }
    }
    run.steps = steps.unwrap_or(1);
    for (given, flag) in [
        (every.is_some(), "--checkpoint-every"),
        (run.keep.is_some(), "--keep"),
    ] {
        if given && run.checkpoint.is_none() {
            return Err(UsageError::new(format!(
                "{flag} needs --checkpoint DIR: where checkpoints are written"
            )));
        }
    }
    run.checkpoint_every = every.unwrap_or(0);
    run.log_every = log_every.unwrap_or_else(|| {
        if run.log_file.is_some() {
            1
        } else {
            default_log_every(run.steps)
        }
    });
    Ok(run)
}

/// The default `--log-every`: every step for runs of at most 20 steps,
/// otherwise ⌈steps / 20⌉ so that about 20 lines are printed per logged name.
pub fn default_log_every(steps: u64) -> u64 {
    if steps <= 20 {
        1
    } else {
        steps.div_ceil(20)
    }
}

/// The help text: a usage line and every accepted flag.
pub fn usage_text(program: &str, spec: &FlagSpec) -> String {
    let mut rows: Vec<(String, &str)> = vec![
        (
            "--input NAME=FILE.npy".into(),
            "supply input NAME from a .npy file",
        ),
        (
            "--input NAME=NUMBER".into(),
            "supply a scalar input: an integer, a float (0.5, 1e-3, inf, nan) or true/false",
        ),
        (
            "--param NAME=FILE.npy".into(),
            "start param NAME from a .npy file instead of its initialiser",
        ),
        ("--steps N".into(), "run N steps (N >= 1, default 1)"),
        (
            "--out DIR".into(),
            "write DIR/NAME.npy for every output instead of printing the outputs",
        ),
        (
            "--threads N".into(),
            "use N worker threads (default: one per core)",
        ),
    ];
    if spec.allow_set {
        rows.push((
            "--set NAME=VALUE".into(),
            "override const NAME (repeatable)",
        ));
    }
    rows.push((
        "--checkpoint DIR".into(),
        "write checkpoints DIR/ckpt-STEP.arrow (Arrow IPC) after the last step",
    ));
    rows.push((
        "--checkpoint-every K".into(),
        "with --checkpoint, also after every K steps",
    ));
    rows.push((
        "--keep N".into(),
        "with --checkpoint, keep only the N newest checkpoints",
    ));
    rows.push((
        "--resume DIR|FILE".into(),
        "continue from the newest complete checkpoint in DIR (or from FILE); --steps is the total",
    ));
    rows.push((
        "--log NAME".into(),
        "print output NAME while running (repeatable)",
    ));
    rows.push((
        "--log-every K".into(),
        "with --log, print every K steps (default 1 if N <= 20, else N/20 rounded up)",
    ));
    rows.push((
        "--log-file FILE".into(),
        "write the logged values to FILE as CSV, one row per logged step (default: every step; without --log, every scalar output)",
    ));
    rows.push((
        "--stats".into(),
        "per kernel: calls, time, and the source lets and lines it computes, on stderr",
    ));
    rows.push((
        "--profile FILE".into(),
        "write a Chrome trace-event JSON file of the run (open it in Perfetto)",
    ));
    rows.push((
        "--manifest FILE".into(),
        "write a JSON provenance record: BLAKE3 hashes of inputs, params and outputs",
    ));
    if spec.allow_dump {
        rows.push((
            "--dump NAME".into(),
            "write intermediate let NAME of the last step (to --out DIR, repeatable)",
        ));
    }
    if spec.extra_help.is_empty() {
        for extra in spec.extra_flags {
            rows.push((
                format!("{} VALUE", dashed(extra)),
                "(see the command's documentation)",
            ));
        }
    }
    for (flag, what) in spec.extra_help {
        rows.push((flag.to_string(), what));
    }
    rows.push(("-h, --help".into(), "print this help"));
    let width = rows.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    let mut text =
        format!("Usage: {program} [RUN FLAGS]\n\nRun flags (--flag VALUE or --flag=VALUE):\n");
    for (flag, what) in rows {
        text.push_str(&format!("  {flag:<width$}  {what}\n"));
    }
    text
}

#[cfg(test)]
mod tests;
