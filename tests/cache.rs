//! `weft run --cache DIR` (language.md §14): the same bytes with and
//! without the cache; a second run loads what depends only on inputs and
//! consts; an edited last line, a changed input or a changed upstream
//! expression recomputes what it must; damaged entries are recomputed; the
//! size limit evicts the least recently used entries.

use super::*;

const PIPELINE: &str = "\
dim N
input x: f32[N, 32]
param w: f32[32] = ones()
let proj = uniform((32, 32), -0.2, 0.2, seed=3)
let feats = tanh(tanh(x @ proj) @ proj)
let pred = feats @ w
update w = w - 0.01 * mean(feats * reshape(pred, (N, 1)), axis=0)
output loss = mean(pred * pred)
";

struct Run {
    status: Option<i32>,
    stderr: String,
    out: Vec<(String, Vec<u8>)>,
}

fn run(dir: &Path, prog: &str, x: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let file = dir.join(format!("p{}.weft", blake_name(prog)));
    std::fs::write(&file, prog).expect("write program");
    let out = dir.join(format!("out-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let mut cmd = Command::new(weft());
    cmd.arg("run")
        .arg(&file)
        .arg("--input")
        .arg(format!("x={}", x.display()))
        .args(["--steps", "3", "--stats", "--out"])
        .arg(&out)
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = cmd.output().expect("weft runs");
    let mut files = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&out) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            files.push((name, std::fs::read(e.path()).expect("read output")));
        }
    }
    files.sort();
    Run {
        status: r.status.code(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        out: files,
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);
use std::sync::atomic::{AtomicUsize, Ordering};

/// A file name for a program text (distinct texts, distinct names).
fn blake_name(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The counts of `--stats`' cache line: (loaded, computed, damaged).
fn counts(r: &Run) -> (usize, usize, usize) {
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("cache "))
        .unwrap_or_else(|| panic!("no cache line in:\n{}", r.stderr));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    let n = nums.len();
    assert!(n >= 3, "{line}");
    (nums[n - 3], nums[n - 2], nums[n - 1])
}

fn write_x(path: &Path, seed: u32) {
    let data: Vec<f32> = (0..64 * 32)
        .map(|i| {
            ((i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(0x9E37_79B9))
                >> 8) as f32
                / 16_777_216.0
                - 0.5
        })
        .collect();
    let arr = NpyArray::new(vec![64, 32], Data::F32(data)).expect("array");
    weft_runtime::npy::write_npy_file(path, &arr).expect("write x");
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "npy"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn cache_gives_the_same_bytes_and_recomputes_what_changed() {
    let dir = std::env::temp_dir().join(format!("weft-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cache = dir.join("cache");
    let c = ["--cache", cache.to_str().expect("utf-8 path")];
    let x = dir.join("x.npy");
    write_x(&x, 1);

    let plain = run(&dir, PIPELINE, &x, &[], &[]);
    assert_eq!(plain.status, Some(0), "{}", plain.stderr);
    let first = run(&dir, PIPELINE, &x, &c, &[]);
    assert_eq!(first.status, Some(0), "{}", first.stderr);
    assert_eq!(first.out, plain.out, "the cache changed the results");
    let (loaded, computed, _) = counts(&first);
    assert_eq!(loaded, 0);
    assert!(computed >= 1);
    let second = run(&dir, PIPELINE, &x, &c, &[]);
    assert_eq!(second.out, plain.out);
    assert_eq!(counts(&second), (computed, 0, 0), "everything loaded");

    // Editing the last line keeps what it reads.
    let edited = PIPELINE.replace("output loss = mean(pred * pred)", "output loss = max(pred)");
    let e_plain = run(&dir, &edited, &x, &[], &[]);
    let e_cached = run(&dir, &edited, &x, &c, &[]);
    assert_eq!(e_cached.out, e_plain.out);
    assert!(counts(&e_cached).0 >= 1, "{}", e_cached.stderr);

    // A changed upstream expression, and a changed input, recompute.
    let upstream = PIPELINE.replace(
        "tanh(tanh(x @ proj) @ proj)",
        "tanh(tanh(x @ proj) @ proj) * 0.5",
    );
    let u = run(&dir, &upstream, &x, &c, &[]);
    assert_eq!(u.out, run(&dir, &upstream, &x, &[], &[]).out);
    assert_eq!(counts(&u).0, 0, "{}", u.stderr);
    let x2 = dir.join("x2.npy");
    write_x(&x2, 2);
    let changed = run(&dir, PIPELINE, &x2, &c, &[]);
    assert_eq!(changed.out, run(&dir, PIPELINE, &x2, &[], &[]).out);
    assert_eq!(counts(&changed).0, 0, "{}", changed.stderr);
    assert_ne!(changed.out, plain.out);

    // Damaged entries: truncated, and a flipped element.
    let all = entries(&cache);
    assert!(all.len() >= 2);
    for (i, p) in all.iter().enumerate() {
        let mut b = std::fs::read(p).expect("entry");
        if i % 2 == 0 {
            b.truncate(b.len() / 2);
        } else {
            let last = b.len() - 1;
            b[last] ^= 0x40;
        }
        std::fs::write(p, b).expect("damage");
    }
    let healed = run(&dir, PIPELINE, &x, &c, &[]);
    assert_eq!(healed.status, Some(0), "{}", healed.stderr);
    assert_eq!(healed.out, plain.out);
    let (_, computed, damaged) = counts(&healed);
    assert!(damaged >= 1 && computed >= damaged, "{}", healed.stderr);
    assert_eq!(counts(&run(&dir, PIPELINE, &x, &c, &[])).2, 0);

    // The size limit: only this run's entries stay.
    let small = run(&dir, &edited, &x2, &c, &[("WEFT_CACHE_MAX_BYTES", "1")]);
    assert_eq!(small.out, run(&dir, &edited, &x2, &[], &[]).out);
    let (l, comp, _) = counts(&small);
    assert_eq!(
        entries(&cache).len(),
        l + comp,
        "least recently used entries evicted"
    );

    // The reference engine does not cache.
    let r = run(
        &dir,
        PIPELINE,
        &x,
        &[&c[..], &["--engine", "reference"]].concat(),
        &[],
    );
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
