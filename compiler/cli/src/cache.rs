//! `weft run --cache DIR` (language.md §14), the file half: values that
//! depend only on inputs and constants (`weft_compiler::pipeline::cache`)
//! are kept in DIR, each as `KEY.npy` with `KEY.blake3` (the BLAKE3 of its
//! elements), KEY the BLAKE3 of weft's version, every input's name, dtype
//! and shape (the sizes the computation's types name), the computation's
//! canonical text and the bytes of the inputs it reads. A run computes the
//! values it does not find (one step of a program computing only them),
//! stores them, and runs the program with every cached value read as an
//! input. An entry that cannot be read, or whose elements do not hash to
//! its `.blake3`, is recomputed. Entries are touched when used; past the
//! size limit (`WEFT_CACHE_MAX_BYTES`, default 4 GiB) the least recently
//! used are removed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use weft_compiler::ir::graph::Graph;
use weft_compiler::kernel::Program;
use weft_compiler::pipeline::cache::{frontier, prefix, with_inputs};
use weft_runtime::flags::InputArg;
use weft_runtime::manifest::{hash_array, hash_bytes, hex};
use weft_runtime::npy::{read_npy_file, write_npy_file, NpyArray};
use weft_runtime::{RunArgs, RunError};

/// The default size limit of a cache directory.
const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// What a cached run did (for `--stats`).
#[derive(Debug, Default)]
pub struct Report {
    pub hits: usize,
    pub computed: usize,
    pub damaged: usize,
}

/// Runs one step of a program with the flags given: its outputs.
pub type Compute<'a> =
    dyn FnMut(Program, &RunArgs) -> Result<Vec<(String, NpyArray)>, RunError> + 'a;

/// The run's program with its cached values, and the flags that bind them:
/// what `weft run` then runs as usual. Values missing from the cache are
/// computed by `compute` (one step of the program it is given) and stored.
pub fn prepare(
    dir: &Path,
    graph: &Graph,
    flags: &RunArgs,
    compute: &mut Compute,
) -> Result<Option<(Program, RunArgs, Report)>, RunError> {
    let values = frontier(graph);
    if values.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::data(format!("--cache: cannot create {}: {e}", dir.display())))?;
    // Every input's dtype and shape, and the digest of each one's elements.
    let mut shapes = String::new();
    let mut digests: Vec<(String, String)> = Vec::new();
    for (name, arg) in &flags.inputs {
        let (shape, digest) = match arg {
            InputArg::File(path) => match read_npy_file(path) {
                Ok(a) => (
                    format!("{} {:?}", a.data.dtype().name(), a.shape),
                    hex(&hash_array(&a)),
                ),
                // The run itself reports an unreadable input.
                Err(_) => return Ok(None),
            },
            InputArg::Scalar(v) => (format!("scalar {v:?}"), format!("{v:?}")),
        };
        shapes.push_str(&format!("{name} {shape}\n"));
        digests.push((name.clone(), digest));
    }
    let mut report = Report::default();
    let names = unique_names(graph, values.len());
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut text = format!("weft {}\n{shapes}{}", env!("CARGO_PKG_VERSION"), v.text);
        for input in &v.inputs {
            let d = digests
                .iter()
                .find(|(n, _)| n == input)
                .map_or("missing", |(_, d)| d.as_str());
            text.push_str(&format!("{input} {d}\n"));
        }
        let key = hex(&hash_bytes(text.as_bytes()));
        let path = dir.join(format!("{key}.npy"));
        match load(&path) {
            Load::Hit => {
                report.hits += 1;
                touch(&path);
            }
            Load::Damaged => {
                report.damaged += 1;
                missing.push(i);
            }
            Load::Absent => missing.push(i),
        }
        entries.push(path);
    }
    if !missing.is_empty() {
        let nodes: Vec<_> = missing.iter().map(|&i| values[i].node).collect();
        let outs: Vec<String> = missing.iter().map(|&i| names[i].clone()).collect();
        let known: Vec<usize> = (0..values.len()).filter(|i| !missing.contains(i)).collect();
        let known_nodes: Vec<_> = known.iter().map(|&i| values[i].node).collect();
        let known_names: Vec<String> = known.iter().map(|&i| names[i].clone()).collect();
        let g = prefix(graph, (&known_nodes, &known_names), &nodes, &outs);
        let prog = weft_compiler::kernel::schedule(&g).map_err(internal)?;
        let mut once = quiet(flags);
        once.steps = 1;
        for &i in &known {
            once.inputs
                .push((names[i].clone(), InputArg::File(entries[i].clone())));
        }
        keep_declared(&mut once, &prog);
        let computed = compute(prog, &once)?;
        for (&i, name) in missing.iter().zip(&outs) {
            let arr = computed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a)
                .ok_or_else(|| internal(format!("the cached value {name} was not computed")))?;
            store(&entries[i], arr)?;
            report.computed += 1;
        }
    }
    evict(dir, &entries);
    let nodes: Vec<_> = values.iter().map(|v| v.node).collect();
    let main = with_inputs(graph, &nodes, &names);
    let prog = weft_compiler::kernel::schedule(&main).map_err(internal)?;
    let mut run = flags.clone();
    for (name, path) in names.iter().zip(&entries) {
        run.inputs
            .push((name.clone(), InputArg::File(path.clone())));
    }
    keep_declared(&mut run, &prog);
    Ok(Some((prog, run, report)))
}

fn internal(e: String) -> RunError {
    RunError {
        exit_code: weft_runtime::Exit::Internal.code(),
        message: format!("internal compiler error: --cache: {e}"),
    }
}

/// Input names for the cached values that no input of `g` has.
fn unique_names(g: &Graph, n: usize) -> Vec<String> {
    let mut prefix = "cached".to_string();
    while g.inputs.iter().any(|(name, _)| name.starts_with(&prefix)) {
        prefix.push('_');
    }
    (0..n).map(|i| format!("{prefix}_{i}")).collect()
}

/// `flags` without what only the user's run does: outputs, logs,
/// checkpoints, profiles, manifests.
fn quiet(flags: &RunArgs) -> RunArgs {
    let mut f = flags.clone();
    f.out = None;
    f.log.clear();
    f.log_file = None;
    f.checkpoint = None;
    f.resume = None;
    f.profile = None;
    f.stats = false;
    f.manifest = None;
    f.dump.clear();
    f
}

/// Drops `--input`s and `--param`s that `prog` does not declare (the
/// cached computation may have been their only reader).
fn keep_declared(flags: &mut RunArgs, prog: &Program) {
    flags
        .inputs
        .retain(|(n, _)| prog.inputs.iter().any(|(i, _)| i == n));
    flags
        .params
        .retain(|(n, _)| prog.params.iter().any(|p| &p.name == n));
}

enum Load {
    Hit,
    Damaged,
    Absent,
}

fn digest_path(path: &Path) -> PathBuf {
    path.with_extension("blake3")
}

/// Whether the entry at `path` is there and whole.
fn load(path: &Path) -> Load {
    if !path.exists() {
        return Load::Absent;
    }
    let Ok(arr) = read_npy_file(path) else {
        return Load::Damaged;
    };
    match std::fs::read_to_string(digest_path(path)) {
        Ok(d) if d.trim() == hex(&hash_array(&arr)) => Load::Hit,
        _ => Load::Damaged,
    }
}

/// Writes an entry: its digest first, then the array (each atomically), so
/// that an entry whose array is there is whole unless damaged later.
fn store(path: &Path, arr: &NpyArray) -> Result<(), RunError> {
    weft_runtime::atomic::write_atomic(&digest_path(path), hex(&hash_array(arr)).as_bytes())
        .and_then(|()| write_npy_file(path, arr).map_err(std::io::Error::other))
        .map_err(|e| RunError::data(format!("--cache: cannot write {}: {e}", path.display())))
}

/// Marks an entry used now (its modification time orders eviction).
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Removes the least recently used entries (not those of this run) until
/// the directory's `.npy` entries fit the size limit.
fn evict(dir: &Path, keep: &[PathBuf]) {
    let limit = std::env::var("WEFT_CACHE_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_BYTES);
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "npy"))
        .filter_map(|p| {
            let m = std::fs::metadata(&p).ok()?;
            Some((m.modified().ok()?, m.len(), p))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|(_, n, _)| n).sum();
    entries.sort();
    for (_, n, p) in entries {
        if total <= limit {
            break;
        }
        if keep.contains(&p) {
            continue;
        }
        if std::fs::remove_file(&p).is_ok() {
            let _ = std::fs::remove_file(digest_path(&p));
            total = total.saturating_sub(n);
        }
    }
}
