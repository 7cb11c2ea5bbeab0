//! `weft-build`, the executable behind `weft build`, which execs it with its
//! arguments unchanged (it holds LLVM, which `weft` does not link: see
//! ARCHITECTURE.md). `weft build FILE [-o EXE] [--set NAME=VALUE]..
//! [--emit kernels|llvm-ir|asm|obj] [--target-cpu CPU]`: compile (front end
//! and passes), schedule to the kernel IR, generate the program object with
//! LLVM, and link it with the runtime's static library (`libweft_runtime_exe.a`, which holds `main`)
//! using the system C compiler:
//!
//! ```text
//! cc -o EXE prog.o libweft_runtime_exe.a -Wl,--gc-sections -Wl,-S -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
//! ```
//!
//! (`-Wl,-S` drops the runtime's debug information but keeps the symbol
//! table, so profilers still name the kernels: 3.3 MB instead of 11 MB for
//! `examples/mlp.weft` with a debug build of the runtime.)
//!
//! The library is `$WEFT_RUNTIME_LIB` (the file, or a directory holding it)
//! when set; otherwise it is looked for next to the `weft-build` executable
//! (`target/{debug,release}/` after `cargo build`, beside `weft`) and in its
//! `deps/` folder, where every build of weft-cli leaves it (weft-cli depends
//! on weft-runtime-exe for that). The C compiler is `$CC`, else `cc`. A missing
//! compiler or library is an error with exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, ValueEnum};
use weft_compiler::kernel;
use weft_compiler::pipeline::Stage;
use weft_llvm::{self as llvm, LlvmOptions};

#[path = "../common.rs"]
mod common;
#[path = "../fastlink.rs"]
mod fastlink;
#[path = "../library.rs"]
mod library;

use common::{compile, on_compiler_thread, parse_sets, MessageFormat, EXIT_COMPILE, EXIT_USAGE};

/// Compile a program through LLVM to a native executable.
#[derive(Parser)]
#[command(name = "weft build", bin_name = "weft build")]
struct BuildCli {
    file: PathBuf,
    /// The executable to write (default: the file's stem, in the current
    /// directory); with --lib, the directory to write the library into.
    #[arg(short = 'o', value_name = "EXE")]
    output: Option<PathBuf>,
    /// Build a library for C and Python instead of an executable:
    /// libNAME.so, libNAME.a and NAME.h (docs/embedding.md).
    #[arg(long, conflicts_with = "emit")]
    lib: bool,
    /// Override a `const` (NAME=VALUE).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Write LLVM IR, assembly or the program object instead of an executable.
    #[arg(long, value_enum, value_name = "KIND")]
    emit: Option<Emit>,
    /// Generate code for this CPU (e.g. x86-64, x86-64-v3, znver4) instead of the
    /// host's: the host's code may not run on other machines.
    #[arg(long, value_name = "CPU")]
    target_cpu: Option<String>,
    /// `--deny warnings`: report warnings as errors (exit status 1).
    #[arg(long, value_name = "warnings")]
    deny: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Emit {
    /// The kernel IR, as text.
    Kernels,
    LlvmIr,
    Asm,
    Obj,
}

fn main() -> ExitCode {
    common::default_sigpipe();
    let cli = BuildCli::parse();
    on_compiler_thread(move || {
        let sets = match parse_sets(&cli.sets) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let deny = match cli.deny.as_deref().map(common::parse_deny).transpose() {
            Ok(d) => d.unwrap_or(false),
            Err(code) => return code,
        };
        build(&BuildArgs {
            file: cli.file,
            output: cli.output,
            sets,
            emit: cli.emit,
            target_cpu: cli.target_cpu,
            deny,
            lib: cli.lib,
        })
    })
}

/// The runtime library's file name.
const RUNTIME_LIB: &str = "libweft_runtime_exe.a";

/// What `rustc --print native-static-libs` lists for the runtime.
const NATIVE_LIBS: [&str; 7] = [
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The x86-64 CPUs LLVM 19 generates 64-bit code for (`llc -mcpu=help`,
/// less the 32-bit-only ones): LLVM aborts the process on others, so
/// `--target-cpu` is checked against this list first.
const X86_64_CPUS: [&str; 91] = [
    "alderlake",
    "amdfam10",
    "arrowlake",
    "arrowlake-s",
    "arrowlake_s",
    "athlon-fx",
    "athlon64",
    "athlon64-sse3",
    "atom",
    "atom_sse4_2",
    "atom_sse4_2_movbe",
    "barcelona",
    "bdver1",
    "bdver2",
    "bdver3",
    "bdver4",
    "bonnell",
    "broadwell",
    "btver1",
    "btver2",
    "cannonlake",
    "cascadelake",
    "clearwaterforest",
    "cooperlake",
    "core-avx-i",
    "core-avx2",
    "core2",
    "core_2_duo_sse4_1",
    "core_2_duo_ssse3",
    "core_2nd_gen_avx",
    "core_3rd_gen_avx",
    "core_4th_gen_avx",
    "core_4th_gen_avx_tsx",
    "core_5th_gen_avx",
    "core_5th_gen_avx_tsx",
    "core_aes_pclmulqdq",
    "core_i7_sse4_2",
    "corei7",
    "corei7-avx",
    "emeraldrapids",
    "generic",
    "goldmont",
    "goldmont-plus",
    "goldmont_plus",
    "gracemont",
    "grandridge",
    "graniterapids",
    "graniterapids-d",
    "graniterapids_d",
    "haswell",
    "icelake-client",
    "icelake-server",
    "icelake_client",
    "icelake_server",
    "ivybridge",
    "k8",
    "k8-sse3",
    "knl",
    "knm",
    "lunarlake",
    "meteorlake",
    "mic_avx512",
    "nehalem",
    "nocona",
    "opteron",
    "opteron-sse3",
    "pantherlake",
    "penryn",
    "raptorlake",
    "rocketlake",
    "sandybridge",
    "sapphirerapids",
    "sierraforest",
    "silvermont",
    "skx",
    "skylake",
    "skylake-avx512",
    "skylake_avx512",
    "slm",
    "tigerlake",
    "tremont",
    "westmere",
    "x86-64",
    "x86-64-v2",
    "x86-64-v3",
    "x86-64-v4",
    "znver1",
    "znver2",
    "znver3",
    "znver4",
    "znver5",
];

/// The backend's CPU for `--target-cpu` (`native`: the host's).
fn target_cpu(cpu: Option<&str>) -> Result<Option<String>, String> {
    match cpu {
        None | Some("native") => Ok(None),
        Some(c) if X86_64_CPUS.contains(&c) => Ok(Some(c.to_string())),
        Some(c) => Err(format!(
            "--target-cpu: LLVM has no x86-64 CPU `{c}`; use `native` (the default), \
             a level (x86-64, x86-64-v2, x86-64-v3, x86-64-v4) or a CPU name such as \
             skylake-avx512 or znver4"
        )),
    }
}

struct BuildArgs {
    file: PathBuf,
    output: Option<PathBuf>,
    sets: Vec<(String, String)>,
    emit: Option<Emit>,
    target_cpu: Option<String>,
    deny: bool,
    lib: bool,
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(code)
}

fn build(args: &BuildArgs) -> ExitCode {
    let cpu = match target_cpu(args.target_cpu.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let c = match compile(
        &args.file,
        MessageFormat::Human,
        None,
        args.sets.clone(),
        Stage::Scheduled,
        args.deny,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let shown = args.file.display();
    let prog = match c.program {
        Ok(p) => p,
        Err(e) => return fail(EXIT_COMPILE, format_args!("cannot build {shown}: {e}")),
    };
    let opts = LlvmOptions {
        target_cpu: cpu,
        optimize: true,
    };
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "a".into());
    let out_path = |ext: &str| {
        args.output
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{stem}{ext}")))
    };
    let write = |path: &Path, bytes: &[u8]| {
        if same_file(path, &args.file) {
            return overwrite_refused(path);
        }
        match std::fs::write(path, bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(
                EXIT_USAGE,
                format_args!("cannot write {}: {e}", path.display()),
            ),
        }
    };
    if args.lib {
        return build_library(args, &stem, &prog, &c.graph, &opts);
    }
    if args.emit == Some(Emit::Kernels) {
        return write(
            &out_path(".kernels"),
            kernel::print::program(&prog).as_bytes(),
        );
    }
    let generated = match args.emit {
        Some(Emit::Kernels) => return ExitCode::SUCCESS,
        Some(Emit::LlvmIr) => llvm::emit_llvm_ir(&prog, &opts).map(String::into_bytes),
        Some(Emit::Asm) => llvm::emit_asm(&prog, &opts).map(String::into_bytes),
        Some(Emit::Obj) | None => llvm::compile_object(&prog, &opts),
    };
    let bytes = match generated {
        Ok(b) => b,
        Err(e) => return fail(EXIT_COMPILE, format_args!("cannot build {shown}: {e}")),
    };
    match args.emit {
        Some(Emit::LlvmIr) => return write(&out_path(".ll"), &bytes),
        Some(Emit::Kernels) => return ExitCode::SUCCESS,
        Some(Emit::Asm) => return write(&out_path(".s"), &bytes),
        Some(Emit::Obj) => return write(&out_path(".o"), &bytes),
        None => {}
    }
    let lib = match runtime_lib(RUNTIME_LIB, "WEFT_RUNTIME_LIB", "weft-runtime-exe") {
        Ok(l) => l,
        Err(msg) => return fail(EXIT_USAGE, msg),
    };
    let exe = out_path("");
    if same_file(&exe, &args.file) {
        return overwrite_refused(&exe);
    }
    match link(&bytes, &lib, &exe) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => fail(EXIT_USAGE, msg),
    }
}

/// Whether `a` and `b` name one existing file (through links and `..` too).
/// The library's runtime archive (crate weft-runtime-lib).
const RUNTIME_API_LIB: &str = "libweft_runtime_lib.a";

/// `--lib`: the program's and its VJP's objects, linked into libNAME.so and
/// libNAME.a beside NAME.h.
fn build_library(
    args: &BuildArgs,
    stem: &str,
    prog: &kernel::Program,
    graph: &weft_compiler::ir::graph::Graph,
    opts: &LlvmOptions,
) -> ExitCode {
    let shown = args.file.display();
    let objects = llvm::compile_object(prog, opts).and_then(|main| {
        let vjp = weft_compiler::pipeline::vjp_program(graph)
            .map_err(|e| format!("its vector-Jacobian product: {e}"))?;
        Ok((main, llvm::compile_vjp_object(&vjp, opts)?))
    });
    let (main, vjp) = match objects {
        Ok(o) => o,
        Err(e) => return fail(EXIT_COMPILE, format_args!("cannot build {shown}: {e}")),
    };
    let runtime = match runtime_lib(RUNTIME_API_LIB, "WEFT_RUNTIME_API_LIB", "weft-runtime-lib") {
        Ok(l) => l,
        Err(msg) => return fail(EXIT_USAGE, msg),
    };
    let dir = args.output.clone().unwrap_or_else(|| PathBuf::from("."));
    let tmp = match temp_dir() {
        Ok(t) => t,
        Err(msg) => return fail(EXIT_USAGE, msg),
    };
    let r = library::write_library(
        stem,
        prog,
        [&main, &vjp],
        &runtime,
        &dir,
        &tmp,
        &NATIVE_LIBS,
    );
    let _ = std::fs::remove_dir_all(&tmp);
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(msg) => fail(EXIT_USAGE, msg),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `-o` names the program's own source: never replace it.
fn overwrite_refused(path: &Path) -> ExitCode {
    fail(
        EXIT_USAGE,
        format_args!(
            "-o {} is the program's source file; refusing to overwrite it (name another output)",
            path.display()
        ),
    )
}

/// The runtime library: `$WEFT_RUNTIME_LIB`, or beside this executable.
fn runtime_lib(file: &str, env: &str, krate: &str) -> Result<PathBuf, String> {
    if let Some(v) = std::env::var_os(env) {
        let p = PathBuf::from(v);
        let p = if p.is_dir() { p.join(file) } else { p };
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "{env} is {}, which is not the runtime library {file}",
                p.display()
            ))
        };
    }
    let prefix = format!("{}-", file.trim_end_matches(".a"));
    let dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .ok_or_else(|| "cannot tell where the weft-build executable is".to_string())?;
    // An install puts the libraries in PREFIX/lib/weft beside PREFIX/bin
    // (README, "Installing"); a cargo build has them beside the executable,
    // or as `deps/libweft_runtime_exe-HASH.a`: the newest of them, so that a
    // library left by an older build never wins over the current one.
    if let Some(p) = dir
        .parent()
        .map(|prefix| prefix.join("lib").join("weft").join(file))
        .filter(|p| p.is_file())
    {
        return Ok(p);
    }
    let beside = dir.join(file);
    let deps = std::fs::read_dir(dir.join("deps"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix) && n.ends_with(".a")
        })
        .map(|e| e.path());
    let newest = std::iter::once(beside)
        .chain(deps)
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max();
    match newest {
        Some((_, p)) => Ok(p),
        None => Err(format!(
            "cannot find the weft runtime library {file} in {} or beside {} (or in its deps/); \
             install weft as the README says, build it with `cargo build -p {krate}`, or set \
             {env} to its path",
            dir.parent().unwrap_or(&dir).join("lib/weft").display(),
            dir.display()
        )),
    }
}

/// A fresh private directory for the program object.
fn temp_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let d = base.join(format!(
            "weft-build-{}-{nanos}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot create a temporary directory in {}: {e}",
                    base.display()
                ))
            }
        }
    }
    Err(format!(
        "cannot create a temporary directory in {}",
        base.display()
    ))
}

/// Writes the object to a temporary directory and links the executable.
/// What a failed link most likely means, from the C compiler's messages.
fn link_failure_cause(said: &str, lib: &Path, exe: &Path) -> String {
    if said.contains("undefined reference to `weft_") || said.contains("undefined symbol: weft_") {
        format!(
            "the runtime library {} does not match this weft-build (built from another \
             version of weft): rebuild it with `cargo build -p weft-runtime-exe`, or set \
             WEFT_RUNTIME_LIB to the right one",
            lib.display()
        )
    } else if said.contains("cannot open output file") {
        format!(
            "cannot write the executable {}: check that its directory exists and is writable",
            exe.display()
        )
    } else if said.contains("No space left on device") {
        "the disk is full".to_string()
    } else if said.contains("cannot find -l") {
        "a system library is missing: install the C development files (on Debian/Ubuntu: \
         apt-get install build-essential)"
            .to_string()
    } else {
        "the C compiler's own messages follow".to_string()
    }
}

fn link(object: &[u8], lib: &Path, exe: &Path) -> Result<(), String> {
    let dir = temp_dir()?;
    let result = (|| {
        let obj = dir.join("prog.o");
        std::fs::write(&obj, object).map_err(|e| format!("cannot write {}: {e}", obj.display()))?;
        let cc = fastlink::cc();
        let run = |runtime: &Path, extra: &[String]| {
            Command::new(&cc)
                .arg("-o")
                .arg(exe)
                .arg(&obj)
                .arg(runtime)
                .arg("-Wl,--gc-sections")
                .arg("-Wl,-S")
                .args(extra)
                .args(NATIVE_LIBS)
                .output()
        };
        // The fast link (fastlink.rs): the pre-linked runtime and mold or
        // lld where they are; on any failure, the plain link below.
        let pre = fastlink::prelinked(lib);
        let ld = fastlink::fast_linker();
        if pre.is_some() || ld.is_some() {
            let runtime = pre.as_deref().unwrap_or(lib);
            if run(runtime, &ld.unwrap_or_default()).is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
        }
        let out = run(lib, &[]).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no C compiler `{cc}` to link with: install one (on Debian/Ubuntu: \
                         apt-get install build-essential) or set CC"
                )
            } else {
                format!("cannot run the C compiler `{cc}`: {e}")
            }
        })?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let raw: Vec<String> = said
                .trim_end()
                .lines()
                .map(|l| format!("    {l}"))
                .collect();
            return Err(format!(
                "linking {} failed ({cc} exited with {}): {}\n  {cc} said:\n{}",
                exe.display(),
                out.status,
                link_failure_cause(&said, lib, exe),
                raw.join("\n")
            ));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
