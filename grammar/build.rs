fn main() {
    // Generates `$OUT_DIR/weft.rs` from `src/weft.lalrpop`.
    lalrpop::Configuration::new()
        .set_in_dir("src")
        .emit_rerun_directives(true)
        .process()
        .expect("lalrpop failed to process src/weft.lalrpop");
}
