//! Provenance (contract section 14): what `weft run --manifest FILE`
//! records ([`record_run`]; built executables record through the runtime's
//! driver), and `weft verify FILE`, which checks a record against the
//! files it names and re-runs it ([`verify`]). The format and the Merkle
//! root are `weft_runtime::manifest`'s, documented in docs/provenance.md.
//!
//! `weft verify` exits 0 when every output of the re-run has its recorded
//! hash; 2 when the manifest cannot be read; 3 when it is malformed, when an
//! input, `--param` file, the program or a sibling module no longer hashes
//! as recorded, or when the re-run starts from other params; 4 when an
//! output differs (each one named with its two hashes). A re-run that fails
//! passes its message and exit status on.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use serde_json::Value;
use weft_compiler::front::source::SourceMap;
use weft_compiler::ir::graph::Graph;
use weft_runtime::manifest::{
    self, hex, parse_hex, Digest, Entry, Manifest, Partial, ProgramKind, ProgramRef, Resumed,
};
use weft_runtime::{DType, InputArg, NpyArray, RunArgs, RunError};

use crate::common::{EXIT_DATA, EXIT_ICE, EXIT_USAGE};

/// An output differs from the manifest.
const EXIT_MISMATCH: u8 = 4;

// ---- what `weft run --manifest` records -------------------------------------

/// Writes the record of a `weft run` whose outputs are delivered to
/// `--manifest`'s file. `args` are the run's arguments without the program
/// file; `finished` is the kernel engine's run (None for the reference
/// engine, whose inputs and params are bound again here to be hashed).
pub fn record_run(
    file: &Path,
    args: &[String],
    map: &SourceMap,
    graph: &Graph,
    flags: &RunArgs,
    finished: Option<&mut weft_runtime::driver::Finished>,
    outputs: &[(String, NpyArray)],
) -> Result<(), RunError> {
    let Some(path) = &flags.manifest else {
        return Ok(());
    };
    let partial = match finished {
        Some(f) => match f.record.take() {
            Some(p) => p,
            // A resumed run that was already complete delivers nothing and
            // records nothing.
            None => return Ok(()),
        },
        None => reference_partial(graph, flags)?,
    };
    manifest::write_run(
        path,
        source_program(file, map),
        args.to_vec(),
        partial,
        outputs,
    )
}

/// The program file and the sibling modules it loaded, hashed from the
/// text the compiler read.
fn source_program(file: &Path, map: &SourceMap) -> ProgramRef {
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| manifest::absolute(file));
    let mut modules = Vec::new();
    let mut i = 1;
    while let Ok(f) = map.files.get(i) {
        i += 1;
        if f.name().starts_with("<stdlib>/") {
            continue; // part of weft, whose version is recorded
        }
        let name = Path::new(f.name())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.name().clone());
        modules.push((name, manifest::hash_bytes(f.source().as_bytes())));
    }
    let main = map.files.get(0).map(|f| f.source().as_str()).unwrap_or("");
    ProgramRef {
        kind: ProgramKind::Source,
        path: path.display().to_string(),
        blake3: manifest::hash_bytes(main.as_bytes()),
        modules,
    }
}

/// The reference engine binds inside the interpreter: the inputs and the
/// initial params, bound again by the same runtime code, hashed.
fn reference_partial(graph: &Graph, flags: &RunArgs) -> Result<Partial, RunError> {
    let desc = weft_compiler::interp::bind::describe(graph)?;
    let bound = weft_runtime::bind::bind(&desc, &flags.inputs, &flags.params, true)?;
    let params = desc
        .params
        .iter()
        .zip(&bound.params)
        .map(|(p, a)| Entry::of(&p.decl.name, a))
        .collect();
    Ok(Partial {
        inputs: manifest::input_entries(desc.inputs.iter().map(|d| d.name.as_str()), &bound.inputs),
        params,
        resumed: None,
    })
}

// ---- weft verify ------------------------------------------------------------

/// A failure: its message (without `error: `) and exit status.
struct Fail(u8, String);

fn malformed(file: &Path, what: impl std::fmt::Display) -> Fail {
    Fail(
        EXIT_DATA,
        format!("{} is not a weft manifest: {what}", file.display()),
    )
}

/// `weft verify FILE`.
pub fn verify(file: &Path) -> ExitCode {
    let scratch = std::env::temp_dir().join(format!(
        "weft-verify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let result = verify_in(file, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(Fail(code, msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}

fn verify_in(file: &Path, scratch: &Path) -> Result<String, Fail> {
    let text = std::fs::read(file).map_err(|e| {
        Fail(
            EXIT_USAGE,
            format!("cannot read manifest {}: {e}", file.display()),
        )
    })?;
    let recorded = parse(file, &text)?;
    let m = &recorded.manifest;
    if m.weft != manifest::VERSION {
        eprintln!(
            "warning: the run was recorded by weft {}; this is weft {}",
            m.weft,
            manifest::VERSION
        );
    }
    let cwd = PathBuf::from(&m.cwd);
    if !cwd.is_dir() {
        return Err(Fail(
            EXIT_DATA,
            format!(
                "the run's working directory {} is gone: its relative paths cannot be found",
                cwd.display()
            ),
        ));
    }
    let spec = match m.program.kind {
        ProgramKind::Source => super::RUN_SPEC,
        ProgramKind::Executable => weft_runtime::driver::SPEC,
    };
    let flags = weft_runtime::parse_run_flags(&m.flags, &spec)
        .map_err(|e| malformed(file, format!("its flags do not parse: {e}")))?;
    check_files(m, &flags, &cwd)?;
    check_program(&m.program)?;
    if let Some(r) = &m.resumed {
        if !Path::new(&r.checkpoint).is_file() {
            return Err(Fail(
                EXIT_DATA,
                format!(
                    "the run resumed from checkpoint {} (step {}), which is gone",
                    r.checkpoint, r.step
                ),
            ));
        }
    }
    std::fs::create_dir_all(scratch).map_err(|e| {
        Fail(
            EXIT_DATA,
            format!("cannot create a directory for the re-run: {e}"),
        )
    })?;
    let out_dir = scratch.join("out");
    let fresh_path = scratch.join("manifest.json");
    rerun(m, &cwd, &out_dir, &fresh_path)?;
    let fresh_text = std::fs::read(&fresh_path)
        .map_err(|e| Fail(EXIT_ICE, format!("the re-run wrote no manifest ({e})")))?;
    let fresh = parse(&fresh_path, &fresh_text)?.manifest;
    // The re-run started from the recorded inputs and params?
    for (section, what, was, now) in [
        ("inputs", "input", &m.inputs, &fresh.inputs),
        ("params", "param", &m.params, &fresh.params),
    ] {
        if let Some(msg) = differences(what, was, now).into_iter().next() {
            let hint = if section == "params" {
                " (a --param file or the checkpoint it resumed from changed?)"
            } else {
                ""
            };
            return Err(Fail(
                EXIT_DATA,
                format!("the re-run does not start from the recorded {section}: {msg}{hint}"),
            ));
        }
    }
    // The outputs, hashed from the files the re-run wrote.
    let outputs = read_outputs(&out_dir)?;
    let diffs = differences("output", &m.outputs, &outputs);
    if !diffs.is_empty() {
        for d in &diffs[..diffs.len() - 1] {
            eprintln!("error: {d}");
        }
        return Err(Fail(EXIT_MISMATCH, diffs[diffs.len() - 1].clone()));
    }
    let root = m.root();
    if root != recorded.root {
        return Err(malformed(
            file,
            format!(
                "its root {} is not the root of its entries ({}): the record was edited",
                hex(&recorded.root),
                hex(&root)
            ),
        ));
    }
    let n = m.outputs.len();
    Ok(format!(
        "verified: {n} output{} match (root {})",
        if n == 1 { "" } else { "s" },
        hex(&root)
    ))
}

/// The inputs and `--param` files named in the flags still hash as
/// recorded (a `--param` file only when the run did not resume: then the
/// checkpoint gave the params).
fn check_files(m: &Manifest, flags: &RunArgs, cwd: &Path) -> Result<(), Fail> {
    let files = flags
        .inputs
        .iter()
        .filter_map(|(n, v)| match v {
            InputArg::File(p) => Some(("input", n, p, &m.inputs)),
            InputArg::Scalar(_) => None,
        })
        .chain(
            flags
                .params
                .iter()
                .filter(|_| m.resumed.is_none())
                .map(|(n, p)| ("param", n, p, &m.params)),
        );
    for (what, name, shown, recorded) in files {
        let Some(want) = recorded.iter().find(|e| &e.name == name) else {
            return Err(Fail(
                EXIT_DATA,
                format!("{what} {name} is in the run's flags but not in the manifest"),
            ));
        };
        let path = cwd.join(shown);
        let arr = weft_runtime::read_npy_file(&path)
            .map_err(|e| Fail(EXIT_DATA, format!("{what} {name}: {e}")))?;
        let now = Entry::of(name, &arr);
        if let Some(why) = mismatch(want, &now) {
            return Err(Fail(
                EXIT_DATA,
                format!(
                    "{what} {name}: {} no longer matches the manifest ({why})",
                    shown.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The program (and its sibling modules) still hash as recorded.
fn check_program(p: &ProgramRef) -> Result<(), Fail> {
    let path = PathBuf::from(&p.path);
    let what = match p.kind {
        ProgramKind::Source => "program",
        ProgramKind::Executable => "executable",
    };
    let mut files = vec![(what.to_string(), path.clone(), p.blake3)];
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (name, d) in &p.modules {
        files.push(("module".to_string(), dir.join(name), *d));
    }
    for (what, path, want) in files {
        let now = manifest::hash_file(&path).map_err(|e| {
            Fail(
                EXIT_DATA,
                format!("{what} {}: cannot read it: {e}", path.display()),
            )
        })?;
        if now != want {
            return Err(Fail(
                EXIT_DATA,
                format!(
                    "{what} {} no longer matches the manifest (blake3 {} now, {} in the manifest)",
                    path.display(),
                    hex(&now),
                    hex(&want)
                ),
            ));
        }
    }
    Ok(())
}

/// Flags the re-run leaves out: where the run wrote things (`--out` and
/// `--manifest` are redirected), what only logs or measures, and
/// `--resume` (given again as the checkpoint the run resumed from, if
/// any). `--cache` (`weft run`) too: the re-run computes every value
/// itself and writes nothing into the run's cache. Each takes a value but
/// `--stats`.
const DROPPED: [&str; 11] = [
    "--out",
    "--manifest",
    "--log",
    "--log-every",
    "--log-file",
    "--checkpoint",
    "--checkpoint-every",
    "--keep",
    "--resume",
    "--profile",
    "--cache",
];

/// The recorded flags without [`DROPPED`] and `--stats`.
fn rerun_flags(flags: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        let a = &flags[i];
        let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
        if a == "--stats" {
            i += 1;
        } else if DROPPED.contains(&name) {
            i += if a.contains('=') { 1 } else { 2 };
        } else {
            kept.push(a.clone());
            i += 1;
        }
    }
    kept
}

/// Runs the recorded run again in its working directory, its outputs and
/// its record going to `out_dir` and `fresh`.
fn rerun(m: &Manifest, cwd: &Path, out_dir: &Path, fresh: &Path) -> Result<(), Fail> {
    let mut cmd = match m.program.kind {
        ProgramKind::Source => {
            let weft = std::env::current_exe()
                .map_err(|e| Fail(EXIT_USAGE, format!("cannot tell where weft is: {e}")))?;
            let mut c = Command::new(weft);
            c.arg("run").arg(&m.program.path);
            c
        }
        ProgramKind::Executable => Command::new(&m.program.path),
    };
    cmd.args(rerun_flags(&m.flags));
    if let Some(Resumed { checkpoint, .. }) = &m.resumed {
        cmd.arg("--resume").arg(checkpoint);
    }
    cmd.arg("--out").arg(out_dir).arg("--manifest").arg(fresh);
    cmd.current_dir(cwd);
    let shown = m.program.path.clone();
    let out = cmd
        .output()
        .map_err(|e| Fail(EXIT_USAGE, format!("cannot re-run {shown}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let said = if out.stderr.is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    eprint!("{}", String::from_utf8_lossy(said));
    let code = out
        .status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(EXIT_ICE);
    Err(Fail(
        code,
        format!(
            "the re-run of {shown} failed ({})",
            match out.status.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            }
        ),
    ))
}

/// The `.npy` files of a directory as entries (sorted by name).
fn read_outputs(dir: &Path) -> Result<Vec<Entry>, Fail> {
    let mut entries = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        // A program without outputs writes no directory.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => {
            return Err(Fail(
                EXIT_DATA,
                format!("cannot read the re-run's outputs: {e}"),
            ))
        }
    };
    for e in rd.filter_map(|e| e.ok()) {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".npy") else {
            continue;
        };
        if weft_runtime::atomic::is_temporary(&file) {
            continue;
        }
        let arr = weft_runtime::read_npy_file(&e.path()).map_err(|err| {
            Fail(
                EXIT_DATA,
                format!("cannot read the re-run's output {name}: {err}"),
            )
        })?;
        entries.push(Entry::of(name, &arr));
    }
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(entries)
}

/// Why `now` is not `want` (dtype, shape or hash), if it is not.
fn mismatch(want: &Entry, now: &Entry) -> Option<String> {
    let ty = |e: &Entry| weft_runtime::bind::concrete_text(e.dtype, &e.shape);
    if now.dtype != want.dtype || now.shape != want.shape {
        Some(format!("{} now, {} in the manifest", ty(now), ty(want)))
    } else if now.blake3 != want.blake3 {
        Some(format!(
            "blake3 {} now, {} in the manifest",
            hex(&now.blake3),
            hex(&want.blake3)
        ))
    } else {
        None
    }
}

/// Every difference between recorded entries and fresh ones, by name.
fn differences(what: &str, was: &[Entry], now: &[Entry]) -> Vec<String> {
    let mut out = Vec::new();
    for w in was {
        match now.iter().find(|n| n.name == w.name) {
            None => out.push(format!("{what} {}: the re-run has no such {what}", w.name)),
            Some(n) => {
                if let Some(why) = mismatch(w, n) {
                    out.push(format!(
                        "{what} {} differs from the manifest ({why})",
                        w.name
                    ));
                }
            }
        }
    }
    for n in now {
        if !was.iter().any(|w| w.name == n.name) {
            out.push(format!(
                "{what} {}: the re-run has it, the manifest does not",
                n.name
            ));
        }
    }
    out
}

// ---- reading a manifest -----------------------------------------------------

/// A manifest as read: the record and the root it states.
struct Recorded {
    manifest: Manifest,
    root: Digest,
}

fn parse(file: &Path, bytes: &[u8]) -> Result<Recorded, Fail> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| malformed(file, e))?;
    let bad = |what: &str| malformed(file, what);
    let obj = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
    let field = |key: &str| obj.get(key).ok_or_else(|| bad(&format!("no `{key}`")));
    let string = |v: &Value, key: &str| -> Result<String, Fail> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("`{key}` is not a string")))
    };
    let digest = |v: &Value, key: &str| -> Result<Digest, Fail> {
        v.as_str()
            .and_then(parse_hex)
            .ok_or_else(|| bad(&format!("`{key}` is not a BLAKE3 hash (64 hex digits)")))
    };
    let program = field("program")?;
    let kind = program
        .get("kind")
        .and_then(Value::as_str)
        .and_then(ProgramKind::from_name)
        .ok_or_else(|| bad("`program.kind` is neither \"source\" nor \"executable\""))?;
    let mut modules = Vec::new();
    if let Some(ms) = program.get("modules") {
        let ms = ms
            .as_object()
            .ok_or_else(|| bad("`program.modules` is not an object"))?;
        for (name, d) in ms {
            if name.contains('/') || name.is_empty() || name == ".." {
                return Err(bad(&format!("module name `{name}` is not a file name")));
            }
            modules.push((name.clone(), digest(d, "program.modules")?));
        }
    }
    let program = ProgramRef {
        kind,
        path: string(program.get("path").unwrap_or(&Value::Null), "program.path")?,
        blake3: digest(
            program.get("blake3").unwrap_or(&Value::Null),
            "program.blake3",
        )?,
        modules,
    };
    let flags = field("flags")?
        .as_array()
        .ok_or_else(|| bad("`flags` is not a list"))?
        .iter()
        .map(|f| string(f, "flags"))
        .collect::<Result<Vec<_>, _>>()?;
    let resumed = match obj.get("resumed") {
        None | Some(Value::Null) => None,
        Some(r) => Some(Resumed {
            checkpoint: string(
                r.get("checkpoint").unwrap_or(&Value::Null),
                "resumed.checkpoint",
            )?,
            step: r
                .get("step")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("`resumed.step` is not a step count"))?,
        }),
    };
    let mut sections = Vec::new();
    for section in manifest::SECTIONS {
        let entries = field(section)?
            .as_object()
            .ok_or_else(|| bad(&format!("`{section}` is not an object")))?;
        let mut out = Vec::new();
        for (name, e) in entries {
            let at = format!("{section}.{name}");
            let dtype = e
                .get("dtype")
                .and_then(Value::as_str)
                .and_then(|d| DType::ALL.into_iter().find(|t| t.name() == d))
                .ok_or_else(|| bad(&format!("`{at}.dtype` is not a weft dtype")))?;
            let shape = e
                .get("shape")
                .and_then(Value::as_array)
                .and_then(|s| {
                    s.iter()
                        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                        .collect::<Option<Vec<usize>>>()
                })
                .ok_or_else(|| bad(&format!("`{at}.shape` is not a list of lengths")))?;
            let blake3 = digest(
                e.get("blake3").unwrap_or(&Value::Null),
                &format!("{at}.blake3"),
            )?;
            out.push(Entry {
                name: name.clone(),
                dtype,
                shape,
                blake3,
            });
        }
        sections.push(out);
    }
    let outputs = sections.pop().unwrap_or_default();
    let params = sections.pop().unwrap_or_default();
    let inputs = sections.pop().unwrap_or_default();
    let mut manifest = Manifest {
        weft: string(field("weft")?, "weft")?,
        program,
        cwd: string(field("cwd")?, "cwd")?,
        flags,
        resumed,
        inputs,
        params,
        outputs,
    };
    manifest.sort();
    let root = digest(field("root")?, "root")?;
    Ok(Recorded { manifest, root })
}

#[cfg(test)]
mod tests {
    use super::rerun_flags;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_rerun_leaves_out_what_writes_logs_or_measures() {
        let given = strings(&[
            "--input",
            "x=x.npy",
            "--out",
            "o",
            "--manifest=m.json",
            "--stats",
            "--log",
            "loss",
            "--log-file=a=b.csv",
            "--checkpoint",
            "ck",
            "--checkpoint-every",
            "2",
            "--keep=1",
            "--resume",
            "ck",
            "--profile",
            "t.json",
            "--cache",
            "cachedir",
            "--input=y=y.npy",
            "--dump",
            "h",
            "--set",
            "lr=0.5",
            "--steps=3",
        ]);
        assert_eq!(
            rerun_flags(&given),
            strings(&[
                "--input",
                "x=x.npy",
                "--input=y=y.npy",
                "--dump",
                "h",
                "--set",
                "lr=0.5",
                "--steps=3"
            ])
        );
    }
}
