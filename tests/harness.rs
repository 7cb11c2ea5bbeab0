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

use weft_compiler::front::{self, diag, source::SourceMap, Loader};
use weft_compiler::{ir, passes};
use weft_runtime::npy::{read_npy_file, Data, NpyArray};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

struct Compiled {
    map: SourceMap,
    out: front::Output,
}

fn compile(path: &Path) -> Compiled {
    let text = std::fs::read_to_string(path).expect("test case readable");
    let mut map = SourceMap::new();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = map.add(&name, text);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let out = front::compile(&mut map, id, &DirLoader(dir), &front::Options::default());
    Compiled { map, out }
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

/// Runs the pass pipeline with the verifier after each pass.
fn lower(path: &Path, c: Compiled) -> Result<ir::graph::Graph, String> {
    let rendered = diag::render(&c.map, &c.out.diags, false);
    let g = c
        .out
        .graph
        .ok_or_else(|| format!("{}: errors:\n{rendered}", path.display()))?;
    passes::run_pipeline(g, &mut |_, _| {}).map_err(|e| format!("{}: {e}", path.display()))
}

#[test]
fn check_ok() {
    let files = weft_files(&root().join("tests/check/ok"));
    let mut fails = Vec::new();
    for f in &files {
        if let Err(e) = lower(f, compile(f)) {
            fails.push(e);
        }
    }
    report("check/ok", fails, files.len());
}

fn expectation(path: &Path) -> Option<(String, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().next()?;
    let rest = first.strip_prefix("// expect: ")?;
    let (code, line) = rest.split_once(" line ")?;
    Some((code.trim().to_string(), line.trim().parse().ok()?))
}

fn check_err_dir(dir: &Path, snapshot_prefix: &str) {
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
        let hit = c.out.diags.iter().any(|d| {
            d.is_error() && d.code.starts_with(&code) && c.map.line_col(d.primary).0 == line
        });
        let rendered = diag::render(&c.map, &c.out.diags, false);
        if c.out.graph.is_some() || !hit {
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

#[test]
fn check_err() {
    check_err_dir(&root().join("tests/check/err"), "err__");
}

#[test]
fn examples_check() {
    let files = weft_files(&root().join("examples"));
    let mut fails = Vec::new();
    for f in &files {
        if let Err(e) = lower(f, compile(f)) {
            fails.push(e);
        }
    }
    report("examples", fails, files.len());
    check_err_dir(&root().join("examples/errors"), "example_error__");
}

#[test]
fn ir_snapshots() {
    let files = weft_files(&root().join("tests/ir"));
    let mut fails = Vec::new();
    for f in &files {
        let c = compile(f);
        let rendered = diag::render(&c.map, &c.out.diags, false);
        let Some(g) = c.out.graph else {
            fails.push(format!("{}: errors:\n{rendered}", f.display()));
            continue;
        };
        let mut dumps = String::new();
        let res = passes::run_pipeline(g, &mut |name, g| {
            dumps.push_str(&format!("==== after {name}\n{}", ir::print::print(g)));
        });
        if let Err(e) = res {
            fails.push(format!("{}: {e}", f.display()));
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

/// Runs one case folder (the conformance format); Err describes the failure.
fn run_case(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("meta.json")).map_err(|e| format!("meta.json: {e}"))?,
    )
    .map_err(|e| format!("meta.json: {e}"))?;
    let kind = meta["kind"].as_str().unwrap_or("run");
    let prog = match meta["program"].as_str() {
        Some(p) => root().join(p),
        None => dir.join("prog.weft"),
    };
    let tmp = std::env::temp_dir().join(format!(
        "weft-case-{}-{}",
        std::process::id(),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
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
    let mut cmd = Command::new(weft());
    cmd.arg("run").arg(&prog);
    for k in meta_str(&meta, "inputs") {
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
    for k in meta_str(&meta, "params") {
        cmd.arg("--param").arg(format!(
            "{k}={}",
            dir.join("in").join(format!("param.{k}.npy")).display()
        ));
    }
    let steps = meta["steps"].as_u64().unwrap_or(1);
    if steps != 1 {
        cmd.arg("--steps").arg(steps.to_string());
    }
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
        let (g, wv) = (to_f64(&got), to_f64(&want));
        let bad: Vec<usize> = (0..g.len())
            .filter(|&i| {
                let close = (g[i] - wv[i]).abs() <= atol + rtol * wv[i].abs();
                let both_nan = g[i].is_nan() && wv[i].is_nan();
                !close && !both_nan
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
    let _ = std::fs::remove_dir_all(&tmp);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
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

#[test]
fn run_cases() {
    let (fails, n) = run_cases_in(&root().join("tests/run/cases"), &[]);
    report("run cases", fails, n);
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
    let texts: Vec<String> = corpus
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
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
            let mut map = SourceMap::new();
            let id = map.add("fuzz.weft", src.clone());
            let out = front::compile(&mut map, id, &front::NoFiles, &front::Options::default());
            let _ = diag::render(&map, &out.diags, false);
            let _ = diag::render_json(&map, &out.diags);
            if let Some(g) = out.graph {
                if let Err(e) = passes::run_pipeline(g, &mut |_, _| {}) {
                    panic!("invalid IR: {e}");
                }
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
    for doc in ["README.md", "docs/language.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap_or_default();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```weft\n") {
            let body = &rest[start + 8..];
            let end = body.find("```").unwrap_or(body.len());
            let src = &body[..end];
            total += 1;
            let mut map = SourceMap::new();
            let id = map.add(doc, src.to_string());
            let out = front::compile(&mut map, id, &front::NoFiles, &front::Options::default());
            if out.graph.is_none() {
                fails.push(format!(
                    "{doc}:\n{src}\n{}",
                    diag::render(&map, &out.diags, false)
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
    let opts = weft_compiler::interp::RunOptions { steps: 1, log: vec![], log_every: 1, progress: false };
    let outs = weft_compiler::interp::run(g, &args, &[], &opts, &mut |_, _, _| {}).map_err(|e| e.message)?;
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
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
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
            .map(|d| d.as_lit().map(|n| n as usize).ok_or("grad cases use literal shapes"))
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
            ir::types::DType::I32 => Data::I32((0..n).map(|_| (rng.next() % ints_below as u64) as i32).collect()),
            ir::types::DType::I64 => Data::I64((0..n).map(|_| (rng.next() % ints_below as u64) as i64).collect()),
            other => return Err(format!("input {name}: grad cases use f64 and integer inputs, not {other}")),
        };
        inputs.push((name.clone(), NpyArray { shape, data }));
    }
    let base = eval_f64(&g, &tmp, &inputs)?;
    let f_at = |inputs: &[(String, NpyArray)]| -> Result<f64, String> {
        let outs = eval_f64(&g, &tmp, inputs)?;
        output_of(&outs, "f").and_then(|v| v.first().copied()).ok_or_else(|| "no scalar output `f`".to_string())
    };
    let h = 1e-6;
    let mut checked = 0;
    for k in 0..inputs.len() {
        let name = inputs[k].0.clone();
        let Some(analytic) = output_of(&base, &format!("d_{name}")).cloned() else { continue };
        let Data::F64(x0) = inputs[k].1.data.clone() else { continue };
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
                return Err(format!("d_{name}[{i}]: analytic {} vs finite difference {}", analytic[i], fd[i]));
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
            return Err(format!("d_{name}: <grad, v> = {dot} but the directional difference is {directional}"));
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
    let text = std::fs::read_to_string(root().join("tests/cli/cases.txt")).expect("tests/cli/cases.txt");
    let mut total = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let Some((name, args)) = line.split_once('|') else { continue };
        let (name, args) = (name.trim(), args.split_whitespace().collect::<Vec<_>>());
        let out = Command::new(weft()).args(&args).current_dir(root()).output().expect("run weft");
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
