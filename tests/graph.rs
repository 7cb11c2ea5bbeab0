//! `weft graph` (contract section 14) beyond the CLI snapshots
//! (`tests/cli/cases.txt`, `graph_*`): SVG through Graphviz's `dot` when it
//! is installed and the clear error when it is not (both checked on every
//! machine: the second with an empty PATH), `-o FILE`, and every example
//! drawn as DOT that `dot` accepts.

use std::path::Path;
use std::process::{Command, Output};

use super::{root, weft};

fn have_dot() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn graph(args: &[&str], path: Option<&Path>) -> Output {
    let mut cmd = Command::new(weft());
    cmd.arg("graph").args(args).current_dir(root());
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output().expect("run weft graph")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_dot_error(out: &Output) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("needs Graphviz's `dot`")
            && err.contains("install graphviz")
            && err.contains("--format dot"),
        "{err}"
    );
}

#[test]
fn graph_svg() {
    let args = ["examples/mlp.weft", "--format", "svg"];
    let out = graph(&args, None);
    if have_dot() {
        assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
        let svg = text(&out.stdout);
        assert!(svg.contains("<svg"), "{svg}");
        // The clusters of the two calls of `dense`, and a gradient.
        assert!(svg.contains("dense (line 19)") && svg.contains("dense (line 20)"));
        assert!(svg.contains("gw1"));
    } else {
        assert_no_dot_error(&out);
    }
    // Without Graphviz on the PATH, whatever this machine has.
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("weft-graph-empty-path");
    std::fs::create_dir_all(&empty).expect("an empty directory");
    assert_no_dot_error(&graph(&args, Some(&empty)));
    // DOT needs no Graphviz.
    let out = graph(&["examples/mlp.weft"], Some(&empty));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("digraph weft {"));
}

#[test]
fn graph_output_file() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("weft-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let file = dir.join("calls.dot");
    let path = file.to_string_lossy().into_owned();
    let out = graph(&["tests/graph/calls.weft", "-o", &path], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&file).expect("the graph file");
    let shown = graph(&["tests/graph/calls.weft"], None);
    assert_eq!(written, text(&shown.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every example is drawn, as DOT that Graphviz accepts when it is here.
#[test]
fn graph_every_example() {
    let dot = have_dot();
    let mut failed = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "weft"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty());
    for p in entries {
        let file = p.to_string_lossy().into_owned();
        let format = if dot { "svg" } else { "dot" };
        let out = graph(&[&file, "--format", format], None);
        let ok = out.status.code() == Some(0)
            && (text(&out.stdout).starts_with("digraph weft {")
                || text(&out.stdout).contains("<svg"))
            && out.stderr.is_empty();
        if !ok {
            failed.push(format!(
                "{file}: {:?}: {}",
                out.status.code(),
                text(&out.stderr)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
