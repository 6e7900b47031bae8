//! `ErrorCode`: ZooKeeper's `KeeperException.Code`, as wire values.

use num_enum::{IntoPrimitive, TryFromPrimitive};

/// The `err` of a `ReplyHeader` or of a `multi` error result.
///
/// Wire values from `KeeperException.Code` (3.9); −126 is unused upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum ErrorCode {
    /// Everything is OK.
    Ok = 0,
    /// System and server-side errors (a range marker, also used as a code).
    SystemError = -1,
    /// A runtime inconsistency was found; in a failed `multi`, the result of
    /// every op after the one that failed.
    RuntimeInconsistency = -2,
    /// A data inconsistency was found.
    DataInconsistency = -3,
    /// Connection to the server has been lost (client-side).
    ConnectionLoss = -4,
    /// Error while marshalling or unmarshalling data.
    MarshallingError = -5,
    /// Operation is unimplemented.
    Unimplemented = -6,
    /// Operation timeout.
    OperationTimeout = -7,
    /// Invalid arguments.
    BadArguments = -8,
    /// No such session (3.5).
    UnknownSession = -12,
    /// Invalid reconfiguration: the new config has no quorum (3.5).
    NewConfigNoQuorum = -13,
    /// Another reconfiguration is in progress (3.5).
    ReconfigInProgress = -14,
    /// API errors (a range marker, also used as a code).
    ApiError = -100,
    /// Node does not exist.
    NoNode = -101,
    /// Not authenticated.
    NoAuth = -102,
    /// Version conflict.
    BadVersion = -103,
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108,
    /// The node already exists.
    NodeExists = -110,
    /// The node has children.
    NotEmpty = -111,
    /// The session has been expired by the server.
    SessionExpired = -112,
    /// Invalid callback specified.
    InvalidCallback = -113,
    /// Invalid ACL specified.
    InvalidAcl = -114,
    /// Client authentication failed.
    AuthFailed = -115,
    /// Session moved to another server, so operation is ignored (3.2).
    SessionMoved = -118,
    /// State-changing request passed to a read-only server (3.4).
    NotReadOnly = -119,
    /// Attempt to create an ephemeral node on a local session (3.5).
    EphemeralOnLocalSession = -120,
    /// Attempt to remove a watcher that does not exist (3.5).
    NoWatcher = -121,
    /// The request took too long (3.5.5).
    RequestTimeout = -122,
    /// Reconfiguration is disabled (3.5.3).
    ReconfigDisabled = -123,
    /// The session was closed because it lacked SASL authentication (3.6).
    SessionClosedRequireSaslAuth = -124,
    /// A quota was exceeded (3.7).
    QuotaExceeded = -125,
    /// The operation was throttled (3.7).
    ThrottledOp = -127,
}

impl ErrorCode {
    /// The name ZooKeeper's `KeeperException.Code` gives this code.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Ok => "OK",
            ErrorCode::SystemError => "SYSTEMERROR",
            ErrorCode::RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
            ErrorCode::DataInconsistency => "DATAINCONSISTENCY",
            ErrorCode::ConnectionLoss => "CONNECTIONLOSS",
            ErrorCode::MarshallingError => "MARSHALLINGERROR",
            ErrorCode::Unimplemented => "UNIMPLEMENTED",
            ErrorCode::OperationTimeout => "OPERATIONTIMEOUT",
            ErrorCode::BadArguments => "BADARGUMENTS",
            ErrorCode::UnknownSession => "UNKNOWNSESSION",
            ErrorCode::NewConfigNoQuorum => "NEWCONFIGNOQUORUM",
            ErrorCode::ReconfigInProgress => "RECONFIGINPROGRESS",
            ErrorCode::ApiError => "APIERROR",
            ErrorCode::NoNode => "NONODE",
            ErrorCode::NoAuth => "NOAUTH",
            ErrorCode::BadVersion => "BADVERSION",
            ErrorCode::NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            ErrorCode::NodeExists => "NODEEXISTS",
            ErrorCode::NotEmpty => "NOTEMPTY",
            ErrorCode::SessionExpired => "SESSIONEXPIRED",
            ErrorCode::InvalidCallback => "INVALIDCALLBACK",
            ErrorCode::InvalidAcl => "INVALIDACL",
            ErrorCode::AuthFailed => "AUTHFAILED",
            ErrorCode::SessionMoved => "SESSIONMOVED",
            ErrorCode::NotReadOnly => "NOTREADONLY",
            ErrorCode::EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
            ErrorCode::NoWatcher => "NOWATCHER",
            ErrorCode::RequestTimeout => "REQUESTTIMEOUT",
            ErrorCode::ReconfigDisabled => "RECONFIGDISABLED",
            ErrorCode::SessionClosedRequireSaslAuth => "SESSIONCLOSEDREQUIRESASLAUTH",
            ErrorCode::QuotaExceeded => "QUOTAEXCEEDED",
            ErrorCode::ThrottledOp => "THROTTLEDOP",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), i32::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_gaps_are_errors() {
        let mut known = 0;
        for v in -130..=0 {
            if let Ok(code) = ErrorCode::try_from(v) {
                known += 1;
                assert_eq!(i32::from(code), v);
            }
        }
        assert_eq!(known, 32);
        assert!(ErrorCode::try_from(-126).is_err());
        assert_eq!(ErrorCode::NoNode.to_string(), "NONODE (-101)");
    }
}
