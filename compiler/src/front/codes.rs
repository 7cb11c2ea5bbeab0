//! The table of diagnostic codes, with a longer explanation for `weft explain`.
pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    pub explanation: &'static str,
}
pub const CODES: &[CodeInfo] = &[];
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}
