//! The static memory plan: temps share arena slots by liveness.
//!
//! A temp lives from the first kernel that writes it to the last kernel that
//! reads it (inclusive), counted in row groups ([`super::fusion`]): kernels
//! a backend may fuse run as one step, so their temps never share a slot. Temps are taken in order of their first write; each
//! goes into a slot whose members are all dead *before* its first write
//! (strictly: a kernel never reads and writes one slot), preferring a slot
//! whose first member has the same byte size (same element-count monomial
//! and element size), else any free slot, else a new slot. A slot's size is
//! the maximum of its members' sizes, each rounded up to 64 bytes, evaluated
//! at run time ([`slot_bytes`]); slot `k` starts at the sum of the sizes of
//! slots `0..k`, so every temp is 64-byte aligned in a 64-byte aligned arena.

use super::{elem_bytes, BufId, BufKind, Program};
use crate::ir::types::{element_count, Dim};

/// Fills in every temp's slot and `prog.slots`.
pub fn assign_slots(prog: &mut Program) {
    let nb = prog.buffers.len();
    let mut def = vec![usize::MAX; nb];
    let mut last = vec![0usize; nb];
    let mut step = vec![0usize; prog.kernels.len()];
    for (g, group) in super::fusion::row_groups(prog).iter().enumerate() {
        for &k in group {
            step[k] = g;
        }
    }
    for (k, kern) in prog.kernels.iter().enumerate() {
        let k = step[k];
        for o in kern.outputs() {
            def[o] = def[o].min(k);
            last[o] = last[o].max(k);
        }
        for i in kern.inputs() {
            last[i] = last[i].max(k);
        }
    }
    let mut temps: Vec<BufId> = (0..nb)
        .filter(|&b| matches!(prog.buffers[b].kind, BufKind::Temp { .. }))
        .collect();
    temps.sort_by_key(|&b| (def[b], b));
    let keys: Vec<_> = prog
        .buffers
        .iter()
        .map(|b| (element_count(&b.shape), elem_bytes(b.dtype)))
        .collect();
    let size_key = |b: BufId| &keys[b];
    let mut slots: Vec<Vec<BufId>> = Vec::new();
    let mut free_after: Vec<usize> = Vec::new();
    for b in temps {
        let d = def[b];
        let free = |s: usize| free_after[s] < d;
        let pick = (0..slots.len())
            .find(|&s| free(s) && size_key(slots[s][0]) == size_key(b))
            .or_else(|| (0..slots.len()).find(|&s| free(s)));
        let s = match pick {
            Some(s) => s,
            None => {
                slots.push(Vec::new());
                free_after.push(0);
                slots.len() - 1
            }
        };
        slots[s].push(b);
        free_after[s] = last[b].max(d);
        prog.buffers[b].kind = BufKind::Temp { slot: s };
    }
    prog.slots = slots;
}

/// The byte size of a buffer of `shape` and element size `esize`, rounded up to 64.
pub fn padded_bytes(shape: &[Dim], esize: u64, dim: &dyn Fn(&Dim) -> u64) -> u64 {
    let n = shape
        .iter()
        .fold(esize, |acc, d| acc.saturating_mul(dim(d)));
    n.saturating_add(63) / 64 * 64
}

/// The byte size of each slot, given how to evaluate a dimension.
pub fn slot_bytes(prog: &Program, dim: &dyn Fn(&Dim) -> u64) -> Vec<u64> {
    prog.slots
        .iter()
        .map(|members| {
            members
                .iter()
                .map(|&b| {
                    let buf = &prog.buffers[b];
                    padded_bytes(&buf.shape, elem_bytes(buf.dtype), dim)
                })
                .max()
                .unwrap_or(0)
        })
        .collect()
}
