//! Libraries (`weft build --lib`, docs/embedding.md) used as a C program
//! uses them: built with the real `weft`, compiled with the system's C
//! compiler against the generated header, linked against both the shared
//! and the static library, and run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{root, weft};

/// A fresh directory under target/tmp.
fn scratch(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-lib-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch directory under target/tmp");
    d
}

fn run(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cc() -> String {
    std::env::var("CC")
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cc".into())
}

/// Builds `prog` with `--lib` into `dir`.
fn build_lib(prog: &Path, dir: &Path) {
    run(Command::new(weft())
        .arg("build")
        .arg(prog)
        .arg("--lib")
        .arg("-o")
        .arg(dir));
    let stem = prog.file_stem().and_then(|s| s.to_str()).unwrap_or("a");
    for f in [
        format!("lib{stem}.so"),
        format!("lib{stem}.a"),
        format!("{stem}.h"),
    ] {
        assert!(dir.join(&f).is_file(), "weft build --lib did not write {f}");
    }
}

/// Compiles `c` against library `name` in `dir`, shared and static, and
/// returns both programs' stdout.
fn compile_and_run(c: &Path, dir: &Path, name: &str) -> [String; 2] {
    let shared = dir.join("prog_shared");
    run(Command::new(cc())
        .args(["-Wall", "-Wextra", "-Werror", "-O1"])
        .arg(c)
        .arg("-I")
        .arg(dir)
        .arg("-L")
        .arg(dir)
        .arg(format!("-l{name}"))
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .arg("-lm")
        .arg("-o")
        .arg(&shared));
    let stat = dir.join("prog_static");
    run(Command::new(cc())
        .args(["-Wall", "-O1"])
        .arg(c)
        .arg("-I")
        .arg(dir)
        .arg(dir.join(format!("lib{name}.a")))
        .args(["-lm", "-lpthread", "-ldl", "-lgcc_s", "-o"])
        .arg(&stat));
    [
        run(&mut Command::new(&shared)),
        run(&mut Command::new(&stat)),
    ]
}

/// tests/lib/layer_test.c: forward values, the VJP against the chain rule
/// by hand and finite differences, two models, and errors.
#[test]
fn library_c_api() {
    let dir = scratch("c-api");
    build_lib(&root().join("tests/lib/layer.weft"), &dir);
    for out in compile_and_run(&root().join("tests/lib/layer_test.c"), &dir, "layer") {
        assert_eq!(out.trim(), "ok");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The code block after `marker` in `text`, of kind `lang`.
fn block<'t>(text: &'t str, marker: &str, lang: &str) -> &'t str {
    let at = text.find(marker).unwrap_or_else(|| panic!("no `{marker}`"));
    let fence = format!("```{lang}\n");
    let start = text[at..]
        .find(&fence)
        .map(|i| at + i + fence.len())
        .expect("a code block");
    let len = text[start..].find("```").expect("a closed code block");
    &text[start..start + len]
}

/// docs/embedding.md's complete example prints what the page says.
#[test]
fn library_doc_example() {
    let doc = std::fs::read_to_string(root().join("docs/embedding.md")).expect("docs/embedding.md");
    let dir = scratch("doc");
    let prog = dir.join("affine.weft");
    std::fs::write(&prog, block(&doc, "A complete example", "weft")).expect("write");
    std::fs::write(
        dir.join("example.c"),
        block(&doc, "A complete example", "c"),
    )
    .expect("write");
    let want = block(&doc, "prints", "text");
    build_lib(&prog, &dir);
    for out in compile_and_run(&dir.join("example.c"), &dir, "affine") {
        assert_eq!(out, want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The newest `deps/NAME-HASH.a` beside the `weft` under test (what
/// `cargo build -p NAME` would put beside it).
fn archive(name: &str) -> PathBuf {
    let deps = Path::new(weft())
        .parent()
        .expect("a directory")
        .join("deps");
    std::fs::read_dir(&deps)
        .expect("cargo's deps directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with(&format!("{name}-")) && n.ends_with(".a")
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no {name}-*.a in {}", deps.display()))
}

/// Installed as the README says (PREFIX/bin and PREFIX/lib/weft), weft
/// builds executables and libraries from any directory: nothing is looked
/// up beside cargo's target directory.
#[test]
fn installed_weft_builds_anywhere() {
    let prefix = scratch("prefix");
    let (bin, lib) = (prefix.join("bin"), prefix.join("lib/weft"));
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(&lib).expect("lib");
    let exe_dir = Path::new(weft()).parent().expect("a directory");
    for b in ["weft", "weft-build"] {
        std::fs::copy(exe_dir.join(b), bin.join(b)).expect("copy a binary");
    }
    for a in ["libweft_runtime_exe", "libweft_runtime_lib"] {
        std::fs::copy(archive(a), lib.join(format!("{a}.a"))).expect("copy a runtime archive");
    }
    let work = scratch("elsewhere");
    std::fs::copy(root().join("tests/lib/layer.weft"), work.join("layer.weft")).expect("copy");
    let installed = |args: &[&str]| {
        run(Command::new(bin.join("weft"))
            .args(args)
            .current_dir(&work)
            .env_remove("WEFT_RUNTIME_LIB")
            .env_remove("WEFT_RUNTIME_API_LIB"))
    };
    installed(&["build", "layer.weft", "--lib", "-o", "out"]);
    assert!(work.join("out/liblayer.so").is_file());
    installed(&["build", "layer.weft", "-o", "layer"]);
    let xs: Vec<f64> = (0..6).map(f64::from).collect();
    let x = weft_runtime::npy::NpyArray {
        shape: vec![2, 3],
        data: weft_runtime::npy::Data::F64(xs),
    };
    weft_runtime::npy::write_npy_file(&work.join("x.npy"), &x).expect("write x.npy");
    let out = run(Command::new(work.join("layer"))
        .arg("--input")
        .arg("x=x.npy")
        .current_dir(&work));
    assert!(out.starts_with("y = "), "{out}");
    let _ = std::fs::remove_dir_all(&prefix);
    let _ = std::fs::remove_dir_all(&work);
}
