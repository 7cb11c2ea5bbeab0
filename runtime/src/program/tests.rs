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
