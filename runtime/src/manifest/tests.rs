use super::*;

fn arr(shape: Vec<usize>, data: Data) -> NpyArray {
    NpyArray::new(shape, data).expect("a valid array")
}

fn sample() -> Manifest {
    let mut m = Manifest {
        weft: "0.1.0".into(),
        program: ProgramRef {
            kind: ProgramKind::Source,
            path: "/work/p.weft".into(),
            blake3: *blake3::hash(b"input x: f32[N]\n").as_bytes(),
            modules: vec![("layers.weft".into(), *blake3::hash(b"fn f() {}").as_bytes())],
        },
        cwd: "/work".into(),
        flags: vec!["--input".into(), "x=x.npy".into()],
        resumed: None,
        inputs: vec![Entry::of(
            "x",
            &arr(vec![3], Data::F32(vec![1.0, -2.5, 0.0])),
        )],
        params: vec![
            Entry::of("w", &arr(vec![2, 1], Data::F64(vec![0.5, 1.5]))),
            Entry::of("net.b", &arr(vec![], Data::I32(vec![7]))),
        ],
        outputs: vec![Entry::of("y", &arr(vec![2], Data::Bool(vec![true, false])))],
    };
    m.sort();
    m
}

#[test]
fn json_strings_are_escaped() {
    assert_eq!(json_str("plain"), "\"plain\"");
    assert_eq!(json_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_eq!(json_str("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
    assert_eq!(json_str("\u{8}\u{c}"), "\"\\b\\f\"");
    assert_eq!(json_str("\u{1}\u{1f}\u{7f}"), "\"\\u0001\\u001f\\u007f\"");
    // Non-ASCII text stays as it is (JSON is UTF-8).
    assert_eq!(json_str("données µs ✓"), "\"données µs ✓\"");
    assert_eq!(json_str(""), "\"\"");
}

#[test]
fn hex_round_trips() {
    let d = *blake3::hash(b"abc").as_bytes();
    let h = hex(&d);
    assert_eq!(h.len(), 64);
    assert_eq!(h, blake3::hash(b"abc").to_hex().as_str());
    assert_eq!(parse_hex(&h), Some(d));
    assert_eq!(parse_hex(&h.to_uppercase()), Some(d));
    assert_eq!(parse_hex(&h[..62]), None);
    assert_eq!(parse_hex(&format!("{}zz", &h[..62])), None);
    assert_eq!(parse_hex(&format!("{}é", &h[..62])), None);
}

#[test]
fn array_hash_is_over_the_npy_data_bytes() {
    let arrays = [
        arr(vec![2, 2], Data::F32(vec![1.0, -0.0, f32::NAN, 3.5])),
        arr(vec![3], Data::F64(vec![1e300, -1.0, 0.25])),
        arr(vec![2], Data::I32(vec![-1, 7])),
        arr(vec![], Data::I64(vec![i64::MIN])),
        arr(vec![3], Data::Bool(vec![true, false, true])),
        arr(vec![2], Data::U8(vec![0, 255])),
        arr(vec![1], Data::F16(vec![0x3c00])),
        arr(vec![0, 4], Data::F32(vec![])),
    ];
    for a in &arrays {
        let file = crate::npy::write_npy(a);
        let data = &file[file.len() - a.len() * a.dtype().itemsize()..];
        assert_eq!(hash_array(a), *blake3::hash(data).as_bytes(), "{a:?}");
    }
    // More elements than one chunk.
    let big = arr(
        vec![20_000],
        Data::F32((0..20_000).map(|i| i as f32).collect()),
    );
    let file = crate::npy::write_npy(&big);
    let data = &file[file.len() - 80_000..];
    assert_eq!(hash_array(&big), *blake3::hash(data).as_bytes());
}

/// The root as docs/provenance.md defines it, written out longhand.
fn root_by_hand(m: &Manifest) -> Digest {
    fn s(h: &mut blake3::Hasher, x: &str) {
        h.update(&(x.len() as u64).to_le_bytes());
        h.update(x.as_bytes());
    }
    let mut p = blake3::Hasher::new();
    s(&mut p, "weft-manifest-program-v1");
    s(&mut p, "source");
    p.update(&m.program.blake3);
    p.update(&1u64.to_le_bytes());
    s(&mut p, "layers.weft");
    p.update(&m.program.modules[0].1);
    let program = *p.finalize().as_bytes();
    let mut r = blake3::Hasher::new();
    s(&mut r, "weft-manifest-root-v1");
    r.update(&program);
    r.update(&4u64.to_le_bytes());
    for (section, e) in [
        ("inputs", &m.inputs[0]),
        ("params", &m.params[0]), // net.b sorts before w
        ("params", &m.params[1]),
        ("outputs", &m.outputs[0]),
    ] {
        let mut l = blake3::Hasher::new();
        s(&mut l, "weft-manifest-leaf-v1");
        s(&mut l, section);
        s(&mut l, &e.name);
        s(&mut l, e.dtype.name());
        l.update(&(e.shape.len() as u64).to_le_bytes());
        for &d in &e.shape {
            l.update(&(d as u64).to_le_bytes());
        }
        l.update(&e.blake3);
        r.update(l.finalize().as_bytes());
    }
    *r.finalize().as_bytes()
}

#[test]
fn root_follows_its_definition() {
    let m = sample();
    assert_eq!(m.params[0].name, "net.b");
    assert_eq!(m.root(), root_by_hand(&m));
}

#[test]
fn root_covers_every_hash_and_nothing_else() {
    let m = sample();
    let r = m.root();
    let changed = |f: &dyn Fn(&mut Manifest)| {
        let mut c = m.clone();
        f(&mut c);
        c.sort();
        c.root()
    };
    // Paths, flags, the working directory and the version are not hashed.
    assert_eq!(changed(&|c| c.program.path = "/elsewhere/p.weft".into()), r);
    assert_eq!(changed(&|c| c.cwd = "/tmp".into()), r);
    assert_eq!(changed(&|c| c.flags.push("--threads=1".into())), r);
    assert_eq!(changed(&|c| c.weft = "9.9.9".into()), r);
    // Everything else is.
    let differ: [&dyn Fn(&mut Manifest); 11] = [
        &|c| c.program.blake3[0] ^= 1,
        &|c| c.program.kind = ProgramKind::Executable,
        &|c| c.program.modules[0].1[31] ^= 1,
        &|c| c.program.modules[0].0 = "other.weft".into(),
        &|c| c.program.modules.clear(),
        &|c| c.inputs[0].blake3[5] ^= 1,
        &|c| c.inputs[0].name = "x2".into(),
        &|c| c.params[1].dtype = DType::F32,
        &|c| c.params[1].shape = vec![1, 2],
        // The same entry in another section.
        &|c| {
            let o = c.outputs.remove(0);
            c.params.push(o);
        },
        &|c| {
            c.outputs.clear();
        },
    ];
    for (i, f) in differ.iter().enumerate() {
        assert_ne!(changed(f), r, "change {i} left the root as it was");
    }
    // Shapes are framed: [12] and [1, 2] differ even with equal data.
    let a = Entry {
        name: "a".into(),
        dtype: DType::U8,
        shape: vec![12],
        blake3: [0; 32],
    };
    let b = Entry {
        shape: vec![1, 2],
        ..a.clone()
    };
    assert_ne!(leaf("inputs", &a), leaf("inputs", &b));
    // Name and section boundaries are framed too.
    let ab = Entry {
        name: "ab".into(),
        ..a.clone()
    };
    assert_ne!(
        leaf("inputs", &ab),
        leaf(
            "input",
            &Entry {
                name: "sab".into(),
                ..a
            }
        )
    );
}

#[test]
fn json_text_is_fixed() {
    let mut m = sample();
    m.flags = vec!["--input".into(), "x=dir \"q\"\\x.npy".into()];
    m.resumed = Some(Resumed {
        checkpoint: "/ck/ckpt-00000002.arrow".into(),
        step: 2,
    });
    m.outputs.clear();
    let j = m.to_json();
    let want = format!(
        "{{\n  \"weft\": \"0.1.0\",\n  \"program\": {{\n    \"kind\": \"source\",\n    \
         \"path\": \"/work/p.weft\",\n    \"blake3\": \"{p}\",\n    \"modules\": \
         {{\"layers.weft\": \"{md}\"}}\n  }},\n  \"cwd\": \"/work\",\n  \"flags\": \
         [\"--input\", \"x=dir \\\"q\\\"\\\\x.npy\"],\n  \"resumed\": {{\"checkpoint\": \
         \"/ck/ckpt-00000002.arrow\", \"step\": 2}},\n  \"inputs\": {{\n    \"x\": \
         {{\"dtype\": \"f32\", \"shape\": [3], \"blake3\": \"{x}\"}}\n  }},\n  \
         \"params\": {{\n    \"net.b\": {{\"dtype\": \"i32\", \"shape\": [], \"blake3\": \
         \"{b}\"}},\n    \"w\": {{\"dtype\": \"f64\", \"shape\": [2, 1], \"blake3\": \
         \"{w}\"}}\n  }},\n  \"outputs\": {{}},\n  \"root\": \"{root}\"\n}}\n",
        p = hex(&m.program.blake3),
        md = hex(&m.program.modules[0].1),
        x = hex(&m.inputs[0].blake3),
        b = hex(&m.params[0].blake3),
        w = hex(&m.params[1].blake3),
        root = hex(&m.root()),
    );
    assert_eq!(j, want);
}

#[test]
fn written_atomically() {
    let d = std::env::temp_dir().join(format!("weft-manifest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    let p = d.join("run.json");
    let m = sample();
    m.write(&p).expect("write");
    assert_eq!(std::fs::read_to_string(&p).expect("read"), m.to_json());
    let e = m
        .write(&d.join("missing/run.json"))
        .expect_err("no directory");
    assert_eq!(e.exit_code, 3);
    assert!(
        e.message.contains("--manifest: cannot write"),
        "{}",
        e.message
    );
    let _ = std::fs::remove_dir_all(&d);
}
