//! Bitwise determinism (language.md §14): `weft run` under every JIT mode
//! and thread count, and the built executable under every thread count,
//! give the same bytes for every run case, and for a program large enough
//! that kernels, GEMM and reductions split across threads.

use super::*;

/// How one variant runs a case: the runner and its extra flags.
type Variant = (&'static str, bool, &'static [&'static str]);

/// The first is the reference the others must equal byte for byte.
const VARIANTS: [Variant; 7] = [
    ("interpreter", false, &["--jit", "never", "--threads", "1"]),
    ("cranelift-1", false, &["--jit", "always", "--threads", "1"]),
    ("cranelift-2", false, &["--jit", "always", "--threads", "2"]),
    ("cranelift-3", false, &["--jit", "always", "--threads", "3"]),
    ("exe-1", true, &["--threads", "1"]),
    ("exe-2", true, &["--threads", "2"]),
    ("exe-3", true, &["--threads", "3"]),
];

/// Files by name, and their bytes.
type Files = Vec<(String, Vec<u8>)>;

/// Every file of `dir` (the outputs of `--out`), by name.
fn outputs(dir: &Path) -> Result<Files, String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        v.push((name, std::fs::read(&p).map_err(|e| e.to_string())?));
    }
    v.sort();
    Ok(v)
}

/// Runs a case folder under every variant; Err names the first that differs.
fn case_agrees(c: &Path) -> Result<usize, String> {
    let meta = case_meta(c)?;
    if meta["kind"].as_str().unwrap_or("run") != "run" {
        return Ok(0);
    }
    let prog = case_program(c, &meta);
    let exe = built(&prog)?;
    let mut first: Option<(&str, Files)> = None;
    for (tag, is_exe, flags) in VARIANTS {
        let tmp = case_tmp(c, tag)?;
        let runner = if is_exe {
            Runner::Exe(&exe)
        } else {
            Runner::Weft
        };
        let out = tmp.join("out");
        let r = case_command(c, &meta, &prog, &tmp, runner)?
            .arg("--out")
            .arg(&out)
            .args(flags)
            .output()
            .map_err(|e| e.to_string())?;
        if !r.status.success() {
            return Err(format!(
                "{tag}: exit {:?}: {}",
                r.status.code(),
                String::from_utf8_lossy(&r.stderr)
            ));
        }
        let got = outputs(&out)?;
        let _ = std::fs::remove_dir_all(&tmp);
        match &first {
            None => first = Some((tag, got)),
            Some((t0, want)) => {
                if want.iter().map(|w| &w.0).ne(got.iter().map(|g| &g.0)) {
                    return Err(format!("{tag} wrote other files than {t0}"));
                }
                for ((name, w), (_, g)) in want.iter().zip(&got) {
                    if w != g {
                        return Err(format!("{name}: {tag} differs from {t0}"));
                    }
                }
            }
        }
    }
    Ok(1)
}

#[test]
fn engines_and_threads_agree_bit_for_bit() {
    assert!(
        have_cc(),
        "bitwise determinism needs a C compiler (cc) to build executables"
    );
    let mut cases = all_run_case_dirs();
    cases.push(root().join("tests/determinism/large"));
    let mut fails = Vec::new();
    let mut compared = 0;
    for c in &cases {
        match case_agrees(c) {
            Ok(n) => compared += n,
            Err(e) => fails.push(format!("{}: {e}", c.display())),
        }
    }
    built_done();
    assert!(compared > 60, "only {compared} cases compared");
    report("bitwise determinism", fails, cases.len());
}
