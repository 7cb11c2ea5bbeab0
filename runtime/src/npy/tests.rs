use super::*;
use proptest::prelude::*;

/// Builds a file from a raw header text (padded by the caller or not).
fn file_with_header(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn err(bytes: &[u8]) -> String {
    match read_npy(bytes) {
        Ok(a) => panic!("expected an error, got {a:?}"),
        Err(e) => e.message,
    }
}

fn sample(dtype: DType, n: usize) -> Data {
    match dtype {
        DType::F16 => Data::F16(
            (0..n)
                .map(|i| crate::half::f32_to_f16(i as f32 * 0.5 - 3.0))
                .collect(),
        ),
        DType::F32 => Data::F32((0..n).map(|i| i as f32 * 0.25 - 1.0).collect()),
        DType::F64 => Data::F64((0..n).map(|i| (i as f64).sqrt() - 2.0).collect()),
        DType::I32 => Data::I32((0..n).map(|i| i as i32 * 7 - 20).collect()),
        DType::I64 => Data::I64((0..n).map(|i| (i as i64) << 40).collect()),
        DType::Bool => Data::Bool((0..n).map(|i| i % 3 == 0).collect()),
        DType::U8 => Data::U8((0..n).map(|i| (i * 37) as u8).collect()),
    }
}

#[test]
fn round_trips_every_dtype_and_shape() {
    let shapes: [&[usize]; 7] = [
        &[],
        &[0],
        &[5],
        &[2, 3],
        &[2, 3, 4],
        &[3, 0, 2],
        &[1, 1, 1, 1],
    ];
    for dtype in DType::ALL {
        for shape in shapes {
            let n = shape.iter().product();
            let arr = NpyArray::new(shape.to_vec(), sample(dtype, n)).unwrap();
            let bytes = write_npy(&arr);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + header_len) % 64, 0, "{dtype} {shape:?}");
            assert_eq!(bytes[9 + header_len], b'\n');
            assert_eq!(bytes.len(), 10 + header_len + n * dtype.itemsize());
            assert_eq!(read_npy(&bytes).unwrap(), arr, "{dtype} {shape:?}");
        }
    }
}

#[test]
fn nan_and_special_floats_round_trip_bitwise() {
    let v = vec![f64::NAN, -0.0, f64::INFINITY, f64::MIN_POSITIVE / 4.0];
    let arr = NpyArray::new(vec![4], Data::F64(v.clone())).unwrap();
    let Data::F64(back) = read_npy(&write_npy(&arr)).unwrap().data else {
        panic!("dtype changed")
    };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&v));
}

#[test]
fn writes_exactly_what_numpy_save_writes() {
    // np.save(f, np.array([1, 2, 3], dtype=np.float32)) with NumPy >= 1.24.
    let arr = NpyArray::new(vec![3], Data::F32(vec![1.0, 2.0, 3.0])).unwrap();
    let bytes = write_npy(&arr);
    let mut expected = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }".to_string();
    header.push_str(&" ".repeat(20)); // growth space: 21 - len("3")
    header.push_str(&" ".repeat(128 - 10 - 1 - header.len()));
    header.push('\n');
    expected.extend_from_slice(header.as_bytes());
    expected.extend_from_slice(&f32_bytes(&[1.0, 2.0, 3.0]));
    assert_eq!(bytes, expected);

    let scalar = NpyArray::new(vec![], Data::Bool(vec![true])).unwrap();
    let bytes = write_npy(&scalar);
    let text = std::str::from_utf8(&bytes[10..bytes.len() - 1]).unwrap();
    assert!(text.starts_with("{'descr': '|b1', 'fortran_order': False, 'shape': (), }"));
    assert_eq!(bytes.len(), 129);
}

#[test]
fn huge_rank_header_uses_version_2() {
    let shape = vec![1usize; 30_000];
    let arr = NpyArray::new(shape, Data::U8(vec![9])).unwrap();
    let bytes = write_npy(&arr);
    assert_eq!(&bytes[6..8], &[2, 0]);
    let header_len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    assert_eq!((12 + header_len) % 64, 0);
    assert_eq!(bytes[12 + header_len - 1], b'\n');
    // Such a rank is beyond NumPy's limit, so reading refuses it.
    assert_eq!(
        err(&bytes),
        "absurd .npy header: 30000 dimensions (NumPy allows at most 64)"
    );
    let arr = NpyArray::new(vec![1; 64], Data::U8(vec![9])).unwrap();
    assert_eq!(read_npy(&write_npy(&arr)).unwrap(), arr);
}

#[test]
fn reads_hand_written_v1_v2_v3_headers() {
    let data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let want = NpyArray::new(vec![2, 3], Data::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])).unwrap();
    // Old NumPy: 16-byte alignment, no growth space.
    let v1 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }    \n";
    assert_eq!(read_npy(&file_with_header(1, v1, &data)).unwrap(), want);
    // Keys in another order, double quotes, odd whitespace, no trailing comma.
    let v2 = "{ \"shape\" :(2,3,) ,'fortran_order':False,\t'descr':'<f4'}\n";
    assert_eq!(read_npy(&file_with_header(2, v2, &data)).unwrap(), want);
    let v3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    assert_eq!(read_npy(&file_with_header(3, v3, &data)).unwrap(), want);
    // Python 2 long integers.
    let py2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n";
    assert_eq!(read_npy(&file_with_header(1, py2, &data)).unwrap(), want);
    // Invalid UTF-8 is an error in a version 3 header.
    let mut bad = file_with_header(3, v3, &data);
    bad[20] = 0xff;
    assert_eq!(err(&bad), "malformed .npy header: not valid UTF-8");
}

#[test]
fn reads_shapes_of_every_form() {
    let cases: [(&str, Vec<usize>); 4] = [
        ("()", vec![]),
        ("(5,)", vec![5]),
        ("( 0 , )", vec![0]),
        ("(1, 2, 1)", vec![1, 2, 1]),
    ];
    for (text, shape) in cases {
        let n: usize = shape.iter().product();
        let header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {text}, }}\n");
        let arr = read_npy(&file_with_header(1, &header, &vec![7; n])).unwrap();
        assert_eq!(arr.shape, shape, "{text}");
    }
}

#[test]
fn converts_big_endian_and_native_descrs() {
    let be: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let header = "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n";
    let arr = read_npy(&file_with_header(1, header, &be)).unwrap();
    assert_eq!(arr.data, Data::F32(vec![1.5, -2.0]));

    let be: Vec<u8> = [-5i64, 1 << 40]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let header = "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }\n";
    assert_eq!(
        read_npy(&file_with_header(1, header, &be)).unwrap().data,
        Data::I64(vec![-5, 1 << 40])
    );

    let header = "{'descr': '=i4', 'fortran_order': False, 'shape': (1,), }\n";
    assert_eq!(
        read_npy(&file_with_header(1, header, &7i32.to_le_bytes()))
            .unwrap()
            .data,
        Data::I32(vec![7])
    );

    let header = "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }\n";
    assert_eq!(
        read_npy(&file_with_header(1, header, &[0x3c, 0x00]))
            .unwrap()
            .data,
        Data::F16(vec![0x3c00])
    );

    for descr in ["<u1", ">u1", "|b1"] {
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}\n");
        assert!(
            read_npy(&file_with_header(1, &header, &[1])).is_ok(),
            "{descr}"
        );
    }
}

#[test]
fn converts_fortran_order() {
    // np.asfortranarray(np.arange(6).reshape(2, 3)) stores 0 3 1 4 2 5.
    let header = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }\n";
    let data: Vec<u8> = [0i32, 3, 1, 4, 2, 5]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let arr = read_npy(&file_with_header(1, header, &data)).unwrap();
    assert_eq!(arr.data, Data::I32(vec![0, 1, 2, 3, 4, 5]));

    // 3-d: element (i, j, k) of a (2, 3, 4) array is at i + 2j + 6k in F order.
    let mut fdata = vec![0u8; 24];
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                fdata[i + 2 * j + 6 * k] = (i * 12 + j * 4 + k) as u8;
            }
        }
    }
    let header = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 4), }\n";
    let arr = read_npy(&file_with_header(1, header, &fdata)).unwrap();
    assert_eq!(arr.data, Data::U8((0..24).collect()));

    // 1-d and empty arrays are the same in both orders.
    let header = "{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }\n";
    assert_eq!(
        read_npy(&file_with_header(1, header, &[1, 2, 3]))
            .unwrap()
            .data,
        Data::U8(vec![1, 2, 3])
    );
    let header = "{'descr': '|u1', 'fortran_order': True, 'shape': (0, 3), }\n";
    assert!(read_npy(&file_with_header(1, header, &[]))
        .unwrap()
        .is_empty());
}

#[test]
fn reports_clear_errors() {
    let ok = |descr: &str, shape: &str| {
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n")
    };
    assert_eq!(
        err(b"hello world, not numpy"),
        "not a .npy file (bad magic)"
    );
    assert_eq!(err(b""), "not a .npy file (bad magic)");
    assert!(err(b"\x93NUMPY\x01").starts_with("truncated"));
    assert!(err(b"\x93NUMPY\x04\x00\x10\x00").contains("unsupported .npy format version 4.0"));
    assert_eq!(
        err(&file_with_header(1, &ok("<f4", "(9,)"), &[0; 16])),
        "truncated: header says 9 elements of f32 (36 bytes) but only 16 bytes of data follow"
    );
    assert_eq!(
        err(&file_with_header(1, &ok("<f4", "(1,)"), &[0; 7])),
        "3 bytes of trailing garbage after the 1 elements of f32 the header describes"
    );
    assert_eq!(
        err(&file_with_header(1, &ok("<c8", "(1,)"), &[0; 8])),
        "unsupported dtype '<c8' (weft reads f2, f4, f8, i4, i8, b1 and u1)"
    );
    for bad in ["|i1", "<u2", "<U5", "|O", "<M8[ns]", "", "<"] {
        assert!(
            err(&file_with_header(1, &ok(bad, "(1,)"), &[0; 8])).contains("unsupported dtype"),
            "{bad}"
        );
    }
    let huge = ok("<f8", "(4294967296, 4294967296, 4294967296)");
    assert!(err(&file_with_header(1, &huge, &[])).starts_with("absurd shape"));
    let huge = ok("<f8", "(99999999999999999999999999999,)");
    assert!(err(&file_with_header(1, &huge, &[])).contains("too large"));
    let long = file_with_header(2, &" ".repeat(10), &[]);
    let mut long_len = long.clone();
    long_len[8..12].copy_from_slice(&(2u32 << 20).to_le_bytes());
    assert!(err(&long_len).starts_with("absurd .npy header length"));
    assert!(err(&long).starts_with("malformed .npy header: unexpected end"));
    let bools = file_with_header(1, &ok("|b1", "(3,)"), &[0, 1, 2]);
    assert_eq!(
        err(&bools),
        "invalid bool byte 0x02 at element 2 (only 0 and 1 are allowed)"
    );
}

#[test]
fn rejects_malformed_headers() {
    let cases = [
        ("{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"),
        ("{'descr': '<f4', 'shape': (1,)}", "no 'fortran_order' key"),
        ("{'fortran_order': False, 'shape': (1,)}", "no 'descr' key"),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "unexpected key 'x'",
        ),
        (
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
            "appears twice",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}",
            "'shape' is an integer, not a tuple",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",
            "'shape' is a list",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            "negative integer",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
            "expected ',' or ')'",
        ),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            "not True or False",
        ),
        (
            "{'descr': 4, 'fortran_order': False, 'shape': (1,)}",
            "'descr' is an integer",
        ),
        (
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            "structured",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}",
            "is a string, not an integer",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} extra",
            "unexpected text",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ,}",
            "unexpected character ','",
        ),
        (
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
            "expected ',' or '}'",
        ),
        (
            "{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
            "expected ':'",
        ),
        (
            "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}",
            "unexpected name",
        ),
        ("{1: 2}", "a key is an integer"),
        ("(1, 2)", "expected a dict, found a tuple"),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}",
            "leading zero",
        ),
        (
            "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (1,)}",
            "unsupported escape",
        ),
        ("{'descr': '<f4", "unterminated string"),
    ];
    for (header, want) in cases {
        let message = err(&file_with_header(1, &format!("{header}\n"), &[0; 4]));
        assert!(message.contains(want), "{header}: {message}");
    }
    let deep = format!("{}{}", "(".repeat(100), ")".repeat(100));
    let message = err(&file_with_header(1, &deep, &[]));
    assert!(message.contains("nesting too deep"), "{message}");
}

#[test]
fn array_constructor_checks_length() {
    assert!(NpyArray::new(vec![2, 2], Data::F32(vec![0.0; 3])).is_err());
    assert!(NpyArray::new(vec![usize::MAX, 2], Data::F32(vec![])).is_err());
    assert_eq!(NpyArray::new(vec![], Data::I64(vec![4])).unwrap().ndim(), 0);
}

#[test]
fn files_round_trip_and_fail_clearly() {
    let dir = std::env::temp_dir().join(format!("weft-npy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.npy");
    let arr = NpyArray::new(vec![2, 2], Data::F64(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
    write_npy_file(&path, &arr).unwrap();
    assert_eq!(read_npy_file(&path).unwrap(), arr);

    let mut bytes = write_npy(&arr);
    bytes.extend_from_slice(&[0; 5]);
    std::fs::write(&path, &bytes).unwrap();
    let e = read_npy_file(&path).unwrap_err().message;
    assert!(
        e.starts_with(&format!("{}: 5 bytes of trailing garbage", path.display())),
        "{e}"
    );

    bytes.truncate(bytes.len() - 9);
    std::fs::write(&path, &bytes).unwrap();
    let e = read_npy_file(&path).unwrap_err().message;
    assert!(
        e.contains("truncated: header says 4 elements of f64 (32 bytes) but only 28 bytes"),
        "{e}"
    );

    std::fs::write(&path, &bytes[..5]).unwrap();
    assert!(read_npy_file(&path)
        .unwrap_err()
        .message
        .contains("bad magic"));
    std::fs::write(&path, &bytes[..20]).unwrap();
    assert!(read_npy_file(&path)
        .unwrap_err()
        .message
        .contains("truncated"));

    let missing = dir.join("missing.npy");
    let e = read_npy_file(&missing).unwrap_err().message;
    assert!(
        e.starts_with(&format!("{}: cannot read:", missing.display())),
        "{e}"
    );
    assert!(read_npy_file(&dir)
        .unwrap_err()
        .message
        .contains("is a directory"));

    let bad = NpyArray {
        shape: vec![3],
        data: Data::F64(vec![1.0]),
    };
    assert!(write_npy_file(&path, &bad)
        .unwrap_err()
        .message
        .contains("does not match"));
    assert!(write_npy_file(&dir.join("no/such/dir.npy"), &arr).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A valid file for the fuzzing strategies to start from.
fn valid_file() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..7,
        prop::collection::vec(0usize..4, 0..4),
        any::<bool>(),
    )
        .prop_map(|(d, shape, fortran)| {
            let dtype = DType::ALL[d];
            let n = shape.iter().product();
            let mut bytes = write_npy(&NpyArray {
                shape,
                data: sample(dtype, n),
            });
            if fortran {
                // Flip fortran_order to True (same length as "False" minus one).
                if let Some(p) = bytes.windows(5).position(|w| w == b"False") {
                    bytes[p..p + 5].copy_from_slice(b"True ");
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = read_npy(&bytes);
        let mut with_magic = b"\x93NUMPY\x01\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = read_npy(&with_magic);
    }

    #[test]
    fn mutated_files_never_panic(
        file in valid_file(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = file;
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = read_npy(&bytes);
    }

    #[test]
    fn header_text_edits_never_panic(
        file in valid_file(),
        at in any::<prop::sample::Index>(),
        insert in "[0-9(),:'\" TrueFalsL<>|fib{}\\[\\]-]{0,12}",
    ) {
        // Splice text into the header dict, keeping the length field honest.
        let header_len = u16::from_le_bytes([file[8], file[9]]) as usize;
        let text = &file[10..10 + header_len];
        let i = at.index(text.len());
        let mut new_text = text[..i].to_vec();
        new_text.extend_from_slice(insert.as_bytes());
        new_text.extend_from_slice(&text[i..]);
        let mut bytes = file[..8].to_vec();
        bytes.extend_from_slice(&(new_text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&new_text);
        bytes.extend_from_slice(&file[10 + header_len..]);
        let _ = read_npy(&bytes);
    }

    #[test]
    fn written_files_read_back(file in valid_file()) {
        prop_assert!(read_npy(&file).is_ok());
    }
}
