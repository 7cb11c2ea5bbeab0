//! `weft run --dump NAME`: a top-level `let` kept as an extra output of the
//! compiled program, so that the run delivers its value of the last step
//! beside the outputs.
//!
//! The names are looked up in the elaborated graph's provenance table
//! ([`crate::ir::provenance`]: every `let` with its node; a record's leaves
//! by their dotted paths, `net.w1`) and appended to `Graph::outputs` before
//! autodiff and simplify run, so the node survives dead-code elimination.
//!
//! Why the dumped bits are the bits the run computes: an output is only a
//! node whose value the step also copies out. The kernel IR fixes the order
//! of every floating-point operation of a node (language.md section 14: no
//! reassociation, no contraction, reductions in one fixed order whatever
//! fuses with them), so a value materialised into an output buffer is
//! computed by the same operations, in the same order, as when it is fused
//! into the kernels that read it; and those readers compute the same bits
//! either way. The reference interpreter evaluates each node once, in index
//! order, whether or not it is an output.

use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;

/// Appends an output for each name of `dump` that is not an output already
/// (in the order given; a record `let` gives one per leaf, `g.w1`). Err:
/// the usage message for a name that is no
/// top-level `let`, suggesting the closest one.
pub fn add_outputs(g: &mut Graph, dump: &[String]) -> Result<(), String> {
    for name in dump {
        for (leaf, node) in lets_named(g, name)? {
            if g.outputs.iter().any(|(n, _)| *n == leaf) {
                continue;
            }
            // A `let` that names a param directly (`let w0 = w`) holds the
            // param's value during the last step, while an output that *is*
            // a param shows it after the last update (contract section 7):
            // such a let gets an identity node of its own, which simplify
            // keeps for an output.
            let node = if matches!(g.node(node).op, Op::Param { .. }) {
                let shape = g.ty(node).shape.clone();
                g.add(Op::Reshape { shape }, &[node], None)
            } else {
                node
            };
            g.outputs.push((leaf, node));
        }
    }
    Ok(())
}

/// The top-level `let` `name` (the last one, if a name is bound twice), or
/// the leaves of the record `let` `name` (`g` gives `g.w1`, `g.b1`, ..).
fn lets_named(g: &Graph, name: &str) -> Result<Vec<(String, NodeId)>, String> {
    let Some(prov) = g.provenance.as_deref() else {
        return Err(format!(
            "--dump {name}: the program's `let`s are not known at this stage"
        ));
    };
    let top = || prov.lets.iter().filter(|b| b.call.is_none());
    if let Some(b) = top().rfind(|b| b.name == name) {
        return Ok(vec![(name.to_string(), b.node)]);
    }
    let prefix = format!("{name}.");
    let mut leaves: Vec<(String, NodeId)> = Vec::new();
    for b in top().filter(|b| b.name.starts_with(&prefix)) {
        match leaves.iter_mut().find(|(n, _)| *n == b.name) {
            Some(l) => l.1 = b.node,
            None => leaves.push((b.name.clone(), b.node)),
        }
    }
    if leaves.is_empty() {
        Err(unknown(g, name))
    } else {
        Ok(leaves)
    }
}

/// The message for a name that no top-level `let` has.
fn unknown(g: &Graph, name: &str) -> String {
    let Some(prov) = g.provenance.as_deref() else {
        return format!("--dump {name}: no top-level `let` named `{name}`");
    };
    // A let of a function's body exists once per call: not a value of the run.
    if let Some(b) = prov
        .lets
        .iter()
        .find(|b| b.name == name && b.call.is_some())
    {
        let function = b
            .call
            .and_then(|c| prov.calls.get(c as usize))
            .map_or("a function", |s| s.function.as_str());
        return format!(
            "--dump {name}: `{name}` is a `let` in the body of `{function}`; only the program's \
             top-level `let`s can be dumped (name the value with a `let` at the top level)"
        );
    }
    let mut lets: Vec<&str> = Vec::new();
    for b in prov.lets.iter().filter(|b| b.call.is_none()) {
        if !lets.contains(&b.name.as_str()) {
            lets.push(&b.name);
        }
    }
    let is = if g.inputs.iter().any(|(n, _)| n == name) {
        format!(" (`{name}` is an input, not a `let`)")
    } else if g.params.iter().any(|p| p.name == name) {
        format!(" (`{name}` is a param, not a `let`)")
    } else {
        String::new()
    };
    let hint = match crate::front::suggest(name, lets.iter().copied()) {
        Some(s) if is.is_empty() => format!("; did you mean `{s}`?"),
        _ if lets.is_empty() => "; the program has no top-level `let`".to_string(),
        _ => {
            const SHOWN: usize = 12;
            let more = if lets.len() > SHOWN {
                format!(", … ({} in all)", lets.len())
            } else {
                String::new()
            };
            let shown: Vec<&str> = lets.iter().take(SHOWN).copied().collect();
            format!("; the top-level `let`s are: {}{more}", shown.join(", "))
        }
    };
    format!("--dump {name}: no top-level `let` named `{name}`{is}{hint}")
}
