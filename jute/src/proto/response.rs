//! `Response`: the body of a reply, chosen by the opcode of the request it
//! answers ([`Response::decode`]), and its encoding.
//!
//! A reply whose `ReplyHeader.err` is not 0 has an empty body
//! ([`Response::Empty`]); ZooKeeper's `FinalRequestProcessor` throws before
//! building one. `multi` is the exception: its per-op errors are results
//! inside a [`MultiResponse`].

use bytes::BytesMut;

use crate::proto::multi::MultiResponse;
use crate::proto::records::*;
use crate::proto::watch::WatcherEvent;
use crate::record::{Decode, Encode};
use crate::{DecodeError, OpCode};

/// A reply body (or a notification body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// No body: errors, and `delete`, `ping`, `check`, `auth`,
    /// `setWatches(2)`, `checkWatches`, `removeWatches`,
    /// `closeSession`.
    Empty,
    /// `create`.
    Create(CreateResponse),
    /// `create2`, `createContainer`, `createTTL`.
    Create2(Create2Response),
    /// `exists`.
    Exists(ExistsResponse),
    /// `getData`, and `reconfig` (the new configuration).
    GetData(GetDataResponse),
    /// `setData`.
    SetData(SetDataResponse),
    /// `getACL`.
    GetAcl(GetAclResponse),
    /// `setACL`.
    SetAcl(SetAclResponse),
    /// `getChildren`.
    GetChildren(GetChildrenResponse),
    /// `getChildren2`.
    GetChildren2(GetChildren2Response),
    /// `sync`.
    Sync(SyncResponse),
    /// `multi`, `multiRead`.
    Multi(MultiResponse),
    /// `sasl`.
    Sasl(SetSaslResponse),
    /// `getEphemerals`.
    GetEphemerals(GetEphemeralsResponse),
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    /// `whoAmI`.
    WhoAmI(WhoAmIResponse),
    /// `addWatch`: ZooKeeper answers a successful one with an
    /// `ErrorResponse{err: 0}` body (`FinalRequestProcessor`, seen in the
    /// golden captures), not with an empty body.
    AddWatch(ErrorResponse),
    /// A watch notification (xid −1).
    Notification(WatcherEvent),
}

impl Response {
    /// Decodes the body of a reply to a request with opcode `op` (use
    /// [`OpCode::Notification`] for xid −1). `err` is the reply header's
    /// code: a non-zero code with an empty body is [`Response::Empty`].
    ///
    /// # Errors
    /// [`DecodeError`] when the body is not the record `op` answers with.
    pub fn decode(op: OpCode, err: i32, body: &[u8]) -> Result<Response, DecodeError> {
        if err != 0 && body.is_empty() {
            return Ok(Response::Empty);
        }
        Ok(match op {
            OpCode::Create => Response::Create(Decode::decode_from(body)?),
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                Response::Create2(Decode::decode_from(body)?)
            }
            OpCode::Exists => Response::Exists(Decode::decode_from(body)?),
            OpCode::GetData | OpCode::Reconfig => Response::GetData(Decode::decode_from(body)?),
            OpCode::SetData => Response::SetData(Decode::decode_from(body)?),
            OpCode::GetAcl => Response::GetAcl(Decode::decode_from(body)?),
            OpCode::SetAcl => Response::SetAcl(Decode::decode_from(body)?),
            OpCode::GetChildren => Response::GetChildren(Decode::decode_from(body)?),
            OpCode::GetChildren2 => Response::GetChildren2(Decode::decode_from(body)?),
            OpCode::Sync => Response::Sync(Decode::decode_from(body)?),
            OpCode::Multi | OpCode::MultiRead => Response::Multi(Decode::decode_from(body)?),
            OpCode::Sasl => Response::Sasl(Decode::decode_from(body)?),
            OpCode::GetEphemerals => Response::GetEphemerals(Decode::decode_from(body)?),
            OpCode::GetAllChildrenNumber => {
                Response::GetAllChildrenNumber(Decode::decode_from(body)?)
            }
            OpCode::WhoAmI => Response::WhoAmI(Decode::decode_from(body)?),
            OpCode::AddWatch => Response::AddWatch(Decode::decode_from(body)?),
            OpCode::Notification => Response::Notification(Decode::decode_from(body)?),
            OpCode::Delete
            | OpCode::Ping
            | OpCode::Check
            | OpCode::Auth
            | OpCode::SetWatches
            | OpCode::SetWatches2
            | OpCode::CheckWatches
            | OpCode::RemoveWatches
            | OpCode::CloseSession
            | OpCode::DeleteContainer
            | OpCode::CreateSession
            | OpCode::Error => Response::Empty,
        })
    }

    fn body(&self) -> Option<&dyn Encode> {
        Some(match self {
            Response::Empty => return None,
            Response::Create(r) => r,
            Response::Create2(r) => r,
            Response::Exists(r) => r,
            Response::GetData(r) => r,
            Response::SetData(r) => r,
            Response::GetAcl(r) => r,
            Response::SetAcl(r) => r,
            Response::GetChildren(r) => r,
            Response::GetChildren2(r) => r,
            Response::Sync(r) => r,
            Response::Multi(r) => r,
            Response::Sasl(r) => r,
            Response::GetEphemerals(r) => r,
            Response::GetAllChildrenNumber(r) => r,
            Response::WhoAmI(r) => r,
            Response::AddWatch(r) => r,
            Response::Notification(r) => r,
        })
    }
}

impl Encode for Response {
    fn encode(&self, buf: &mut BytesMut) {
        if let Some(body) = self.body() {
            body.encode(buf);
        }
    }

    fn encoded_len(&self) -> usize {
        self.body().map_or(0, Encode::encoded_len)
    }
}
