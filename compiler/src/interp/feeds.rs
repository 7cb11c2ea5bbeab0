//! The feeds of a run (`step`, batch rows, per-step random values), computed
//! before each step by the runtime's one definition ([`weft_runtime::feed`]).

use weft_runtime::feed::{self, Feed, FeedState, StepCtx};
use weft_runtime::RunError;

use super::bind::rt_dtype;
use super::dims::DimEnv;
use super::tensor::Tensor;
use crate::ir::graph::{Graph, NodeId};

pub(crate) struct Feeds {
    resolved: Vec<Feed<u64>>,
    shapes: Vec<Vec<usize>>,
    states: Vec<FeedState>,
}

impl Feeds {
    pub(crate) fn new(g: &Graph, env: &DimEnv) -> Result<Feeds, RunError> {
        let mut f = Feeds {
            resolved: Vec::new(),
            shapes: Vec::new(),
            states: Vec::new(),
        };
        for fd in &g.feeds {
            let mut err = None;
            let r = fd.feed.map_rows(|d| match env.resolve_dim(d) {
                Ok(n) => n as u64,
                Err(e) => {
                    err = Some(e);
                    0
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            f.resolved.push(r);
            f.shapes.push(env.resolve_dims(&g.ty(fd.node).shape)?);
            f.states.push(FeedState::default());
        }
        Ok(f)
    }

    /// The feeds' values at this step: those that change per step, or all of
    /// them on the first.
    pub(crate) fn values(
        &mut self,
        g: &Graph,
        ctx: StepCtx,
        first: bool,
    ) -> Result<Vec<(NodeId, Tensor)>, RunError> {
        let mut out = Vec::new();
        for (i, fd) in g.feeds.iter().enumerate() {
            if !first && !fd.feed.per_step() {
                continue;
            }
            let dtype = rt_dtype(g.ty(fd.node).dtype)?;
            let arr = feed::value(
                &self.resolved[i],
                dtype,
                &self.shapes[i],
                ctx,
                &mut self.states[i],
            )?;
            out.push((fd.node, Tensor::from_npy(arr)?));
        }
        Ok(out)
    }
}
