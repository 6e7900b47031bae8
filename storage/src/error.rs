//! `StorageError`: failures of the persistent store. Every one is fatal to
//! the node: a replica that cannot persist or read back its state must stop
//! rather than diverge from its peers. ZooKeeper outcomes (`NONODE`, …) are
//! never here; they are values in an `ApplyOutcome`.

/// A failure of the persistent store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// fjall reported an error (I/O, or a poisoned database after a failed
    /// flush).
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    /// A stored value does not decode: the data directory is corrupt or was
    /// written by an incompatible version.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}
