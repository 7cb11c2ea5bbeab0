//! `weft build FILE --lib [-o DIR]` (docs/embedding.md): `libNAME.so`,
//! `libNAME.a` and `NAME.h` from the program's two objects (its step and its
//! vector-Jacobian product, `weft_vjp_*`) and the C API runtime
//! (`libweft_runtime_lib.a`, crate `weft-runtime-lib`).
//!
//! The shared library exports the API of `runtime/lib/include/weft.h` only
//! (a version script hides the runtime's own symbols, so several weft
//! libraries load side by side); the static one is the runtime archive with
//! the two objects added.

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_compiler::kernel::Program;

/// The API's header; `NAME.h` is it plus the program's interface.
pub const API_HEADER: &str = include_str!("../../../runtime/lib/include/weft.h");

/// The functions the shared library exports (weft.h).
pub const API: [&str; 20] = [
    "weft_new",
    "weft_free",
    "weft_error",
    "weft_set_threads",
    "weft_count",
    "weft_find",
    "weft_name",
    "weft_dtype",
    "weft_rank",
    "weft_dim",
    "weft_dim_name",
    "weft_set_input",
    "weft_set_param",
    "weft_run",
    "weft_get",
    "weft_set_cotangent",
    "weft_vjp",
    "weft_get_step",
    "weft_set_step",
    "weft_run_with",
];

/// A C identifier made of `s` (`net.w` → `net_w`).
fn c_ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `NAME.h`: the API, the program's interface as a comment, and index
/// constants (`MLP_INPUT_x`) for `weft_set_input` and friends.
pub fn header(name: &str, prog: &Program) -> String {
    let up = c_ident(name).to_uppercase();
    let mut s = format!(
        "/* {name}.h: the C API of the weft program `{name}` (weft build --lib).\n *\n * Interface:\n"
    );
    let user = prog.user_inputs();
    for (n, t) in &prog.inputs[..user] {
        s.push_str(&format!(" *   input  {n}: {t}\n"));
    }
    for p in &prog.params {
        s.push_str(&format!(" *   param  {}: {}\n", p.name, p.ty));
    }
    for (n, t, _) in &prog.outputs {
        s.push_str(&format!(" *   output {n}: {t}\n"));
    }
    s.push_str(" */\n");
    s.push_str(API_HEADER);
    s.push_str(&format!(
        "\n#ifndef {up}_INDICES_H\n#define {up}_INDICES_H\n"
    ));
    let mut consts = |kind: &str, names: Vec<&str>| {
        for (i, n) in names.iter().enumerate() {
            s.push_str(&format!("#define {up}_{kind}_{} {i}\n", c_ident(n)));
        }
    };
    consts(
        "INPUT",
        prog.inputs[..user]
            .iter()
            .map(|(n, _)| n.as_str())
            .collect(),
    );
    consts(
        "PARAM",
        prog.params.iter().map(|p| p.name.as_str()).collect(),
    );
    consts(
        "OUTPUT",
        prog.outputs.iter().map(|(n, _, _)| n.as_str()).collect(),
    );
    s.push_str("#endif\n");
    s
}

/// LLVM 19's `llvm-ar` (or `$AR`): the runtime archive's members carry
/// LLVM bitcode that GNU `ar` cannot index.
fn archiver() -> Result<PathBuf, String> {
    if let Some(a) = std::env::var_os("AR").filter(|a| !a.is_empty()) {
        return Ok(PathBuf::from(a));
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    on_path("llvm-ar-19")
        .or_else(|| Some(PathBuf::from("/usr/lib/llvm-19/bin/llvm-ar")).filter(|p| p.is_file()))
        .or_else(|| on_path("llvm-ar"))
        .ok_or_else(|| {
            "no llvm-ar to write the static library with: install LLVM 19's tools \
             (on Debian/Ubuntu: apt-get install llvm-19), or set AR"
                .to_string()
        })
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<(), String> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no `{tool}` to {what} with: install it (on Debian/Ubuntu: apt-get install build-essential)"
            )
        } else {
            format!("cannot run `{tool}`: {e}")
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let raw: Vec<String> = said
        .trim_end()
        .lines()
        .map(|l| format!("    {l}"))
        .collect();
    Err(format!(
        "{what} failed ({tool} exited with {}):\n{}",
        out.status,
        raw.join("\n")
    ))
}

/// Writes `libNAME.so`, `libNAME.a` and `NAME.h` into `dir`. `tmp` is a
/// scratch directory; `native_libs` are the system libraries to link.
pub fn write_library(
    name: &str,
    prog: &Program,
    objects: [&[u8]; 2],
    runtime: &Path,
    dir: &Path,
    tmp: &Path,
    native_libs: &[&str],
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    let objs = [
        tmp.join(format!("{name}.o")),
        tmp.join(format!("{name}_vjp.o")),
    ];
    for (path, bytes) in objs.iter().zip(objects) {
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // The shared library: only the API is exported.
    let script = tmp.join("exports.map");
    let globals: Vec<String> = API.iter().map(|f| format!("{f};")).collect();
    std::fs::write(
        &script,
        format!("{{\n  global: {}\n  local: *;\n}};\n", globals.join(" ")),
    )
    .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let so = dir.join(format!("lib{name}.so"));
    let cc = std::env::var("CC")
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.arg("-shared").arg("-o").arg(&so).args(&objs);
    for f in API {
        cmd.arg(format!("-Wl,-u,{f}"));
    }
    cmd.arg(runtime)
        .arg(format!("-Wl,--version-script={}", script.display()))
        .arg("-Wl,--gc-sections")
        .arg("-Wl,-S")
        .args(native_libs.iter().filter(|l| **l != "-lc"));
    run_tool(&mut cmd, &format!("linking {}", so.display()))?;
    // The static library: the runtime archive with the two objects added.
    let a = dir.join(format!("lib{name}.a"));
    let staged = tmp.join(format!("lib{name}.a"));
    std::fs::copy(runtime, &staged)
        .map_err(|e| format!("cannot copy {}: {e}", runtime.display()))?;
    let ar = archiver()?;
    run_tool(
        Command::new(&ar).arg("rs").arg(&staged).args(&objs),
        &format!("archiving {}", a.display()),
    )?;
    std::fs::copy(&staged, &a).map_err(|e| format!("cannot write {}: {e}", a.display()))?;
    let h = dir.join(format!("{name}.h"));
    std::fs::write(&h, header(name, prog))
        .map_err(|e| format!("cannot write {}: {e}", h.display()))?;
    Ok(vec![so, a, h])
}
