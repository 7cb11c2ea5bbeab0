//! `--manifest FILE` (contract section 14): the provenance record of a run,
//! written as JSON once the outputs are delivered, and the Merkle root that
//! ties it together. `weft run` (either engine) and built executables write
//! it through here; `weft verify` (compiler/cli/src/verify.rs) reads it back
//! and recomputes the root with [`Manifest::root`]. docs/provenance.md is
//! the format's documentation; keep the two in step.
//!
//! Every hash is BLAKE3 (32 bytes, written as 64 lowercase hex digits).
//! An array's hash is over its raw elements: little-endian, C order, a
//! `bool` one byte (0 or 1), `f16` its IEEE bits — the data of its `.npy`
//! file without the header. A scalar `--input NAME=NUMBER` is hashed as the
//! rank-0 array of the input's dtype that the run bound.
//!
//! The root, with `H` BLAKE3, `u64(n)` 8 bytes little-endian and
//! `str(s) = u64(len(s)) ‖ s` (UTF-8 bytes):
//!
//! ```text
//! program = H(str("weft-manifest-program-v1") ‖ str(kind) ‖ blake3(program)
//!             ‖ u64(#modules) ‖ for each module, by file name: str(name) ‖ blake3(module))
//! leaf    = H(str("weft-manifest-leaf-v1") ‖ str(section) ‖ str(name) ‖ str(dtype)
//!             ‖ u64(rank) ‖ u64(dim)… ‖ blake3(data))
//! root    = H(str("weft-manifest-root-v1") ‖ program ‖ u64(#leaves) ‖ leaf…)
//! ```
//!
//! `kind` is `source` or `executable`; `section` is `inputs`, `params` or
//! `outputs`; the leaves come in that section order, and by name (byte
//! order) within a section — the order the JSON lists them in. Paths, the
//! flags and the working directory are not part of the root: a run moved
//! to another directory keeps its root.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::bind::InputValue;
use crate::npy::{DType, Data, NpyArray};
use crate::RunError;

/// weft's version, as the manifest records it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A BLAKE3 digest.
pub type Digest = [u8; 32];

/// One array of the record: an input, an initial param or an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// BLAKE3 of the raw element bytes (see the module header).
    pub blake3: Digest,
}

impl Entry {
    /// The entry of an array in memory.
    pub fn of(name: &str, arr: &NpyArray) -> Entry {
        Entry {
            name: name.to_string(),
            dtype: arr.dtype(),
            shape: arr.shape.clone(),
            blake3: hash_array(arr),
        }
    }

    /// The entry of a bound input (a mapped file is hashed in place).
    pub fn of_input(name: &str, v: &InputValue) -> Entry {
        match v {
            InputValue::Array(a) => Entry::of(name, a),
            InputValue::Mapped(m) => {
                let n = m.shape.iter().product::<usize>() * m.dtype.itemsize();
                // SAFETY: the mapping holds `n` data bytes after its offset
                // (checked when it was opened), little-endian (only such
                // files are mapped).
                let bytes = unsafe { std::slice::from_raw_parts(m.data_ptr(), n) };
                Entry {
                    name: name.to_string(),
                    dtype: m.dtype,
                    shape: m.shape.clone(),
                    blake3: *blake3::hash(bytes).as_bytes(),
                }
            }
        }
    }
}

/// What ran: a program's source (`weft run`) or a built executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    Source,
    Executable,
}

impl ProgramKind {
    pub fn name(self) -> &'static str {
        match self {
            ProgramKind::Source => "source",
            ProgramKind::Executable => "executable",
        }
    }

    pub fn from_name(s: &str) -> Option<ProgramKind> {
        match s {
            "source" => Some(ProgramKind::Source),
            "executable" => Some(ProgramKind::Executable),
            _ => None,
        }
    }
}

/// The program of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramRef {
    pub kind: ProgramKind,
    /// The absolute path of the `.weft` file or the executable.
    pub path: String,
    /// BLAKE3 of the file's bytes.
    pub blake3: Digest,
    /// Sibling modules the program loaded (`use NAME` reads `NAME.weft`
    /// beside it), by file name, sorted; none for an executable.
    pub modules: Vec<(String, Digest)>,
}

impl ProgramRef {
    /// The running executable (`std::env::current_exe`), hashed.
    pub fn executable() -> Result<ProgramRef, RunError> {
        let path = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| RunError::io(format!("--manifest: cannot find this executable: {e}")))?;
        let blake3 = hash_file(&path).map_err(|e| {
            RunError::io(format!(
                "--manifest: cannot read this executable {}: {e}",
                path.display()
            ))
        })?;
        Ok(ProgramRef {
            kind: ProgramKind::Executable,
            path: path.to_string_lossy().into_owned(),
            blake3,
            modules: Vec::new(),
        })
    }

    /// The program's digest, the first input of the root.
    pub fn digest(&self) -> Digest {
        let mut h = Framed::new("weft-manifest-program-v1");
        h.str(self.kind.name());
        h.bytes(&self.blake3);
        h.u64(self.modules.len() as u64);
        let mut modules: Vec<&(String, Digest)> = self.modules.iter().collect();
        modules.sort();
        for (name, d) in modules {
            h.str(name);
            h.bytes(d);
        }
        h.finish()
    }
}

/// The checkpoint a run resumed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resumed {
    /// The checkpoint file, absolute.
    pub checkpoint: String,
    pub step: u64,
}

/// A run's provenance record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The weft that wrote it ([`VERSION`]).
    pub weft: String,
    pub program: ProgramRef,
    /// The working directory of the run (relative paths in `flags` are
    /// relative to it).
    pub cwd: String,
    /// The run's arguments as given, without the program file (`weft run`)
    /// or the executable's name.
    pub flags: Vec<String>,
    pub resumed: Option<Resumed>,
    pub inputs: Vec<Entry>,
    pub params: Vec<Entry>,
    pub outputs: Vec<Entry>,
}

/// The sections of the record, in root order.
pub const SECTIONS: [&str; 3] = ["inputs", "params", "outputs"];

impl Manifest {
    /// A record of this process's run: its working directory and weft's
    /// version filled in, every section sorted by name.
    pub fn new(
        program: ProgramRef,
        flags: Vec<String>,
        resumed: Option<Resumed>,
        inputs: Vec<Entry>,
        params: Vec<Entry>,
        outputs: Vec<Entry>,
    ) -> Manifest {
        let cwd = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut m = Manifest {
            weft: VERSION.to_string(),
            program,
            cwd,
            flags,
            resumed,
            inputs,
            params,
            outputs,
        };
        m.sort();
        m
    }

    /// Sorts every section by name (the root's order).
    pub fn sort(&mut self) {
        for s in [&mut self.inputs, &mut self.params, &mut self.outputs] {
            s.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        }
        self.program.modules.sort();
    }

    /// The sections with their names, in root order.
    pub fn sections(&self) -> [(&'static str, &[Entry]); 3] {
        [
            (SECTIONS[0], &self.inputs),
            (SECTIONS[1], &self.params),
            (SECTIONS[2], &self.outputs),
        ]
    }

    /// The Merkle root (see the module header). The sections must be
    /// sorted ([`Manifest::sort`]).
    pub fn root(&self) -> Digest {
        let mut h = Framed::new("weft-manifest-root-v1");
        h.bytes(&self.program.digest());
        let n: usize = self.sections().iter().map(|(_, s)| s.len()).sum();
        h.u64(n as u64);
        for (section, entries) in self.sections() {
            for e in entries {
                h.bytes(&leaf(section, e));
            }
        }
        h.finish()
    }

    /// The record as JSON (two-space indented, keys in a fixed order, the
    /// root last).
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        s.push_str("{\n");
        let _ = writeln!(s, "  \"weft\": {},", json_str(&self.weft));
        s.push_str("  \"program\": {\n");
        let _ = writeln!(s, "    \"kind\": {},", json_str(self.program.kind.name()));
        let _ = writeln!(s, "    \"path\": {},", json_str(&self.program.path));
        let _ = writeln!(s, "    \"blake3\": \"{}\",", hex(&self.program.blake3));
        let modules: Vec<String> = self
            .program
            .modules
            .iter()
            .map(|(n, d)| format!("{}: \"{}\"", json_str(n), hex(d)))
            .collect();
        let _ = writeln!(s, "    \"modules\": {{{}}}", modules.join(", "));
        s.push_str("  },\n");
        let _ = writeln!(s, "  \"cwd\": {},", json_str(&self.cwd));
        let flags: Vec<String> = self.flags.iter().map(|f| json_str(f)).collect();
        let _ = writeln!(s, "  \"flags\": [{}],", flags.join(", "));
        match &self.resumed {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "  \"resumed\": {{\"checkpoint\": {}, \"step\": {}}},",
                    json_str(&r.checkpoint),
                    r.step
                );
            }
            None => s.push_str("  \"resumed\": null,\n"),
        }
        for (section, entries) in self.sections() {
            if entries.is_empty() {
                let _ = writeln!(s, "  \"{section}\": {{}},");
                continue;
            }
            let _ = writeln!(s, "  \"{section}\": {{");
            for (i, e) in entries.iter().enumerate() {
                let shape: Vec<String> = e.shape.iter().map(|d| d.to_string()).collect();
                let _ = writeln!(
                    s,
                    "    {}: {{\"dtype\": \"{}\", \"shape\": [{}], \"blake3\": \"{}\"}}{}",
                    json_str(&e.name),
                    e.dtype.name(),
                    shape.join(", "),
                    hex(&e.blake3),
                    if i + 1 < entries.len() { "," } else { "" }
                );
            }
            s.push_str("  },\n");
        }
        let _ = writeln!(s, "  \"root\": \"{}\"", hex(&self.root()));
        s.push_str("}\n");
        s
    }

    /// Writes the record to `path`, complete or not at all
    /// ([`crate::atomic`]); a failure is exit status 3.
    pub fn write(&self, path: &Path) -> Result<(), RunError> {
        crate::atomic::write_atomic(path, self.to_json().as_bytes())
            .map_err(|e| RunError::io(format!("--manifest: cannot write {}: {e}", path.display())))
    }
}

/// A leaf of the root: one entry of one section.
pub fn leaf(section: &str, e: &Entry) -> Digest {
    let mut h = Framed::new("weft-manifest-leaf-v1");
    h.str(section);
    h.str(&e.name);
    h.str(e.dtype.name());
    h.u64(e.shape.len() as u64);
    for &d in &e.shape {
        h.u64(d as u64);
    }
    h.bytes(&e.blake3);
    h.finish()
}

/// A hasher fed with length-framed fields, so that no two field lists give
/// the same byte stream.
struct Framed(blake3::Hasher);

impl Framed {
    fn new(domain: &str) -> Framed {
        let mut f = Framed(blake3::Hasher::new());
        f.str(domain);
        f
    }

    fn u64(&mut self, v: u64) {
        self.0.update(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.update(s.as_bytes());
    }

    fn bytes(&mut self, d: &Digest) {
        self.0.update(d);
    }

    fn finish(self) -> Digest {
        *self.0.finalize().as_bytes()
    }
}

/// BLAKE3 of an array's raw elements (little-endian, C order).
pub fn hash_array(arr: &NpyArray) -> Digest {
    fn feed<T: Copy, const N: usize>(h: &mut blake3::Hasher, v: &[T], le: impl Fn(T) -> [u8; N]) {
        // In chunks, so that a large array is not copied whole.
        let mut buf = Vec::with_capacity(N * 8192);
        for chunk in v.chunks(8192) {
            buf.clear();
            for &x in chunk {
                buf.extend_from_slice(&le(x));
            }
            h.update(&buf);
        }
    }
    let mut h = blake3::Hasher::new();
    match &arr.data {
        Data::F16(v) => feed(&mut h, v, u16::to_le_bytes),
        Data::F32(v) => feed(&mut h, v, f32::to_le_bytes),
        Data::F64(v) => feed(&mut h, v, f64::to_le_bytes),
        Data::I32(v) => feed(&mut h, v, i32::to_le_bytes),
        Data::I64(v) => feed(&mut h, v, i64::to_le_bytes),
        Data::Bool(v) => feed(&mut h, v, |b| [u8::from(b)]),
        Data::U8(v) => {
            h.update(v);
        }
    }
    *h.finalize().as_bytes()
}

/// BLAKE3 of bytes.
pub fn hash_bytes(bytes: &[u8]) -> Digest {
    *blake3::hash(bytes).as_bytes()
}

/// BLAKE3 of a file's bytes, read in pieces.
pub fn hash_file(path: &Path) -> std::io::Result<Digest> {
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(*h.finalize().as_bytes())
}

/// A digest as 64 lowercase hex digits.
pub fn hex(d: &Digest) -> String {
    let mut s = String::with_capacity(64);
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// 64 hex digits (either case) as a digest.
pub fn parse_hex(s: &str) -> Option<Digest> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut d = [0u8; 32];
    for (i, b) in d.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(d)
}

/// `s` as a JSON string literal: `"` and `\` escaped, control characters
/// as `\n`, `\t`, … or `\u00XX`; everything else (non-ASCII included) as
/// is, which JSON allows in UTF-8 text.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a run knows of its record before its outputs: the inputs as bound
/// and the params as the first step sees them (read, initialised or
/// resumed), hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    pub inputs: Vec<Entry>,
    pub params: Vec<Entry>,
    pub resumed: Option<Resumed>,
}

/// Writes the record of a finished run to `path` (`--manifest`): `flags`
/// as given, the outputs as delivered.
pub fn write_run(
    path: &Path,
    program: ProgramRef,
    flags: Vec<String>,
    partial: Partial,
    outputs: &[(String, NpyArray)],
) -> Result<(), RunError> {
    Manifest::new(
        program,
        flags,
        partial.resumed,
        partial.inputs,
        partial.params,
        entries(outputs),
    )
    .write(path)
}

/// The entries of a run's bound inputs, by the descriptor's names.
pub fn input_entries<'a>(
    names: impl Iterator<Item = &'a str>,
    values: &[InputValue],
) -> Vec<Entry> {
    names
        .zip(values)
        .map(|(n, v)| Entry::of_input(n, v))
        .collect()
}

/// The entries of named arrays.
pub fn entries(values: &[(String, NpyArray)]) -> Vec<Entry> {
    values.iter().map(|(n, a)| Entry::of(n, a)).collect()
}

/// `path` made absolute against the working directory (not resolved:
/// the path the user gave stays recognisable).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests;
