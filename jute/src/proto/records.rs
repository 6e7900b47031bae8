//! The per-op request and response records of module
//! `org.apache.zookeeper.proto` in `zookeeper.jute`, field for field.
//!
//! The enums that pick one of these per opcode are in
//! [`super::request`] and [`super::response`].

use bytes::Bytes;

use crate::data::{Acl, ClientInfo, Stat};
use crate::record::record;

record! {
    /// `class CreateRequest`: body of `create`, `create2` and `createContainer`.
    pub struct CreateRequest {
        /// `ustring path`
        pub path: String,
        /// `buffer data`: `None` is a null buffer, which reads back as null.
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int flags`: a [`crate::CreateMode`] value, kept raw.
        pub flags: i32,
    }
}

record! {
    /// `class CreateTTLRequest`: body of `createTTL`.
    pub struct CreateTtlRequest {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int flags`
        pub flags: i32,
        /// `long ttl`: milliseconds.
        pub ttl: i64,
    }
}

record! {
    /// `class DeleteRequest { ustring path; int version; }`
    pub struct DeleteRequest {
        /// `ustring path`
        pub path: String,
        /// `int version`: −1 matches any version.
        pub version: i32,
    }
}

record! {
    /// `class ExistsRequest { ustring path; boolean watch; }`
    pub struct ExistsRequest {
        /// `ustring path`
        pub path: String,
        /// `boolean watch`
        pub watch: bool,
    }
}

record! {
    /// `class GetDataRequest { ustring path; boolean watch; }`
    pub struct GetDataRequest {
        /// `ustring path`
        pub path: String,
        /// `boolean watch`
        pub watch: bool,
    }
}

record! {
    /// `class SetDataRequest { ustring path; buffer data; int version; }`
    pub struct SetDataRequest {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `int version`: −1 matches any version.
        pub version: i32,
    }
}

record! {
    /// `class GetACLRequest { ustring path; }`
    pub struct GetAclRequest {
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class SetACLRequest { ustring path; vector<ACL> acl; int version; }`
    pub struct SetAclRequest {
        /// `ustring path`
        pub path: String,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int version`: the expected `aversion`, −1 for any.
        pub version: i32,
    }
}

record! {
    /// `class GetChildrenRequest { ustring path; boolean watch; }`
    pub struct GetChildrenRequest {
        /// `ustring path`
        pub path: String,
        /// `boolean watch`
        pub watch: bool,
    }
}

record! {
    /// `class GetChildren2Request { ustring path; boolean watch; }`
    pub struct GetChildren2Request {
        /// `ustring path`
        pub path: String,
        /// `boolean watch`
        pub watch: bool,
    }
}

record! {
    /// `class SyncRequest { ustring path; }`
    pub struct SyncRequest {
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class CheckVersionRequest { ustring path; int version; }`
    pub struct CheckVersionRequest {
        /// `ustring path`
        pub path: String,
        /// `int version`
        pub version: i32,
    }
}

record! {
    /// `class ReconfigRequest`: null strings are meaningful here (an
    /// incremental reconfig leaves `newMembers` null).
    pub struct ReconfigRequest {
        /// `ustring joiningServers`
        pub joining_servers: Option<String>,
        /// `ustring leavingServers`
        pub leaving_servers: Option<String>,
        /// `ustring newMembers`
        pub new_members: Option<String>,
        /// `long curConfigId`: −1 for unconditional.
        pub cur_config_id: i64,
    }
}

record! {
    /// `class CheckWatchesRequest { ustring path; int type; }`
    pub struct CheckWatchesRequest {
        /// `ustring path`
        pub path: String,
        /// `int type`: a [`crate::WatcherType`] value, kept raw.
        pub kind: i32,
    }
}

record! {
    /// `class RemoveWatchesRequest { ustring path; int type; }`
    pub struct RemoveWatchesRequest {
        /// `ustring path`
        pub path: String,
        /// `int type`: a [`crate::WatcherType`] value, kept raw.
        pub kind: i32,
    }
}

record! {
    /// `class GetEphemeralsRequest { ustring prefixPath; }`
    pub struct GetEphemeralsRequest {
        /// `ustring prefixPath`
        pub prefix_path: String,
    }
}

record! {
    /// `class GetAllChildrenNumberRequest { ustring path; }`
    pub struct GetAllChildrenNumberRequest {
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class AddWatchRequest { ustring path; int mode; }`
    pub struct AddWatchRequest {
        /// `ustring path`
        pub path: String,
        /// `int mode`: an [`crate::AddWatchMode`] value, kept raw.
        pub mode: i32,
    }
}

record! {
    /// `class GetSASLRequest { buffer token; }`
    pub struct GetSaslRequest {
        /// `buffer token`
        pub token: Bytes,
    }
}

record! {
    /// `class SetSASLResponse { buffer token; }`
    pub struct SetSaslResponse {
        /// `buffer token`: `None` is the null buffer (length -1) that
        /// ZooKeeper sends when SASL has nothing to say (no JAAS
        /// configuration, a failed exchange).
        pub token: Option<Bytes>,
    }
}

record! {
    /// `class CreateResponse { ustring path; }`
    pub struct CreateResponse {
        /// `ustring path`: the actual path (with a sequence suffix, if any).
        pub path: String,
    }
}

record! {
    /// `class Create2Response { ustring path; Stat stat; }`
    pub struct Create2Response {
        /// `ustring path`
        pub path: String,
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class ExistsResponse { Stat stat; }`
    pub struct ExistsResponse {
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class GetDataResponse { buffer data; Stat stat; }`; also the reply
    /// of `reconfig` (the new config).
    pub struct GetDataResponse {
        /// `buffer data`: `None` for a node created with null data.
        pub data: Option<Bytes>,
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class SetDataResponse { Stat stat; }`
    pub struct SetDataResponse {
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class GetACLResponse { vector<ACL> acl; Stat stat; }`
    pub struct GetAclResponse {
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class SetACLResponse { Stat stat; }`
    pub struct SetAclResponse {
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class GetChildrenResponse { vector<ustring> children; }`
    pub struct GetChildrenResponse {
        /// `vector<ustring> children`: names, not paths.
        pub children: Vec<String>,
    }
}

record! {
    /// `class GetChildren2Response { vector<ustring> children; Stat stat; }`
    pub struct GetChildren2Response {
        /// `vector<ustring> children`
        pub children: Vec<String>,
        /// `Stat stat`
        pub stat: Stat,
    }
}

record! {
    /// `class SyncResponse { ustring path; }`
    pub struct SyncResponse {
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class GetEphemeralsResponse { vector<ustring> ephemerals; }`
    pub struct GetEphemeralsResponse {
        /// `vector<ustring> ephemerals`: full paths.
        pub ephemerals: Vec<String>,
    }
}

record! {
    /// `class GetAllChildrenNumberResponse { int totalNumber; }`
    pub struct GetAllChildrenNumberResponse {
        /// `int totalNumber`
        pub total_number: i32,
    }
}

record! {
    /// `class WhoAmIResponse { vector<ClientInfo> clientInfo; }` (3.7)
    pub struct WhoAmIResponse {
        /// `vector<ClientInfo> clientInfo`
        pub client_info: Vec<ClientInfo>,
    }
}

record! {
    /// `class ErrorResponse { int err; }`: an error result inside `multi`.
    pub struct ErrorResponse {
        /// `int err`
        pub err: i32,
    }
}
