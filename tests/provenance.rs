//! Provenance (contract section 14) as a user meets it: `--manifest FILE`
//! records BLAKE3 hashes that match an independent BLAKE3 of the data and
//! a root that follows docs/provenance.md; `weft verify` accepts the
//! record of `weft run` (both engines), of a resumed run and of a built
//! executable, and refuses a changed input (exit 3) or a tampered output
//! hash (exit 4), naming it. `--dump NAME` writes a `let` bit for bit as
//! the same expression written as an `output` does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use weft_runtime::npy::{read_npy_file, write_npy_file, Data, NpyArray};

use super::{have_cc, root, weft};

fn scratch(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-prov-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch directory under target/tmp");
    d
}

fn program() -> PathBuf {
    root().join("tests/provenance/prog.weft")
}

/// Raw little-endian element bytes (what the manifest hashes), computed
/// here rather than by the runtime.
fn le_bytes(a: &NpyArray) -> Vec<u8> {
    match &a.data {
        Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        Data::U8(v) => v.clone(),
    }
}

fn b3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// x.npy (12×4 f32) and y.npy (12 i32) in `dir`; the values of x.
fn data(dir: &Path) -> Vec<f32> {
    let mut r = super::Rng(11);
    let x: Vec<f32> = (0..48)
        .map(|_| (r.next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let y: Vec<i32> = (0..12).map(|_| (r.next() % 3) as i32).collect();
    let xa = NpyArray::new(vec![12, 4], Data::F32(x.clone())).expect("x");
    let ya = NpyArray::new(vec![12], Data::I32(y)).expect("y");
    write_npy_file(&dir.join("x.npy"), &xa).expect("x.npy");
    write_npy_file(&dir.join("y.npy"), &ya).expect("y.npy");
    x
}

/// The run flags of the tests, with relative paths (run in `dir`).
const FLAGS: [&str; 8] = [
    "--input", "x=x.npy", "--input", "y=y.npy", "--input", "lr=0.5", "--steps", "4",
];

fn run_in(dir: &Path, exe: Option<&Path>, extra: &[&str]) -> Output {
    let mut args = FLAGS.to_vec();
    args.extend(extra);
    run_args(dir, exe, &args)
}

fn run_args(dir: &Path, exe: Option<&Path>, args: &[&str]) -> Output {
    let extra = args;
    let mut c = match exe {
        Some(e) => Command::new(e),
        None => {
            let mut c = Command::new(weft());
            c.arg("run").arg(program());
            c
        }
    };
    c.args(args).current_dir(dir);
    let out = c.output().expect("run");
    assert!(
        out.status.success(),
        "{extra:?}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `weft verify FILE`, from the repository root (not the run's directory).
fn verify(manifest: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(weft())
        .arg("verify")
        .arg(manifest)
        .current_dir(root())
        .output()
        .expect("weft verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the manifest");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn hash_of(m: &Value, section: &str, name: &str) -> String {
    m[section][name]["blake3"]
        .as_str()
        .unwrap_or_else(|| panic!("no {section}.{name}.blake3 in {m}"))
        .to_string()
}

/// The root as docs/provenance.md defines it, from the JSON alone.
fn root_by_the_docs(m: &Value) -> String {
    fn s(h: &mut blake3::Hasher, x: &str) {
        h.update(&(x.len() as u64).to_le_bytes());
        h.update(x.as_bytes());
    }
    fn d(h: &mut blake3::Hasher, hex: &str) {
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        h.update(&bytes);
    }
    let mut p = blake3::Hasher::new();
    s(&mut p, "weft-manifest-program-v1");
    s(&mut p, m["program"]["kind"].as_str().expect("kind"));
    d(
        &mut p,
        m["program"]["blake3"].as_str().expect("program hash"),
    );
    let modules = m["program"]["modules"].as_object().expect("modules");
    p.update(&(modules.len() as u64).to_le_bytes());
    let mut names: Vec<&String> = modules.keys().collect();
    names.sort();
    for n in names {
        s(&mut p, n);
        d(&mut p, modules[n].as_str().expect("module hash"));
    }
    let mut r = blake3::Hasher::new();
    s(&mut r, "weft-manifest-root-v1");
    r.update(p.finalize().as_bytes());
    let sections = ["inputs", "params", "outputs"];
    let count: usize = sections
        .iter()
        .map(|k| m[*k].as_object().map_or(0, |o| o.len()))
        .sum();
    r.update(&(count as u64).to_le_bytes());
    for section in sections {
        let entries = m[section].as_object().expect("a section");
        let mut names: Vec<&String> = entries.keys().collect();
        names.sort();
        for n in names {
            let e = &entries[n];
            let mut l = blake3::Hasher::new();
            s(&mut l, "weft-manifest-leaf-v1");
            s(&mut l, section);
            s(&mut l, n);
            s(&mut l, e["dtype"].as_str().expect("dtype"));
            let shape = e["shape"].as_array().expect("shape");
            l.update(&(shape.len() as u64).to_le_bytes());
            for dim in shape {
                l.update(&dim.as_u64().expect("a length").to_le_bytes());
            }
            d(&mut l, e["blake3"].as_str().expect("hash"));
            r.update(l.finalize().as_bytes());
        }
    }
    r.finalize().to_hex().to_string()
}

#[test]
fn manifest_hashes_root_and_verify() {
    let dir = scratch("run");
    let x = data(&dir);
    run_in(&dir, None, &["--out", "out", "--manifest", "m.json"]);
    let mpath = dir.join("m.json");
    let m = read_json(&mpath);
    // Recorded as given, with the working directory.
    assert_eq!(m["weft"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["program"]["kind"], "source");
    let prog = std::fs::canonicalize(program()).expect("the program");
    assert_eq!(m["program"]["path"], prog.display().to_string());
    let text = std::fs::read(&prog).expect("read the program");
    assert_eq!(m["program"]["blake3"], b3(&text));
    let cwd = std::fs::canonicalize(&dir).expect("dir");
    assert_eq!(
        std::fs::canonicalize(m["cwd"].as_str().expect("cwd")).expect("cwd exists"),
        cwd
    );
    let flags: Vec<&str> = m["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(&flags[..8], &FLAGS);
    assert_eq!(&flags[8..], &["--out", "out", "--manifest", "m.json"]);
    // Inputs: the bytes written, a scalar as its f32.
    let xb: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(hash_of(&m, "inputs", "x"), b3(&xb));
    assert_eq!(m["inputs"]["x"]["shape"], serde_json::json!([12, 4]));
    assert_eq!(m["inputs"]["x"]["dtype"], "f32");
    assert_eq!(hash_of(&m, "inputs", "lr"), b3(&0.5f32.to_le_bytes()));
    assert_eq!(m["inputs"]["lr"]["shape"], serde_json::json!([]));
    // The initial params: `b` starts at zeros.
    assert_eq!(hash_of(&m, "params", "b"), b3(&[0u8; 12]));
    // Outputs: the bytes of the .npy files written.
    let outs = ["loss", "w"];
    assert_eq!(m["outputs"].as_object().map(|o| o.len()), Some(outs.len()));
    for name in outs {
        let a = read_npy_file(&dir.join(format!("out/{name}.npy"))).expect("an output");
        assert_eq!(hash_of(&m, "outputs", name), b3(&le_bytes(&a)), "{name}");
    }
    assert_eq!(m["root"].as_str(), Some(root_by_the_docs(&m).as_str()));

    // Verified from another directory.
    let (code, out, err) = verify(&mpath);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        format!(
            "verified: 2 outputs match (root {})\n",
            root_by_the_docs(&m)
        )
    );
    assert!(err.is_empty(), "{err}");
    // Nothing written where the run wrote: the outputs and the record as they were.
    assert_eq!(read_json(&mpath), m);

    // An input changed: exit 3, naming it.
    let xfile = dir.join("x.npy");
    let original = std::fs::read(&xfile).expect("x.npy");
    let mut changed = original.clone();
    if let Some(last) = changed.last_mut() {
        *last ^= 1;
    }
    std::fs::write(&xfile, &changed).expect("change x.npy");
    let (code, _, err) = verify(&mpath);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("input x: x.npy no longer matches the manifest (blake3 "),
        "{err}"
    );
    assert!(err.contains(&hash_of(&m, "inputs", "x")), "{err}");
    std::fs::write(&xfile, &original).expect("restore x.npy");

    // An output hash tampered with: exit 4, naming it and both hashes.
    let text = std::fs::read_to_string(&mpath).expect("manifest");
    let w = hash_of(&m, "outputs", "w");
    let forged = format!("{}{}", &w[..63], if w.ends_with('0') { "1" } else { "0" });
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, text.replace(&w, &forged)).expect("write");
    let (code, _, err) = verify(&tampered);
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.contains(&format!(
            "output w differs from the manifest (blake3 {w} now, {forged} in the manifest)"
        )),
        "{err}"
    );
    // The root alone edited: the record is malformed (exit 3).
    let r = m["root"].as_str().expect("root");
    let edited = dir.join("edited_root.json");
    std::fs::write(&edited, text.replace(r, &"0".repeat(64))).expect("write");
    let (code, _, err) = verify(&edited);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("is not the root of its entries"), "{err}");
    // The program changed: exit 3, naming it.
    let moved = dir.join("changed_program.json");
    let copy = dir.join("prog.weft");
    std::fs::write(&copy, std::fs::read(&prog).expect("program")).expect("copy");
    std::fs::write(
        &moved,
        text.replace(&prog.display().to_string(), &copy.display().to_string()),
    )
    .expect("write");
    let (code, _, err) = verify(&moved);
    assert_eq!(code, Some(0), "the same program elsewhere: {err}");
    std::fs::write(&copy, b"// changed\n").expect("change the copy");
    let (code, _, err) = verify(&moved);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "program {} no longer matches the manifest",
            copy.display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reference_engine_and_resumed_runs_verify() {
    let dir = scratch("ref");
    data(&dir);
    run_in(&dir, None, &["--manifest", "k.json"]);
    run_in(
        &dir,
        None,
        &["--engine", "reference", "--manifest", "r.json"],
    );
    let (k, r) = (
        read_json(&dir.join("k.json")),
        read_json(&dir.join("r.json")),
    );
    // One binding for both engines.
    assert_eq!(k["inputs"], r["inputs"]);
    assert_eq!(k["params"], r["params"]);
    assert_eq!(r["root"].as_str(), Some(root_by_the_docs(&r).as_str()));
    let (code, out, err) = verify(&dir.join("r.json"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("verified: 2 outputs match"), "{out}");

    // A run resumed from a checkpoint is verified from that checkpoint,
    // although newer ones are in the directory by then.
    let ck = dir.join("ck");
    let ck_arg = ck.display().to_string();
    let mut two = FLAGS[..6].to_vec();
    two.extend(["--steps", "2", "--checkpoint", &ck_arg]);
    run_args(&dir, None, &two);
    run_in(
        &dir,
        None,
        &[
            "--checkpoint",
            &ck_arg,
            "--resume",
            &ck_arg,
            "--manifest",
            "resumed.json",
        ],
    );
    let m = read_json(&dir.join("resumed.json"));
    assert_eq!(m["resumed"]["step"], 2);
    assert_eq!(
        k["outputs"], m["outputs"],
        "a resumed run ends as the whole run"
    );
    let (code, _, err) = verify(&dir.join("resumed.json"));
    assert_eq!(code, Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn executable_manifest_verifies() {
    if !have_cc() {
        assert!(
            std::env::var_os("WEFT_NO_CC").is_some(),
            "this test builds an executable and needs a C compiler (cc); \
             set WEFT_NO_CC=1 to skip it knowingly"
        );
        eprintln!("WEFT_NO_CC: executable_manifest_verifies skipped");
        return;
    }
    let dir = scratch("exe");
    data(&dir);
    let exe = dir.join("prog");
    let built = Command::new(weft())
        .arg("build")
        .arg(program())
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("weft build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    run_in(
        &dir,
        Some(&exe),
        &["--manifest", "e.json", "--threads", "2"],
    );
    run_in(&dir, None, &["--manifest", "k.json", "--jit", "always"]);
    let (e, k) = (
        read_json(&dir.join("e.json")),
        read_json(&dir.join("k.json")),
    );
    assert_eq!(e["program"]["kind"], "executable");
    let exe_abs = std::fs::canonicalize(&exe).expect("exe");
    assert_eq!(e["program"]["path"], exe_abs.display().to_string());
    assert_eq!(
        e["program"]["blake3"],
        b3(&std::fs::read(&exe).expect("read exe"))
    );
    // Bit-identical engines: the same hashes as `weft run`'s.
    for section in ["inputs", "params", "outputs"] {
        assert_eq!(e[section], k[section], "{section}");
    }
    assert_eq!(e["root"].as_str(), Some(root_by_the_docs(&e).as_str()));
    let (code, out, err) = verify(&dir.join("e.json"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("verified: 2 outputs match"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn npy_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("an output directory")
        .filter_map(|e| e.ok())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("read"))
        })
        .collect();
    v.sort();
    v
}

fn to_f64(bytes: &[u8]) -> Vec<f64> {
    match weft_runtime::read_npy(bytes).expect("npy").data {
        Data::F32(v) => v.into_iter().map(f64::from).collect(),
        other => panic!("not f32: {other:?}"),
    }
}

#[test]
fn dump_equals_the_let_written_as_an_output() {
    let dir = scratch("dump");
    data(&dir);
    let source = std::fs::read_to_string(program()).expect("program");
    let copy = dir.join("outputs.weft");
    std::fs::write(&copy, format!("{source}output z\noutput p\noutput s\n")).expect("copy");
    let dumps = [
        "--dump", "z", "--dump", "p", "--dump", "s", "--dump", "loss",
    ];
    let mut kernels: Option<Vec<(String, Vec<u8>)>> = None;
    for (tag, engine) in [
        ("never", &["--jit", "never"][..]),
        ("always", &["--jit", "always"][..]),
        ("reference", &["--engine", "reference"][..]),
    ] {
        let dumped = format!("dumped_{tag}");
        let written = format!("written_{tag}");
        let mut args: Vec<&str> = engine.to_vec();
        args.extend(dumps);
        args.extend(["--out", &dumped]);
        run_in(&dir, None, &args);
        let mut c = Command::new(weft());
        c.arg("run").arg(&copy).args(FLAGS).args(engine);
        c.args(["--out", &written]).current_dir(&dir);
        let out = c.output().expect("run the copy");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (d, w) = (
            npy_files(&dir.join(&dumped)),
            npy_files(&dir.join(&written)),
        );
        // `loss`, already an output, is written once.
        let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["loss.npy", "p.npy", "s.npy", "w.npy", "z.npy"]);
        assert_eq!(
            d, w,
            "{tag}: a dumped let and the same expression as an output"
        );
        match &kernels {
            None => kernels = Some(d),
            // Every kernel engine gives the same bytes (section 14); the
            // reference engine is exempt: within tolerance.
            Some(k) if tag != "reference" => assert_eq!(&d, k, "{tag}"),
            Some(k) => {
                for ((n, a), (_, b)) in d.iter().zip(k) {
                    for (x, y) in to_f64(a).iter().zip(to_f64(b)) {
                        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{n}: {x} vs {y}");
                    }
                }
            }
        }
    }
    // Without --out, a dumped let is printed after the outputs.
    let out = run_in(&dir, None, &["--dump", "s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(n, _)| n))
        .collect();
    assert_eq!(names, ["loss", "w", "s"], "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
