//! A write's reply goes to the connection that sent it, and to no other.
//! A client whose connection drops with a write in flight (its outcome
//! unknown, as when a leader is lost) resumes its session on a new
//! connection, where it numbers its requests afresh; the old write, applied
//! later, must not answer there. Before this was fixed, the reply went to
//! the session's connection of the moment, and kazoo, getting an xid it
//! never sent on that connection, stopped ("xids do not match"), as seen
//! by `benches/leader-loss.sh`. ZooKeeper answers on the request's own
//! connection.
//!
//! The write is held back by the `raft-log-fsync` failpoint sleeping;
//! failpoints are global to the process, so this file holds one test.

mod common;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use jute::proto::*;
use jute::{ClientFrame, CreateMode, Request, Response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_never_reaches_a_later_connection_of_the_session() {
    let server = common::start().await;
    let (mut a, hello) = common::connect(server.addr, None).await;
    let (h, _) = common::call(
        &mut a,
        1,
        common::create("/r", b"0", CreateMode::Persistent),
    )
    .await;
    assert_eq!(h.err, 0);

    // A write that takes 1.5 s to become durable, and the connection that
    // sent it gone meanwhile.
    fail::cfg("raft-log-fsync", "sleep(1500)").expect("failpoint");
    common::send(
        &mut a,
        7,
        Request::SetData(SetDataRequest {
            path: "/r".into(),
            data: Some(Bytes::from_static(b"1")),
            version: -1,
        }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(a);
    fail::cfg("raft-log-fsync", "off").expect("failpoint");

    // The session, resumed on a new connection, asks something with xid 7
    // too; then listens while the old write is applied.
    let (mut b, resumed) = common::try_connect(
        server.addr,
        30_000,
        Some((hello.session_id, hello.passwd.clone())),
    )
    .await
    .expect("resumed");
    assert_eq!(resumed.session_id, hello.session_id);
    common::send(&mut b, 7, common::exists("/r")).await;
    let mut replies = Vec::new();
    let listen = tokio::time::sleep(Duration::from_secs(3));
    tokio::pin!(listen);
    loop {
        tokio::select! {
            () = &mut listen => break,
            f = b.next() => match f {
                Some(Ok(ClientFrame::Reply { header, body })) => replies.push((header, body)),
                other => panic!("the new connection ended: {other:?}"),
            }
        }
    }
    assert_eq!(
        replies.len(),
        1,
        "replies on the new connection: {replies:?}"
    );
    let (header, body) = &replies[0];
    assert_eq!((header.xid, header.err), (7, 0));
    let reply = Response::decode(jute::OpCode::Exists, header.err, body).expect("an exists reply");
    assert!(matches!(reply, Response::Exists(_)), "{reply:?}");

    // The old write was applied all the same (its outcome was unknown).
    let (h, r) = common::call(
        &mut b,
        8,
        Request::GetData(GetDataRequest {
            path: "/r".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    match r {
        Response::GetData(d) => assert_eq!(d.data.as_deref(), Some(&b"1"[..])),
        other => panic!("{other:?}"),
    }
    server.shutdown.cancel();
}
