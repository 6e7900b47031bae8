//! Module `org.apache.zookeeper.proto` of `zookeeper.jute`: the handshake,
//! headers, and every request and response record.
//!
//! | file          | records                                                            |
//! |---------------|--------------------------------------------------------------------|
//! | `connect`     | `ConnectRequest`, `ConnectResponse` (optional `readOnly` byte)      |
//! | `header`      | `RequestHeader`, `ReplyHeader`, `MultiHeader`                       |
//! | `records`     | the per-op request/response records                                |
//! | `multi`       | `multi` / `multiRead` op sequences and results                     |
//! | `watch`       | `WatcherEvent`, `SetWatches`, `SetWatches2`                         |
//! | `auth`        | `AuthPacket`                                                       |
//! | `request`     | `Request`: opcode → request record (the one dispatch)              |
//! | `response`    | `Response`: opcode of the request → reply record                   |

pub mod auth;
pub mod connect;
pub mod header;
pub mod multi;
pub mod records;
pub mod request;
pub mod response;
pub mod watch;

pub use auth::AuthPacket;
pub use connect::{ConnectRequest, ConnectResponse};
pub use header::{MultiHeader, ReplyHeader, RequestHeader};
pub use multi::{MultiRequest, MultiResponse, Op, OpResult};
pub use records::*;
pub use request::Request;
pub use response::Response;
pub use watch::{SetWatches, SetWatches2, WatcherEvent};
