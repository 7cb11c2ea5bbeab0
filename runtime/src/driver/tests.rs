//! The driver on a program object written in Rust: `y = x * w`,
//! `update w = w + x`, failing with error 1 when `x[0] < 0`.

use super::*;
use crate::npy::{read_npy_file, write_npy_file, Data, NpyArray};

const DESC: &str = "weft-program 1
dims B
input x f32 1 $0
param w f32 1 $0 full 1
output y f32 1 $0 step 0
output w f32 1 $0 param 0
update 0
error 1 index -1 is out of range for an axis of length 3 in `gather`
";

struct Fake {
    desc: &'static str,
}

impl Program for Fake {
    fn descriptor(&self) -> &[u8] {
        self.desc.as_bytes()
    }

    fn arena_bytes(&self, dims: &[i64]) -> u64 {
        dims[0] as u64 * 4
    }

    unsafe fn step(
        &self,
        dims: *const i64,
        inputs: *const *const c_void,
        params: *const *const c_void,
        outputs: *const *mut c_void,
        updates: *const *mut c_void,
        arena: *mut c_void,
    ) -> i32 {
        let n = *dims as usize;
        for p in [
            *inputs,
            *params,
            *outputs as *const c_void,
            *updates as *const c_void,
            arena,
        ] {
            assert_eq!(p as usize % 64, 0, "aligned buffers");
        }
        let x = std::slice::from_raw_parts(*inputs as *const f32, n);
        let w = std::slice::from_raw_parts(*params as *const f32, n);
        let y = std::slice::from_raw_parts_mut(*outputs as *mut f32, n);
        let u = std::slice::from_raw_parts_mut(*updates as *mut f32, n);
        if n > 0 && x[0] < 0.0 {
            return 1;
        }
        for i in 0..n {
            y[i] = x[i] * w[i];
            u[i] = w[i] + x[i];
        }
        0
    }
}

struct Tmp(std::path::PathBuf);

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmp(tag: &str) -> Tmp {
    let p = std::env::temp_dir().join(format!("weft-exe-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("temp dir");
    Tmp(p)
}

fn go(desc: &'static str, args: &[&str]) -> (i32, String, String) {
    let mut argv = vec![b"prog".to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(&Fake { desc }, argv, &mut out, &mut err, &|_| {});
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn input(t: &Tmp, v: &[f32]) -> String {
    let p = t.0.join("x.npy");
    write_npy_file(
        &p,
        &NpyArray::new(vec![v.len()], Data::F32(v.to_vec())).expect("a"),
    )
    .expect("write");
    format!("x={}", p.display())
}

#[test]
fn steps_updates_and_printing() {
    let t = tmp("steps");
    let x = input(&t, &[1.0, 2.0, 3.0]);
    // w: 1 → 2 → 3 (after 2 steps); y on step 2 = x * 2.
    let (code, out, err) = go(DESC, &["--input", &x, "--steps", "2", "--log", "w"]);
    assert_eq!(
        (code, err.as_str()),
        (0, "step 1: w = [2. 3. 4.]\nstep 2: w = [3. 5. 7.]\n")
    );
    assert_eq!(out, "y = [ 2.  6. 12.]\nw = [3. 5. 7.]\n");
}

#[test]
fn writes_npy_files() {
    let t = tmp("out");
    let x = input(&t, &[1.0, 2.0]);
    let dir = t.0.join("o");
    let (code, out, err) = go(DESC, &["--input", &x, "--out", &dir.display().to_string()]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let y = read_npy_file(&dir.join("y.npy")).expect("y");
    assert_eq!(y.data, Data::F32(vec![1.0, 2.0]));
    let w = read_npy_file(&dir.join("w.npy")).expect("w");
    assert_eq!(w.data, Data::F32(vec![2.0, 3.0]));
}

#[test]
fn errors_and_exit_statuses() {
    let t = tmp("err");
    let x = input(&t, &[-1.0, 2.0]);
    let (code, _, err) = go(DESC, &["--input", &x]);
    assert_eq!(code, 3);
    assert_eq!(
        err,
        "error: index -1 is out of range for an axis of length 3 in `gather`\n"
    );
    let (code, _, err) = go(DESC, &[]);
    assert_eq!(
        (code, err.as_str()),
        (
            3,
            "error: input `x` was not given: expected f32[B]; pass --input x=FILE.npy\n"
        )
    );
    let (code, _, err) = go(DESC, &["--set", "a=1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--set is only accepted by `weft run`"),
        "{err}"
    );
    let (code, _, err) = go(DESC, &["--input", &x, "--log", "z"]);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: --log z: no output named `z`; the outputs are: y, w\n"
        )
    );
    let (code, out, _) = go(DESC, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Usage: prog [RUN FLAGS]"), "{out}");
    assert!(!out.contains("--set"), "{out}");
    let (code, _, err) = go("weft-program 9\n", &[]);
    assert_eq!(code, EXIT_INTERNAL);
    assert!(err.contains("malformed program descriptor"), "{err}");
    let mut argv = vec![b"prog".to_vec(), vec![0xff]];
    argv.truncate(2);
    let (mut o, mut e) = (Vec::new(), Vec::new());
    assert_eq!(
        run_with(&Fake { desc: DESC }, argv, &mut o, &mut e, &|_| {}),
        2
    );
    // An --out path under a file cannot be created.
    let x = input(&t, &[1.0]);
    let blocked = t.0.join("x.npy").join("sub");
    let (code, _, err) = go(
        DESC,
        &["--input", &x, "--out", &blocked.display().to_string()],
    );
    assert_eq!(code, 3);
    assert!(
        err.starts_with("error: cannot create output directory"),
        "{err}"
    );
}

#[test]
fn empty_sizes_run() {
    let t = tmp("empty");
    let x = input(&t, &[]);
    let (code, out, err) = go(DESC, &["--input", &x]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "y = []\nw = []\n");
}

/// A program that outputs the `dims` array it is given.
struct ShowDims;

const SHOW_DIMS: &str = "weft-program 1
dims B
size $1 $0 1 + = B + 1
input x f32 1 $1
input b f32 1 $0
size $2 $1 $0 * = (B + 1) * B
output d i64 1 3 step 0
";

impl Program for ShowDims {
    fn descriptor(&self) -> &[u8] {
        SHOW_DIMS.as_bytes()
    }

    fn arena_bytes(&self, dims: &[i64]) -> u64 {
        assert_eq!(dims.len(), 3, "every size");
        0
    }

    unsafe fn step(
        &self,
        dims: *const i64,
        _inputs: *const *const c_void,
        _params: *const *const c_void,
        outputs: *const *mut c_void,
        _updates: *const *mut c_void,
        _arena: *mut c_void,
    ) -> i32 {
        let d = std::slice::from_raw_parts_mut(*outputs as *mut i64, 3);
        d.copy_from_slice(std::slice::from_raw_parts(dims, 3));
        0
    }
}

#[test]
fn dims_hold_the_derived_sizes() {
    let t = tmp("derived");
    let npy = |name: &str, n: usize| {
        let p = t.0.join(name);
        write_npy_file(
            &p,
            &NpyArray::new(vec![n], Data::F32(vec![0.0; n])).expect("a"),
        )
        .expect("write");
        p.display().to_string()
    };
    let (x4, x5, b3) = (npy("x4.npy", 4), npy("x5.npy", 5), npy("b3.npy", 3));
    let run = |x: &str| {
        let argv = [
            "prog",
            "--input",
            &format!("x={x}"),
            "--input",
            &format!("b={b3}"),
        ];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        let code = run_with(&ShowDims, argv, &mut out, &mut err, &|_| {});
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    };
    let (code, out, err) = run(&x4);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "d = [ 3  4 12]\n");
    let (code, _, err) = run(&x5);
    assert_eq!(
        (code, err),
        (
            3,
            format!("error: input `x` expects f32[B + 1] but {x5} holds f32[5] (axis 0 must be B + 1 = 4)\n")
        )
    );
}
