//! openraft's storage contract suite against the fjall log store and the
//! tree state machine.

mod common;

use common::Recorder;
use consensus::{LogStore, NodeId, Replica, StateMachine, TypeConfig};
use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use storage::TreeConfig;
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine<Recorder>, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore, StateMachine<Recorder>), StorageError<NodeId>> {
        let dir = tempfile::tempdir().map_err(|e| openraft::StorageIOError::write(&e))?;
        let log = LogStore::open(
            &dir.path().join("log"),
            consensus::WriteMetrics::new().expect("metrics"),
        )
        .map_err(|e| openraft::StorageIOError::write(&e))?;
        let replica = Replica::open(
            &dir.path().join("tree"),
            TreeConfig::default(),
            Recorder::default(),
        )
        .map_err(|e| openraft::StorageIOError::write(&std::io::Error::other(e.to_string())))?;
        Ok((dir, log, StateMachine::new(replica)))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder)
        .expect("the fjall log store and tree state machine pass openraft's suite");
}
