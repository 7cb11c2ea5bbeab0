//! The globals that hold the descriptor text of docs/abi.md (the text itself
//! is `weft_compiler::kernel::desc`, shared with the JIT).

use inkwell::module::Linkage;

use crate::gen::Gen;

/// `weft_program_desc` and `weft_program_desc_len`.
pub(crate) fn globals(g: &Gen, text: &str) {
    let bytes = g.ctx.const_string(text.as_bytes(), false);
    let d = g
        .module
        .add_global(bytes.get_type(), None, &format!("{}program_desc", g.prefix));
    d.set_initializer(&bytes);
    d.set_constant(true);
    d.set_linkage(Linkage::External);
    let i64t = g.ctx.i64_type();
    let l = g
        .module
        .add_global(i64t, None, &format!("{}program_desc_len", g.prefix));
    l.set_initializer(&i64t.const_int(text.len() as u64, false));
    l.set_constant(true);
    l.set_linkage(Linkage::External);
}
