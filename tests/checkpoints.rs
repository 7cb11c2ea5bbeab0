//! Checkpoints and resuming (contract section 12) as a user meets them:
//! a training run killed with SIGKILL at random moments and run again with
//! `--resume` until it finishes gives outputs bit-identical to the
//! uninterrupted run's, and no trial ever finds a torn checkpoint. Odd
//! trials run `weft run`, even ones the built executable.
//!
//! `WEFT_KILL_TRIALS=1000 cargo test --release --test harness -- kill` is
//! the long run (30 trials by default).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{root, weft, Rng};
use weft_runtime::npy::{write_npy_file, Data, NpyArray};

const STEPS: &str = "120";
/// Kills per trial at most.
const KILLS: u64 = 3;

fn scratch(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("weft-ckpt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch directory under target/tmp");
    d
}

fn data(dir: &Path) -> [String; 2] {
    let mut r = Rng(7);
    let x: Vec<f32> = (0..200)
        .map(|_| (r.next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let y: Vec<i32> = (0..50).map(|_| (r.next() % 3) as i32).collect();
    let xa = NpyArray::new(vec![50, 4], Data::F32(x)).expect("x");
    let ya = NpyArray::new(vec![50], Data::I32(y)).expect("y");
    write_npy_file(&dir.join("x.npy"), &xa).expect("x.npy");
    write_npy_file(&dir.join("y.npy"), &ya).expect("y.npy");
    [
        format!("x={}", dir.join("x.npy").display()),
        format!("y={}", dir.join("y.npy").display()),
    ]
}

/// The command of one run: `weft run PROG` or the executable.
fn command(exe: Option<&Path>, inputs: &[String; 2], out: &Path) -> Command {
    let mut c = match exe {
        Some(e) => Command::new(e),
        None => {
            let mut c = Command::new(weft());
            c.arg("run").arg(root().join("tests/ckpt/train.weft"));
            c
        }
    };
    c.args(["--steps", STEPS, "--threads", "1"]);
    for i in inputs {
        c.arg("--input").arg(i);
    }
    c.arg("--out").arg(out);
    c.stdout(std::process::Stdio::null());
    c.stderr(std::process::Stdio::null());
    c
}

fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    super::dir_files(dir)
}

#[test]
fn killed_runs_resume_bit_identical() {
    let trials: u64 = std::env::var("WEFT_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let work = scratch("kill");
    let inputs = data(&work);
    let exe = work.join("train");
    let built = Command::new(weft())
        .arg("build")
        .arg(root().join("tests/ckpt/train.weft"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("weft build");
    assert!(built.success(), "weft build failed");
    // The uninterrupted run, and how long a run takes.
    let want_dir = work.join("want");
    let t0 = Instant::now();
    let ok = command(None, &inputs, &want_dir).status().expect("run");
    let span = t0.elapsed().max(Duration::from_millis(20));
    assert!(ok.success());
    let want = outputs(&want_dir);
    assert_eq!(want.len(), 4, "{want:?}");
    // (`weft run` and the executable may differ in the last bits: each
    // trial is compared with its own engine's uninterrupted run.)
    let exe_dir = work.join("exe_want");
    assert!(command(Some(&exe), &inputs, &exe_dir)
        .status()
        .expect("exe")
        .success());
    let exe_want = outputs(&exe_dir);
    let mut rng = Rng(2026);
    let (mut kills, mut runs) = (0u64, 0u64);
    for t in 0..trials {
        let ck = work.join(format!("ck{t}"));
        let out = work.join(format!("out{t}"));
        let which = (t % 2 == 0).then_some(exe.as_path());
        let mut finished = false;
        // Up to KILLS runs of a trial are killed; the next one finishes.
        for attempt in 0..=KILLS {
            let mut c = command(which, &inputs, &out);
            c.arg("--checkpoint")
                .arg(&ck)
                .args(["--checkpoint-every", "1", "--keep", "3"]);
            c.arg("--resume").arg(&ck);
            let mut child = c.spawn().expect("spawn");
            runs += 1;
            // Kill at a random moment within 1.2 run times.
            let wait = span.mul_f64((rng.next() % 1200) as f64 / 1000.0);
            let deadline = Instant::now() + wait;
            let status = loop {
                if let Some(s) = child.try_wait().expect("wait") {
                    break Some(s);
                }
                if attempt < KILLS && Instant::now() >= deadline {
                    let _ = child.kill(); // SIGKILL
                    let _ = child.wait();
                    kills += 1;
                    break None;
                }
                std::thread::sleep(Duration::from_micros(500));
            };
            // Every checkpoint file left is complete.
            for (step, path) in weft_runtime::checkpoint::list(&ck).expect("list") {
                let bytes = std::fs::read(&path).expect("read a checkpoint");
                let c = weft_runtime::checkpoint::decode(&bytes).unwrap_or_else(|e| {
                    panic!("trial {t}: torn checkpoint {}: {e}", path.display())
                });
                assert_eq!(c.step, step);
            }
            match status {
                Some(s) if s.success() => {
                    finished = true;
                    break;
                }
                Some(s) => panic!("trial {t}: a run failed: {s}"),
                None => {}
            }
        }
        assert!(finished, "trial {t} never finished");
        let want = if which.is_some() { &exe_want } else { &want };
        assert_eq!(
            &outputs(&out),
            want,
            "trial {t}: outputs differ from the uninterrupted run's"
        );
    }
    eprintln!("kill test: {trials} trials, {runs} runs, {kills} killed");
    let _ = std::fs::remove_dir_all(&work);
}
