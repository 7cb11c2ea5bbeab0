//! Distributed data-parallel runs (contract section 13) under Open MPI's
//! `mpirun`, as a user meets them, with the programs of
//! `tests/distributed/`:
//!
//! - P = 2 and 4 processes with `batch(.., 8, ..)` and `all_mean` of the
//!   gradients train the params one process trains with a batch of 8·P
//!   (within `f32` summation tolerance), from the executable and `weft run`
//!   (and its reference engine); only rank 0 prints, logs and writes;
//! - a process that fails (bad data on one rank before or during the steps,
//!   or killed) ends the whole job with a non-zero status within seconds;
//! - a job killed mid-run and run again with `--resume` completes with the
//!   bits of the uninterrupted job;
//! - without a launcher, a program with collectives gives the bits of the
//!   same program without them, and no executable links libmpi.
//!
//! `mpirun` must be installed (`apt-get install openmpi-bin libopenmpi-dev`,
//! as `.ci/setup` does): without it these tests fail, they never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{root, weft, Rng};
use weft_runtime::npy::{read_npy_file, write_npy_file, Data, NpyArray};

/// Longest a failing job may take to end.
const ENDS_WITHIN: Duration = Duration::from_secs(20);

fn scratch(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-dist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch directory under target/tmp");
    d
}

fn program(name: &str) -> PathBuf {
    root().join("tests/distributed").join(name)
}

/// `mpirun` with the flags a root user on a small machine needs; fails the
/// test (never skips it) when Open MPI is not installed.
fn mpirun(np: usize) -> Command {
    let ok = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "mpirun (Open MPI) is not installed: `apt-get install -y openmpi-bin libopenmpi-dev` \
         (.ci/setup does) — the distributed tests need it"
    );
    let mut c = Command::new("mpirun");
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-np", &np.to_string()]);
    c
}

/// 64 rows of 4 features and labels in 0..3, as `x=PATH` and `y=PATH`.
fn data(dir: &Path) -> [String; 2] {
    let mut r = Rng(19);
    let x: Vec<f32> = (0..256)
        .map(|_| (r.next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let y: Vec<i32> = x
        .chunks(4)
        .map(|row| i32::from(row[0] > 0.0) + i32::from(row[1] > 0.5))
        .collect();
    let xa = NpyArray::new(vec![64, 4], Data::F32(x)).expect("x");
    let ya = NpyArray::new(vec![64], Data::I32(y)).expect("y");
    write_npy_file(&dir.join("x.npy"), &xa).expect("x.npy");
    write_npy_file(&dir.join("y.npy"), &ya).expect("y.npy");
    [
        format!("x={}", dir.join("x.npy").display()),
        format!("y={}", dir.join("y.npy").display()),
    ]
}

fn build(prog: &Path, exe: &Path, sets: &[&str]) {
    let mut c = Command::new(weft());
    c.arg("build").arg(prog).arg("-o").arg(exe);
    for s in sets {
        c.args(["--set", s]);
    }
    let out = c.output().expect("weft build");
    assert!(
        out.status.success(),
        "weft build {}: {}",
        prog.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a process of a run is started: an executable, or `weft run PROG`
/// with extra flags.
enum Runner<'a> {
    Exe(&'a Path),
    Weft(&'a Path, &'a [&'a str]),
}

impl Runner<'_> {
    fn add_to(&self, c: &mut Command) {
        match self {
            Runner::Exe(e) => {
                c.arg(e);
            }
            Runner::Weft(p, extra) => {
                c.arg(weft()).arg("run").arg(p).args(*extra);
            }
        }
    }

    /// The command of one process run alone (no launcher).
    fn alone(&self) -> Command {
        match self {
            Runner::Exe(e) => Command::new(e),
            Runner::Weft(p, extra) => {
                let mut c = Command::new(weft());
                c.arg("run").arg(p).args(*extra);
                c
            }
        }
    }
}

fn run_args(c: &mut Command, inputs: &[String; 2], steps: u64) {
    for i in inputs {
        c.arg("--input").arg(i);
    }
    c.args(["--steps", &steps.to_string(), "--threads", "1"]);
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    super::dir_files(dir)
}

fn floats(a: &NpyArray) -> Vec<f64> {
    match &a.data {
        Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Data::F64(v) => v.clone(),
        Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        Data::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        other => panic!("unexpected output data {other:?}"),
    }
}

/// Every float output of `got` within `f32` summation tolerance of `want`'s.
fn close(got: &Path, want: &Path, names: &[&str], what: &str) {
    for n in names {
        let file = format!("{n}.npy");
        let g = read_npy_file(&got.join(&file)).unwrap_or_else(|e| panic!("{what}: {n}: {e}"));
        let w = read_npy_file(&want.join(&file)).unwrap_or_else(|e| panic!("{what}: {n}: {e}"));
        assert_eq!(g.shape, w.shape, "{what}: {n}");
        for (i, (a, b)) in floats(&g).iter().zip(floats(&w)).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                "{what}: {n}[{i}] = {a}, one process with the batch scaled gives {b}"
            );
        }
    }
}

fn scalar_i64(dir: &Path, name: &str) -> i64 {
    let a = read_npy_file(&dir.join(format!("{name}.npy"))).expect(name);
    match a.data {
        Data::I64(v) => v[0],
        other => panic!("{name}: {other:?}"),
    }
}

const PARAMS: [&str; 5] = ["mean_loss", "net.w1", "net.b1", "net.w2", "net.b2"];
const STEPS: u64 = 6;

#[test]
fn processes_train_like_one_process_with_the_batch_scaled() {
    let work = scratch("scale");
    let inputs = data(&work);
    let mlp = program("mlp.weft");
    let exe = work.join("mlp");
    build(&mlp, &exe, &[]);
    for p in [2usize, 4] {
        // One process with B·P rows per step.
        let want = work.join(format!("want{p}"));
        let set = format!("B={}", 8 * p);
        let mut c = Command::new(weft());
        c.arg("run").arg(&mlp).args(["--set", &set]);
        run_args(&mut c, &inputs, STEPS);
        ok(
            &c.arg("--out").arg(&want).output().expect("weft run"),
            "alone",
        );
        let runners = [
            ("exe", Runner::Exe(&exe)),
            ("weft run", Runner::Weft(&mlp, &[])),
            ("reference", Runner::Weft(&mlp, &["--engine", "reference"])),
        ];
        for (tag, runner) in &runners {
            let what = format!("mpirun -np {p} {tag}");
            let got = work.join(format!("got{p}-{}", tag.replace(' ', "_")));
            let mut c = mpirun(p);
            runner.add_to(&mut c);
            run_args(&mut c, &inputs, STEPS);
            let t0 = Instant::now();
            let out = c.arg("--out").arg(&got).output().expect("mpirun");
            ok(&out, &what);
            eprintln!("{what}: {:.2} s", t0.elapsed().as_secs_f64());
            close(&got, &want, &PARAMS, &what);
            assert_eq!(scalar_i64(&got, "world_size"), p as i64, "{what}");
            let ranks = (p * (p - 1) / 2) as i64;
            assert_eq!(scalar_i64(&got, "ranks"), ranks, "{what}: all_sum(rank)");
            // Rank 0 alone wrote: the outputs, nothing else.
            let names: Vec<String> = files(&got).into_iter().map(|f| f.0).collect();
            assert_eq!(names.len(), 7, "{what}: {names:?}");
            assert!(out.stdout.is_empty(), "{what}: {:?}", out.stdout);
        }
    }
    // Without --out, rank 0 alone prints the outputs and logs each step.
    let mut c = mpirun(2);
    Runner::Exe(&exe).add_to(&mut c);
    run_args(&mut c, &inputs, STEPS);
    let out = c.args(["--log", "mean_loss"]).output().expect("mpirun");
    ok(&out, "printing");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.matches("mean_loss = ").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("world_size = 2").count(), 1, "{stdout}");
    assert_eq!(stderr.matches(": mean_loss = ").count(), 6, "{stderr}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn collectives_alone_are_the_identity() {
    let work = scratch("alone");
    let inputs = data(&work);
    let (with, without) = (program("mlp.weft"), program("mlp_alone.weft"));
    let (exe_with, exe_without) = (work.join("with"), work.join("without"));
    build(&with, &exe_with, &[]);
    build(&without, &exe_without, &[]);
    let mut results = Vec::new();
    for (tag, runner) in [
        ("exe with", Runner::Exe(&exe_with)),
        ("exe without", Runner::Exe(&exe_without)),
        ("run with", Runner::Weft(&with, &[])),
        ("run without", Runner::Weft(&without, &[])),
        (
            "reference with",
            Runner::Weft(&with, &["--engine", "reference"]),
        ),
        (
            "reference without",
            Runner::Weft(&without, &["--engine", "reference"]),
        ),
    ] {
        let out_dir = work.join(tag.replace(' ', "_"));
        let mut c = runner.alone();
        run_args(&mut c, &inputs, STEPS);
        ok(&c.arg("--out").arg(&out_dir).output().expect("run"), tag);
        results.push((tag, files(&out_dir)));
    }
    // Bit for bit with and without collectives, engine by engine (the
    // reference engine is the tolerance-checked oracle).
    for pair in results.chunks(2) {
        assert_eq!(pair[0].1, pair[1].1, "{} against {}", pair[0].0, pair[1].0);
    }
    assert_eq!(
        results[0].1, results[2].1,
        "the executable against weft run"
    );
    // Neither executable links Open MPI: it is loaded only under a launcher.
    for exe in [&exe_with, &exe_without] {
        let ldd = Command::new("ldd").arg(exe).output().expect("ldd");
        let text = String::from_utf8_lossy(&ldd.stdout);
        assert!(ldd.status.success(), "ldd {}", exe.display());
        assert!(!text.contains("libmpi"), "{}: {text}", exe.display());
        assert!(text.contains("libc.so"), "{text}");
    }
    // A launcher's environment without a loadable libmpi: a clear error.
    let mut c = Command::new(&exe_with);
    run_args(&mut c, &inputs, 1);
    let out = c
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .env("WEFT_MPI_LIB", work.join("no-such-libmpi.so.40"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("started by an MPI launcher (OMPI_COMM_WORLD_SIZE=2)")
            && err.contains("cannot be loaded"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// Runs a job that must fail: its exit status and stderr, checked to end
/// within [`ENDS_WITHIN`].
fn failing(mut c: Command, what: &str) -> (Option<i32>, String) {
    let t0 = Instant::now();
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > ENDS_WITHIN {
            let _ = child.kill();
            panic!("{what}: the job still runs after {ENDS_WITHIN:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    eprintln!("{what}: ended in {:.2} s", t0.elapsed().as_secs_f64());
    assert!(!status.success(), "{what}: succeeded\n{err}");
    (status.code(), err)
}

#[test]
fn a_failing_process_ends_the_job() {
    let work = scratch("fail");
    let inputs = data(&work);
    let mlp = program("mlp.weft");
    let exe = work.join("mlp");
    build(&mlp, &exe, &[]);
    // Rank 1 is given an input that does not exist (mpirun's MPMD form):
    // it fails while binding, rank 0 waits in its first collective.
    let mut c = mpirun(1);
    c.arg(&exe);
    run_args(&mut c, &inputs, 100_000);
    c.args([":", "-np", "1"]).arg(&exe);
    let missing = [
        format!("x={}", work.join("missing.npy").display()),
        inputs[1].clone(),
    ];
    run_args(&mut c, &missing, 100_000);
    let (code, err) = failing(c, "a missing input on rank 1");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("error: rank 1 of 2: input `x`") && err.contains("missing.npy"),
        "{err}"
    );
    // A data error on rank 1 during its second step, after collectives ran.
    let fails = program("fails.weft");
    let exe_fails = work.join("fails");
    build(&fails, &exe_fails, &[]);
    let idx = NpyArray::new(vec![2], Data::I64(vec![0, 1])).expect("idx");
    write_npy_file(&work.join("idx.npy"), &idx).expect("idx.npy");
    let idx = format!("idx={}", work.join("idx.npy").display());
    for (tag, runner) in [
        ("exe", Runner::Exe(&exe_fails)),
        ("weft run", Runner::Weft(&fails, &[])),
    ] {
        let mut c = mpirun(2);
        runner.add_to(&mut c);
        c.args(["--input", &idx, "--steps", "1000"]);
        let (code, err) = failing(c, &format!("a step failing on rank 1 ({tag})"));
        assert_eq!(code, Some(3), "{err}");
        assert!(
            err.contains("error: rank 1 of 2: gather: an index is out of range"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// The processes (pid) running `exe` as rank `rank` of an MPI job.
fn rank_pids(exe: &Path, rank: usize) -> Vec<String> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    let exe = exe.to_string_lossy().into_owned();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            pid.parse::<u32>().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let first = cmd.split(|&b| b == 0).next()?;
            if String::from_utf8_lossy(first) != exe {
                return None;
            }
            let env = std::fs::read(e.path().join("environ")).ok()?;
            env.split(|&b| b == 0)
                .any(|v| v == want.as_bytes())
                .then_some(pid)
        })
        .collect()
}

#[test]
fn a_killed_job_resumes_to_the_same_bits() {
    let work = scratch("resume");
    let inputs = data(&work);
    let exe = work.join("mlp");
    build(&program("mlp.weft"), &exe, &[]);
    const LONG: u64 = 20_000;
    let job = |out: &Path, extra: &[&str]| {
        let mut c = mpirun(2);
        c.arg(&exe);
        run_args(&mut c, &inputs, LONG);
        c.arg("--out").arg(out).args(extra);
        c
    };
    // The uninterrupted job.
    let want = work.join("want");
    ok(&job(&want, &[]).output().expect("mpirun"), "uninterrupted");
    // The same job, checkpointing, with rank 1 killed (SIGKILL) once rank
    // 0 has written a checkpoint: mpirun ends the whole job.
    let ck = work.join("ck");
    let ck_s = ck.display().to_string();
    let got = work.join("got");
    let flags = ["--checkpoint", &ck_s, "--checkpoint-every", "500"];
    let mut c = job(&got, &flags);
    let t0 = Instant::now();
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mpirun");
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        let written = weft_runtime::checkpoint::list(&ck).is_ok_and(|l| !l.is_empty());
        if written && !killed {
            for pid in rank_pids(&exe, 1) {
                let k = Command::new("kill").args(["-9", &pid]).status();
                killed |= k.is_ok_and(|s| s.success());
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the job did not end after its rank 1 was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        killed,
        "the job ended before rank 1 could be killed: {status}"
    );
    assert!(!status.success(), "a job with a killed process succeeded");
    assert!(
        !got.join("net.w1.npy").exists(),
        "the killed job wrote outputs"
    );
    // Run again with --resume: it continues from the checkpoint and ends
    // with the uninterrupted job's bits.
    let mut resumed = flags.to_vec();
    resumed.extend(["--resume", &ck_s]);
    let out = job(&got, &resumed).output().expect("mpirun");
    ok(&out, "resumed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("resuming from").count(), 1, "{err}");
    assert_eq!(files(&got), files(&want), "resumed outputs differ");
    let _ = std::fs::remove_dir_all(&work);
}
