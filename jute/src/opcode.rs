//! `OpCode` (ZooKeeper `ZooDefs.OpCode`) and its classification.

use num_enum::{IntoPrimitive, TryFromPrimitive};

/// A request type, as carried in `RequestHeader.type` and `MultiHeader.type`.
///
/// Wire values from `ZooDefs.OpCode` (3.9). `TryFrom<i32>` fails for unknown
/// values; the server answers those with `UNIMPLEMENTED`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, IntoPrimitive, TryFromPrimitive,
)]
#[repr(i32)]
pub enum OpCode {
    /// A watch notification (server → client only).
    Notification = 0,
    /// `CreateRequest` → `CreateResponse`.
    Create = 1,
    /// `DeleteRequest` → empty.
    Delete = 2,
    /// `ExistsRequest` → `ExistsResponse`.
    Exists = 3,
    /// `GetDataRequest` → `GetDataResponse`.
    GetData = 4,
    /// `SetDataRequest` → `SetDataResponse`.
    SetData = 5,
    /// `GetACLRequest` → `GetACLResponse`.
    GetAcl = 6,
    /// `SetACLRequest` → `SetACLResponse`.
    SetAcl = 7,
    /// `GetChildrenRequest` → `GetChildrenResponse`.
    GetChildren = 8,
    /// `SyncRequest` → `SyncResponse`.
    Sync = 9,
    /// Header only (xid −2).
    Ping = 11,
    /// `GetChildren2Request` → `GetChildren2Response` (3.3).
    GetChildren2 = 12,
    /// `CheckVersionRequest`, inside `multi` only (3.4).
    Check = 13,
    /// A sequence of write ops, atomic (3.4).
    Multi = 14,
    /// `CreateRequest` → `Create2Response` (3.5).
    Create2 = 15,
    /// `ReconfigRequest` → `GetDataResponse` of the new config (3.5).
    Reconfig = 16,
    /// `CheckWatchesRequest` → empty (3.5).
    CheckWatches = 17,
    /// `RemoveWatchesRequest` → empty (3.5).
    RemoveWatches = 18,
    /// `CreateRequest` with mode CONTAINER → `Create2Response` (3.5.1).
    CreateContainer = 19,
    /// Server-internal deletion of an empty container (3.5.1); its body is
    /// the raw UTF-8 path without a length prefix.
    DeleteContainer = 20,
    /// `CreateTTLRequest` → `Create2Response` (3.5.3).
    CreateTtl = 21,
    /// A sequence of `getData` / `getChildren`, not atomic (3.6).
    MultiRead = 22,
    /// `AuthPacket` (xid −4).
    Auth = 100,
    /// `SetWatches` (xid −8).
    SetWatches = 101,
    /// `GetSASLRequest` → `SetSASLResponse`.
    Sasl = 102,
    /// `GetEphemeralsRequest` → `GetEphemeralsResponse` (3.6).
    GetEphemerals = 103,
    /// `GetAllChildrenNumberRequest` → `GetAllChildrenNumberResponse` (3.6).
    GetAllChildrenNumber = 104,
    /// `SetWatches2` (xid −8, 3.6).
    SetWatches2 = 105,
    /// `AddWatchRequest` → empty (3.6).
    AddWatch = 106,
    /// Header only → `WhoAmIResponse` (3.7).
    WhoAmI = 107,
    /// The `ConnectRequest` (never in a `RequestHeader` from a client).
    CreateSession = -10,
    /// Header only → empty.
    CloseSession = -11,
    /// An error result inside a `multi` response.
    Error = -1,
}

impl OpCode {
    /// Ops that change the tree and go through consensus.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::DeleteContainer
                | OpCode::Delete
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::Reconfig
        )
    }

    /// Ops answered from the local replica.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            OpCode::Exists
                | OpCode::GetData
                | OpCode::GetAcl
                | OpCode::GetChildren
                | OpCode::GetChildren2
                | OpCode::MultiRead
                | OpCode::GetEphemerals
                | OpCode::GetAllChildrenNumber
        )
    }

    /// Ops about the session and its watches rather than the tree.
    pub fn is_session_control(self) -> bool {
        matches!(
            self,
            OpCode::Ping
                | OpCode::Sync
                | OpCode::Auth
                | OpCode::Sasl
                | OpCode::SetWatches
                | OpCode::SetWatches2
                | OpCode::AddWatch
                | OpCode::CheckWatches
                | OpCode::RemoveWatches
                | OpCode::WhoAmI
                | OpCode::CreateSession
                | OpCode::CloseSession
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_unknown_is_an_error() {
        for v in -20..200 {
            if let Ok(op) = OpCode::try_from(v) {
                assert_eq!(i32::from(op), v);
                let classes = [op.is_write(), op.is_read(), op.is_session_control()];
                let n = classes.iter().filter(|c| **c).count();
                let expected = usize::from(!matches!(op, OpCode::Notification | OpCode::Error));
                assert_eq!(n, expected, "{op:?} must be in exactly one class");
            }
        }
        assert!(
            OpCode::try_from(10).is_err(),
            "10 (syncedRead) was never released"
        );
        assert!(OpCode::try_from(999).is_err());
        assert_eq!(OpCode::try_from(-11), Ok(OpCode::CloseSession));
    }
}
