//! E01xx: syntax errors, reported by the parser (`grammar/src/`).
//!
//! Each entry's `wrong` program is checked to report its code and its `fixed`
//! program to check cleanly (see the tests in `codes.rs`).

use super::CodeInfo;

pub(super) const E0101: CodeInfo = CodeInfo {
    code: "E0101",
    title: "invalid character or token",
    explanation:
        "The source contains a character that starts no weft token, such as `#`, `$`, `?`, \
         `%` or a non-ASCII symbol, or a C-style `/* .. */` block comment. weft comments are \
         `//` line comments only, and identifiers are ASCII letters, digits and `_`. A run of \
         consecutive bad characters is reported once. Remove the character, or turn the text \
         into a `//` comment.",
    wrong: r#"input x: f32[3]
output y = x ^ 2.0
"#,
    fixed: r#"input x: f32[3]
output y = x ** 2.0
"#,
};

pub(super) const E0102: CodeInfo = CodeInfo {
    code: "E0102",
    title: "unexpected token",
    explanation: "The parser met a token that cannot come at this point of the program: a missing \
         comma or operator, a missing `;` after a `let` in a function body, a `;` after the \
         result expression of a function body, a positional argument after a keyword \
         argument, or a chained comparison such as `a < b < c` (comparisons do not chain: \
         parenthesise them). The message says what was found and lists what could have come \
         instead; fix the text at the labelled token.",
    wrong: r#"dim B
input x: f32[B, 4]
output s = sum(x axis=1)
"#,
    fixed: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1)
"#,
};

pub(super) const E0103: CodeInfo = CodeInfo {
    code: "E0103",
    title: "unexpected end of file",
    explanation:
        "The file ended in the middle of an item: a call, a bracket, a brace or a type is \
         still open, or an operator has no right operand. weft items need no terminator, but \
         every `(`, `[` and `{` must be closed. The message lists what the parser expected \
         next; close what is open or finish the item.",
    wrong: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1
"#,
    fixed: r#"dim B
input x: f32[B, 4]
output s = sum(x, axis=1)
"#,
};

pub(super) const E0104: CodeInfo = CodeInfo {
    code: "E0104",
    title: "invalid number literal",
    explanation:
        "A number literal is malformed or out of range: a number glued to letters (`2.5f`, \
         `3abc`, `1e` with no exponent digits), an integer that does not fit in 64 bits, or a \
         float that overflows to infinity. weft literals have no type suffixes: an integer \
         literal has no dot and no exponent, a float literal has one (`0.5`, `1e-3`), and a \
         literal takes the dtype of the tensor it meets. Drop the suffix, or use `cast(.., \
         DTYPE)` for an explicit dtype.",
    wrong: r#"input x: f32[3]
output y = x * 0.5f
"#,
    fixed: r#"input x: f32[3]
output y = x * 0.5
"#,
};

pub(super) const E0105: CodeInfo = CodeInfo {
    code: "E0105",
    title: "expression nested too deeply",
    explanation:
        "An expression or a `let` pattern is nested more than 256 levels deep (this includes \
         long left-associated chains such as `x + x + .. + x`, each operator being one \
         level). The parser stops there so that no later pass recurses without bound. Such \
         programs are usually generated: write the computation with fewer levels, e.g. \
         multiply instead of adding the same term many times, use `sum` over an axis, or \
         split it into several `let`s.",
    wrong: r#"input x: f32[3]
// 300 terms: more than 256 levels of `+`
let y = x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x +
    x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x
output y
"#,
    fixed: r#"input x: f32[3]
let y = 300.0 * x
output y
"#,
};
