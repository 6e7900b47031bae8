//! A test host that records what the state machine tells it.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use consensus::{Host, Proposal};
use storage::{ApplyOutcome, Tree};

/// Records what it is told, for assertions.
#[derive(Default, Clone)]
pub struct Recorder {
    pub applied: Arc<Mutex<Vec<(i64, i32, bool)>>>,
    pub resets: Arc<Mutex<usize>>,
}

impl Host for Recorder {
    fn applied(&mut self, _tree: &Tree, zxid: i64, proposal: &Proposal, outcome: ApplyOutcome) {
        if let Ok(mut v) = self.applied.lock() {
            v.push((zxid, proposal.xid, outcome.result.is_ok()));
        }
    }

    fn reset(&mut self, _tree: &Tree) {
        if let Ok(mut n) = self.resets.lock() {
            *n += 1;
        }
    }
}
