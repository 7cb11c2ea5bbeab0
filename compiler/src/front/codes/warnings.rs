//! W01xx: warnings (`compiler/src/front/lints.rs`): programs that check
//! but probably do not do what was meant. `--deny warnings` makes them errors.
//!
//! Each entry's `wrong` program is checked to report its code and its `fixed`
//! program to check without any diagnostic (see the tests in `codes.rs`).

use super::CodeInfo;

pub(super) const W0101: CodeInfo = CodeInfo {
    code: "W0101",
    title: "an input is never used",
    explanation: "No output, update or `until` depends on this input, so its data changes \
         nothing; yet a run still requires it (`--input NAME=..`), and a typo in an \
         expression that should have used it goes unnoticed. Use it, remove it, or start its \
         name with `_` when the interface must keep it.",
    wrong: r#"input x: f32[4]
input scale: f32
output y = x * 2.0
"#,
    fixed: r#"input x: f32[4]
input scale: f32
output y = x * scale
"#,
};

pub(super) const W0102: CodeInfo = CodeInfo {
    code: "W0102",
    title: "a `let` is never used",
    explanation: "A top-level `let` names a value that nothing reads: no output, update, \
         `until` or other `let` refers to it, so it is not computed at all. It is often a \
         result someone meant to output. Output it, remove it, or start its name with `_`.",
    wrong: r#"input x: f32[4]
let total = sum(x)
output y = x * 2.0
"#,
    fixed: r#"input x: f32[4]
let total = sum(x)
output y = x * 2.0
output total
"#,
};

pub(super) const W0103: CodeInfo = CodeInfo {
    code: "W0103",
    title: "the program has no output",
    explanation: "A program without `output` items computes nothing a run shows: `weft run` \
         prints nothing and `--out` writes no file. Add `output NAME` (or `output NAME = \
         EXPR`) for each result.",
    wrong: r#"input x: f32[4]
let y = x * 2.0
"#,
    fixed: r#"input x: f32[4]
output y = x * 2.0
"#,
};

pub(super) const W0104: CodeInfo = CodeInfo {
    code: "W0104",
    title: "a `//` comment where the expression seems to go on",
    explanation: "`//` starts a comment that runs to the end of the line; weft has no `//` \
         operator. In `let half = x // 2.0` the value is just `x`. Write floor division as \
         `floor_div(x, 2.0)` (NumPy's `//`; `%` is its remainder), or put a comment that \
         starts with a number on a line of its own.",
    wrong: r#"input x: f32[4]
output half = x // 2.0
"#,
    fixed: r#"input x: f32[4]
output half = floor_div(x, 2.0)
"#,
};
