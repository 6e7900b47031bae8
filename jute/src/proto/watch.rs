//! Watch records: `WatcherEvent` (notifications) and `SetWatches` /
//! `SetWatches2` (re-registration on reconnect). The `checkWatches`,
//! `removeWatches` and `addWatch` bodies are in [`super::records`].

use crate::record::record;

record! {
    /// `class WatcherEvent { int type; int state; ustring path; }`: the body
    /// of a notification (`ReplyHeader.xid` −1, zxid of the change since 3.9,
    /// ZOOKEEPER-4655).
    pub struct WatcherEvent {
        /// `int type`: an [`crate::EventType`] value.
        pub kind: i32,
        /// `int state`: a [`crate::KeeperState`] value.
        pub state: i32,
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class SetWatches`: the watches a client re-registers on reconnect
    /// (opcode 101, xid −8). Clients split long lists at 128 KB
    /// (ZOOKEEPER-706).
    pub struct SetWatches {
        /// `long relativeZxid`: the last zxid the client saw.
        pub relative_zxid: i64,
        /// `vector<ustring> dataWatches`
        pub data_watches: Vec<String>,
        /// `vector<ustring> existWatches`
        pub exist_watches: Vec<String>,
        /// `vector<ustring> childWatches`
        pub child_watches: Vec<String>,
    }
}

record! {
    /// `class SetWatches2`: `SetWatches` plus persistent watches (opcode 105,
    /// 3.6).
    pub struct SetWatches2 {
        /// `long relativeZxid`
        pub relative_zxid: i64,
        /// `vector<ustring> dataWatches`
        pub data_watches: Vec<String>,
        /// `vector<ustring> existWatches`
        pub exist_watches: Vec<String>,
        /// `vector<ustring> childWatches`
        pub child_watches: Vec<String>,
        /// `vector<ustring> persistentWatches`
        pub persistent_watches: Vec<String>,
        /// `vector<ustring> persistentRecursiveWatches`
        pub persistent_recursive_watches: Vec<String>,
    }
}
