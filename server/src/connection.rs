//! One task per client socket: handshake, then requests in order, replies in
//! the same order through the one `Framed` sink.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use jute::proto::{ReplyHeader, Response};
use jute::{ErrorCode, FourLetterWord, Frame, OpCode, ServerCodec};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::listener::Shared;

/// The zxid replies carry until the tree (#3) exists: nothing has been
/// written yet.
const LAST_ZXID: i64 = 0;

/// Serves one connection until the client leaves, misbehaves, its session
/// times out, or the server shuts down.
pub(crate) async fn serve(
    socket: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let span = info_span!("conn", %peer, session_id = tracing::field::Empty);
    async move {
        let mut framed = Framed::new(socket, ServerCodec::new(shared.config.max_frame_len));
        // ZooKeeper drops connections that never complete a handshake.
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            first = tokio::time::timeout(shared.config.min_session_timeout, framed.next()) => first,
        };
        let connect = match first {
            Ok(Some(Ok(Frame::Connect(req)))) => req,
            Ok(Some(Ok(Frame::FourLetter { word, .. }))) => {
                four_letter(framed.into_inner(), word).await;
                return;
            }
            Ok(Some(Ok(Frame::Request { .. }))) => return,
            Ok(Some(Err(e))) => {
                debug!(error = %e, "bad handshake; closing");
                return;
            }
            Ok(None) => return,
            Err(_) => {
                debug!("no handshake in time; closing");
                return;
            }
        };
        let (session, rsp) = shared.sessions.accept(&connect, &shared.config);
        if let Err(e) = framed.send(&rsp).await {
            debug!(error = %e, "could not send ConnectResponse");
            return;
        }
        let Some(session) = session else {
            info!(
                requested = connect.session_id,
                "session expired or password wrong; closing"
            );
            return;
        };
        tracing::Span::current().record("session_id", format_args!("0x{:x}", session.id));
        debug!(
            timeout_ms = session.timeout.as_millis(),
            "session established"
        );

        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = tokio::time::timeout(session.timeout, framed.next()) => next,
            };
            let (header, body) = match next {
                Ok(Some(Ok(Frame::Request { header, body }))) => (header, body),
                Ok(Some(Ok(other))) => {
                    warn!(?other, "unexpected frame after handshake; closing");
                    break;
                }
                Ok(Some(Err(e))) => {
                    info!(error = %e, "malformed frame; closing");
                    break;
                }
                Ok(None) => break,
                Err(_) => {
                    info!("session timed out");
                    shared.sessions.close(session.id);
                    break;
                }
            };
            let op = OpCode::try_from(header.op).ok();
            let _request = info_span!("request", xid = header.xid, op = ?op).entered();
            let err = match op {
                Some(OpCode::Ping) | Some(OpCode::CloseSession) => ErrorCode::Ok,
                Some(_) => {
                    // Every other op needs the tree (#3), replication (#4) and
                    // the pipeline (#5).
                    debug!(body_len = body.len(), "not served yet");
                    ErrorCode::Unimplemented
                }
                None => ErrorCode::Unimplemented,
            };
            drop(_request);
            let reply = ReplyHeader {
                xid: header.xid,
                zxid: LAST_ZXID,
                err: err.into(),
            };
            if framed.send((&reply, &Response::Empty)).await.is_err() {
                break;
            }
            if op == Some(OpCode::CloseSession) {
                shared.sessions.close(session.id);
                debug!("session closed by client");
                break;
            }
        }
    }
    .instrument(span)
    .await;
}

/// Answers a four-letter word and closes, as ZooKeeper does. Only `ruok` is
/// served so far (#6 brings the rest and the whitelist).
async fn four_letter(mut socket: TcpStream, word: FourLetterWord) {
    let text = match word {
        FourLetterWord::Ruok => "imok".to_owned(),
        FourLetterWord::TelnetClose => String::new(),
        other => format!(
            "{} is not executed because it is not in the whitelist.\n",
            other.name()
        ),
    };
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}
