//! Expected strings are what NumPy 2.x prints for the same arrays.
use super::*;
use crate::half::f32_to_f16;

fn arr(shape: &[usize], data: Data) -> NpyArray {
    NpyArray::new(shape.to_vec(), data).unwrap()
}

fn f64s(shape: &[usize], v: &[f64]) -> String {
    format_array(&arr(shape, Data::F64(v.to_vec())))
}

fn f32s(shape: &[usize], v: &[f32]) -> String {
    format_array(&arr(shape, Data::F32(v.to_vec())))
}

fn range(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

#[test]
fn simple_float_arrays() {
    assert_eq!(f64s(&[3], &[1.0, 2.5, -3.0]), "[ 1.   2.5 -3. ]");
    assert_eq!(f64s(&[2, 3], &range(6)), "[[0. 1. 2.]\n [3. 4. 5.]]");
    assert_eq!(f64s(&[2], &[0.1, 0.25]), "[0.1  0.25]");
    assert_eq!(
        f64s(&[5], &[0.0, 0.25, 0.5, 0.75, 1.0]),
        "[0.   0.25 0.5  0.75 1.  ]"
    );
    assert_eq!(f64s(&[3], &[0.0; 3]), "[0. 0. 0.]");
    assert_eq!(f64s(&[2], &[-0.0, 1.0]), "[-0.  1.]");
    assert_eq!(f64s(&[1], &[1.0 / 3.0]), "[0.33333333]");
    assert_eq!(f64s(&[2], &[0.001, 1.0]), "[0.001 1.   ]");
    assert_eq!(f64s(&[2], &[100.0, 0.5]), "[100.    0.5]");
}

#[test]
fn float32_uses_its_own_shortest_digits() {
    assert_eq!(f32s(&[1], &[1.0 / 3.0]), "[0.33333334]");
    assert_eq!(f32s(&[2], &[0.1, 0.2]), "[0.1 0.2]");
    assert_eq!(f32s(&[], &[1.0 / 3.0]), "0.33333334");
    // NumPy compares with 1e-4 rounded to float32, so this stays positional.
    assert_eq!(f32s(&[2], &[1e-4, 0.05]), "[0.0001 0.05  ]");
    assert_eq!(f64s(&[2], &[9e-5, 0.05]), "[9.e-05 5.e-02]");
}

#[test]
fn float16_uses_its_own_shortest_digits() {
    let h = |v: &[f32]| Data::F16(v.iter().map(|&x| f32_to_f16(x)).collect());
    assert_eq!(
        format_array(&arr(&[3], h(&[0.1, 0.5, -2.0]))),
        "[ 0.1  0.5 -2. ]"
    );
    assert_eq!(format_array(&arr(&[1], h(&[1.0 / 3.0]))), "[0.3333]");
    // float16 max has the shortest unique digits 655 (and is above the
    // float16 scientific cut-off 1e3).
    assert_eq!(format_array(&arr(&[1], h(&[65504.0]))), "[6.55e+04]");
    assert_eq!(format_array(&arr(&[1], h(&[999.0]))), "[999.]");
    assert_eq!(format_array(&arr(&[], h(&[0.1]))), "0.1");
    assert_eq!(format_array(&arr(&[1], h(&[1e-7]))), "[1.e-07]");
}

#[test]
fn scientific_notation() {
    assert_eq!(f64s(&[2], &[1e-5, 1.0]), "[1.e-05 1.e+00]");
    assert_eq!(f64s(&[2], &[1e10, 1.0]), "[1.e+10 1.e+00]");
    assert_eq!(f64s(&[1], &[123456789.0]), "[1.23456789e+08]");
    assert_eq!(f64s(&[2], &[1.5, 1e6]), "[1.5e+00 1.0e+06]");
    assert_eq!(f64s(&[2], &[0.0, 1e-5]), "[0.e+00 1.e-05]");
    assert_eq!(f64s(&[2], &[-1e-5, 1.0]), "[-1.e-05  1.e+00]");
    assert_eq!(f64s(&[2], &[1e-5, 1e100]), "[1.e-005 1.e+100]");
    assert_eq!(f64s(&[1], &[1.0 / 3.0 * 1e-5]), "[3.33333333e-06]");
    assert_eq!(f64s(&[2], &[1e-5, f64::NAN]), "[1.e-05    nan]");
}

#[test]
fn non_finite_values() {
    assert_eq!(f64s(&[3], &[1.0, f64::NAN, f64::INFINITY]), "[ 1. nan inf]");
    assert_eq!(f64s(&[2], &[f64::NEG_INFINITY, 1.5]), "[-inf  1.5]");
    assert_eq!(f64s(&[2], &[f64::NAN, f64::NAN]), "[nan nan]");
    assert_eq!(f64s(&[2], &[f64::NEG_INFINITY, f64::NAN]), "[-inf  nan]");
    assert_eq!(f64s(&[], &[f64::NAN]), "nan");
    assert_eq!(f64s(&[], &[f64::NEG_INFINITY]), "-inf");
}

#[test]
fn float_scalars() {
    assert_eq!(f64s(&[], &[1.0]), "1.0");
    assert_eq!(f64s(&[], &[-2.5]), "-2.5");
    assert_eq!(f64s(&[], &[0.0]), "0.0");
    assert_eq!(f64s(&[], &[1.0 / 3.0]), "0.3333333333333333");
    assert_eq!(f64s(&[], &[1e16]), "1e+16");
    assert_eq!(f64s(&[], &[1.5e-5]), "1.5e-05");
    assert_eq!(f64s(&[], &[123456789.0]), "123456789.0");
    assert_eq!(f64s(&[], &[1e-300]), "1e-300");
    // float32(1e-4) is just below 1e-4, so NumPy prints it in scientific.
    assert_eq!(f32s(&[], &[1e-4]), "1e-04");
    assert_eq!(f32s(&[], &[0.1]), "0.1");
}

#[test]
fn integers_and_bools() {
    assert_eq!(
        format_array(&arr(&[3], Data::I32(vec![1, 2, 3]))),
        "[1 2 3]"
    );
    assert_eq!(format_array(&arr(&[2], Data::I64(vec![-1, 10]))), "[-1 10]");
    assert_eq!(
        format_array(&arr(&[2], Data::U8(vec![0, 255]))),
        "[  0 255]"
    );
    assert_eq!(format_array(&arr(&[], Data::I64(vec![-7]))), "-7");
    assert_eq!(
        format_array(&arr(&[2], Data::Bool(vec![true, false]))),
        "[ True False]"
    );
    assert_eq!(
        format_array(&arr(&[2, 2], Data::Bool(vec![true, false, false, true]))),
        "[[ True False]\n [False  True]]"
    );
    assert_eq!(format_array(&arr(&[], Data::Bool(vec![true]))), "True");
}

#[test]
fn three_d_has_blank_lines_between_blocks() {
    let a = arr(&[2, 3, 4], Data::I64((0..24).collect()));
    assert_eq!(
        format_array(&a),
        "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]"
    );
}

#[test]
fn empty_arrays() {
    assert_eq!(f64s(&[0], &[]), "[]");
    assert_eq!(f64s(&[2, 0], &[]), "[]");
}

#[test]
fn long_rows_wrap_at_75_columns() {
    assert_eq!(
        f64s(&[30], &range(30)),
        "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"
    );
}

#[test]
fn large_arrays_are_summarised() {
    // From the NumPy quickstart.
    let a = arr(&[10000], Data::I64((0..10000).collect()));
    assert_eq!(format_array(&a), "[   0    1    2 ... 9997 9998 9999]");
    let a = arr(&[100, 100], Data::I64((0..10000).collect()));
    assert_eq!(
        format_array(&a),
        "[[   0    1    2 ...   97   98   99]\n [ 100  101  102 ...  197  198  199]\n [ 200  201  202 ...  297  298  299]\n ...\n [9700 9701 9702 ... 9797 9798 9799]\n [9800 9801 9802 ... 9897 9898 9899]\n [9900 9901 9902 ... 9997 9998 9999]]"
    );
    let a = arr(&[1000, 1000], Data::F64(range(1_000_000)));
    let expected = "\
[[0.00000e+00 1.00000e+00 2.00000e+00 ... 9.97000e+02 9.98000e+02
  9.99000e+02]
 [1.00000e+03 1.00100e+03 1.00200e+03 ... 1.99700e+03 1.99800e+03
  1.99900e+03]
 [2.00000e+03 2.00100e+03 2.00200e+03 ... 2.99700e+03 2.99800e+03
  2.99900e+03]
 ...
 [9.97000e+05 9.97001e+05 9.97002e+05 ... 9.97997e+05 9.97998e+05
  9.97999e+05]
 [9.98000e+05 9.98001e+05 9.98002e+05 ... 9.98997e+05 9.98998e+05
  9.98999e+05]
 [9.99000e+05 9.99001e+05 9.99002e+05 ... 9.99997e+05 9.99998e+05
  9.99999e+05]]";
    assert_eq!(format_array(&a), expected);
    // 1000 elements exactly is not summarised.
    let a = arr(&[1000], Data::I32((0..1000).collect()));
    assert!(!format_array(&a).contains("..."));
    // Short axes of a large array are shown whole.
    let a = arr(&[2, 1000], Data::I32((0..2000).collect()));
    assert_eq!(
        format_array(&a),
        "[[   0    1    2 ...  997  998  999]\n [1000 1001 1002 ... 1997 1998 1999]]"
    );
}

#[test]
fn output_lines() {
    assert_eq!(
        format_output("loss", &arr(&[], Data::F32(vec![0.5]))),
        "loss = 0.5"
    );
    assert_eq!(
        format_output("w", &arr(&[2, 2], Data::F64(range(4)))),
        "w = [[0. 1.]\n [2. 3.]]"
    );
    let big = arr(&[1000, 1000], Data::F32(vec![0.0; 1_000_000]));
    let text = format_output("w", &big);
    assert!(
        text.ends_with(
            "\n  # f32[1000, 1000], only the edges shown (--out DIR writes every value)"
        ),
        "{text}"
    );
    assert!(
        text.starts_with("w = [[0. 0. 0. ... 0. 0. 0.]\n [0. 0. 0. ... 0. 0. 0.]"),
        "{text}"
    );
}

#[test]
fn inconsistent_arrays_do_not_panic() {
    let bad = NpyArray {
        shape: vec![3],
        data: Data::F32(vec![1.0]),
    };
    assert!(format_array(&bad).starts_with("<invalid array"));
    let deep = arr(&vec![1; 100_000], Data::U8(vec![1]));
    assert_eq!(format_array(&deep), "<array with 100000 dimensions>");
    let a = arr(&[1; 64], Data::U8(vec![1]));
    assert_eq!(
        format_array(&a),
        format!("{}1{}", "[".repeat(64), "]".repeat(64))
    );
}

#[test]
fn shortest_f16_digits_round_trip() {
    for h in 0..0x7c00u16 {
        let x = f16_to_f64(h);
        if x == 0.0 {
            continue;
        }
        let (digits, exp) = shortest_f16_digits(x);
        let back: f64 = format!("0.{digits}e{}", exp + 1).parse().unwrap();
        assert_eq!(f64_to_f16(back), h, "{h:#x} -> {digits}e{exp}");
        assert!(digits.len() <= 5);
    }
}

#[test]
fn regressions_found_against_numpy_2_4() {
    // Ties between two shortest candidates go to the even digit.
    assert_eq!(f32s(&[1], &[7058.0 + 0.65625]), "[7058.6562]");
    assert_eq!(f32s(&[], &[7058.0 + 0.65625]), "7058.6562");
    // The scientific cut-off depends on the dtype (NumPy >= 2.2).
    assert_eq!(f32s(&[2], &[1e6, 999_999.0]), "[1.00000e+06 9.99999e+05]");
    assert_eq!(f32s(&[1], &[999_999.0]), "[999999.]");
    assert_eq!(f64s(&[1], &[1e6]), "[1000000.]");
    let h = |v: &[f32]| Data::F16(v.iter().map(|&x| f32_to_f16(x)).collect());
    assert_eq!(
        format_array(&arr(&[2], h(&[1000.0, 1.0]))),
        "[1.e+03 1.e+00]"
    );
    assert_eq!(format_array(&arr(&[], h(&[1000.0]))), "1e+03");
    assert_eq!(format_array(&arr(&[], h(&[999.0]))), "999.0");
    assert_eq!(f32s(&[], &[1e6]), "1e+06");
    assert_eq!(f32s(&[], &[999_999.0]), "999999.0");
    assert_eq!(f32s(&[], &[4.967_899_8e8]), "4.9678998e+08");
    // Digits beyond the shortest ones come from the exact value.
    assert_eq!(
        f32s(&[3], &[5.355_158e-4, -3.391_174_5e-4, 1e-5]),
        "[ 5.3551578e-04 -3.3911745e-04  9.9999997e-06]"
    );
    assert_eq!(
        format_array(&arr(&[4], h(&[0.1, 1.5e-5, 3.3e-4, 1.234e-5]))),
        "[9.998e-02 1.502e-05 3.300e-04 1.234e-05]"
    );
}
