//! The table of diagnostic codes, with a longer explanation for `weft explain`.
//!
//! Every code that the parser (`grammar/src/`) or the checker
//! (`compiler/src/front/elab/`) emits has an entry here, with a short `wrong`
//! program that reports it and the `fixed` program that checks cleanly. The
//! tests below compile both programs of every entry, and scan the sources for
//! emitted codes, so the table cannot drift from the compiler.
//!
//! A program may span several files: a line `// file: NAME.weft` starts a
//! sibling module (see E0218); what comes before it is the main program.

mod names;
mod syntax;
mod types;
mod v2;
mod warnings;

pub struct CodeInfo {
    pub code: &'static str,
    /// One line, lower case, no final period.
    pub title: &'static str,
    /// A paragraph: the rule, why weft has it, and how to fix the error.
    pub explanation: &'static str,
    /// A short program that reports this code.
    pub wrong: &'static str,
    /// The same program, corrected: it checks without errors.
    pub fixed: &'static str,
}

pub const CODES: &[CodeInfo] = &[
    syntax::E0101,
    syntax::E0102,
    syntax::E0103,
    syntax::E0104,
    syntax::E0105,
    names::E0201,
    names::E0202,
    names::E0203,
    names::E0204,
    names::E0205,
    names::E0206,
    names::E0207,
    names::E0208,
    names::E0209,
    names::E0210,
    names::E0211,
    names::E0212,
    names::E0214,
    names::E0218,
    names::E0219,
    types::E0301,
    types::E0302,
    types::E0303,
    types::E0304,
    types::E0305,
    types::E0306,
    types::E0307,
    types::E0308,
    types::E0309,
    types::E0310,
    types::E0311,
    types::E0312,
    types::E0313,
    types::E0314,
    types::E0315,
    types::E0316,
    types::E0318,
    types::E0319,
    types::E0320,
    types::E0321,
    v2::E0322,
    v2::E0323,
    v2::E0324,
    v2::E0325,
    v2::E0326,
    v2::E0327,
    v2::E0328,
    v2::E0329,
    v2::E0330,
    v2::E0331,
    v2::E0332,
    warnings::W0101,
    warnings::W0102,
    warnings::W0103,
    warnings::W0104,
];

/// The entry of `code`, in any case: `E0302` or `e0302`.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let code = code.trim();
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The classes of codes and the runs of codes in each, for messages about an
/// unknown code: `E0101-E0105 (syntax), E0201-E0212, E0214, .. (names and
/// items), ..` (no run spans a code that does not exist).
pub fn ranges() -> String {
    let classes = [
        ("E01", "syntax"),
        ("E02", "names and items"),
        ("E03", "types and shapes"),
        ("W01", "warnings"),
    ];
    let parts: Vec<String> = classes
        .iter()
        .filter_map(|(prefix, what)| {
            let mut nums: Vec<(u32, &str)> = CODES
                .iter()
                .map(|c| c.code)
                .filter(|c| c.starts_with(prefix))
                .filter_map(|c| Some((c.get(1..)?.parse().ok()?, c)))
                .collect();
            nums.sort();
            // Runs of consecutive numbers.
            let mut runs: Vec<(&str, &str, u32)> = Vec::new();
            for (n, code) in nums {
                match runs.last_mut() {
                    Some((_, last, prev)) if *prev + 1 == n => {
                        *last = code;
                        *prev = n;
                    }
                    _ => runs.push((code, code, n)),
                }
            }
            if runs.is_empty() {
                return None;
            }
            let text: Vec<String> = runs
                .iter()
                .map(|(a, b, _)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            Some(format!("{} ({what})", text.join(", ")))
        })
        .collect();
    parts.join(", ")
}

impl CodeInfo {
    /// The text `weft explain` prints: the code and title, the explanation,
    /// then the wrong and the fixed program, indented.
    pub fn render(&self) -> String {
        let mut out = format!("{}: {}\n\n", self.code, self.title);
        out.push_str(&wrap(self.explanation, 79));
        out.push_str("\nWrong:\n\n");
        out.push_str(&indent(self.wrong));
        out.push_str("\nFixed:\n\n");
        out.push_str(&indent(self.fixed));
        out
    }
}

/// Greedy word wrap of a paragraph at `width` columns.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn indent(program: &str) -> String {
    program
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("    {l}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::{lookup, ranges, CODES};
    use crate::front::diag::Diagnostic;
    use crate::front::source::SourceMap;
    use crate::front::{compile, Loader};

    /// Error codes that a `wrong` example may report besides its own, because
    /// the checker does not (yet) silence them: after an unknown `use nnet`,
    /// each `nnet.f` is also "cannot find `nnet`".
    const CASCADES: &[(&str, &str)] = &[("E0204", "E0201")];

    /// Sibling modules of an example: the parts after `// file: NAME.weft`.
    struct Files(Vec<(String, String)>);

    impl Loader for Files {
        fn load(&self, name: &str) -> Option<(String, String)> {
            let file = format!("{name}.weft");
            self.0
                .iter()
                .find(|(n, _)| *n == file)
                .map(|(n, t)| (n.clone(), t.clone()))
        }
    }

    /// Spells out `// repeat A..=B: TEMPLATE` lines: one copy of TEMPLATE
    /// per `i` in A..=B, with `{i}` and `{i-1}` replaced.
    fn expand(program: &str) -> String {
        let mut out = String::new();
        for line in program.lines() {
            let Some(rest) = line.strip_prefix("// repeat ") else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            let (range, template) = rest.split_once(": ").expect("// repeat A..=B: TEMPLATE");
            let (a, b) = range.split_once("..=").expect("a range A..=B");
            let (a, b): (u64, u64) = (a.parse().expect("A"), b.parse().expect("B"));
            for i in a..=b {
                let prev = i.checked_sub(1).expect("{i-1} of 0").to_string();
                out.push_str(
                    &template
                        .replace("{i-1}", &prev)
                        .replace("{i}", &i.to_string()),
                );
                out.push('\n');
            }
        }
        out
    }

    /// Compiles an example (main program plus `// file:` modules), on a
    /// thread with a large stack as the CLI does (E0219 needs deep chains).
    fn check(program: &str) -> Vec<Diagnostic> {
        let program = expand(program);
        std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || check_on_this_thread(&program))
            .expect("spawn")
            .join()
            .expect("the compiler panicked")
    }

    fn check_on_this_thread(program: &str) -> Vec<Diagnostic> {
        let mut parts = program.split("// file: ");
        let main = parts.next().unwrap_or_default();
        let modules: Vec<(String, String)> = parts
            .map(|p| {
                let (name, body) = p.split_once('\n').unwrap_or((p, ""));
                (name.trim().to_string(), body.to_string())
            })
            .collect();
        let mut map = SourceMap::new();
        let file = map.add("example.weft", main.to_string());
        let out = compile(&mut map, file, &Files(modules), &Default::default());
        out.diags
    }

    fn summary(diags: &[Diagnostic]) -> String {
        let lines: Vec<String> = diags
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        lines.join("; ")
    }

    #[test]
    fn wrong_examples_report_their_code() {
        let mut failures = Vec::new();
        for c in CODES {
            let diags = check(c.wrong);
            // A warning's example reports warnings (and no error); an error's, errors.
            let warning = c.code.starts_with('W');
            let errors: Vec<&Diagnostic> =
                diags.iter().filter(|d| d.is_error() != warning).collect();
            if warning && diags.iter().any(|d| d.is_error()) {
                failures.push(format!("{}: wrong example has errors", c.code));
                continue;
            }
            let has = errors.iter().any(|d| d.code == c.code);
            let first_ok = errors.first().is_some_and(|d| d.code == c.code);
            let others_ok = errors
                .iter()
                .all(|d| d.code == c.code || CASCADES.contains(&(c.code, d.code)));
            if !(has && first_ok && others_ok) {
                failures.push(format!(
                    "{}: wrong example reports [{}]",
                    c.code,
                    summary(&diags)
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn fixed_examples_check_cleanly() {
        let mut failures = Vec::new();
        for c in CODES {
            let diags = check(c.fixed);
            if !diags.is_empty() {
                failures.push(format!(
                    "{}: fixed example reports [{}]",
                    c.code,
                    summary(&diags)
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn table_is_well_formed() {
        for w in CODES.windows(2) {
            assert!(
                w[0].code < w[1].code,
                "{} and {} are out of order or repeated",
                w[0].code,
                w[1].code
            );
        }
        for c in CODES {
            let ok_code = c.code.len() == 5
                && (c.code.starts_with("E0") || c.code.starts_with("W0"))
                && c.code[1..].bytes().all(|b| b.is_ascii_digit());
            assert!(ok_code, "bad code `{}`", c.code);
            assert!(
                !c.title.is_empty() && !c.title.contains('\n'),
                "{}: title",
                c.code
            );
            assert!(
                !c.title.ends_with('.'),
                "{}: title ends with a period",
                c.code
            );
            let sentences = c.explanation.matches(". ").count() + 1;
            assert!(
                (2..=7).contains(&sentences),
                "{}: {sentences} sentences",
                c.code
            );
            assert!(
                c.explanation.ends_with('.') || c.explanation.ends_with(".)"),
                "{}: explanation",
                c.code
            );
            assert!(
                c.wrong != c.fixed,
                "{}: wrong and fixed are the same",
                c.code
            );
            assert!(
                c.wrong.ends_with('\n') && c.fixed.ends_with('\n'),
                "{}: examples end with a newline",
                c.code
            );
        }
    }

    /// The `"E0xxx"` string literals in the Rust sources under `dir`, except
    /// the table itself and test files.
    fn emitted_in(dir: &Path, found: &mut BTreeSet<String>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                if name != "codes" {
                    emitted_in(&path, found);
                }
                continue;
            }
            let skip = name == "codes.rs" || name == "tests.rs" || name.ends_with("_tests.rs");
            if skip || !(name.ends_with(".rs") || name.ends_with(".lalrpop")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source file");
            let b = text.as_bytes();
            for i in 0..b.len().saturating_sub(6) {
                let lit = &b[i..i + 7];
                if lit[0] == b'"'
                    && (lit[1] == b'E' || lit[1] == b'W')
                    && lit[2] == b'0'
                    && lit[6] == b'"'
                    && lit[3..6].iter().all(u8::is_ascii_digit)
                {
                    found.insert(String::from_utf8_lossy(&lit[1..6]).into_owned());
                }
            }
        }
    }

    #[test]
    fn every_emitted_code_is_documented_and_vice_versa() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut emitted = BTreeSet::new();
        emitted_in(&root.join("src"), &mut emitted);
        emitted_in(&root.join("../grammar/src"), &mut emitted);
        let documented: BTreeSet<String> = CODES.iter().map(|c| c.code.to_string()).collect();
        assert!(
            emitted.contains("E0101") && emitted.contains("E0302"),
            "the scan found {emitted:?}"
        );
        let missing: Vec<&String> = emitted.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "emitted but not documented in codes.rs: {missing:?}"
        );
        let unused: Vec<&String> = documented.difference(&emitted).collect();
        assert!(
            unused.is_empty(),
            "documented but never emitted: {unused:?}"
        );
    }

    #[test]
    fn lookup_ignores_case_and_render_has_the_parts() {
        assert_eq!(lookup("e0302").map(|c| c.code), Some("E0302"));
        assert_eq!(lookup(" E0101 ").map(|c| c.code), Some("E0101"));
        assert!(lookup("E0999").is_none());
        assert!(lookup("").is_none());
        let text = lookup("E0302").expect("E0302").render();
        assert!(
            text.starts_with("E0302: shapes do not broadcast\n\n"),
            "{text}"
        );
        assert!(text.contains("\nWrong:\n\n    dim B\n"), "{text}");
        assert!(text.contains("\nFixed:\n\n"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 90), "{text}");
        assert_eq!(
            ranges(),
            "E0101-E0105 (syntax), E0201-E0212, E0214, E0218-E0219 (names and items), E0301-E0316, E0318-E0332 (types and shapes), W0101-W0104 (warnings)"
        );
    }
}
