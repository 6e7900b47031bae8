//! Test hosts and a network for a one-member cluster.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use consensus::{Host, NodeId, Peer, Proposal, TypeConfig};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
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

/// A network with nobody on it: a one-member cluster never uses it.
pub struct Nobody;

fn unreachable<E: std::error::Error>() -> RPCError<NodeId, Peer, E> {
    RPCError::Unreachable(Unreachable::new(&std::io::Error::other(
        "no peers in this test",
    )))
}

impl RaftNetwork<TypeConfig> for Nobody {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        Err(unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Peer, RaftError<NodeId, InstallSnapshotError>>,
    > {
        Err(unreachable())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        let _ = NetworkError::new(&std::io::Error::other("unused"));
        Err(unreachable())
    }
}

impl RaftNetworkFactory<TypeConfig> for Nobody {
    type Network = Nobody;

    async fn new_client(&mut self, _target: NodeId, _node: &Peer) -> Self::Network {
        Nobody
    }
}
