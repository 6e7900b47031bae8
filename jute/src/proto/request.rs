//! `Request`: one variant per client opcode, and the single `match` from
//! opcode to request record ([`Request::decode`]).

use bytes::{BufMut, BytesMut};

use crate::proto::auth::AuthPacket;
use crate::proto::multi::MultiRequest;
use crate::proto::records::*;
use crate::proto::watch::{SetWatches, SetWatches2};
use crate::record::{Decode, Encode};
use crate::{DecodeError, OpCode};

/// A decoded request body; the `RequestHeader` travels beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `create` (1).
    Create(CreateRequest),
    /// `delete` (2).
    Delete(DeleteRequest),
    /// `exists` (3).
    Exists(ExistsRequest),
    /// `getData` (4).
    GetData(GetDataRequest),
    /// `setData` (5).
    SetData(SetDataRequest),
    /// `getACL` (6).
    GetAcl(GetAclRequest),
    /// `setACL` (7).
    SetAcl(SetAclRequest),
    /// `getChildren` (8).
    GetChildren(GetChildrenRequest),
    /// `sync` (9).
    Sync(SyncRequest),
    /// `ping` (11), no body.
    Ping,
    /// `getChildren2` (12).
    GetChildren2(GetChildren2Request),
    /// `check` (13); clients send it inside `multi`.
    Check(CheckVersionRequest),
    /// `multi` (14).
    Multi(MultiRequest),
    /// `create2` (15).
    Create2(CreateRequest),
    /// `reconfig` (16).
    Reconfig(ReconfigRequest),
    /// `checkWatches` (17).
    CheckWatches(CheckWatchesRequest),
    /// `removeWatches` (18).
    RemoveWatches(RemoveWatchesRequest),
    /// `createContainer` (19).
    CreateContainer(CreateRequest),
    /// `deleteContainer` (20): ZooKeeper's `ContainerManager` submits it
    /// internally with the path as raw UTF-8 bytes (no length prefix).
    DeleteContainer(String),
    /// `createTTL` (21).
    CreateTtl(CreateTtlRequest),
    /// `multiRead` (22).
    MultiRead(MultiRequest),
    /// `auth` (100).
    Auth(AuthPacket),
    /// `setWatches` (101).
    SetWatches(SetWatches),
    /// `sasl` (102).
    Sasl(GetSaslRequest),
    /// `getEphemerals` (103).
    GetEphemerals(GetEphemeralsRequest),
    /// `getAllChildrenNumber` (104).
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    /// `setWatches2` (105).
    SetWatches2(SetWatches2),
    /// `addWatch` (106).
    AddWatch(AddWatchRequest),
    /// `whoAmI` (107), no body.
    WhoAmI,
    /// `closeSession` (−11), no body.
    CloseSession,
}

impl Request {
    /// Decodes the body of a request whose `RequestHeader.type` is `op`.
    /// Bytes after the record are ignored, as ZooKeeper ignores them.
    ///
    /// # Errors
    /// [`DecodeError::UnknownOpCode`] for an opcode ZooKeeper does not define
    /// (answer `UNIMPLEMENTED`), [`DecodeError::UnexpectedOpCode`] for one a
    /// client cannot send (`notification`, `error`, `createSession`), and
    /// any record error for a bad body (answer `MARSHALLINGERROR`).
    pub fn decode(op: i32, body: &[u8]) -> Result<Request, DecodeError> {
        let code = OpCode::try_from(op).map_err(|_| DecodeError::UnknownOpCode(op))?;
        Ok(match code {
            OpCode::Create => Request::Create(Decode::decode_from(body)?),
            OpCode::Delete => Request::Delete(Decode::decode_from(body)?),
            OpCode::Exists => Request::Exists(Decode::decode_from(body)?),
            OpCode::GetData => Request::GetData(Decode::decode_from(body)?),
            OpCode::SetData => Request::SetData(Decode::decode_from(body)?),
            OpCode::GetAcl => Request::GetAcl(Decode::decode_from(body)?),
            OpCode::SetAcl => Request::SetAcl(Decode::decode_from(body)?),
            OpCode::GetChildren => Request::GetChildren(Decode::decode_from(body)?),
            OpCode::Sync => Request::Sync(Decode::decode_from(body)?),
            OpCode::Ping => Request::Ping,
            OpCode::GetChildren2 => Request::GetChildren2(Decode::decode_from(body)?),
            OpCode::Check => Request::Check(Decode::decode_from(body)?),
            OpCode::Multi => Request::Multi(Decode::decode_from(body)?),
            OpCode::Create2 => Request::Create2(Decode::decode_from(body)?),
            OpCode::Reconfig => Request::Reconfig(Decode::decode_from(body)?),
            OpCode::CheckWatches => Request::CheckWatches(Decode::decode_from(body)?),
            OpCode::RemoveWatches => Request::RemoveWatches(Decode::decode_from(body)?),
            OpCode::CreateContainer => Request::CreateContainer(Decode::decode_from(body)?),
            OpCode::DeleteContainer => {
                Request::DeleteContainer(String::from_utf8_lossy(body).into_owned())
            }
            OpCode::CreateTtl => Request::CreateTtl(Decode::decode_from(body)?),
            OpCode::MultiRead => Request::MultiRead(Decode::decode_from(body)?),
            OpCode::Auth => Request::Auth(Decode::decode_from(body)?),
            OpCode::SetWatches => Request::SetWatches(Decode::decode_from(body)?),
            OpCode::Sasl => Request::Sasl(Decode::decode_from(body)?),
            OpCode::GetEphemerals => Request::GetEphemerals(Decode::decode_from(body)?),
            OpCode::GetAllChildrenNumber => {
                Request::GetAllChildrenNumber(Decode::decode_from(body)?)
            }
            OpCode::SetWatches2 => Request::SetWatches2(Decode::decode_from(body)?),
            OpCode::AddWatch => Request::AddWatch(Decode::decode_from(body)?),
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::CloseSession => Request::CloseSession,
            OpCode::Notification | OpCode::Error | OpCode::CreateSession => {
                return Err(DecodeError::UnexpectedOpCode(op));
            }
        })
    }

    /// The opcode this request is sent with.
    pub fn opcode(&self) -> OpCode {
        match self {
            Request::Create(_) => OpCode::Create,
            Request::Delete(_) => OpCode::Delete,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::Create2(_) => OpCode::Create2,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::CreateContainer(_) => OpCode::CreateContainer,
            Request::DeleteContainer(_) => OpCode::DeleteContainer,
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches,
            Request::Sasl(_) => OpCode::Sasl,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::SetWatches2(_) => OpCode::SetWatches2,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
        }
    }

    /// The record to encode, or `None` for a header-only request.
    fn body(&self) -> Option<&dyn Encode> {
        Some(match self {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => r,
            Request::Delete(r) => r,
            Request::Exists(r) => r,
            Request::GetData(r) => r,
            Request::SetData(r) => r,
            Request::GetAcl(r) => r,
            Request::SetAcl(r) => r,
            Request::GetChildren(r) => r,
            Request::Sync(r) => r,
            Request::GetChildren2(r) => r,
            Request::Check(r) => r,
            Request::Multi(r) | Request::MultiRead(r) => r,
            Request::Reconfig(r) => r,
            Request::CheckWatches(r) => r,
            Request::RemoveWatches(r) => r,
            Request::CreateTtl(r) => r,
            Request::Auth(r) => r,
            Request::SetWatches(r) => r,
            Request::Sasl(r) => r,
            Request::GetEphemerals(r) => r,
            Request::GetAllChildrenNumber(r) => r,
            Request::SetWatches2(r) => r,
            Request::AddWatch(r) => r,
            Request::DeleteContainer(_)
            | Request::Ping
            | Request::WhoAmI
            | Request::CloseSession => {
                return None;
            }
        })
    }
}

impl Encode for Request {
    fn encode(&self, buf: &mut BytesMut) {
        match (self, self.body()) {
            (Request::DeleteContainer(path), _) => buf.put_slice(path.as_bytes()),
            (_, Some(body)) => body.encode(buf),
            (_, None) => {}
        }
    }

    fn encoded_len(&self) -> usize {
        match (self, self.body()) {
            (Request::DeleteContainer(path), _) => path.len(),
            (_, Some(body)) => body.encoded_len(),
            (_, None) => 0,
        }
    }
}
