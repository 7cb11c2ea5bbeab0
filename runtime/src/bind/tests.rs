use std::path::PathBuf;

use super::*;
use crate::npy::write_npy_file;
use crate::program::parse_descriptor;

fn desc(text: &str) -> ProgramDesc {
    parse_descriptor(format!("weft-program 1\n{text}").as_bytes()).expect("valid descriptor")
}

struct Tmp(PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("weft-rt-bind-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Tmp(p)
    }

    fn npy(&self, name: &str, arr: NpyArray) -> PathBuf {
        let p = self.0.join(name);
        write_npy_file(&p, &arr).expect("write");
        p
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn f32s(shape: &[usize]) -> NpyArray {
    let n = shape.iter().product();
    NpyArray::new(shape.to_vec(), Data::F32(vec![1.0; n])).expect("array")
}

fn file(p: &Path) -> InputArg {
    InputArg::File(p.to_path_buf())
}

#[test]
fn binds_sizes_and_initialises_params() {
    let t = Tmp::new("ok");
    let d = desc(
        "dims B N\ninput x f32 2 $0 4\ninput s i32 0\nparam w f32 2 4 $0 normal 0.0 0.5 1\nparam i i64 2 2 3 iota\nparam z f64 1 $0 full 2\nparam u f32 1 5 uniform 0.0 1.0 3\n",
    );
    let x = t.npy("x.npy", f32s(&[6, 4]));
    let inputs = vec![
        ("x".to_string(), file(&x)),
        ("s".to_string(), InputArg::Scalar(ScalarLit::Int(-3))),
    ];
    check_names(&d, &inputs, &[]).expect("names");
    let b = bind(&d, &inputs, &[], false).expect("binds");
    assert_eq!(b.dims, vec![Some(6), None]);
    assert!(b
        .all_dims(&d)
        .expect_err("N unbound")
        .message
        .contains("size N is not bound"));
    assert_eq!(arr(&b.inputs[1]).data, Data::I32(vec![-3]));
    let mut w = vec![0f32; 24];
    rng::fill_normal_f32(1, 0.0, 0.5, &mut w);
    assert_eq!(
        b.params[0],
        NpyArray::new(vec![4, 6], Data::F32(w)).expect("w")
    );
    assert_eq!(b.params[1].data, Data::I64(vec![0, 1, 2, 0, 1, 2]));
    assert_eq!(b.params[2].data, Data::F64(vec![2.0; 6]));
    let mut u = vec![0f32; 5];
    rng::fill_uniform_f32(3, 0.0, 1.0, &mut u);
    assert_eq!(b.params[3].data, Data::F32(u));
}

fn bind_err(
    d: &ProgramDesc,
    inputs: &[(String, InputArg)],
    params: &[(String, PathBuf)],
) -> RunError {
    match check_names(d, inputs, params).and_then(|_| bind(d, inputs, params, false)) {
        Ok(_) => panic!("bound"),
        Err(e) => e,
    }
}

#[test]
fn bad_data_messages() {
    let t = Tmp::new("bad");
    let d = desc("dims B\ninput x f32 2 $0 4\ninput y f32 1 $0\nparam w f32 1 $0 full 0\n");
    let x = t.npy("x.npy", f32s(&[6, 4]));
    let y5 = t.npy("y5.npy", f32s(&[5]));
    let x64 = t.npy(
        "x64.npy",
        NpyArray::new(vec![6, 4], Data::F64(vec![0.0; 24])).expect("a"),
    );
    let x3 = t.npy("x3.npy", f32s(&[6, 3]));
    let x1 = t.npy("x1.npy", f32s(&[24]));
    let inp = |a: &Path, b: &Path| vec![("x".to_string(), file(a)), ("y".to_string(), file(b))];
    type Case = (Vec<(String, InputArg)>, Vec<(String, PathBuf)>, i32, String);
    let cases: Vec<Case> = vec![
        (
            inp(&x, &y5),
            vec![],
            3,
            "size B is 6 (from input `x`) but input `y` has 5 on axis 0".into(),
        ),
        (
            inp(&x64, &y5),
            vec![],
            3,
            format!("input `x` expects f32[B, 4] but {} holds f64[6, 4]", x64.display()),
        ),
        (
            inp(&x3, &y5),
            vec![],
            3,
            format!("input `x` expects f32[B, 4] but {} holds f32[6, 3] (axis 1 must be 4)", x3.display()),
        ),
        (
            inp(&x1, &y5),
            vec![],
            3,
            format!("input `x` expects f32[B, 4] but {} holds f32[24] (rank 1, not 2)", x1.display()),
        ),
        (
            vec![("x".to_string(), file(&x))],
            vec![],
            3,
            "input `y` was not given: expected f32[B]; pass --input y=FILE.npy".into(),
        ),
        (
            vec![("x".to_string(), InputArg::Scalar(ScalarLit::Float(0.5)))],
            vec![],
            3,
            "input `x` expects f32[B, 4] but was given the number 0.5; a number is only accepted for a scalar input: pass --input x=FILE.npy".into(),
        ),
        (
            vec![("z".to_string(), file(&x))],
            vec![],
            2,
            "no input named `z`; the program's inputs are: x, y".into(),
        ),
        (
            inp(&x, &y5),
            vec![("v".to_string(), y5.clone())],
            2,
            "no param named `v`; the program's params are: w".into(),
        ),
        (
            inp(&x, &t.0.join("missing.npy")),
            vec![],
            3,
            "input `y`: ".into(),
        ),
    ];
    for (inputs, params, code, want) in cases {
        let e = bind_err(&d, &inputs, &params);
        assert_eq!(e.exit_code, code, "{}", e.message);
        assert!(e.message.starts_with(&want), "{}\nwant {want}", e.message);
    }
}

#[test]
fn scalar_inputs() {
    let d = desc("dims\ninput a f32 0\ninput b i32 0\ninput c bool 0\n");
    let go = |a: ScalarLit, b: ScalarLit, c: ScalarLit| {
        let inputs = vec![
            ("a".to_string(), InputArg::Scalar(a)),
            ("b".to_string(), InputArg::Scalar(b)),
            ("c".to_string(), InputArg::Scalar(c)),
        ];
        bind(&d, &inputs, &[], false)
    };
    let b = go(ScalarLit::Int(2), ScalarLit::Int(-1), ScalarLit::Bool(true)).expect("ok");
    assert_eq!(arr(&b.inputs[0]).data, Data::F32(vec![2.0]));
    assert_eq!(arr(&b.inputs[2]).data, Data::Bool(vec![true]));
    let e = go(
        ScalarLit::Int(2),
        ScalarLit::Float(1.0),
        ScalarLit::Bool(true),
    )
    .expect_err("float for i32");
    assert_eq!(
        e.message,
        "input `b` expects i32 but was given the number 1.0"
    );
    let e = go(
        ScalarLit::Int(2),
        ScalarLit::Int(1 << 40),
        ScalarLit::Bool(true),
    )
    .expect_err("range");
    assert!(
        e.message.contains("which does not fit i32"),
        "{}",
        e.message
    );
    let e = go(
        ScalarLit::Bool(false),
        ScalarLit::Int(0),
        ScalarLit::Bool(true),
    )
    .expect_err("bool");
    assert_eq!(e.message, "input `a` expects f32 but was given `false`");
}

#[test]
fn params_without_a_bound_size_or_memory() {
    let d = desc("dims H\nparam w f32 1 $0 full 0\n");
    let e = bind_err(&d, &[], &[]);
    assert_eq!(
        e.message,
        "param `w` has type f32[H], but no input binds size H; pass --param w=FILE.npy"
    );
    let d = desc("dims\nparam w f64 2 4611686018427387904 4 full 0\n");
    let e = bind_err(&d, &[], &[]);
    assert!(
        e.message.starts_with("param `w`: a value of type f64["),
        "{}",
        e.message
    );
    assert!(
        e.message.ends_with("too large to hold in memory"),
        "{}",
        e.message
    );
    let e = init_value(&Init::Full(ScalarLit::Int(0)), DType::F64, &[1 << 58, 1]).expect_err("oom");
    assert!(
        e.message
            .starts_with("not enough memory for a value of type f64["),
        "{}",
        e.message
    );
}

#[test]
fn full_values_follow_the_dtype() {
    let a = init_value(&Init::Full(ScalarLit::Float(3.0)), DType::I32, &[2]).expect("ok");
    assert_eq!(a.data, Data::I32(vec![3, 3]));
    let a = init_value(&Init::Full(ScalarLit::Float(f64::NAN)), DType::F32, &[]).expect("ok");
    assert!(matches!(&a.data, Data::F32(v) if v[0].is_nan()));
    let a = init_value(&Init::Iota, DType::F32, &[]).expect("ok");
    assert_eq!(a.data, Data::F32(vec![0.0]));
    let a = init_value(&Init::Iota, DType::I32, &[2, 0]).expect("ok");
    assert_eq!(a.data, Data::I32(vec![]));
}

/// The array of a bound input read into memory (these tests map nothing).
fn arr(v: &InputValue) -> &NpyArray {
    match v {
        InputValue::Array(a) => a,
        InputValue::Mapped(_) => panic!("mapped"),
    }
}

#[test]
fn derived_sizes_are_computed_and_checked() {
    let t = Tmp::new("derived");
    let sizes =
        "dims N M\nsize $2 $0 1 + = N + 1\nsize $3 $2 2 * = 2 * (N + 1)\nsize $4 $1 1 + = M + 1\n";
    let params = "param w f32 2 $3 $2 full 2\nparam v f32 1 $4 full 0\n";
    let x = t.npy("x.npy", f32s(&[3]));
    let y = t.npy("y.npy", f32s(&[4, 3]));
    let z = t.npy("z.npy", f32s(&[5]));
    let mut inputs = vec![("x".to_string(), file(&x)), ("y".to_string(), file(&y))];
    // `v` needs M, which nothing binds: M + 1 stays unknown.
    let d = desc(&format!(
        "{sizes}input x f32 1 $0\ninput y f32 2 $2 3\n{params}"
    ));
    let e = bind_err(&d, &inputs, &[]);
    assert_eq!(
        e.message,
        "param `v` has type f32[M + 1], but no input binds size M; pass --param v=FILE.npy"
    );
    let d = desc(&format!(
        "{sizes}input x f32 1 $0\ninput y f32 2 $2 3\ninput z f32 1 $1\n{params}"
    ));
    inputs.push(("z".to_string(), file(&z)));
    let b = bind(&d, &inputs, &[], false).expect("binds");
    assert_eq!(b.dims, vec![Some(3), Some(5), Some(4), Some(8), Some(6)]);
    assert_eq!(b.all_dims(&d).expect("all bound"), vec![3, 5, 4, 8, 6]);
    // Params start from shapes of derived sizes.
    assert_eq!(b.params[0].shape, vec![8, 4]);
    assert_eq!(b.params[0].data, Data::F32(vec![2.0; 32]));
    assert_eq!(b.params[1].shape, vec![6]);
    assert_eq!(b.shape_of(&d, &d.params[0].decl).expect("w"), vec![8, 4]);
    // An axis that is a derived size must have its value.
    let y5 = t.npy("y5.npy", f32s(&[5, 3]));
    let mut bad_y = inputs.clone();
    bad_y[1].1 = file(&y5);
    let e = bind_err(&d, &bad_y, &[]);
    assert_eq!(e.exit_code, 3);
    assert_eq!(
        e.message,
        format!(
            "input `y` expects f32[N + 1, 3] but {} holds f32[5, 3] (axis 0 must be N + 1 = 4)",
            y5.display()
        )
    );
    // A literal axis is still checked first.
    let y4 = t.npy("y4.npy", f32s(&[5, 4]));
    bad_y[1].1 = file(&y4);
    let e = bind_err(&d, &bad_y, &[]);
    assert!(e.message.ends_with("(axis 1 must be 3)"), "{}", e.message);
    // A --param file is checked the same way.
    let v6 = t.npy("v6.npy", f32s(&[6]));
    let b = bind(&d, &inputs, &[("v".to_string(), v6)], false).expect("binds");
    assert_eq!(b.params[1].data, Data::F32(vec![1.0; 6]));
    let v7 = t.npy("v7.npy", f32s(&[7]));
    let e = bind_err(&d, &inputs, &[("v".to_string(), v7.clone())]);
    assert_eq!(
        e.message,
        format!(
            "param `v` expects f32[M + 1] but {} holds f32[7] (axis 0 must be M + 1 = 6)",
            v7.display()
        )
    );
}

#[test]
fn derived_sizes_bind_nothing() {
    let t = Tmp::new("derived-unbound");
    let d = desc("dims N\nsize $1 $0 1 + = N + 1\ninput x f32 1 $1\n");
    let x = t.npy("x.npy", f32s(&[4]));
    let e = bind_err(&d, &[("x".to_string(), file(&x))], &[]);
    assert_eq!(
        (e.exit_code, e.message.as_str()),
        (
            3,
            "size N is not bound: no input (or --param file) has it in its type"
        )
    );
    // Unbound and unused, a derived size is no error until it is needed.
    let d = desc("dims N M\nsize $2 $1 1 + = M + 1\ninput x f32 1 $0\noutput y f32 1 $2 step 0\n");
    let b = bind(&d, &[("x".to_string(), file(&x))], &[], false).expect("binds");
    assert_eq!(b.dims, vec![Some(4), None, None]);
    let e = b.shape_of(&d, &d.outputs[0].decl).expect_err("M");
    assert!(
        e.message.starts_with("size M is not bound"),
        "{}",
        e.message
    );
    let e = b.all_dims(&d).expect_err("M");
    assert!(
        e.message.starts_with("size M is not bound"),
        "{}",
        e.message
    );
}

#[test]
fn derived_sizes_must_be_positive() {
    let t = Tmp::new("derived-bad");
    let go = |dims: &str, shapes: &[&[usize]]| {
        let mut text = format!("{dims}\n");
        let mut inputs = Vec::new();
        for (i, s) in shapes.iter().enumerate() {
            let dims: Vec<String> = (0..s.len())
                .map(|a| if a == 0 { format!("${i}") } else { "0".into() })
                .collect();
            text += &format!("input x{i} f32 {} {}\n", s.len(), dims.join(" "));
            let p = t.npy(&format!("x{i}.npy"), f32s(s));
            inputs.push((format!("x{i}"), file(&p)));
        }
        bind_err(&desc(&text), &inputs, &[])
    };
    let cases: Vec<(&str, Vec<&[usize]>, String)> = vec![
        // Never used, still computed.
        (
            "dims N\nsize $1 $0 -1 + = N - 1",
            vec![&[1]],
            "size N - 1 is 0 at N = 1: every length must be positive".into(),
        ),
        // Floor division: (2 - 5) div 2 = -2.
        (
            "dims N\nsize $1 $0 -5 + 2 div = (N - 5) div 2",
            vec![&[2]],
            "size (N - 5) div 2 is -2 at N = 2: every length must be positive".into(),
        ),
        // Names in dims order, through an earlier derived size.
        (
            "dims N M\nsize $2 $1 $0 -1 * + = M - N\nsize $3 $2 3 * = 3 * (M - N)",
            vec![&[3], &[2]],
            "size M - N is -1 at N = 3, M = 2: every length must be positive".into(),
        ),
        (
            "dims N M\nsize $2 $1 $0 -1 * + 5 + = M - N + 5\nsize $3 $2 -7 + = M - N + 5 - 7",
            vec![&[3], &[2]],
            "size M - N + 5 - 7 is -3 at N = 3, M = 2: every length must be positive".into(),
        ),
        (
            "dims N\nsize $1 $0 $0 * = N * N",
            vec![&[1 << 32, 0]],
            "size N * N overflows at N = 4294967296".into(),
        ),
        (
            "dims N\nsize $1 $0 1 + = N + 1",
            vec![&[1 << 63, 0]],
            "size N + 1 overflows at N = 9223372036854775808".into(),
        ),
        (
            "dims N\nsize $1 $0 1 + $0 $0 -1 * + div = (N + 1) div (N - N)",
            vec![&[3]],
            "size (N + 1) div (N - N) divides by 0 at N = 3: a divisor must be positive".into(),
        ),
        (
            "dims\nsize $0 3 -5 + = 3 - 5",
            vec![],
            "size 3 - 5 is -2: every length must be positive".into(),
        ),
    ];
    for (dims, shapes, want) in cases {
        let e = go(dims, &shapes);
        assert_eq!((e.exit_code, e.message.as_str()), (3, want.as_str()));
    }
}
