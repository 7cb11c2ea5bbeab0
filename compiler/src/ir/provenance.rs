//! Where the nodes of an elaborated graph come from, at the level the user
//! wrote the program: which inlined function call computed each node, and
//! every `let`, output, update and `until` with its source span. The
//! elaborator fills it in ([`crate::front`]); `weft graph` draws from it.
//!
//! It is a side table of the graph the front end returns
//! ([`super::graph::Graph::provenance`]): the passes rebuild the graph with
//! new node indices and do not carry it, so only the elaborated graph
//! (`pipeline::Stage::Checked`) has one.

use weft_grammar::ast::Span;

use super::graph::NodeId;

/// One inlined call of a function (user or library), or the check of a
/// function body on its own (`checking`), whose nodes compute nothing the
/// program uses.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSite {
    /// The function's name, with its module for a function of another
    /// module (`nn.cross_entropy`).
    pub function: String,
    /// The call expression (the function's name, for a `checking` site).
    pub span: Span,
    /// The call this one is inlined in.
    pub parent: Option<u32>,
    /// A function of the standard library.
    pub library: bool,
    /// The generic check of a body, not a call.
    pub checking: bool,
    /// The tensors the call returned (a tuple's or record's leaves in order).
    pub results: Vec<NodeId>,
    /// When it returned.
    pub ended: Moment,
}

/// A moment of elaboration: the number of nodes built by then, and the
/// number of bindings and returns recorded before. Moments are ordered as
/// they happened; a node `u` can read a binding whose moment has
/// `nodes <= u.index()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment {
    pub nodes: usize,
    pub seq: usize,
}

/// A name bound to a tensor: a `let` (a tuple pattern binds one per name; a
/// record one per leaf, named by its dotted path `g.w1`), or an output,
/// update or `until` (which name the node they read).
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub name: String,
    pub node: NodeId,
    /// The name in its pattern (a `let`), or the whole item.
    pub span: Span,
    /// The call whose body holds the `let`; None at the top level.
    pub call: Option<u32>,
    /// When it was bound.
    pub at: Moment,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// Every call inlined, in the order the calls began.
    pub calls: Vec<CallSite>,
    /// Per node index: the innermost call that computed it (None: the
    /// program's top level).
    pub node_call: Vec<Option<u32>>,
    /// Every `let` of a tensor, in elaboration order.
    pub lets: Vec<Binding>,
    /// `output` items, one per graph output (a record's per leaf), with
    /// the span of the item.
    pub outputs: Vec<Binding>,
    /// `update` items, one per graph update (named by the param).
    pub updates: Vec<Binding>,
    /// `until` items, one per graph condition.
    pub until: Vec<Binding>,
    /// Bindings and returns recorded so far.
    pub seq: usize,
}

impl Provenance {
    /// Now, when `nodes` nodes are built: a new moment.
    pub fn moment(&mut self, nodes: usize) -> Moment {
        self.seq += 1;
        Moment {
            nodes,
            seq: self.seq,
        }
    }

    /// The call that computed node `id` (None: the top level).
    pub fn call_of(&self, id: NodeId) -> Option<u32> {
        self.node_call.get(id.index()).copied().flatten()
    }

    /// Whether call `c` lies inside the check of a body on its own (its
    /// nodes are dead code of the elaborated graph).
    pub fn in_checking(&self, c: Option<u32>) -> bool {
        let mut at = c;
        while let Some(i) = at {
            let Some(site) = self.calls.get(i as usize) else {
                return false;
            };
            if site.checking {
                return true;
            }
            at = site.parent;
        }
        false
    }

    /// The call `c` and the calls it is inlined in, innermost first.
    pub fn chain(&self, c: Option<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = c;
        while let Some(i) = at {
            out.push(i);
            at = self.calls.get(i as usize).and_then(|s| s.parent);
        }
        out
    }
}
