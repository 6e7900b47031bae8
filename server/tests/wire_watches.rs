//! Watches over the wire: ZooKeeper's ordering guarantee (a client sees the
//! event before any reply reflecting the change), one-shot semantics, the
//! READ filter at delivery, persistent-recursive watches, and ephemerals
//! removed with their events when a session closes.

mod common;

use bytes::Bytes;
use common::*;
use jute::proto::*;
use jute::{Acl, Decode, Id, Perms, Request, Response, xid};

fn create(path: &str, acl: Vec<Acl>, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"v")),
        acl,
        flags,
    })
}

fn set(path: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"w")),
        version: -1,
    })
}

fn event(body: &Bytes) -> WatcherEvent {
    WatcherEvent::decode_from(body).expect("a WatcherEvent")
}

#[tokio::test]
async fn own_write_event_precedes_its_reply_and_fires_once() {
    let server = start().await;
    let (mut a, _) = connect(server.addr, Some(false)).await;
    assert_eq!(
        call(&mut a, 1, create("/w", vec![Acl::open()], 0))
            .await
            .0
            .err,
        0
    );
    let (h, _) = call(
        &mut a,
        2,
        Request::GetData(GetDataRequest {
            path: "/w".into(),
            watch: true,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    send(&mut a, 3, set("/w")).await;
    let (first, body) = next_frame(&mut a).await;
    assert_eq!(
        first.xid,
        xid::NOTIFICATION,
        "the event comes before the setData reply"
    );
    let ev = event(&body);
    assert_eq!((ev.kind, ev.state, ev.path.as_str()), (3, 3, "/w"));
    let (second, _) = next_frame(&mut a).await;
    assert_eq!(second.xid, 3);
    assert_eq!(
        first.zxid, second.zxid,
        "the event carries the zxid of the change"
    );
    // One-shot: a second change fires nothing.
    send(&mut a, 4, set("/w")).await;
    assert_eq!(next_frame(&mut a).await.0.xid, 4);
    server.shutdown.cancel();
}

#[tokio::test]
async fn another_session_is_told_of_changes_it_may_read_only() {
    let server = start().await;
    let (mut a, _) = connect(server.addr, Some(false)).await;
    let (mut b, _) = connect(server.addr, Some(false)).await;
    let digest = Id::new("digest", storage::acl::digest_id("alice:pw"));
    let alice_only = vec![Acl {
        perms: Perms::ALL.bits(),
        id: digest,
    }];
    // b watches the creation of two nodes; a creates one open, one private.
    for (xid, path) in [(1, "/open"), (2, "/private")] {
        let (h, _) = call(
            &mut b,
            xid,
            Request::Exists(ExistsRequest {
                path: path.into(),
                watch: true,
            }),
        )
        .await;
        assert_eq!(
            h.err,
            i32::from(jute::ErrorCode::NoNode),
            "exists on a missing node still sets the watch"
        );
    }
    let (h, _) = call(
        &mut a,
        1,
        Request::Auth(AuthPacket {
            kind: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"alice:pw"),
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert_eq!(
        call(&mut a, 2, create("/private", alice_only, 0))
            .await
            .0
            .err,
        0
    );
    assert_eq!(
        call(&mut a, 3, create("/open", vec![Acl::open()], 0))
            .await
            .0
            .err,
        0
    );
    // b hears of /open only: /private's event needs READ on /private.
    let (h, body) = next_frame(&mut b).await;
    assert_eq!(h.xid, xid::NOTIFICATION);
    assert_eq!(event(&body).path, "/open");
    let (h, _) = call(&mut b, 9, Request::Ping).await;
    assert_eq!(h.xid, xid::PING, "nothing else was queued for b");
    server.shutdown.cancel();
}

#[tokio::test]
async fn recursive_watches_see_the_subtree_and_closing_a_session_fires_deletes() {
    let server = start().await;
    let (mut watcher, _) = connect(server.addr, Some(false)).await;
    let (mut owner, _) = connect(server.addr, Some(false)).await;
    assert_eq!(
        call(&mut owner, 1, create("/r", vec![Acl::open()], 0))
            .await
            .0
            .err,
        0
    );
    let (h, rsp) = call(
        &mut watcher,
        1,
        Request::AddWatch(AddWatchRequest {
            path: "/r".into(),
            mode: 1,
        }),
    )
    .await;
    assert_eq!(
        (h.err, rsp),
        (0, Response::AddWatch(ErrorResponse { err: 0 }))
    );
    assert_eq!(
        call(&mut owner, 2, create("/r/e", vec![Acl::open()], 1))
            .await
            .0
            .err,
        0
    );
    let (_, body) = next_frame(&mut watcher).await;
    assert_eq!((event(&body).kind, event(&body).path.as_str()), (1, "/r/e"));
    // The owner closes its session: its ephemeral goes, with its event.
    let (h, _) = call(&mut owner, 3, Request::CloseSession).await;
    assert_eq!(h.err, 0);
    let (h, body) = next_frame(&mut watcher).await;
    assert_eq!(h.xid, xid::NOTIFICATION);
    assert_eq!((event(&body).kind, event(&body).path.as_str()), (2, "/r/e"));
    // No NodeChildrenChanged for /r: recursive watches never get it.
    let (h, _) = call(
        &mut watcher,
        2,
        Request::GetChildren(GetChildrenRequest {
            path: "/r".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.xid, 2);
    server.shutdown.cancel();
}

/// A one-shot watch and a persistent-recursive one of the same session on
/// one path live side by side (ZooKeeper 3.9, ZOOKEEPER-4466; 3.8.0 let
/// the newer replace the older): the first change is told once, the
/// one-shot watch is then used up, and the recursive one keeps telling of
/// the node and its subtree. `checkWatches` of the data type then finds
/// no standard watch (ZOOKEEPER-4471).
#[tokio::test]
async fn a_one_shot_and_a_recursive_watch_on_one_path_coexist() {
    let server = start().await;
    let (mut w, _) = connect(server.addr, Some(false)).await;
    let (mut writer, _) = connect(server.addr, Some(false)).await;
    assert_eq!(
        call(&mut writer, 1, create("/m", vec![Acl::open()], 0))
            .await
            .0
            .err,
        0
    );
    let add = Request::AddWatch(AddWatchRequest {
        path: "/m".into(),
        mode: 1,
    });
    assert_eq!(call(&mut w, 1, add).await.0.err, 0);
    let get = |xid| {
        (
            xid,
            Request::GetData(GetDataRequest {
                path: "/m".into(),
                watch: true,
            }),
        )
    };
    let (x, req) = get(2);
    assert_eq!(call(&mut w, x, req).await.0.err, 0);
    // One notification for the first change, though two watches match.
    assert_eq!(call(&mut writer, 2, set("/m")).await.0.err, 0);
    let (h, body) = next_frame(&mut w).await;
    assert_eq!(
        (h.xid, event(&body).kind, event(&body).path.as_str()),
        (xid::NOTIFICATION, 3, "/m")
    );
    let check = |xid, kind| {
        (
            xid,
            Request::CheckWatches(CheckWatchesRequest {
                path: "/m".into(),
                kind,
            }),
        )
    };
    // The one-shot data watch is gone; the recursive one is no standard
    // data watch, but "any" finds it.
    let (x, req) = check(3, 2);
    assert_eq!(
        call(&mut w, x, req).await.0.err,
        i32::from(jute::ErrorCode::NoWatcher)
    );
    let (x, req) = check(4, 3);
    assert_eq!(call(&mut w, x, req).await.0.err, 0);
    // The recursive watch still tells of the node and of a new child.
    assert_eq!(call(&mut writer, 3, set("/m")).await.0.err, 0);
    let (_, body) = next_frame(&mut w).await;
    assert_eq!((event(&body).kind, event(&body).path.as_str()), (3, "/m"));
    assert_eq!(
        call(&mut writer, 4, create("/m/c", vec![Acl::open()], 0))
            .await
            .0
            .err,
        0
    );
    let (_, body) = next_frame(&mut w).await;
    assert_eq!((event(&body).kind, event(&body).path.as_str()), (1, "/m/c"));
    server.shutdown.cancel();
}
