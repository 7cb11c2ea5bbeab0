//! Recording the graph's provenance ([`crate::ir::provenance`]) as the
//! elaborator goes: the call each node is built in, every `let` of a
//! tensor, and the output, update and `until` items. Nodes are only
//! appended, so a node's call is the call open when it was appended:
//! [`Elab::prov_sync`] attributes the nodes built since the last change of
//! the open call before each change.

use weft_grammar::ast::{Pattern, Span};

use super::records::leaves;
use super::{find_in_pattern, pattern_names, Elab, Val};
use crate::front::source::STDLIB;
use crate::ir::graph::NodeId;
use crate::ir::provenance::{Binding, CallSite};

/// Which of the program's item lists a binding goes to.
#[derive(Clone, Copy)]
pub(super) enum ItemKind {
    Output,
    Update,
    Until,
}

impl<'m> Elab<'m> {
    /// Attributes the nodes built since the last change of the open call.
    fn prov_sync(&mut self) {
        let n = self.g.len();
        if self.prov.node_call.len() < n {
            self.prov.node_call.resize(n, self.prov_at);
        }
    }

    /// Opens a call of function `name` of module `m` at `span` (the check
    /// of its body on its own when `checking`). Returns the call to go back
    /// to ([`Elab::prov_leave`]).
    pub(super) fn prov_enter(
        &mut self,
        m: usize,
        name: &str,
        span: Span,
        checking: bool,
    ) -> Option<u32> {
        self.prov_sync();
        let module = &self.modules[m];
        let function = if module.is_main {
            name.to_string()
        } else {
            format!("{}.{name}", module.name)
        };
        let library = !module.is_main && STDLIB.iter().any(|(n, _)| *n == module.name);
        let id = u32::try_from(self.prov.calls.len()).unwrap_or(u32::MAX);
        self.prov.calls.push(CallSite {
            function,
            span,
            parent: self.prov_at,
            library,
            checking,
            results: Vec::new(),
            ended: Default::default(),
        });
        self.prov_at.replace(id)
    }

    /// Closes the open call, which returned `result`.
    pub(super) fn prov_leave(&mut self, back: Option<u32>, result: &Val) {
        self.prov_sync();
        let ended = self.prov.moment(self.g.len());
        if let Some(site) = self
            .prov_at
            .and_then(|c| self.prov.calls.get_mut(c as usize))
        {
            tensors(result, &mut site.results);
            site.ended = ended;
        }
        self.prov_at = back;
    }

    /// A top-level item is evaluated (on demand, perhaps inside a call):
    /// its nodes belong to no call. Returns the call to go back to.
    pub(super) fn prov_top(&mut self) -> Option<u32> {
        self.prov_sync();
        self.prov_at.take()
    }

    pub(super) fn prov_back(&mut self, back: Option<u32>) {
        self.prov_sync();
        self.prov_at = back;
    }

    /// A `let` binding `p` to `v`, in the open call.
    pub(super) fn prov_let(&mut self, p: &Pattern, v: &Val) {
        let mut names = Vec::new();
        pattern_names(p, &mut names);
        for n in names {
            let Some(part) = find_in_pattern(p, v, &n.name) else {
                continue;
            };
            for (path, leaf) in leaves(&part, &n.name) {
                if let Val::Tensor(node) = leaf {
                    let at = self.prov.moment(self.g.len());
                    self.prov.lets.push(Binding {
                        name: path,
                        node,
                        span: n.span,
                        call: self.prov_at,
                        at,
                    });
                }
            }
        }
    }

    /// The item at `span` added the graph's outputs (updates, untils) from
    /// index `from` on.
    pub(super) fn prov_items(&mut self, kind: ItemKind, from: usize, span: Span) {
        let added: Vec<(String, NodeId)> = match kind {
            ItemKind::Output => self.g.outputs.iter().skip(from).cloned().collect(),
            ItemKind::Update => self.g.updates.iter().skip(from).cloned().collect(),
            ItemKind::Until => self
                .g
                .until
                .iter()
                .skip(from)
                .map(|&id| ("until".to_string(), id))
                .collect(),
        };
        let at = self.prov.moment(self.g.len());
        let list = match kind {
            ItemKind::Output => &mut self.prov.outputs,
            ItemKind::Update => &mut self.prov.updates,
            ItemKind::Until => &mut self.prov.until,
        };
        list.extend(added.into_iter().map(|(name, node)| Binding {
            name,
            node,
            span,
            call: None,
            at,
        }));
    }

    /// Hands the provenance to the graph, at the end of elaboration.
    pub(super) fn finish_provenance(&mut self) {
        self.prov_at = None;
        self.prov_sync();
        self.g.provenance = Some(Box::new(std::mem::take(&mut self.prov)));
    }
}

/// The tensors of a value, leaves of tuples and records in order.
fn tensors(v: &Val, out: &mut Vec<NodeId>) {
    match v {
        Val::Tensor(id) => out.push(*id),
        Val::Tuple(vs) => vs.iter().for_each(|v| tensors(v, out)),
        Val::Record(fields) => fields.iter().for_each(|(_, v)| tensors(v, out)),
        Val::Static(_)
        | Val::Str(_)
        | Val::Lit { .. }
        | Val::Size(_)
        | Val::DType(_)
        | Val::Module(_)
        | Val::Func(..)
        | Val::Builtin(_)
        | Val::Error => {}
    }
}
