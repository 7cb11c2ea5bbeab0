use super::*;

const RUN: FlagSpec = FlagSpec {
    allow_set: true,
    allow_dump: true,
    extra_flags: &["--jit"],
    extra_help: &[],
};
const EXE: FlagSpec = FlagSpec {
    allow_set: false,
    allow_dump: false,
    extra_flags: &[],
    extra_help: &[],
};

fn parse(spec: &FlagSpec, args: &[&str]) -> Result<RunArgs, UsageError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse_run_flags(&args, spec)
}

fn ok(args: &[&str]) -> RunArgs {
    parse(&RUN, args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn fail(spec: &FlagSpec, args: &[&str]) -> String {
    match parse(spec, args) {
        Ok(r) => panic!("{args:?} parsed: {r:?}"),
        Err(e) => {
            assert!(!e.help);
            assert_eq!(e.exit_code(), 2);
            e.message
        }
    }
}

#[test]
fn defaults() {
    let r = ok(&[]);
    assert_eq!(
        r,
        RunArgs {
            inputs: vec![],
            params: vec![],
            steps: 1,
            out: None,
            threads: None,
            sets: vec![],
            log: vec![],
            log_every: 1,
            log_file: None,
            checkpoint: None,
            checkpoint_every: 0,
            keep: None,
            resume: None,
            stats: false,
            profile: None,
            manifest: None,
            dump: vec![],
            extra: vec![],
        }
    );
}

#[test]
fn observability_flags() {
    let r = ok(&[
        "--stats",
        "--profile",
        "t.json",
        "--manifest=m.json",
        "--dump",
        "h",
        "--dump=net.w1",
        "--dump",
        "h",
    ]);
    assert!(r.stats);
    assert_eq!(r.profile, Some(PathBuf::from("t.json")));
    assert_eq!(r.manifest, Some(PathBuf::from("m.json")));
    assert_eq!(r.dump, vec!["h".to_string(), "net.w1".to_string()]);
    let e = parse(&EXE, &["--dump", "h"]).unwrap_err();
    assert!(e.message.contains("only accepted by `weft run`"), "{e}");
    let e = parse(&RUN, &["--stats=1"]).unwrap_err();
    assert_eq!(e.message, "--stats takes no value");
    let e = parse(&RUN, &["--stats", "--stats"]).unwrap_err();
    assert_eq!(e.message, "--stats given twice");
    let e = parse(&RUN, &["--profile", "a", "--profile", "b"]).unwrap_err();
    assert_eq!(e.message, "--profile given twice");
}

#[test]
fn every_flag_in_both_forms() {
    let r = ok(&[
        "--input",
        "x=data/x.npy",
        "--input=n=3",
        "--param",
        "w=w0.npy",
        "--steps=40",
        "--out",
        "results",
        "--threads=4",
        "--set",
        "lr=0.5",
        "--log",
        "loss",
        "--log=acc",
        "--log-every",
        "5",
        "--jit=off",
    ]);
    assert_eq!(
        r.inputs,
        vec![
            ("x".to_string(), InputArg::File("data/x.npy".into())),
            ("n".to_string(), InputArg::Scalar(ScalarLit::Int(3))),
        ]
    );
    assert_eq!(r.params, vec![("w".to_string(), PathBuf::from("w0.npy"))]);
    assert_eq!(r.steps, 40);
    assert_eq!(r.out, Some(PathBuf::from("results")));
    assert_eq!(r.threads, Some(4));
    assert_eq!(r.sets, vec![("lr".to_string(), "0.5".to_string())]);
    assert_eq!(r.log, vec!["loss".to_string(), "acc".to_string()]);
    assert_eq!(r.log_every, 5);
    assert_eq!(r.extra, vec![("--jit".to_string(), "off".to_string())]);
}

#[test]
fn scalar_inputs() {
    let scalar = |v: &str| match &ok(&["--input", &format!("a={v}")]).inputs[0].1 {
        InputArg::Scalar(s) => Some(*s),
        InputArg::File(_) => None,
    };
    assert_eq!(scalar("3"), Some(ScalarLit::Int(3)));
    assert_eq!(scalar("-3"), Some(ScalarLit::Int(-3)));
    assert_eq!(scalar("+7"), Some(ScalarLit::Int(7)));
    assert_eq!(
        scalar("-9223372036854775808"),
        Some(ScalarLit::Int(i64::MIN))
    );
    assert_eq!(scalar("0.5"), Some(ScalarLit::Float(0.5)));
    assert_eq!(scalar("-2.5"), Some(ScalarLit::Float(-2.5)));
    assert_eq!(scalar("1e-3"), Some(ScalarLit::Float(1e-3)));
    assert_eq!(scalar("2.5E+4"), Some(ScalarLit::Float(2.5e4)));
    assert_eq!(scalar("3."), Some(ScalarLit::Float(3.0)));
    assert_eq!(scalar("inf"), Some(ScalarLit::Float(f64::INFINITY)));
    assert_eq!(scalar("-inf"), Some(ScalarLit::Float(f64::NEG_INFINITY)));
    assert!(matches!(scalar("nan"), Some(ScalarLit::Float(x)) if x.is_nan()));
    assert_eq!(scalar("true"), Some(ScalarLit::Bool(true)));
    assert_eq!(scalar("false"), Some(ScalarLit::Bool(false)));
    for path in [
        "x.npy",
        "3.npy",
        "./inf",
        "True",
        "0x10",
        "1e",
        "/tmp/a=b.npy",
    ] {
        assert_eq!(scalar(path), None, "{path}");
    }
    let e = fail(&RUN, &["--input", "n=99999999999999999999"]);
    assert_eq!(
        e,
        "--input n=99999999999999999999: the integer is out of range for i64"
    );
}

#[test]
fn log_every_default() {
    assert_eq!(ok(&["--steps", "20"]).log_every, 1);
    assert_eq!(ok(&["--steps", "21"]).log_every, 2);
    assert_eq!(ok(&["--steps", "100"]).log_every, 5);
    assert_eq!(ok(&["--steps", "1001"]).log_every, 51);
    // The default follows --steps wherever it appears.
    assert_eq!(ok(&["--log", "x", "--steps", "40"]).log_every, 2);
    assert_eq!(default_log_every(u64::MAX), u64::MAX.div_ceil(20));
}

#[test]
fn repeated_log_is_ignored() {
    assert_eq!(
        ok(&["--log", "a", "--log", "b", "--log", "a"]).log,
        vec!["a", "b"]
    );
}

#[test]
fn help_is_distinct() {
    for args in [
        &["-h"][..],
        &["--help"],
        &["--steps", "3", "--help"],
        &["--bogus", "-h"][..1],
    ] {
        let r = parse(&RUN, args);
        if args[0] == "--bogus" {
            assert!(!r.unwrap_err().help);
        } else {
            let e = r.unwrap_err();
            assert!(e.help);
            assert_eq!(e.exit_code(), 0);
        }
    }
    assert_eq!(fail(&RUN, &["--help=yes"]), "--help takes no value");
}

#[test]
fn unknown_flags_suggest_the_closest() {
    assert_eq!(
        fail(&RUN, &["--stpes", "3"]),
        "unknown flag '--stpes' (did you mean '--steps'?)"
    );
    assert_eq!(
        fail(&RUN, &["--inputs", "x=1"]),
        "unknown flag '--inputs' (did you mean '--input'?)"
    );
    assert_eq!(
        fail(&RUN, &["-steps", "3"]),
        "unknown flag '-steps' (did you mean '--steps'?)"
    );
    assert_eq!(
        fail(&RUN, &["--log_every=3"]),
        "unknown flag '--log_every' (did you mean '--log-every'?)"
    );
    assert_eq!(
        fail(&RUN, &["--jti", "x"]),
        "unknown flag '--jti' (did you mean '--jit'?)"
    );
    assert_eq!(
        fail(&EXE, &["--jit", "x"]),
        "unknown flag '--jit' (did you mean '--out'?)"
    );
    assert_eq!(
        fail(&RUN, &["--completely-unrelated"]),
        "unknown flag '--completely-unrelated' (see --help)"
    );
    assert_eq!(
        fail(&RUN, &["input"]),
        "unexpected argument 'input' (run flags start with '--'; see --help)"
    );
    assert!(fail(&RUN, &["-"]).starts_with("unexpected argument '-'"));
}

#[test]
fn set_only_where_allowed() {
    assert_eq!(
        ok(&["--set=lr=1e-3"]).sets,
        vec![("lr".to_string(), "1e-3".to_string())]
    );
    let e = fail(&EXE, &["--set", "lr=0.1"]);
    assert!(
        e.starts_with("--set is only accepted by `weft run` and `weft build`"),
        "{e}"
    );
    assert_eq!(
        fail(&RUN, &["--set", "a=1", "--set", "a=2"]),
        "--set a given twice"
    );
}

#[test]
fn missing_values() {
    assert_eq!(fail(&RUN, &["--steps"]), "--steps needs a value");
    assert_eq!(
        fail(&RUN, &["--out", "--steps", "3"]),
        "--out needs a value, but is followed by '--steps'"
    );
    assert_eq!(fail(&RUN, &["--out="]), "--out needs a value, got ''");
    assert_eq!(fail(&RUN, &["--out", ""]), "--out needs a value, got ''");
    assert_eq!(fail(&RUN, &["--jit"]), "--jit needs a value");
}

#[test]
fn malformed_assignments() {
    assert_eq!(
        fail(&RUN, &["--input", "x.npy"]),
        "--input expects NAME=FILE.npy or NAME=NUMBER, got 'x.npy' (no '=')"
    );
    assert_eq!(
        fail(&RUN, &["--param", "w"]),
        "--param expects NAME=FILE.npy, got 'w' (no '=')"
    );
    assert_eq!(
        fail(&RUN, &["--set", "lr"]),
        "--set expects NAME=VALUE, got 'lr' (no '=')"
    );
    assert_eq!(
        fail(&RUN, &["--input", "=x.npy"]),
        "--input: the name before '=' is empty"
    );
    assert_eq!(
        fail(&RUN, &["--input", "my-x=x.npy"]),
        "--input: 'my-x' is not a valid name (names match [A-Za-z_][A-Za-z0-9_]*, with `.` between the fields of a record: net.w1)"
    );
    assert!(fail(&RUN, &["--param", "1w=a.npy"]).contains("'1w' is not a valid name"));
    assert_eq!(
        fail(&RUN, &["--input", "x="]),
        "--input x=: the value after '=' is empty"
    );
    assert!(fail(&RUN, &["--log", "a..b"]).contains("'a..b' is not a valid name"));
    assert!(fail(&RUN, &["--log", "a."]).contains("'a.' is not a valid name"));
    assert_eq!(ok(&["--log", "net.w1"]).log, vec!["net.w1".to_string()]);
    assert!(ok(&["--input", "_x9=1"]).inputs[0].0 == "_x9");
}

#[test]
fn bad_numbers() {
    assert_eq!(
        fail(&RUN, &["--steps", "abc"]),
        "--steps expects a positive integer, got 'abc'"
    );
    assert_eq!(
        fail(&RUN, &["--steps", "-5"]),
        "--steps expects a positive integer, got '-5'"
    );
    assert_eq!(
        fail(&RUN, &["--steps", "1.5"]),
        "--steps expects a positive integer, got '1.5'"
    );
    assert_eq!(
        fail(&RUN, &["--steps", "0"]),
        "--steps must be at least 1, got 0"
    );
    assert_eq!(
        fail(&RUN, &["--steps", "99999999999999999999999"]),
        "--steps: '99999999999999999999999' is too large"
    );
    assert_eq!(
        fail(&RUN, &["--threads", "0"]),
        "--threads must be at least 1, got 0"
    );
    assert_eq!(
        fail(&RUN, &["--threads", "5000"]),
        "--threads must be at most 1024, got 5000"
    );
    assert_eq!(
        fail(&RUN, &["--log-every", "0"]),
        "--log-every must be at least 1, got 0"
    );
    assert_eq!(ok(&["--steps", "+3"]).steps, 3);
}

#[test]
fn duplicates() {
    assert_eq!(
        fail(&RUN, &["--input", "x=1", "--input", "x=a.npy"]),
        "input 'x' given twice"
    );
    assert_eq!(
        fail(&RUN, &["--param", "w=a.npy", "--param=w=b.npy"]),
        "param 'w' given twice"
    );
    assert_eq!(
        fail(&RUN, &["--steps", "1", "--steps", "2"]),
        "--steps given twice"
    );
    assert_eq!(fail(&RUN, &["--out", "a", "--out=b"]), "--out given twice");
    assert_eq!(
        fail(&RUN, &["--threads", "1", "--threads", "2"]),
        "--threads given twice"
    );
    assert_eq!(
        fail(&RUN, &["--log-every", "1", "--log-every", "2"]),
        "--log-every given twice"
    );
    assert_eq!(
        fail(&RUN, &["--jit", "a", "--jit", "b"]),
        "--jit given twice"
    );
    // An input and a param may share nothing but that is the caller's check.
    assert!(parse(&RUN, &["--input", "x=1", "--param", "x=a.npy"]).is_ok());
}

#[test]
fn usage_lists_every_flag() {
    let text = usage_text("weft run FILE", &RUN);
    assert!(text.starts_with("Usage: weft run FILE [RUN FLAGS]\n"));
    for flag in [
        "--input",
        "--param",
        "--steps",
        "--out",
        "--threads",
        "--set",
        "--log ",
        "--log-every",
        "--jit",
        "--help",
    ] {
        assert!(text.contains(flag), "{flag} missing from\n{text}");
    }
    let text = usage_text("./mlp", &EXE);
    assert!(!text.contains("--set"));
    assert!(!text.contains("--jit"));
}

#[test]
fn extra_flags_may_omit_dashes() {
    const SPEC: FlagSpec = FlagSpec {
        allow_set: false,
        allow_dump: false,
        extra_flags: &["trace-level"],
        extra_help: &[],
    };
    let r = parse(&SPEC, &["--trace-level", "out.json"]).unwrap();
    assert_eq!(
        r.extra,
        vec![("trace-level".to_string(), "out.json".to_string())]
    );
}

#[test]
fn edit_distances() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("same", "same"), 0);
}

#[test]
fn log_file_defaults_to_every_step() {
    let r = ok(&["--steps", "100", "--log-file", "l.csv"]);
    assert_eq!(r.log_file, Some(PathBuf::from("l.csv")));
    assert_eq!(r.log_every, 1);
    assert_eq!(ok(&["--steps", "100"]).log_every, 5);
    assert_eq!(
        ok(&["--steps", "100", "--log-file", "l.csv", "--log-every", "7"]).log_every,
        7
    );
    assert!(fail(&RUN, &["--log-file", "a", "--log-file", "b"]).contains("--log-file"));
}
