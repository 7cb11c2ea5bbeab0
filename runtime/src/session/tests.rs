//! A library's model on program objects written in Rust: the step
//! `y = x * w`, `update w = w + x` (error 1 when `x[0] < 0`), and its VJP
//! `dx = ct_y * w`, `dw = ct_y * x`.

use super::*;
use crate::error::{EXIT_DATA, EXIT_USAGE};

const DESC: &str = "weft-program 1
dims B
input x f32 1 $0
param w f32 1 $0 full 1
output y f32 1 $0 step 0
output w f32 1 $0 param 0
update 0
error 1 x[0] is negative
";

const VJP: &str = "weft-program 1
dims B
input x f32 1 $0
input __cotangent.y f32 1 $0
param w f32 1 $0 full 1
output __grad_input.x f32 1 $0 step 0
output __grad_param.w f32 1 $0 step 1
";

struct Step;
struct Back;

fn slices<'a>(n: usize, p: *const *const c_void, k: usize) -> &'a [f32] {
    // SAFETY: the session hands `k + 1` buffers of `n` f32s at least.
    unsafe { std::slice::from_raw_parts(*p.add(k) as *const f32, n) }
}

fn slices_mut<'a>(n: usize, p: *const *mut c_void, k: usize) -> &'a mut [f32] {
    // SAFETY: as `slices`, uniquely written by this step.
    unsafe { std::slice::from_raw_parts_mut(*p.add(k) as *mut f32, n) }
}

impl Program for Step {
    fn descriptor(&self) -> &[u8] {
        DESC.as_bytes()
    }
    fn arena_bytes(&self, _: &[i64]) -> u64 {
        0
    }
    unsafe fn step(
        &self,
        dims: *const i64,
        inputs: *const *const c_void,
        params: *const *const c_void,
        outputs: *const *mut c_void,
        updates: *const *mut c_void,
        _: *mut c_void,
    ) -> i32 {
        let n = *dims as usize;
        let (x, w) = (slices(n, inputs, 0), slices(n, params, 0));
        if n > 0 && x[0] < 0.0 {
            return 1;
        }
        let (y, u) = (slices_mut(n, outputs, 0), slices_mut(n, updates, 0));
        for i in 0..n {
            y[i] = x[i] * w[i];
            u[i] = w[i] + x[i];
        }
        0
    }
}

impl Program for Back {
    fn descriptor(&self) -> &[u8] {
        VJP.as_bytes()
    }
    fn arena_bytes(&self, _: &[i64]) -> u64 {
        0
    }
    unsafe fn step(
        &self,
        dims: *const i64,
        inputs: *const *const c_void,
        params: *const *const c_void,
        outputs: *const *mut c_void,
        _: *const *mut c_void,
        _: *mut c_void,
    ) -> i32 {
        let n = *dims as usize;
        let (x, ct, w) = (
            slices(n, inputs, 0),
            slices(n, inputs, 1),
            slices(n, params, 0),
        );
        let (dx, dw) = (slices_mut(n, outputs, 0), slices_mut(n, outputs, 1));
        for i in 0..n {
            dx[i] = ct[i] * w[i];
            dw[i] = ct[i] * x[i];
        }
        0
    }
}

fn session() -> Session {
    Session::new(DESC.as_bytes(), Some(VJP.as_bytes())).expect("a valid program")
}

fn lend(v: &[f32]) -> Lent {
    Lent {
        data: v.as_ptr().cast(),
        dtype: DType::F32,
        shape: vec![v.len()],
    }
}

fn read(v: View<'_>) -> Vec<f32> {
    let n = v.shape.iter().product();
    // SAFETY: a view holds its shape's f32s.
    unsafe { std::slice::from_raw_parts(v.data as *const f32, n) }.to_vec()
}

#[test]
fn runs_steps_as_the_executable_does() {
    let mut s = session();
    // w's size is an input's: no value until a run binds it.
    assert_eq!(s.param(0).map(|_| ()).unwrap_err().exit_code, EXIT_USAGE);
    let x = [1.0f32, 2.0, 3.0];
    s.set_input(0, lend(&x)).expect("set x");
    s.run(&Step, 2).expect("two steps");
    assert_eq!(s.step, 2);
    // Step 1 sees w = 1 + x.
    assert_eq!(read(s.output(0).expect("y")), vec![2.0, 6.0, 12.0]);
    assert_eq!(read(s.param(0).expect("w")), vec![3.0, 5.0, 7.0]);
    assert_eq!(read(s.output(1).expect("w output")), vec![3.0, 5.0, 7.0]);
    assert_eq!(s.dims[0], Some(3));
}

#[test]
fn another_shape_binds_again_and_run_with_matches_run() {
    let mut s = session();
    let w = [2.0f32; 2];
    s.set_param(0, &lend(&w)).expect("w");
    let x = [1.0f32, -0.5];
    s.set_input(0, lend(&[0.5f32, 0.5])).expect("set x");
    let x2 = [1.0f32, 4.0];
    let mut y = [0.0f32; 2];
    let mut wout = [0.0f32; 2];
    // SAFETY: two f32s in and out.
    unsafe {
        s.run_with(
            &Step,
            1,
            &[x2.as_ptr().cast()],
            &[y.as_mut_ptr().cast(), wout.as_mut_ptr().cast()],
        )
    }
    .expect("run_with");
    assert_eq!(y, [2.0, 8.0]);
    assert_eq!(wout, [3.0, 6.0]);
    // A longer x: bound again; w keeps its length 2, so B conflicts.
    let long = [1.0f32; 3];
    s.set_input(0, lend(&long)).expect("set x");
    let e = s.run(&Step, 1).expect_err("B is 2 by w");
    assert_eq!(e.exit_code, EXIT_DATA);
    assert_eq!(
        e.message,
        "size B is 3 (from input `x`) but param `w` has 2 on axis 0"
    );
    s.set_input(0, lend(&x)).expect("set x");
    s.run(&Step, 1).expect("back to two");
    assert_eq!(read(s.output(0).expect("y")), vec![3.0, -3.0]);
}

#[test]
fn bad_data_is_the_executables_message() {
    let mut s = session();
    let e = s.run(&Step, 1).expect_err("no x");
    assert_eq!(e.exit_code, EXIT_USAGE);
    assert_eq!(e.message, "input `x` was not given: expected f32[B]");
    let x = [1.0f64, 2.0];
    s.set_input(
        0,
        Lent {
            data: x.as_ptr().cast(),
            dtype: DType::F64,
            shape: vec![2],
        },
    )
    .expect("lent");
    let e = s.run(&Step, 1).expect_err("f64 for f32");
    assert_eq!(
        e.message,
        "input `x` expects f32[B] but the array given holds f64[2]"
    );
    let neg = [-1.0f32, 2.0];
    s.set_input(0, lend(&neg)).expect("set x");
    let e = s.run(&Step, 1).expect_err("step error");
    assert_eq!(
        (e.exit_code, e.message.as_str()),
        (EXIT_DATA, "x[0] is negative")
    );
    assert!(s.output(0).is_err(), "no outputs after a failed run");
    assert!(s.set_param(0, &lend(&[1.0f32; 2])).is_ok());
    let e = s
        .set_param(
            0,
            &Lent {
                data: neg.as_ptr().cast(),
                dtype: DType::F32,
                shape: vec![1, 2],
            },
        )
        .expect_err("rank 2");
    assert!(e.message.contains("(rank 2, not 1)"), "{}", e.message);
}

#[test]
fn vjp_at_the_current_step_without_changing_params() {
    let mut s = session();
    let x = [1.0f32, 2.0];
    let w = [3.0f32, 4.0];
    let ct = [10.0f32, 100.0];
    s.set_input(0, lend(&x)).expect("x");
    s.set_param(0, &lend(&w)).expect("w");
    assert!(s.grad_input(0).is_err(), "no gradient before a vjp");
    s.set_cotangent(0, lend(&ct)).expect("ct");
    assert_eq!(
        s.set_cotangent(5, lend(&ct))
            .map(|_| ())
            .unwrap_err()
            .exit_code,
        EXIT_USAGE
    );
    s.vjp(&Back).expect("vjp");
    assert_eq!(read(s.grad_input(0).expect("dx")), vec![30.0, 400.0]);
    assert_eq!(read(s.grad_param(0).expect("dw")), vec![10.0, 200.0]);
    assert_eq!(read(s.param(0).expect("w")), vec![3.0, 4.0]);
    assert_eq!(s.step, 0);
    // Without a cotangent, the gradients are zero.
    s.clear_cotangent(0).expect("clear");
    s.vjp(&Back).expect("vjp");
    assert_eq!(read(s.grad_input(0).expect("dx")), vec![0.0, 0.0]);
    // A cotangent of the wrong shape names the output.
    let short = [1.0f32];
    s.set_cotangent(0, lend(&short)).expect("lent");
    let e = s.vjp(&Back).expect_err("shape");
    assert_eq!(
        e.message,
        "size B is 2 (from input `x`) but the cotangent of output `y` has 1 on axis 0"
    );
}
