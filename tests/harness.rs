//! The one test harness: data-driven cases in folders by what they test.
//!
//! - `tests/check/ok/*.weft`: programs that must check cleanly, and whose IR
//!   must survive every pass and the verifier.
//! - `tests/check/err/*.weft`: programs that must fail; the first line says
//!   `// expect: E03 line 4`; the rendered diagnostics are insta snapshots
//!   (`tests/snapshots/`).
//! - `tests/ir/*.weft`: the graph IR after each pass, as snapshots.
//! - `tests/run/cases/*/` and `../shared/conformance/cases/*/`: programs run
//!   through the `weft` binary with inputs; outputs compared with NumPy's
//!   within each case's tolerance, exit codes for bad data.
//! - `examples/`: every example checks; `examples/errors/` fail as announced.
//!
//! Each test walks its whole folder and reports every failing case at once.

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_compiler::front::{self, diag, Loader};
use weft_compiler::ir;
use weft_compiler::pipeline::{self, Compilation, Failure, Stage};
use weft_runtime::npy::{read_npy_file, Data, NpyArray};

mod cache;
mod checkpoints;
mod determinism;
mod distributed;
mod graph;
mod library;
mod profile;
mod provenance;

/// The files of `dir` (not recursive) with their bytes, sorted by name;
/// empty when `dir` cannot be read.
fn dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn weft() -> &'static str {
    env!("CARGO_BIN_EXE_weft")
}

struct DirLoader(PathBuf);

impl Loader for DirLoader {
    fn load(&self, name: &str) -> Option<(String, String)> {
        let p = self.0.join(format!("{name}.weft"));
        Some((format!("{name}.weft"), std::fs::read_to_string(p).ok()?))
    }
}

fn weft_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "weft"));
    v.retain(|p| {
        !std::fs::read_to_string(p)
            .unwrap_or_default()
            .starts_with("// module")
    });
    v.sort();
    v
}

/// A test program through the whole pipeline (the façade every command uses),
/// up to the lowered graph; `dumps` collects the graph after each pass.
fn compile_to(path: &Path, dumps: &mut dyn FnMut(&str, &ir::graph::Graph)) -> Compilation {
    let text = std::fs::read_to_string(path).expect("test case readable");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = DirLoader(dir);
    let input = pipeline::Input {
        name,
        text,
        loader: &loader,
        sets: Vec::new(),
        deny_warnings: false,
    };
    pipeline::compile(input, Stage::Lowered, dumps)
}

fn compile(path: &Path) -> Compilation {
    compile_to(path, &mut |_, _| {})
}

/// A program given as text (no sibling modules) through the pipeline.
fn compile_text(name: &str, text: String) -> Compilation {
    let input = pipeline::Input {
        name: name.into(),
        text,
        loader: &front::NoFiles,
        sets: Vec::new(),
        deny_warnings: false,
    };
    pipeline::compile(input, Stage::Lowered, &mut |_, _| {})
}

fn report(what: &str, failures: Vec<String>, total: usize) {
    assert!(total > 0, "{what}: no cases found");
    if !failures.is_empty() {
        panic!(
            "{what}: {} of {total} cases failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

/// The lowered graph (the verifier ran after each pass), or why not.
fn lower(path: &Path, c: Compilation) -> Result<ir::graph::Graph, String> {
    let rendered = diag::render(&c.map, &c.diags, false);
    match (c.failure, c.graph) {
        (None, Some(g)) => Ok(g),
        (Some(Failure::Internal(e)), _) => Err(format!("{}: {e}", path.display())),
        _ => Err(format!("{}: errors:\n{rendered}", path.display())),
    }
}

/// Every program of `dir` checks cleanly and survives every pass and the verifier.
fn check_ok_dir(dir: &Path) {
    let files = weft_files(dir);
    let mut fails = Vec::new();
    for f in &files {
        if let Err(e) = lower(f, compile(f)) {
            fails.push(e);
        }
    }
    report(&dir.display().to_string(), fails, files.len());
}

#[test]
fn check_ok() {
    check_ok_dir(&root().join("tests/check/ok"));
}

fn expectation(path: &Path) -> Option<(String, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().next()?;
    let rest = first.strip_prefix("// expect: ")?;
    let (code, line) = rest.split_once(" line ")?;
    Some((code.trim().to_string(), line.trim().parse().ok()?))
}

/// The cases of `dir`, each with its `// expect: CODE line N` header: an
/// error (or, with `warning`, a warning of a program that still checks) of
/// that code at that line; the rendered diagnostics are snapshots.
fn check_expect_dir(dir: &Path, snapshot_prefix: &str, warning: bool) {
    let files = weft_files(dir);
    let mut fails = Vec::new();
    for f in &files {
        let Some((code, line)) = expectation(f) else {
            fails.push(format!(
                "{}: no `// expect: CODE line N` header",
                f.display()
            ));
            continue;
        };
        let c = compile(f);
        let hit = c.diags.iter().any(|d| {
            d.is_error() != warning
                && d.code.starts_with(&code)
                && c.map.line_col(d.primary).0 == line
        });
        let rendered = diag::render(&c.map, &c.diags, false);
        if c.graph.is_some() != warning || !hit {
            fails.push(format!(
                "{}: want {code} at line {line}, got:\n{rendered}",
                f.display()
            ));
            continue;
        }
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        insta::with_settings!({snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(format!("{snapshot_prefix}{name}"), rendered);
        });
    }
    report(&dir.display().to_string(), fails, files.len());
}

fn check_err_dir(dir: &Path, snapshot_prefix: &str) {
    check_expect_dir(dir, snapshot_prefix, false);
}

#[test]
fn check_err() {
    check_err_dir(&root().join("tests/check/err"), "err__");
}

/// `tests/check/warn`: programs that check (a graph, no error) with the
/// warning their header names at its line; rendered warnings are snapshots.
#[test]
fn check_warn() {
    check_expect_dir(&root().join("tests/check/warn"), "warn__", true);
}

#[test]
fn examples_check() {
    check_ok_dir(&root().join("examples"));
    check_err_dir(&root().join("examples/errors"), "example_error__");
}

#[test]
fn ir_snapshots() {
    let files = weft_files(&root().join("tests/ir"));
    let mut fails = Vec::new();
    for f in &files {
        let mut dumps = String::new();
        let c = compile_to(f, &mut |name, g| {
            dumps.push_str(&format!("==== after {name}\n{}", ir::print::print(g)));
        });
        if let Err(e) = lower(f, c) {
            fails.push(e);
            continue;
        }
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        insta::with_settings!({snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(format!("ir__{name}"), dumps);
        });
    }
    report("ir", fails, files.len());
}

// ---- run cases ------------------------------------------------------------

fn to_f64(a: &NpyArray) -> Vec<f64> {
    match &a.data {
        Data::F16(v) => v
            .iter()
            .map(|&h| weft_runtime::half::f16_to_f64(h))
            .collect(),
        Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Data::F64(v) => v.clone(),
        Data::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        Data::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
    }
}

fn meta_str(meta: &serde_json::Value, key: &str) -> Vec<String> {
    meta[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// How a case's program runs: `weft run PROG`, or an executable `weft build` made.
#[derive(Clone, Copy)]
enum Runner<'a> {
    Weft,
    Exe(&'a Path),
}

fn case_meta(dir: &Path) -> Result<serde_json::Value, String> {
    serde_json::from_str(
        &std::fs::read_to_string(dir.join("meta.json")).map_err(|e| format!("meta.json: {e}"))?,
    )
    .map_err(|e| format!("meta.json: {e}"))
}

fn case_program(dir: &Path, meta: &serde_json::Value) -> PathBuf {
    match meta["program"].as_str() {
        Some(p) => root().join(p),
        None => dir.join("prog.weft"),
    }
}

/// A fresh scratch folder for one case: unique per call, since tests run in
/// parallel and several of them run the same cases.
fn case_tmp(dir: &Path, tag: &str) -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "weft-case-{}-{n}-{tag}-{}",
        std::process::id(),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    Ok(tmp)
}

/// Runs one case folder (the conformance format); Err describes the failure.
fn run_case(dir: &Path, extra: &[&str]) -> Result<(), String> {
    run_case_with(dir, Runner::Weft, "run", extra)
}

/// [`run_case`] with the program run by `runner`; compile-error cases are
/// only checked through `weft check` (with [`Runner::Weft`]).
fn run_case_with(dir: &Path, runner: Runner, tag: &str, extra: &[&str]) -> Result<(), String> {
    let meta = case_meta(dir)?;
    let kind = meta["kind"].as_str().unwrap_or("run");
    let prog = case_program(dir, &meta);
    if kind == "error" && matches!(runner, Runner::Exe(_)) {
        return Ok(());
    }
    let tmp = case_tmp(dir, tag)?;
    if kind == "error" {
        let out = Command::new(weft())
            .args(["check", &prog.to_string_lossy(), "--message-format", "json"])
            .output()
            .map_err(|e| e.to_string())?;
        let code_re = meta["expect"]["code"].as_str().unwrap_or("");
        let lines: Vec<u64> = meta["expect"]["lines"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
            .unwrap_or_default();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let hit = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|d| {
                d["code"].as_str().is_some_and(|c| c.starts_with(code_re))
                    && d["line"].as_u64().is_some_and(|l| lines.contains(&l))
            });
        return if out.status.code() == Some(1) && hit {
            Ok(())
        } else {
            Err(format!(
                "exit {:?}, want 1 with {code_re} at {lines:?}: {stdout}",
                out.status.code()
            ))
        };
    }
    let mut cmd = case_command(dir, &meta, &prog, &tmp, runner)?;
    let outdir = tmp.join("out");
    cmd.arg("--out").arg(&outdir);
    cmd.args(extra);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if stderr.contains("panicked") {
        return Err(format!("panicked: {stderr}"));
    }
    if kind == "rterr" {
        let want = meta["exit"].as_i64().unwrap_or(3) as i32;
        return if out.status.code() == Some(want) && !stderr.trim().is_empty() {
            Ok(())
        } else {
            Err(format!(
                "exit {:?}, want {want}: {stderr}",
                out.status.code()
            ))
        };
    }
    if !out.status.success() {
        return Err(format!("exit {:?}: {stderr}", out.status.code()));
    }
    let errs = compare_outputs(dir, &meta, &outdir)?;
    let _ = std::fs::remove_dir_all(&tmp);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// The command running a case's program with its inputs, params and steps
/// (no `--out`).
fn case_command(
    dir: &Path,
    meta: &serde_json::Value,
    prog: &Path,
    tmp: &Path,
    runner: Runner,
) -> Result<Command, String> {
    let mut cmd = match runner {
        Runner::Weft => {
            let mut c = Command::new(weft());
            c.arg("run").arg(prog);
            c
        }
        Runner::Exe(exe) => Command::new(exe),
    };
    for k in meta_str(meta, "inputs") {
        cmd.arg("--input").arg(format!(
            "{k}={}",
            dir.join("in").join(format!("{k}.npy")).display()
        ));
    }
    if let Some(sc) = meta["scalars"].as_object() {
        for (k, v) in sc {
            let v = match v.as_str().unwrap_or("") {
                "@missing" => tmp.join("does-not-exist.npy").display().to_string(),
                "@garbage" => {
                    let p = tmp.join("garbage.npy");
                    let bytes: Vec<u8> = (0..300u32)
                        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                        .collect();
                    std::fs::write(&p, bytes).map_err(|e| e.to_string())?;
                    p.display().to_string()
                }
                "@truncated" => {
                    let src =
                        std::fs::read(dir.join("in").join("y.npy")).map_err(|e| e.to_string())?;
                    // The header claims more elements than the data holds.
                    let mut b = src.clone();
                    if let Some(pos) = find(&src, b"(4,)") {
                        b[pos + 1] = b'9';
                    }
                    let p = tmp.join("truncated.npy");
                    std::fs::write(&p, b).map_err(|e| e.to_string())?;
                    p.display().to_string()
                }
                other => other.to_string(),
            };
            cmd.arg("--input").arg(format!("{k}={v}"));
        }
    }
    for k in meta_str(meta, "params") {
        cmd.arg("--param").arg(format!(
            "{k}={}",
            dir.join("in").join(format!("param.{k}.npy")).display()
        ));
    }
    let steps = meta["steps"].as_u64().unwrap_or(1);
    if steps != 1 {
        cmd.arg("--steps").arg(steps.to_string());
    }
    Ok(cmd)
}

/// Each `want/NAME.npy` of a case against `outdir/NAME.npy`, within the
/// case's tolerance; the differences found.
fn compare_outputs(
    dir: &Path,
    meta: &serde_json::Value,
    outdir: &Path,
) -> Result<Vec<String>, String> {
    let rtol = meta["rtol"].as_f64().unwrap_or(1e-4);
    let atol = meta["atol"].as_f64().unwrap_or(1e-5);
    let mut errs = Vec::new();
    let mut wants: Vec<PathBuf> = std::fs::read_dir(dir.join("want"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    wants.sort();
    for w in wants {
        let name = w
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let want = read_npy_file(&w).map_err(|e| e.to_string())?;
        let got = match read_npy_file(&outdir.join(&name)) {
            Ok(g) => g,
            Err(e) => {
                errs.push(format!("output {name}: {e}"));
                continue;
            }
        };
        if got.shape != want.shape || got.dtype() != want.dtype() {
            errs.push(format!(
                "output {name}: {:?} {:?}, want {:?} {:?}",
                got.dtype(),
                got.shape,
                want.dtype(),
                want.shape
            ));
            continue;
        }
        // `tols` in meta.json: per-output [rtol, atol], as the conformance format has it.
        let stem = name.strip_suffix(".npy").unwrap_or(&name);
        let (rtol, atol) = match meta["tols"][stem].as_array().map(|a| a.as_slice()) {
            Some([r, a]) => (r.as_f64().unwrap_or(rtol), a.as_f64().unwrap_or(atol)),
            _ => (rtol, atol),
        };
        let (g, wv) = (to_f64(&got), to_f64(&want));
        let bad: Vec<usize> = (0..g.len())
            .filter(|&i| {
                let close = (g[i] - wv[i]).abs() <= atol + rtol * wv[i].abs();
                let both_nan = g[i].is_nan() && wv[i].is_nan();
                // Equal infinities (NumPy's `allclose`), whose difference is NaN.
                let same_inf = g[i].is_infinite() && g[i] == wv[i];
                !close && !both_nan && !same_inf
            })
            .collect();
        if let Some(&i) = bad.first() {
            errs.push(format!(
                "output {name}: {}/{} values off (first at {i}: got {}, want {})",
                bad.len(),
                g.len(),
                g[i],
                wv[i]
            ));
        }
    }
    Ok(errs)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn run_cases_in(dir: &Path, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("meta.json").exists())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    let mut fails = Vec::new();
    for c in &cases {
        if let Err(e) = run_case(c, extra) {
            fails.push(format!("{}: {e}", c.display()));
        }
    }
    (fails, cases.len())
}

/// Every case of tests/run/cases through `weft run` with these extra flags.
fn all_run_cases(extra: &[&str]) {
    let (fails, n) = run_cases_in(&root().join("tests/run/cases"), extra);
    report(&format!("run cases {extra:?}"), fails, n);
}

/// The default engine: kernels interpreted until hot, then Cranelift.
#[test]
fn run_cases() {
    all_run_cases(&[]);
}

/// Every kernel compiled by Cranelift before its first call.
#[test]
fn run_cases_jit_always() {
    all_run_cases(&["--jit", "always"]);
}

/// Every kernel in the kernel-IR interpreter.
#[test]
fn run_cases_jit_never() {
    all_run_cases(&["--jit", "never"]);
}

/// The graph interpreter, the oracle.
#[test]
fn run_cases_reference() {
    all_run_cases(&["--engine", "reference"]);
}

/// The public conformance sample, where the checkout has it beside the project.
#[test]
fn conformance_sample() {
    let dir = root().join("../shared/conformance/cases");
    if !dir.exists() {
        eprintln!("conformance sample not found at {}; skipped", dir.display());
        return;
    }
    let (fails, n) = run_cases_in(&dir, &[]);
    report("conformance", fails, n);
}

// ---- robustness -------------------------------------------------------------

/// A small deterministic generator for mutations (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SNIPPETS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ";",
    "=",
    "@",
    "**",
    "-",
    "..",
    "0",
    "-1",
    "1e309",
    "99999999999999999999",
    "2147483648",
    "x",
    "B",
    "f64",
    "i32",
    "bool",
    "grad(",
    "sum(",
    "axis=",
    "keepdims=true",
    "let",
    "fn",
    "use nn",
    "output",
    "update",
    "param",
    "input",
    "dim",
    "const",
    "transpose(",
    "reshape(",
    "(-1,",
    "nn.",
    "é",
    "\0",
    "\n",
];

/// Mutates a program: deletes, duplicates, swaps and inserts spans of text.
fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let n = chars.len().max(1);
        let at = rng.below(n).min(chars.len());
        match rng.below(5) {
            0 => {
                let len = rng.below(12).min(chars.len() - at);
                chars.drain(at..at + len);
            }
            1 => {
                let len = rng.below(40).min(chars.len() - at);
                let piece: Vec<char> = chars[at..at + len].to_vec();
                let to = rng.below(chars.len() + 1);
                chars.splice(to..to, piece);
            }
            2 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                chars.splice(at..at, s.chars());
            }
            3 => {
                // Replace a digit run by a random (often absurd) number.
                if let Some(p) = chars[at..].iter().position(|c| c.is_ascii_digit()) {
                    let p = at + p;
                    let num = ["0", "1", "3", "-2", "65536", "4000000000", "1e12"][rng.below(7)];
                    chars.splice(p..p + 1, num.chars());
                }
            }
            _ => {
                let b = rng.below(chars.len().max(1)).min(chars.len());
                if at < chars.len() && b < chars.len() {
                    chars.swap(at, b);
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Random mutations of every corpus program go through the whole front end
/// and the pass pipeline: no panic, and every run finishes (a hang fails the
/// test by its timeout). The budget is bounded so CI stays fast.
#[test]
fn front_end_never_panics_on_mutated_programs() {
    let mut corpus = weft_files(&root().join("tests/check/ok"));
    corpus.extend(weft_files(&root().join("tests/check/err")));
    corpus.extend(weft_files(&root().join("examples")));
    // Programs that run into a resource limit on purpose take seconds each
    // (a million nodes before the limit): they are tested once, not mutated.
    let texts: Vec<String> = corpus
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|t| !t.starts_with("// expect: E0321"))
        .collect();
    let budget: usize = std::env::var("WEFT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x5EED);
    let mut checked = 0;
    for k in 0..budget {
        let src = mutate(&texts[k % texts.len()], &mut rng);
        let result = std::panic::catch_unwind(|| {
            let c = compile_text("fuzz.weft", src.clone());
            let _ = diag::render(&c.map, &c.diags, false);
            let _ = diag::render_json(&c.map, &c.diags);
            if let Some(Failure::Internal(e)) = c.failure {
                panic!("invalid IR: {e}");
            }
        });
        if result.is_err() {
            panic!("the front end panicked on this program (case {k}):\n{src}");
        }
        checked += 1;
    }
    assert_eq!(checked, budget);
}

/// Every ```weft block of the documentation checks cleanly: docs do not drift.
#[test]
fn docs_examples() {
    let mut fails = Vec::new();
    let mut total = 0;
    for doc in [
        "README.md",
        "docs/language.md",
        "ARCHITECTURE.md",
        "docs/embedding.md",
    ] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap_or_default();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```weft\n") {
            let body = &rest[start + 8..];
            let end = body.find("```").unwrap_or(body.len());
            let src = &body[..end];
            total += 1;
            let c = compile_text(doc, src.to_string());
            if c.failure.is_some() {
                fails.push(format!(
                    "{doc}:\n{src}\n{}",
                    diag::render(&c.map, &c.diags, false)
                ));
            }
            rest = &body[end..];
        }
    }
    report("docs examples", fails, total);
}

// ---- gradient checks --------------------------------------------------------

fn grad_inputs_header(text: &str) -> (Vec<String>, i64) {
    let mut positive = Vec::new();
    let mut ints_below = 3;
    for line in text.lines().take_while(|l| l.starts_with("//")) {
        if let Some(rest) = line.strip_prefix("// positive:") {
            positive.extend(rest.split(',').map(|s| s.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("// ints below:") {
            ints_below = rest.trim().parse().unwrap_or(3);
        }
    }
    (positive, ints_below)
}

/// Runs a program on the given inputs through the interpreter; the outputs as f64.
fn eval_f64(
    g: &ir::graph::Graph,
    dir: &Path,
    inputs: &[(String, NpyArray)],
) -> Result<Vec<(String, Vec<f64>)>, String> {
    let mut args = Vec::new();
    for (name, arr) in inputs {
        let p = dir.join(format!("{name}.npy"));
        weft_runtime::npy::write_npy_file(&p, arr).map_err(|e| e.to_string())?;
        args.push((name.clone(), weft_runtime::flags::InputArg::File(p)));
    }
    let opts = weft_compiler::interp::RunOptions {
        steps: 1,
        log: vec![],
        log_every: 1,
        progress: false,
    };
    let outs = weft_compiler::interp::run(g, &args, &[], &opts, &mut |_, _, _| {})
        .map_err(|e| e.message)?;
    Ok(outs.into_iter().map(|(n, t)| (n, t.to_f64_vec())).collect())
}

fn output_of<'a>(outs: &'a [(String, Vec<f64>)], name: &str) -> Option<&'a Vec<f64>> {
    outs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// One gradient case: analytic gradients against central differences.
fn grad_case(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (positive, ints_below) = grad_inputs_header(&text);
    let g = lower(path, compile(path))?;
    let tmp = std::env::temp_dir().join(format!(
        "weft-grad-{}-{}",
        std::process::id(),
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let mut rng = Rng(0xC0FFEE ^ text.len() as u64);
    let normal = |rng: &mut Rng| {
        let u1 = ((rng.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut inputs: Vec<(String, NpyArray)> = Vec::new();
    for (name, id) in &g.inputs {
        let ty = g.ty(*id);
        let shape: Vec<usize> = ty
            .shape
            .iter()
            .map(|d| {
                d.as_lit()
                    .map(|n| n as usize)
                    .ok_or("grad cases use literal shapes")
            })
            .collect::<Result<_, _>>()?;
        let n: usize = shape.iter().product();
        let data = match ty.dtype {
            ir::types::DType::F64 => Data::F64(
                (0..n)
                    .map(|_| {
                        if positive.contains(name) {
                            0.5 + 1.5 * ((rng.next() >> 11) as f64 / (1u64 << 53) as f64)
                        } else {
                            normal(&mut rng)
                        }
                    })
                    .collect(),
            ),
            ir::types::DType::I32 => Data::I32(
                (0..n)
                    .map(|_| (rng.next() % ints_below as u64) as i32)
                    .collect(),
            ),
            ir::types::DType::I64 => Data::I64(
                (0..n)
                    .map(|_| (rng.next() % ints_below as u64) as i64)
                    .collect(),
            ),
            other => {
                return Err(format!(
                    "input {name}: grad cases use f64 and integer inputs, not {other}"
                ))
            }
        };
        inputs.push((name.clone(), NpyArray { shape, data }));
    }
    let base = eval_f64(&g, &tmp, &inputs)?;
    let f_at = |inputs: &[(String, NpyArray)]| -> Result<f64, String> {
        let outs = eval_f64(&g, &tmp, inputs)?;
        output_of(&outs, "f")
            .and_then(|v| v.first().copied())
            .ok_or_else(|| "no scalar output `f`".to_string())
    };
    let h = 1e-6;
    let mut checked = 0;
    for k in 0..inputs.len() {
        let name = inputs[k].0.clone();
        let Some(analytic) = output_of(&base, &format!("d_{name}")).cloned() else {
            continue;
        };
        let Data::F64(x0) = inputs[k].1.data.clone() else {
            continue;
        };
        let mut fd = vec![0.0; x0.len()];
        for i in 0..x0.len() {
            let mut plus = inputs.clone();
            let mut minus = inputs.clone();
            if let (Data::F64(p), Data::F64(m)) = (&mut plus[k].1.data, &mut minus[k].1.data) {
                p[i] += h;
                m[i] -= h;
            }
            fd[i] = (f_at(&plus)? - f_at(&minus)?) / (2.0 * h);
        }
        for i in 0..x0.len() {
            let tol = 1e-6 + 1e-4 * fd[i].abs().max(analytic[i].abs());
            if (fd[i] - analytic[i]).abs() > tol {
                return Err(format!(
                    "d_{name}[{i}]: analytic {} vs finite difference {}",
                    analytic[i], fd[i]
                ));
            }
        }
        // Random direction: <grad, v> against the directional difference.
        let v: Vec<f64> = (0..x0.len()).map(|_| normal(&mut rng)).collect();
        let mut plus = inputs.clone();
        let mut minus = inputs.clone();
        if let (Data::F64(p), Data::F64(m)) = (&mut plus[k].1.data, &mut minus[k].1.data) {
            for i in 0..x0.len() {
                p[i] += h * v[i];
                m[i] -= h * v[i];
            }
        }
        let directional = (f_at(&plus)? - f_at(&minus)?) / (2.0 * h);
        let dot: f64 = analytic.iter().zip(&v).map(|(a, b)| a * b).sum();
        if (directional - dot).abs() > 1e-5 + 1e-4 * dot.abs() {
            return Err(format!(
                "d_{name}: <grad, v> = {dot} but the directional difference is {directional}"
            ));
        }
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if checked == 0 {
        return Err("no `d_NAME` output matched an f64 input".into());
    }
    Ok(checked)
}

#[test]
fn grad_checks() {
    let files = weft_files(&root().join("tests/grad"));
    let mut fails = Vec::new();
    for f in &files {
        if let Err(e) = grad_case(f) {
            fails.push(format!("{}: {e}", f.display()));
        }
    }
    report("grad checks", fails, files.len());
}

// ---- the command line -----------------------------------------------------

/// `tests/cli/cases.txt`: each command's exit status, stdout and stderr, as snapshots.
#[test]
fn cli_snapshots() {
    let text =
        std::fs::read_to_string(root().join("tests/cli/cases.txt")).expect("tests/cli/cases.txt");
    let mut total = 0;
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let Some((name, args)) = line.split_once('|') else {
            continue;
        };
        let (name, words) = (name.trim(), args.split_whitespace().collect::<Vec<_>>());
        // Leading `env:KEY=VALUE` words set the environment of the command.
        let mut cmd = Command::new(weft());
        let mut args = Vec::new();
        for w in words {
            match w.strip_prefix("env:").and_then(|kv| kv.split_once('=')) {
                Some((k, v)) if args.is_empty() => {
                    cmd.env(k, v);
                }
                _ => args.push(w),
            }
        }
        let out = cmd
            .args(&args)
            .current_dir(root())
            .output()
            .expect("run weft");
        let shown = format!(
            "$ weft {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        insta::with_settings!({snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(format!("cli__{name}"), shown);
        });
        total += 1;
    }
    assert!(total > 0);
}

// ---- built executables (`weft build`) ----------------------------------------

/// Whether a C compiler is there to link with; the build tests skip without one.
fn have_cc() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Where this process's built executables go (under target/tmp).
fn built_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("weft-built-{}", std::process::id()))
}

/// Called by each test that uses [`built`] when it ends: the last of the three
/// removes the executables.
fn built_done() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DONE: AtomicUsize = AtomicUsize::new(0);
    if DONE.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
        let _ = std::fs::remove_dir_all(built_dir());
    }
}

/// Programs built so far (shared by the tests of this process): program → executable.
fn built(prog: &Path) -> Result<PathBuf, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<PathBuf, Result<PathBuf, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(prog) {
        return r.clone();
    }
    let dir = built_dir();
    let r = (|| {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let exe = dir.join(format!("prog{}", cache.len()));
        let out = Command::new(weft())
            .arg("build")
            .arg(prog)
            .arg("-o")
            .arg(&exe)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(exe)
        } else {
            Err(format!(
                "weft build {}: exit {:?}: {}",
                prog.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    })();
    cache.insert(prog.to_path_buf(), r.clone());
    r
}

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("meta.json").exists())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

/// The run cases and the conformance sample (where present).
fn all_run_case_dirs() -> Vec<PathBuf> {
    let mut v = case_dirs(&root().join("tests/run/cases"));
    v.extend(case_dirs(&root().join("../shared/conformance/cases")));
    v
}

/// Every run case and conformance case through `weft build` and the
/// executable, compared with NumPy's outputs like [`run_case`] does.
#[test]
fn built_run_cases() {
    if !have_cc() {
        eprintln!("no C compiler (cc): the weft build tests are skipped");
        return;
    }
    let cases = all_run_case_dirs();
    let mut fails = Vec::new();
    for c in &cases {
        let r = case_meta(c).and_then(|meta| {
            if meta["kind"].as_str() == Some("error") {
                return Ok(());
            }
            let exe = built(&case_program(c, &meta))?;
            run_case_with(c, Runner::Exe(&exe), "exe", &[])
        });
        if let Err(e) = r {
            fails.push(format!("{}: {e}", c.display()));
        }
    }
    built_done();
    report("built run cases", fails, cases.len());
}

/// `weft run` and the built executable side by side: byte-identical printed
/// outputs for every run case (without `--out`), and the same exit status
/// and stderr for every bad-data case.
#[test]
fn built_matches_weft_run() {
    if !have_cc() {
        eprintln!("no C compiler (cc): the weft build tests are skipped");
        return;
    }
    let cases = all_run_case_dirs();
    let mut fails = Vec::new();
    let mut identical = 0;
    for c in &cases {
        let r = (|| -> Result<bool, String> {
            let meta = case_meta(c)?;
            let kind = meta["kind"].as_str().unwrap_or("run");
            if kind == "error" {
                return Ok(true);
            }
            let prog = case_program(c, &meta);
            let exe = built(&prog)?;
            let tmp = case_tmp(c, "same")?;
            let run = |runner| -> Result<std::process::Output, String> {
                case_command(c, &meta, &prog, &tmp, runner)?
                    .output()
                    .map_err(|e| e.to_string())
            };
            let (a, b) = (run(Runner::Weft)?, run(Runner::Exe(&exe))?);
            let _ = std::fs::remove_dir_all(&tmp);
            let (sa, sb) = (
                String::from_utf8_lossy(&a.stdout),
                String::from_utf8_lossy(&b.stdout),
            );
            // `weft run` also prints the compiler's warnings: the executable's
            // run-time messages are compared with the rest.
            let (ea, eb) = (
                without_warnings(&String::from_utf8_lossy(&a.stderr)),
                String::from_utf8_lossy(&b.stderr).into_owned(),
            );
            if a.status.code() != b.status.code() {
                return Err(format!(
                    "exit {:?} from weft run, {:?} from the executable: {ea} / {eb}",
                    a.status.code(),
                    b.status.code()
                ));
            }
            if kind == "rterr" {
                return if ea == eb {
                    Ok(true)
                } else {
                    Err(format!(
                        "stderr differs:\n  weft run: {ea}\n  built:    {eb}"
                    ))
                };
            }
            if !a.status.success() {
                return Err(format!("exit {:?}: {ea}", a.status.code()));
            }
            // Bit-identical results print identically (language.md §14).
            if sa == sb {
                Ok(true)
            } else {
                Err(format!(
                    "stdout differs:\n--- weft run\n{sa}--- built\n{sb}"
                ))
            }
        })();
        match r {
            Ok(true) => identical += 1,
            Ok(false) => {}
            Err(e) => fails.push(format!("{}: {e}", c.display())),
        }
    }
    built_done();
    eprintln!(
        "built_matches_weft_run: {identical} of {} cases byte-identical",
        cases.len()
    );
    report("built vs weft run", fails, cases.len());
}

/// `weft build`'s own failures: each a message and an exit status, never a panic.
#[test]
fn build_command_errors() {
    let tmp = std::env::temp_dir().join(format!("weft-build-errs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let write = |name: &str, text: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let ok = write("ok.weft", "input x: f32[3]\noutput y = x * 2.0\n");
    let bad = write("bad.weft", "input x: f32[3]\noutput y = x + zz\n");
    let half = write("half.weft", "input x: f16[3]\noutput y = x * x\n");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut c = Command::new(weft());
        c.arg("build").args(args).current_dir(&tmp);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().expect("weft runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let p = |p: &PathBuf| p.display().to_string();
    type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (vec![p(&bad)], vec![], 1, "E02"),
        (vec![p(&half)], vec![], 1, "f16"),
        (
            vec![p(&ok), "--target-cpu".into(), "pentium".into()],
            vec![],
            2,
            "--target-cpu",
        ),
        (
            vec![p(&ok)],
            vec![("WEFT_RUNTIME_LIB", "/nonexistent/lib.a")],
            2,
            "WEFT_RUNTIME_LIB",
        ),
        (
            vec![p(&ok)],
            vec![("CC", "/nonexistent/cc")],
            2,
            "no C compiler",
        ),
        (vec![p(&ok), "--set".into(), "x".into()], vec![], 2, "--set"),
    ];
    let mut fails = Vec::new();
    for (args, envs, code, want) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, err) = run(&args, envs);
        if got != Some(*code) || !err.contains(want) || err.contains("panicked") {
            fails.push(format!(
                "{args:?}: exit {got:?}, want {code} with {want:?}: {err}"
            ));
        }
    }
    // --emit writes FILE's stem with the kind's extension in the current directory.
    for (kind, file) in [
        ("llvm-ir", "ok.ll"),
        ("asm", "ok.s"),
        ("obj", "ok.o"),
        ("kernels", "ok.kernels"),
    ] {
        let (got, err) = run(&[&p(&ok), "--emit", kind], &[]);
        if got != Some(0) || !tmp.join(file).is_file() {
            fails.push(format!("--emit {kind}: exit {got:?}, no {file}: {err}"));
        }
    }
    // The kernel IR's text: sizes, buffers, then numbered kernels.
    let text = std::fs::read_to_string(tmp.join("ok.kernels")).unwrap_or_default();
    if !(text.starts_with("dims") && text.contains("\nk0: ")) {
        fails.push(format!("--emit kernels wrote:\n{text}"));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    report("weft build errors", fails, cases.len() + 5);
}

/// The fast link (compiler/cli/src/fastlink.rs) makes the same program as
/// the plain one: the runtime pre-linked into the cache on first use (and
/// found there next time), `WEFT_LINKER=default`, and a cache that cannot
/// be written all give executables printing the same bytes.
#[test]
fn fast_and_plain_links_agree() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-fastlink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let prog = tmp.join("p.weft");
    std::fs::write(
        &prog,
        "param a: f32[3, 4] = normal(0.0, 1.0, seed=1)\nparam b: f32[4, 2] = normal(0.0, 1.0, seed=2)\noutput y = tanh(a) @ b\n",
    )
    .expect("write");
    let not_a_dir = tmp.join("file");
    std::fs::write(&not_a_dir, "").expect("write");
    let cache = tmp.join("cache");
    let build = |exe: &str, envs: &[(&str, &Path)], linker: Option<&str>| {
        let mut c = Command::new(weft());
        c.arg("build").arg(&prog).arg("-o").arg(tmp.join(exe));
        for (k, v) in envs {
            c.env(k, v);
        }
        if let Some(l) = linker {
            c.env("WEFT_LINKER", l);
        }
        let out = c.output().expect("weft build runs");
        assert!(
            out.status.success(),
            "{exe}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(tmp.join(exe)).output().expect("exe runs");
        assert!(
            run.status.success(),
            "{exe}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        run.stdout
    };
    let first = build("a", &[("XDG_CACHE_HOME", &cache)], None);
    let made: Vec<_> = std::fs::read_dir(cache.join("weft"))
        .expect("the cache directory was made")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        made.iter()
            .any(|n| n.starts_with("runtime-") && n.ends_with(".o")),
        "{made:?}"
    );
    assert!(!made.iter().any(|n| n.ends_with(".tmp")), "{made:?}");
    assert_eq!(build("b", &[("XDG_CACHE_HOME", &cache)], None), first);
    assert_eq!(
        build("c", &[("XDG_CACHE_HOME", &cache)], Some("default")),
        first
    );
    assert_eq!(build("d", &[("XDG_CACHE_HOME", &not_a_dir)], None), first);
    assert!(
        String::from_utf8_lossy(&first).contains("y = "),
        "{}",
        String::from_utf8_lossy(&first)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `weft build` execs `weft-build` with its arguments unchanged (help
/// included); without that executable it is an error with exit status 2.
#[test]
fn build_runs_weft_build() {
    let out = Command::new(weft())
        .args(["build", "--help"])
        .output()
        .expect("weft runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{help}");
    assert!(
        help.contains("Usage: weft build [OPTIONS] <FILE>") && help.contains("--target-cpu"),
        "{help}"
    );
    let out = Command::new(weft())
        .args(["build", "examples/mlp.weft"])
        .env("WEFT_BUILD_EXE", "/nonexistent/weft-build")
        .current_dir(root())
        .output()
        .expect("weft runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: weft build needs the weft-build executable")
            && err.contains("/nonexistent/weft-build"),
        "{err}"
    );
}

/// A step that fails on data (a `gather` index out of range) ends a built
/// program with exit status 3 and the descriptor's message, like `weft run`.
#[test]
fn built_step_errors() {
    if !have_cc() {
        eprintln!("no C compiler (cc): the weft build tests are skipped");
        return;
    }
    use weft_runtime::npy::write_npy_file;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-step-err-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let prog = tmp.join("g.weft");
    std::fs::write(
        &prog,
        "dim N\ninput t: f32[5, 3]\ninput i: i64[N]\noutput r = gather(t, i)\n",
    )
    .expect("write");
    let t = tmp.join("t.npy");
    let table = NpyArray::new(vec![5, 3], Data::F32((0..15).map(|x| x as f32).collect()));
    write_npy_file(&t, &table.expect("table")).expect("write");
    let exe = tmp.join("g");
    let out = Command::new(weft())
        .arg("build")
        .arg(&prog)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("weft build runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut fails = Vec::new();
    for (idx, code) in [(vec![1i64, -5], 0), (vec![1, 5], 3), (vec![-6], 3)] {
        let i = tmp.join("i.npy");
        let n = idx.len();
        write_npy_file(
            &i,
            &NpyArray::new(vec![n], Data::I64(idx.clone())).expect("i"),
        )
        .expect("write");
        let args = [
            format!("--input=t={}", t.display()),
            format!("--input=i={}", i.display()),
        ];
        let built = Command::new(&exe).args(&args).output().expect("runs");
        let interp = Command::new(weft())
            .arg("run")
            .arg(&prog)
            .args(&args)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&built.stderr);
        let ok = built.status.code() == Some(code)
            && interp.status.code() == Some(code)
            && (code == 0 || (err.starts_with("error: ") && err.contains("out of range")));
        if !ok {
            fails.push(format!(
                "{idx:?}: built exit {:?} ({err}), weft run exit {:?}, want {code}",
                built.status.code(),
                interp.status.code()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    report("built step errors", fails, 3);
}

/// `weft run --stats` prints the per-kernel table (timings vary, so no snapshot);
/// bad `--jit`/`--engine` values are usage errors.
#[test]
fn run_stats_and_engine_flags() {
    let args = [
        "run",
        "examples/linear_regression.weft",
        "--input",
        "X=examples/data/reg_X.npy",
        "--input",
        "y=examples/data/reg_y.npy",
        "--steps",
        "5",
        "--jit",
        "always",
        "--stats",
    ];
    let out = Command::new(weft())
        .args(args)
        .current_dir(root())
        .output()
        .expect("run weft");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("tier") && stderr.contains("total time in kernels"),
        "{stderr}"
    );
    assert!(
        stderr.contains("jit"),
        "--jit always compiles kernels: {stderr}"
    );
    for bad in [["--jit", "sometimes"], ["--engine", "gpu"]] {
        let out = Command::new(weft())
            .args(["run", "examples/mlp.weft", bad[0], bad[1]])
            .current_dir(root())
            .output()
            .expect("run weft");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(bad[0]));
    }
}

// ---- architecture invariants -------------------------------------------------

/// The non-test Rust sources under `dir` (test modules and test-only files
/// left out), with their paths.
fn library_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let test_file = name == "tests.rs"
                || name.starts_with("tests_")
                || name == "testing.rs"
                || name == "specials.rs";
            if !name.ends_with(".rs") || test_file {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lib = match text.find("#[cfg(test)]\nmod tests {") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.push((p, lib));
        }
    }
    out
}

/// ARCHITECTURE.md's invariants: only the command line and the runtime
/// touch the filesystem; the runtime depends on nothing in the compiler; the
/// compiler library does not link LLVM.
#[test]
fn architecture_invariants() {
    let mut fails = Vec::new();
    for dir in ["compiler/src", "compiler/llvm/src", "grammar/src"] {
        let files = library_sources(&root().join(dir));
        assert!(!files.is_empty(), "{dir}: no sources");
        for (p, text) in files {
            if text.contains("std::fs") || text.contains(" fs::") {
                fails.push(format!("{} uses the filesystem", p.display()));
            }
        }
    }
    for manifest in [
        "runtime/Cargo.toml",
        "runtime/native/Cargo.toml",
        "runtime/exe/Cargo.toml",
        "runtime/lib/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(root().join(manifest)).expect("manifest");
        for dep in ["weft-compiler", "weft-grammar", "weft-llvm", "weft-cli"] {
            if text.lines().any(|l| l.trim_start().starts_with(dep)) {
                fails.push(format!("{manifest} depends on {dep}"));
            }
        }
    }
    let compiler = std::fs::read_to_string(root().join("compiler/Cargo.toml")).expect("manifest");
    if compiler.contains("inkwell") || compiler.contains("llvm-sys") {
        fails.push("compiler/Cargo.toml links LLVM".into());
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

// ---- robustness regressions -------------------------------------------------

/// Regression: `weft build P.weft -o P.weft` replaced the source with the
/// executable (exit 0). Now it is refused (exit 2) and the source survives.
#[test]
fn build_refuses_to_overwrite_its_source() {
    let dir = std::env::temp_dir().join(format!("weft-overwrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("victim.weft");
    let text = "output y = 1.0\n";
    std::fs::write(&src, text).expect("write source");
    for out in [src.clone(), dir.join(".").join("victim.weft")] {
        let r = Command::new(weft())
            .args([
                "build",
                &src.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
            ])
            .output()
            .expect("run weft build");
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert!(err.contains("refusing to overwrite"), "{err}");
        assert_eq!(std::fs::read_to_string(&src).ok().as_deref(), Some(text));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: `weft run P | head -c 1` panicked ("failed printing to
/// stdout: Broken pipe", exit 101). Now a closed stdout ends the run
/// quietly, by SIGPIPE, as it ends a built executable.
#[test]
fn run_into_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(weft())
        .args([
            "run",
            "examples/linear_regression.weft",
            "--input",
            "X=examples/data/reg_X.npy",
            "--input",
            "y=examples/data/reg_y.npy",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weft");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// Stderr without the compiler's warning blocks (each `warning[..]` line up
/// to the next blank line).
fn without_warnings(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with("warning[") {
            skipping = true;
        } else if skipping && line.trim().is_empty() {
            skipping = false;
            continue;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}
