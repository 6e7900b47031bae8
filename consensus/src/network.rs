//! Raft RPC transport. Today: the standalone case, a one-member ensemble,
//! whose Raft never has anyone to send to. The TCP transport between
//! `server.N` peers (issue #4) replaces it for ensembles.

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::{NodeId, Peer, TypeConfig};

/// The network of a one-member ensemble: there are no peers, so any RPC
/// (which openraft never sends with a single voter) reports the target
/// unreachable.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standalone;

fn unreachable<E: std::error::Error>(target: NodeId) -> RPCError<NodeId, Peer, E> {
    let e = std::io::Error::other(format!(
        "node {target} is not a member of this standalone server"
    ));
    RPCError::Unreachable(Unreachable::new(&e))
}

/// A client to one peer of a standalone server (there are none).
#[derive(Debug, Clone, Copy)]
pub struct NoPeer {
    target: NodeId,
}

impl RaftNetwork<TypeConfig> for NoPeer {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        Err(unreachable(self.target))
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Peer, RaftError<NodeId, InstallSnapshotError>>,
    > {
        Err(unreachable(self.target))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        Err(unreachable(self.target))
    }
}

impl RaftNetworkFactory<TypeConfig> for Standalone {
    type Network = NoPeer;

    async fn new_client(&mut self, target: NodeId, _node: &Peer) -> NoPeer {
        NoPeer { target }
    }
}
