use super::*;

const SAMPLE: &str = "weft-program 1
dims B N
input x f32 2 $0 4
param w1 f32 2 4 16 normal 0.0 0.5 1
param b1 f32 1 16 full 0
param t i32 0 full 0
param ids i64 1 $1 iota
param u f64 1 3 uniform -1.0 1.0 7
param flag bool 0 full true
output loss f32 0 step 0
output w1 f32 2 4 16 param 0
update 0
update 1
error 1 index out of range in `gather`: see  the  docs
requires avx2 fma
";

#[test]
fn parses_the_abi_example() {
    let d = parse_descriptor(SAMPLE.as_bytes()).expect("valid");
    assert_eq!(d.dims, vec!["B", "N"]);
    assert_eq!(d.inputs.len(), 1);
    assert_eq!(d.inputs[0].shape, vec![DimSpec::Size(0), DimSpec::Lit(4)]);
    assert_eq!(d.type_text(&d.inputs[0]), "f32[B, 4]");
    assert_eq!(d.type_text(&d.params[2].decl), "i32");
    assert_eq!(
        d.params[0].init,
        Init::Normal {
            mean: 0.0,
            std: 0.5,
            seed: 1
        }
    );
    assert_eq!(d.params[1].init, Init::Full(ScalarLit::Int(0)));
    assert_eq!(d.params[3].init, Init::Iota);
    assert_eq!(
        d.params[4].init,
        Init::Uniform {
            lo: -1.0,
            hi: 1.0,
            seed: 7
        }
    );
    assert_eq!(d.params[5].init, Init::Full(ScalarLit::Bool(true)));
    assert_eq!(d.outputs[0].src, OutputSrc::Step(0));
    assert_eq!(d.outputs[1].src, OutputSrc::Param(0));
    assert_eq!(d.updates, vec![0, 1]);
    assert_eq!(d.step_outputs(), 1);
    assert_eq!(
        d.error_message(1),
        Some("index out of range in `gather`: see  the  docs")
    );
    assert_eq!(d.error_message(2), None);
    assert_eq!(d.error_message(-1), None);
    assert_eq!(d.requires, vec!["avx2", "fma"]);
}

#[test]
fn numbers_read_back_exactly() {
    for v in [
        0.1f64,
        -1.5,
        1e-300,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let text = format!("weft-program 1\ndims\nparam p f64 0 full {v:?}\n");
        let d = parse_descriptor(text.as_bytes()).expect("valid");
        assert_eq!(d.params[0].init, Init::Full(ScalarLit::Float(v)), "{v:?}");
    }
    for nan in ["nan", "NaN"] {
        let text = format!("weft-program 1\ndims\nparam p f32 0 full {nan}\n");
        let d = parse_descriptor(text.as_bytes()).expect("valid");
        assert!(matches!(d.params[0].init, Init::Full(ScalarLit::Float(x)) if x.is_nan()));
    }
    let d = parse_descriptor(b"weft-program 1\ndims\nparam p i64 0 full -9223372036854775808")
        .expect("valid, no final newline");
    assert_eq!(d.params[0].init, Init::Full(ScalarLit::Int(i64::MIN)));
}

#[test]
fn empty_program() {
    let d = parse_descriptor(b"weft-program 1\ndims\n").expect("valid");
    assert_eq!(d, ProgramDesc::default());
}

fn bad(text: &str) -> DescError {
    match parse_descriptor(text.as_bytes()) {
        Ok(d) => panic!("accepted {text:?}: {d:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_descriptors_are_errors() {
    let h = "weft-program 1\ndims B\n";
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "first line"),
        ("weft-program 2\ndims\n".into(), "version `2`"),
        ("weft-program 1\n".into(), "second line"),
        ("weft-program 1\ninput x f32 0\n".into(), "second line"),
        ("weft-program 1\ndims 1B\n".into(), "not an identifier"),
        ("weft-program 1\ndims B B\n".into(), "declared twice"),
        (format!("{h}input x f32 1 $1\n"), "size $1"),
        (format!("{h}input x f32 1 $x\n"), "malformed"),
        (format!("{h}input x f32 1 -1\n"), "non-negative"),
        (format!("{h}input x f32 2 3\n"), "missing dim"),
        (format!("{h}input x f32 1 3 3\n"), "unexpected field"),
        (format!("{h}input x f32  1 3\n"), "single spaces"),
        (format!("{h}input x f32 1 3 \n"), "single spaces"),
        (format!("{h}input x f16 0\n"), "not supported"),
        (format!("{h}input x u16 0\n"), "unknown dtype"),
        (format!("{h}input x f32 99999999999999999999\n"), "rank"),
        (format!("{h}input x f32 100\n"), "too large"),
        (
            format!("{h}input x f32 0\ninput x f32 0\n"),
            "declared twice",
        ),
        (format!("{h}input 9x f32 0\n"), "not an identifier"),
        (format!("{h}\ninput x f32 0\n"), "empty line"),
        (format!("{h}inputs x f32 0\n"), "unknown record"),
        (format!("{h}param p f32 0\n"), "missing init"),
        (format!("{h}param p f32 0 zeros\n"), "unknown init"),
        (format!("{h}param p f32 0 full\n"), "missing value"),
        (format!("{h}param p f32 0 full x\n"), "not a value"),
        (format!("{h}param p f32 0 full true\n"), "cannot start"),
        (format!("{h}param p bool 0 full 1\n"), "cannot start"),
        (
            format!("{h}param p i32 0 full 3000000000\n"),
            "cannot start",
        ),
        (format!("{h}param p i32 0 full 0.5\n"), "cannot start"),
        (
            format!("{h}param p i64 0 normal 0.0 1.0 1\n"),
            "cannot start",
        ),
        (format!("{h}param p bool 1 3 iota\n"), "cannot start"),
        (format!("{h}param p f32 0 normal 0.0 1.0\n"), "missing seed"),
        (format!("{h}param p f32 0 normal 0.0 1.0 -1\n"), "seed"),
        (
            format!("{h}param p f32 0 uniform a 1.0 1\n"),
            "not a number",
        ),
        (format!("{h}output o f32 0 step 1\n"), "step output 1"),
        (
            format!("{h}output o f32 0 step 0\noutput p f32 0 step 0\n"),
            "step output",
        ),
        (format!("{h}output o f32 0 param 0\n"), "param 0"),
        (
            format!("{h}param p f32 0 full 0\noutput p f64 0 param 0\n"),
            "another type",
        ),
        (
            format!("{h}output o f32 0 global 0\n"),
            "unknown output source",
        ),
        (format!("{h}update 0\n"), "update of param 0"),
        (
            format!("{h}param p f32 0 full 0\nupdate 0\nupdate 0\n"),
            "updated twice",
        ),
        (format!("{h}update x\n"), "non-negative"),
        (format!("{h}error 1\n"), "without a message"),
        (format!("{h}error 0 boom\n"), "out of range"),
        (format!("{h}error -1 boom\n"), "positive"),
        (format!("{h}error 1 a\nerror 1 b\n"), "declared twice"),
        (format!("{h}input x f32 0\r\n"), "rank `0\r`"),
    ];
    for (text, want) in cases {
        let e = bad(&text);
        assert!(
            e.to_string().contains(want),
            "{text:?}: {e} does not mention {want:?}"
        );
    }
    let e = bad("weft-program 1\ndims\n\u{0}\u{ff}");
    assert!(e.to_string().contains("unknown record"), "{e}");
    let e = parse_descriptor(&[0xff, 0xfe]).expect_err("not UTF-8");
    assert!(e.to_string().contains("UTF-8"), "{e}");
}

#[test]
fn error_lines_name_the_line() {
    let e = bad("weft-program 1\ndims\ninput x f32 0\nbogus\n");
    assert_eq!(e.line, 4);
    assert!(e
        .to_string()
        .starts_with("malformed program descriptor, line 4: "));
}

proptest::proptest! {
    #[test]
    fn never_panics_on_mutations(
        cut in 0usize..400,
        byte in proptest::num::u8::ANY,
        pos in 0usize..400,
    ) {
        let mut b = SAMPLE.as_bytes().to_vec();
        let n = b.len();
        b[pos % n] = byte;
        b.truncate(cut.max(1).min(n));
        let _ = parse_descriptor(&b);
    }
}

const SIZED: &str = "weft-program 1
dims N M
size $2 $0 $1 + = M + N
input x f32 2 $2 $3
size $3 $0 -3 + 2 div 1 + = (N - 3) div 2 + 1
size $4 $3 $3 * -1 $1 * + = ((N - 3) div 2 + 1) * ((N - 3) div 2 + 1) - M
param w f64 1 $4 full 0
feed #b i64 1 2 batch $2 2 -
";

/// The `size` record of derived size `k`, as the compiler writes it.
fn size_line(k: usize, d: &DerivedDim) -> String {
    let code: Vec<String> = d
        .code
        .iter()
        .map(|op| match op {
            SizeOp::Dim(j) => format!("${j}"),
            SizeOp::Lit(v) => v.to_string(),
            SizeOp::Add => "+".into(),
            SizeOp::Mul => "*".into(),
            SizeOp::Div => "div".into(),
        })
        .collect();
    format!("size ${k} {} = {}", code.join(" "), d.text)
}

#[test]
fn size_records_round_trip() {
    let d = parse_descriptor(SIZED.as_bytes()).expect("valid");
    assert_eq!(d.dims, vec!["N", "M"]);
    assert_eq!(d.n_dims(), 5);
    assert_eq!(
        d.derived[0],
        DerivedDim {
            text: "M + N".into(),
            code: vec![SizeOp::Dim(0), SizeOp::Dim(1), SizeOp::Add],
        }
    );
    assert_eq!(
        d.derived[1].code,
        vec![
            SizeOp::Dim(0),
            SizeOp::Lit(-3),
            SizeOp::Add,
            SizeOp::Lit(2),
            SizeOp::Div,
            SizeOp::Lit(1),
            SizeOp::Add,
        ]
    );
    assert_eq!(d.derived[1].text, "(N - 3) div 2 + 1");
    assert_eq!(
        (d.dim_name(0), d.dim_name(2), d.dim_name(3), d.dim_name(5)),
        ("N", "M + N", "(N - 3) div 2 + 1", "?")
    );
    assert_eq!(d.type_text(&d.inputs[0]), "f32[M + N, (N - 3) div 2 + 1]");
    assert_eq!(d.size_names_of(1), vec![1]);
    assert_eq!(d.size_names_of(3), vec![0]);
    assert_eq!(d.size_names_of(4), vec![0, 1]);
    assert_eq!(d.size_names_of(9), Vec::<usize>::new());
    // Written back (size records first, in index order), it reads the same.
    let mut text = String::from("weft-program 1\ndims N M\n");
    for (i, dd) in d.derived.iter().enumerate() {
        text += &size_line(d.dims.len() + i, dd);
        text.push('\n');
    }
    for l in SIZED.lines().filter(|l| !l.starts_with("size ")).skip(2) {
        text += l;
        text.push('\n');
    }
    assert_eq!(parse_descriptor(text.as_bytes()), Ok(d));
}

#[test]
fn derived_sizes_evaluate() {
    let d = parse_descriptor(SIZED.as_bytes()).expect("valid");
    let vals = |n: Option<i64>, m: Option<i64>| {
        move |k: usize| match k {
            0 => n,
            1 => m,
            _ => None,
        }
    };
    assert_eq!(d.derived[0].eval(vals(Some(3), Some(4))), Ok(Some(7)));
    assert_eq!(d.derived[0].eval(vals(Some(3), None)), Ok(None));
    // Floor division: (N - 3) div 2 + 1 at N = 0, 2, 3, 8.
    for (n, want) in [(0, -1), (2, 0), (3, 1), (8, 3)] {
        assert_eq!(
            d.derived[1].eval(vals(Some(n), None)),
            Ok(Some(want)),
            "{n}"
        );
    }
    assert_eq!(
        d.derived[0].eval(vals(Some(i64::MAX), Some(1))),
        Err(SizeEvalError::Overflow)
    );
    let by = |b: i64| {
        DerivedDim {
            text: "N div M".into(),
            code: vec![SizeOp::Dim(0), SizeOp::Dim(1), SizeOp::Div],
        }
        .eval(vals(Some(7), Some(b)))
    };
    assert_eq!(by(2), Ok(Some(3)));
    assert_eq!(by(0), Err(SizeEvalError::Divisor(0)));
    assert_eq!(by(-2), Err(SizeEvalError::Divisor(-2)));
}

#[test]
fn malformed_size_records_name_their_line() {
    let h = "weft-program 1\ndims N M\n";
    let cases: Vec<(String, usize, &str)> = vec![
        (
            format!("{h}size $3 $0 = N\n"),
            3,
            "`$3` is not the next size, $2",
        ),
        (
            format!("{h}size $2 $0 = N\nsize $2 $1 = M\n"),
            4,
            "`$2` is not the next size, $3",
        ),
        (format!("{h}size 2 $0 = N\n"), 3, "`2` is malformed"),
        (format!("{h}size $2 $x = N\n"), 3, "`$x` is malformed"),
        (
            format!("{h}size $2 $9 = X\n"),
            3,
            "uses $9, which is not an earlier size",
        ),
        (
            format!("{h}size $2 $2 = X\n"),
            3,
            "uses $2, which is not an earlier size",
        ),
        (
            format!("{h}input x f32 0\nsize $2 $3 = X\nsize $3 $0 = N\n"),
            4,
            "uses $3, which is not an earlier size",
        ),
        (format!("{h}size $2 $0 + = N\n"), 3, "pops an empty stack"),
        (format!("{h}size $2 + = N\n"), 3, "pops an empty stack"),
        (
            format!("{h}size $2 $0 $1 = N M\n"),
            3,
            "leaves 2 values, not 1",
        ),
        (format!("{h}size $2 = N\n"), 3, "leaves 0 values, not 1"),
        (format!("{h}size $2 $0 $1 +\n"), 3, "without ` = TEXT`"),
        (
            format!("{h}size $2 $0 $1 + M + N\n"),
            3,
            "without ` = TEXT`",
        ),
        (format!("{h}size $2 $0=N\n"), 3, "without ` = TEXT`"),
        (format!("{h}size $2 $0 =\n"), 3, "text of size $2 is empty"),
        (format!("{h}size $2 $0 = \n"), 3, "text of size $2 is empty"),
        (format!("{h}size $2 $0 =  N\n"), 3, "spaces around it"),
        (format!("{h}size $2 $0 = N\r\n"), 3, "control character"),
        (
            format!("{h}size $2 $0 0 div = N div 0\n"),
            3,
            "divides by 0",
        ),
        (
            format!("{h}size $2 $0 -2 div = N div -2\n"),
            3,
            "divides by -2",
        ),
        (
            format!("{h}size $2 $0 1 - = N - 1\n"),
            3,
            "unknown size operation `-`",
        ),
        (
            format!("{h}size $2 $0 +1 + = N + 1\n"),
            3,
            "unknown size operation `+1`",
        ),
        (
            format!("{h}size $2 $0 - + = N\n"),
            3,
            "unknown size operation `-`",
        ),
        (
            format!("{h}size $2 99999999999999999999 = X\n"),
            3,
            "`99999999999999999999` is out of range",
        ),
        (format!("{h}size $2  $0 = N\n"), 3, "single spaces"),
        (format!("{h}size $2 $0  = N\n"), 3, "single spaces"),
        (format!("{h}size  = N\n"), 3, "single spaces"),
        ("weft-program 1\nsize $0 1 = 1\n".into(), 2, "second line"),
        (
            format!("{h}size $2 $0 = N\ninput x f32 1 $3\n"),
            0,
            "input `x` uses size $3, but there are 2 size names and 1 derived sizes",
        ),
        (
            format!("{h}feed #b i64 1 2 batch $2 2 -\n"),
            0,
            "feed `#b` has the wrong type",
        ),
    ];
    for (text, line, want) in cases {
        let e = bad(&text);
        assert!(
            e.message.contains(want) && e.line == line,
            "{text:?}: {e} is not line {line} and {want:?}"
        );
    }
}

#[test]
fn validate_checks_derived_sizes() {
    let sized = |text: &str, code: Vec<SizeOp>| ProgramDesc {
        dims: vec!["N".into()],
        derived: vec![DerivedDim {
            text: text.into(),
            code,
        }],
        ..ProgramDesc::default()
    };
    use SizeOp::*;
    assert_eq!(sized("N + 1", vec![Dim(0), Lit(1), Add]).validate(), Ok(()));
    // A divisor computed from sizes is checked at run time only.
    assert_eq!(
        sized("N div N", vec![Dim(0), Dim(0), Div]).validate(),
        Ok(())
    );
    let cases = [
        (sized("N", vec![Dim(1)]), "uses $1"),
        (sized("N", vec![Dim(0), Mul]), "pops an empty stack"),
        (sized("N", vec![Dim(0), Dim(0)]), "leaves 2 values"),
        (sized("N", vec![]), "leaves 0 values"),
        (sized("N div 0", vec![Dim(0), Lit(0), Div]), "divides by 0"),
        (sized("", vec![Dim(0)]), "text of size $1 is empty"),
        (sized("N\nM", vec![Dim(0)]), "control character"),
    ];
    for (d, want) in cases {
        let e = d.validate().expect_err(want);
        assert!(e.message.contains(want), "{}: {want}", e.message);
    }
    let mut d = sized("N + 1", vec![Dim(0), Lit(1), Add]);
    d.inputs.push(TensorDecl {
        name: "x".into(),
        dtype: DType::F32,
        shape: vec![DimSpec::Size(1), DimSpec::Size(2)],
    });
    let e = d.validate().expect_err("$2");
    assert_eq!(
        e.message,
        "input `x` uses size $2, but there are 1 size names and 1 derived sizes"
    );
    assert_eq!(d.type_text(&d.inputs[0]), "f32[N + 1, $2]");
}

proptest::proptest! {
    #[test]
    fn never_panics_on_sized_mutations(
        cut in 0usize..400,
        byte in proptest::num::u8::ANY,
        pos in 0usize..400,
    ) {
        let mut b = SIZED.as_bytes().to_vec();
        let n = b.len();
        b[pos % n] = byte;
        b.truncate(cut.max(1).min(n));
        if let Ok(d) = parse_descriptor(&b) {
            for dd in &d.derived {
                let _ = dd.eval(|_| Some(i64::MAX));
            }
        }
    }
}
