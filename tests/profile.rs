//! Profiles (language.md §14): `--profile FILE` writes a Chrome trace whose
//! complete events name the source `let`s and lines each kernel computes,
//! from `weft run` and from a built executable; `--stats` names them too.

use super::*;

fn mlp_args() -> Vec<String> {
    let data = root().join("examples/data");
    vec![
        "--input".into(),
        format!("x={}", data.join("blobs_x.npy").display()),
        "--input".into(),
        format!("y={}", data.join("blobs_y.npy").display()),
        "--steps".into(),
        "5".into(),
    ]
}

/// Reads a trace and checks it is what Perfetto opens: an object with
/// `traceEvents`, each complete event with name, ts, dur (µs), pid, tid.
/// Returns the complete events.
fn complete_events(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("the trace is written");
    let t: serde_json::Value = serde_json::from_str(&text).expect("the trace is JSON");
    let events = t["traceEvents"].as_array().expect("traceEvents is a list");
    let mut xs = Vec::new();
    for e in events {
        match e["ph"].as_str() {
            Some("X") => {
                assert!(e["name"].is_string(), "{e}");
                assert!(e["ts"].as_f64().is_some_and(|v| v >= 0.0), "{e}");
                assert!(e["dur"].as_f64().is_some_and(|v| v >= 0.0), "{e}");
                assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
                xs.push(e.clone());
            }
            Some("M") => assert!(e["args"]["name"].is_string(), "{e}"),
            other => panic!("unexpected event phase {other:?}: {e}"),
        }
    }
    xs
}

/// The kernel events' `lets`, all of them.
fn named_lets(xs: &[serde_json::Value]) -> Vec<String> {
    let mut lets: Vec<String> = xs
        .iter()
        .filter(|e| e["cat"] == "kernel")
        .flat_map(|e| {
            e["args"]["lets"]
                .as_array()
                .expect("a kernel event lists its lets")
                .iter()
                .filter_map(|l| l.as_str().map(String::from))
                .collect::<Vec<_>>()
        })
        .collect();
    lets.sort();
    lets.dedup();
    lets
}

fn check_mlp_trace(path: &Path, kernels_per_step: Option<usize>) {
    let xs = complete_events(path);
    let kernel: Vec<_> = xs.iter().filter(|e| e["cat"] == "kernel").collect();
    assert!(!kernel.is_empty(), "no kernel events");
    if let Some(k) = kernels_per_step {
        assert_eq!(kernel.len(), 5 * k, "one event per kernel call");
    }
    for e in &kernel {
        let name = e["name"].as_str().unwrap_or_default();
        assert!(name.starts_with('k'), "{e}");
        assert!(e["args"]["kernel"].is_u64(), "{e}");
        assert!(e["args"]["lines"].is_array(), "{e}");
    }
    let lets = named_lets(&xs);
    for want in ["h", "logits", "loss", "d_loss/d_w1"] {
        assert!(lets.iter().any(|l| l == want), "{want} not in {lets:?}");
    }
    // The source lines of examples/mlp.weft: `dense`'s body and the lets.
    let lines: Vec<&str> = kernel
        .iter()
        .flat_map(|e| e["args"]["lines"].as_array().into_iter().flatten())
        .filter_map(|l| l.as_str())
        .collect();
    for want in ["16", "19", "21"] {
        assert!(lines.contains(&want), "line {want} not in {lines:?}");
    }
}

#[test]
fn profile_names_source_lets_in_weft_run_and_executables() {
    let dir = std::env::temp_dir().join(format!("weft-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let prog = root().join("examples/mlp.weft");

    // weft run, every kernel compiled up front: one event per call, and
    // compile events on their own lane.
    let trace = dir.join("run.json");
    let out = Command::new(weft())
        .arg("run")
        .arg(&prog)
        .args(mlp_args())
        .args(["--jit", "always", "--stats", "--profile"])
        .arg(&trace)
        .output()
        .expect("weft runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("source (lets and lines)"), "{stderr}");
    assert!(stderr.contains("h (16"), "{stderr}");
    check_mlp_trace(&trace, None);
    let xs = complete_events(&trace);
    assert!(
        xs.iter().any(|e| e["cat"] == "compile"),
        "no JIT compile events"
    );
    // `weft graph --profile` puts the time on the lets, the gradients and
    // the updates as the program names them.
    let dot = Command::new(weft())
        .arg("graph")
        .arg(&prog)
        .arg("--profile")
        .arg(&trace)
        .output()
        .expect("weft graph runs");
    assert!(
        dot.status.success(),
        "{}",
        String::from_utf8_lossy(&dot.stderr)
    );
    let dot = String::from_utf8_lossy(&dot.stdout);
    for name in ["h\\n", "gw1\\n", "update w1\\n"] {
        let label = dot
            .lines()
            .find(|l| l.contains(&format!("label=\"{name}")))
            .unwrap_or_else(|| panic!("no vertex {name} in:\n{dot}"));
        assert!(label.contains(" ms ("), "{name} has no time: {label}");
    }

    // The built executable: --stats and --profile too.
    assert!(
        have_cc(),
        "the executable's profile needs a C compiler (cc)"
    );
    let exe = dir.join("mlp");
    let b = Command::new(weft())
        .arg("build")
        .arg(&prog)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("weft build runs");
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let trace = dir.join("exe.json");
    let out = Command::new(&exe)
        .args(mlp_args())
        .args(["--stats", "--profile"])
        .arg(&trace)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("the executable runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("source (lets and lines)"), "{stderr}");
    assert!(stderr.contains("total time in kernels"), "{stderr}");
    check_mlp_trace(&trace, None);

    // Without --profile or --stats, the executable records nothing.
    let out = Command::new(&exe)
        .args(mlp_args())
        .arg("--out")
        .arg(dir.join("out2"))
        .output()
        .expect("the executable runs");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The reference interpreter is not what a profile measures.
    let out = Command::new(weft())
        .arg("run")
        .arg(&prog)
        .args(mlp_args())
        .args(["--engine", "reference", "--profile"])
        .arg(dir.join("ref.json"))
        .output()
        .expect("weft runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kernels split across threads show their parts on the workers' lanes
/// (over ten steps: on a loaded machine a worker may wake too late to take
/// the part of some kernel, which the calling thread then runs itself).
#[test]
fn profile_shows_parallel_parts_on_thread_lanes() {
    let dir = std::env::temp_dir().join(format!("weft-profile-par-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("large.json");
    let out = Command::new(weft())
        .arg("run")
        .arg(root().join("tests/determinism/large/prog.weft"))
        .args([
            "--steps",
            "10",
            "--threads",
            "2",
            "--jit",
            "always",
            "--out",
        ])
        .arg(dir.join("out"))
        .arg("--profile")
        .arg(&trace)
        .output()
        .expect("weft runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xs = complete_events(&trace);
    let parts: Vec<_> = xs.iter().filter(|e| e["cat"] == "part").collect();
    assert!(!parts.is_empty(), "no parallel parts recorded");
    let mut lanes: Vec<u64> = parts.iter().filter_map(|e| e["tid"].as_u64()).collect();
    lanes.sort_unstable();
    lanes.dedup();
    assert!(lanes.len() >= 2, "parts on one lane only: {lanes:?}");
    for p in &parts {
        assert!(p["args"]["lets"].is_array(), "{p}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
