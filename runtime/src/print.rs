//! Printing outputs the way NumPy prints arrays.
//!
//! [`format_array`] gives exactly what `print(arr)` (`str(arr)`) shows in
//! NumPy 2.x with the default print options: precision 8, floatmode
//! `maxprec`, threshold 1000 elements (larger arrays are summarised with
//! `...` and 3 edge items per axis), line width 75.  Floats are printed with
//! the shortest digits that round-trip *in their own dtype* (so `f32` values
//! print like `numpy.float32`), capped at 8 fractional digits, with a common
//! width within an array; scientific notation is used when NumPy uses it (a
//! non-zero magnitude below 1e-4 or at least 1e8 (1e6 for f32, 1e3 for
//! f16), or a max/min ratio above 1000); `nan` and `inf` as NumPy spells them; booleans `True`/`False`;
//! integers plain and right-aligned.  A 0-d array prints as its scalar does
//! (`str(np.float32(1/3))` is `0.33333334`, `str(np.float64(1))` is `1.0`).
//!
//! [`format_output`] prefixes `name = ` and, for a summarised array, adds a
//! line with the dtype and shape (see its documentation).

use crate::half::{f16_to_f64, f64_to_f16};
use crate::npy::{DType, Data, NpyArray};

/// Arrays with more elements than this are summarised.
const THRESHOLD: usize = 1000;
/// Items shown at each end of a summarised axis.
const EDGE_ITEMS: usize = 3;
/// NumPy's default line width.
const LINE_WIDTH: i64 = 75;
/// Maximum fractional digits in array printing.
const PRECISION: usize = 8;

/// Formats an output for printing: `name = VALUE` for a 0-d array, otherwise
/// `name = ` followed by [`format_array`] (continuation lines keep NumPy's
/// one-space indent, so the text after `= ` is exactly NumPy's).  A summarised
/// array (more than 1000 elements) gets a second line such as
/// `  # f32[1000, 1000], only the edges shown (--out DIR writes every value)`.
/// The result has no trailing newline.
pub fn format_output(name: &str, arr: &NpyArray) -> String {
    let mut text = format!("{name} = {}", format_array(arr));
    if arr.ndim() > 0 && arr.len() > THRESHOLD {
        let dims: Vec<String> = arr.shape.iter().map(|d| d.to_string()).collect();
        text.push_str(&format!(
            "\n  # {}[{}], only the edges shown (--out DIR writes every value)",
            arr.dtype(),
            dims.join(", ")
        ));
    }
    text
}

/// Formats an array exactly as NumPy's `str(arr)` / `print(arr)` does.
/// An array whose data does not match its shape prints as a short note
/// rather than panicking.
pub fn format_array(arr: &NpyArray) -> String {
    let expected = arr
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(arr.len()) {
        return format!(
            "<invalid array: shape {:?} with {} elements>",
            arr.shape,
            arr.len()
        );
    }
    if arr.ndim() > crate::npy::MAX_NDIM {
        return format!("<array with {} dimensions>", arr.ndim());
    }
    if arr.ndim() == 0 {
        return scalar_str(&arr.data);
    }
    if arr.is_empty() {
        return "[]".to_string();
    }
    let summarise = arr.len() > THRESHOLD;
    let mut strides = vec![1usize; arr.ndim()];
    for k in (0..arr.ndim().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * arr.shape[k + 1];
    }
    let mut shown = Vec::new();
    collect_shown(&arr.shape, &strides, summarise, 0, 0, &mut shown);
    let values: Vec<Value> = shown.iter().map(|&i| value(&arr.data, i)).collect();
    let printer = Printer {
        shape: &arr.shape,
        strides,
        data: &arr.data,
        format: ElemFormat::new(arr.dtype(), &values),
        summarise,
    };
    let mut index = Vec::with_capacity(arr.ndim());
    printer.recurse(&mut index, " ", LINE_WIDTH)
}

/// One element, widened.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
}

fn value(data: &Data, i: usize) -> Value {
    match data {
        Data::F16(v) => Value::Float(f16_to_f64(v[i])),
        Data::F32(v) => Value::Float(f64::from(v[i])),
        Data::F64(v) => Value::Float(v[i]),
        Data::I32(v) => Value::Int(i64::from(v[i])),
        Data::I64(v) => Value::Int(v[i]),
        Data::U8(v) => Value::Int(i64::from(v[i])),
        Data::Bool(v) => Value::Bool(v[i]),
    }
}

/// Collects the flat offsets of the elements that will be printed (all of
/// them, or the edges of each axis when summarising), like NumPy's
/// `_leading_trailing`.
fn collect_shown(
    shape: &[usize],
    strides: &[usize],
    summarise: bool,
    axis: usize,
    base: usize,
    out: &mut Vec<usize>,
) {
    if axis == shape.len() {
        out.push(base);
        return;
    }
    let n = shape[axis];
    let mut visit = |i: usize| {
        collect_shown(
            shape,
            strides,
            summarise,
            axis + 1,
            base + i * strides[axis],
            out,
        )
    };
    if summarise && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .chain(n - EDGE_ITEMS..n)
            .for_each(&mut visit);
    } else {
        (0..n).for_each(&mut visit);
    }
}

// ---------------------------------------------------------------------------
// Float digits
// ---------------------------------------------------------------------------

/// The floating dtype whose precision decides the shortest digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FloatKind {
    F16,
    F32,
    F64,
}

/// Splits Rust's `{:e}` output (`1.2345e-5`) into significant digits without
/// trailing zeros (`"12345"`) and the exponent of the first digit (`-5`).
fn parse_sci(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// The shortest digits that round-trip to `a` (finite, > 0) in `kind`;
/// of two equally close candidates, the one with an even last digit (as
/// NumPy's Dragon4 chooses: `float32(7058.65625)` prints `7058.6562`).
fn shortest_digits(a: f64, kind: FloatKind) -> (String, i32) {
    let shortest = match kind {
        FloatKind::F64 => parse_sci(&format!("{a:e}")),
        FloatKind::F32 => parse_sci(&format!("{:e}", a as f32)),
        FloatKind::F16 => return shortest_f16_digits(a),
    };
    // Rust's shortest mode may round a tie up; the exact mode rounds the
    // exact value half-to-even with the same number of digits.
    let n = shortest.0.len() - 1;
    let exact = parse_sci(&format!("{a:.n$e}"));
    let text = format!("0.{}e{}", exact.0, exact.1 + 1);
    let round_trips = match kind {
        FloatKind::F32 => text.parse::<f32>().is_ok_and(|v| f64::from(v) == a),
        _ => text.parse::<f64>().is_ok_and(|v| v == a),
    };
    if round_trips {
        exact
    } else {
        shortest
    }
}

/// Shortest round-trip digits for a half-precision value: the closest
/// decimal with the fewest significant digits that rounds back to it.
fn shortest_f16_digits(a: f64) -> (String, i32) {
    let target = f64_to_f16(a);
    for n in 1..=17usize {
        let (digits, exp) = parse_sci(&format!("{:.*e}", n - 1, a));
        // `digits` may have lost trailing zeros; rescale to n digits.
        let mut k: i64 = digits.parse().unwrap_or(0);
        for _ in digits.len()..n {
            k *= 10;
        }
        let scale = exp - (n as i32 - 1);
        let mut best: Option<(f64, i64)> = None;
        for cand in [k, k - 1, k + 1] {
            if cand <= 0 {
                continue;
            }
            let Ok(v) = format!("{cand}e{scale}").parse::<f64>() else {
                continue;
            };
            if f64_to_f16(v) == target && best.is_none_or(|(d, _)| (v - a).abs() < d) {
                best = Some(((v - a).abs(), cand));
            }
        }
        if let Some((_, cand)) = best {
            let text = cand.to_string();
            return parse_sci(&format!(
                "{}.{}e{}",
                &text[..1],
                &text[1..],
                scale + text.len() as i32 - 1
            ));
        }
    }
    parse_sci(&format!("{a:e}"))
}

/// Positional digits in NumPy's unique mode: the shortest round-trip digits,
/// rounded to `precision` fractional digits if they need more.  Returns the
/// integer part (with its sign) and the fractional part (trailing zeros
/// trimmed).
fn positional(x: f64, kind: FloatKind, precision: Option<usize>) -> (String, String) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let a = x.abs();
    if a == 0.0 {
        return (format!("{sign}0"), String::new());
    }
    let (digits, exp) = shortest_digits(a, kind);
    let frac_len = (digits.len() as i64 - 1 - i64::from(exp)).max(0) as usize;
    let (int, frac) = match precision {
        Some(p) if frac_len > p => {
            let text = format!("{a:.p$}");
            let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
            (int.to_string(), frac.trim_end_matches('0').to_string())
        }
        _ if exp >= 0 => {
            let e = exp as usize;
            let mut int = digits[..digits.len().min(e + 1)].to_string();
            int.push_str(&"0".repeat((e + 1).saturating_sub(digits.len())));
            (int, digits.get(e + 1..).unwrap_or("").to_string())
        }
        _ => {
            let zeros = "0".repeat((-exp - 1) as usize);
            ("0".to_string(), format!("{zeros}{digits}"))
        }
    };
    (format!("{sign}{int}"), frac)
}

/// Scientific digits in NumPy's unique mode: the shortest round-trip digits,
/// rounded to `precision` digits after the point if they need more, or
/// extended with the exact value's digits to `min_digits` if they have fewer.  Returns the integer digit (with sign), the
/// fractional digits and the exponent.
fn scientific(
    x: f64,
    kind: FloatKind,
    precision: Option<usize>,
    min_digits: usize,
) -> (String, String, i32) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let a = x.abs();
    let (mut digits, mut exp) = if a == 0.0 {
        ("0".to_string(), 0)
    } else {
        shortest_digits(a, kind)
    };
    // NumPy's Dragon4 cuts at `precision` digits, and when `min_digits`
    // asks for more than the shortest digits it continues with the digits
    // of the exact value (rounded), not with zeros.
    let have = digits.len() - 1;
    let want = match precision {
        Some(p) if have > p => Some(p),
        _ if have < min_digits => Some(min_digits),
        _ => None,
    };
    if let (Some(n), true) = (want, a != 0.0) {
        (digits, exp) = parse_sci(&format!("{a:.n$e}"));
    }
    let mut frac = digits[1..].to_string();
    while frac.len() < min_digits {
        frac.push('0');
    }
    (format!("{sign}{}", &digits[..1]), frac, exp)
}

/// An exponent as NumPy writes it: a sign and at least `min_digits` digits.
fn exponent_text(exp: i32, min_digits: usize) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{:0w$}", exp.unsigned_abs(), w = min_digits.max(2))
}

/// `str()` of a NumPy scalar.
fn scalar_str(data: &Data) -> String {
    match value(data, 0) {
        Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => float_scalar_str(x, float_kind(data.dtype())),
    }
}

fn float_kind(dtype: DType) -> FloatKind {
    match dtype {
        DType::F16 => FloatKind::F16,
        DType::F32 => FloatKind::F32,
        _ => FloatKind::F64,
    }
}

/// A float scalar: positional with at least one fractional digit when
/// `x == 0` or `1e-4 <= |x| < U` (U = 1e3 for f16, 1e6 for f32, 1e16 for
/// f64, comparing the exact value), otherwise scientific without trailing
/// zeros (`1e+16`, `1.5e-05`).
fn float_scalar_str(x: f64, kind: FloatKind) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let a = x.abs();
    let upper = match kind {
        FloatKind::F16 => 1e3,
        FloatKind::F32 => 1e6,
        FloatKind::F64 => 1e16,
    };
    if a == 0.0 || (1e-4..upper).contains(&a) {
        let (int, frac) = positional(x, kind, None);
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{int}.{frac}")
    } else {
        let (int, frac, exp) = scientific(x, kind, None, 0);
        let dot = if frac.is_empty() { "" } else { "." };
        format!("{int}{dot}{frac}e{}", exponent_text(exp, 2))
    }
}

// ---------------------------------------------------------------------------
// Array layout
// ---------------------------------------------------------------------------

/// How every element of one array is formatted (NumPy's format functions).
enum ElemFormat {
    Bool,
    Int { width: usize },
    Float(FloatFormat),
}

/// NumPy's `FloatingFormat` for the default options.
struct FloatFormat {
    kind: FloatKind,
    exp_format: bool,
    /// Fractional digits in scientific mode.
    precision: usize,
    pad_left: usize,
    pad_right: usize,
    exp_size: usize,
}

/// NumPy >= 2.2 switches an array to scientific notation at
/// `10 ** min(8, finfo(dtype).precision)`: 1e3 for f16, 1e6 for f32, 1e8 for
/// f64.
fn exp_cutoff(kind: FloatKind) -> f64 {
    match kind {
        FloatKind::F16 => 1e3,
        FloatKind::F32 => 1e6,
        FloatKind::F64 => 1e8,
    }
}

/// Rounds `x` to `kind`, as NumPy compares and divides in the array's dtype.
fn in_kind(x: f64, kind: FloatKind) -> f64 {
    match kind {
        FloatKind::F16 => f16_to_f64(f64_to_f16(x)),
        FloatKind::F32 => f64::from(x as f32),
        FloatKind::F64 => x,
    }
}

impl ElemFormat {
    fn new(dtype: DType, values: &[Value]) -> Self {
        let floats = || {
            values.iter().filter_map(|v| match v {
                Value::Float(x) => Some(*x),
                _ => None,
            })
        };
        match dtype {
            DType::Bool => ElemFormat::Bool,
            DType::F16 | DType::F32 | DType::F64 => {
                let all: Vec<f64> = floats().collect();
                ElemFormat::Float(FloatFormat::new(float_kind(dtype), &all))
            }
            _ => {
                let ints = values.iter().filter_map(|v| match v {
                    Value::Int(n) => Some(*n),
                    _ => None,
                });
                let width = ints.map(|n| n.to_string().len()).max().unwrap_or(0);
                ElemFormat::Int { width }
            }
        }
    }

    fn format(&self, v: Value) -> String {
        match (self, v) {
            (ElemFormat::Bool, Value::Bool(b)) => if b { " True" } else { "False" }.to_string(),
            (ElemFormat::Int { width }, Value::Int(n)) => format!("{n:>width$}"),
            (ElemFormat::Float(f), Value::Float(x)) => f.format(x),
            (_, other) => format!("{other:?}"),
        }
    }
}

impl FloatFormat {
    fn new(kind: FloatKind, data: &[f64]) -> Self {
        let finite: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
        let abs_non_zero = finite.iter().filter(|&&x| x != 0.0).map(|x| x.abs());
        let max = abs_non_zero
            .clone()
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let min = abs_non_zero.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))));
        let exp_format = match (max, min) {
            (Some(max), Some(min)) => {
                max >= exp_cutoff(kind)
                    || min < in_kind(1e-4, kind)
                    || in_kind(max / min, kind) > 1000.0
            }
            _ => false,
        };
        let mut f = FloatFormat {
            kind,
            exp_format,
            precision: 0,
            pad_left: 0,
            pad_right: 0,
            exp_size: 0,
        };
        if finite.is_empty() {
            // Only non-finite values: widths come from "nan"/"inf" below.
        } else if exp_format {
            for &x in &finite {
                let (int, frac, exp) = scientific(x, kind, Some(PRECISION), 0);
                f.exp_size = f.exp_size.max(exponent_text(exp, 2).len() - 1);
                f.precision = f.precision.max(frac.len());
                f.pad_left = f.pad_left.max(int.len());
            }
            f.pad_right = f.exp_size + 2 + f.precision;
        } else {
            for &x in &finite {
                let (int, frac) = positional(x, kind, Some(PRECISION));
                f.pad_left = f.pad_left.max(int.len());
                f.pad_right = f.pad_right.max(frac.len());
            }
        }
        if finite.len() != data.len() {
            let neg_inf = data.contains(&f64::NEG_INFINITY);
            let offset = f.pad_right as i64 + 1;
            let needed = (3 - offset).max(3 + i64::from(neg_inf) - offset);
            f.pad_left = f.pad_left.max(needed.max(0) as usize);
        }
        f
    }

    fn format(&self, x: f64) -> String {
        if !x.is_finite() {
            let text = if x.is_nan() {
                "nan"
            } else if x < 0.0 {
                "-inf"
            } else {
                "inf"
            };
            let width = self.pad_left + self.pad_right + 1;
            return format!("{text:>width$}");
        }
        if self.exp_format {
            let (int, frac, exp) = scientific(x, self.kind, Some(self.precision), self.precision);
            format!(
                "{int:>w$}.{frac}e{}",
                exponent_text(exp, self.exp_size),
                w = self.pad_left
            )
        } else {
            let (int, frac) = positional(x, self.kind, Some(PRECISION));
            format!(
                "{int:>l$}.{frac:<r$}",
                l = self.pad_left,
                r = self.pad_right
            )
        }
    }
}

/// NumPy's `_formatArray`, for the default separator `' '` and no prefix.
struct Printer<'a> {
    shape: &'a [usize],
    strides: Vec<usize>,
    data: &'a Data,
    format: ElemFormat,
    summarise: bool,
}

/// Appends `word` to `line`, first moving `line` into `s` if it would exceed
/// `width` (unless wrapping would not help).
fn extend_line(s: &mut String, line: &mut String, word: &str, width: i64, prefix: &str) {
    let needs_wrap = (line.len() + word.len()) as i64 > width && line.len() > prefix.len();
    if needs_wrap {
        s.push_str(line.trim_end());
        s.push('\n');
        *line = prefix.to_string();
    }
    line.push_str(word);
}

impl Printer<'_> {
    fn recurse(&self, index: &mut Vec<usize>, hanging: &str, width: i64) -> String {
        let axis = index.len();
        if axis == self.shape.len() {
            let offset: usize = index.iter().zip(&self.strides).map(|(i, s)| i * s).sum();
            return self.format.format(value(self.data, offset));
        }
        let axes_left = self.shape.len() - axis;
        let next_hanging = format!("{hanging} ");
        let next_width = width - 1;
        let len = self.shape[axis];
        let show_summary = self.summarise && 2 * EDGE_ITEMS < len;
        let (leading, trailing) = if show_summary {
            (EDGE_ITEMS, EDGE_ITEMS)
        } else {
            (0, len)
        };
        // Leading items, then (after "...") the trailing ones; the last one
        // is handled separately as it takes no separator.
        let before: Vec<usize> = (0..leading).collect();
        let after: Vec<usize> = (2..=trailing).rev().map(|i| len - i).collect();
        let child = |i: usize, index: &mut Vec<usize>| {
            index.push(i);
            let text = self.recurse(index, &next_hanging, next_width);
            index.pop();
            text
        };

        let mut s = String::new();
        if axes_left == 1 {
            let elem_width = width - 1;
            let mut line = hanging.to_string();
            for &i in &before {
                let word = child(i, index);
                extend_line(&mut s, &mut line, &word, elem_width, hanging);
                line.push(' ');
            }
            if show_summary {
                extend_line(&mut s, &mut line, "...", elem_width, hanging);
                line.push(' ');
            }
            for &i in &after {
                let word = child(i, index);
                extend_line(&mut s, &mut line, &word, elem_width, hanging);
                line.push(' ');
            }
            let word = child(len - 1, index);
            extend_line(&mut s, &mut line, &word, elem_width, hanging);
            s.push_str(&line);
        } else {
            let line_sep = "\n".repeat(axes_left - 1);
            for &i in &before {
                let nested = child(i, index);
                s.push_str(&format!("{hanging}{nested}{line_sep}"));
            }
            if show_summary {
                s.push_str(&format!("{hanging}...{line_sep}"));
            }
            for &i in &after {
                let nested = child(i, index);
                s.push_str(&format!("{hanging}{nested}{line_sep}"));
            }
            let nested = child(len - 1, index);
            s.push_str(&format!("{hanging}{nested}"));
        }
        format!("[{}]", &s[hanging.len()..])
    }
}

#[cfg(test)]
mod tests;
