//! Durability: writers hammer a real `corral` process, it is killed with
//! SIGKILL mid-stream, restarted on the same data directory, and every
//! write that was acknowledged before the kill must be there — three times
//! over, each kill at a different moment.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use jute::proto::*;
use jute::{Acl, Request, Response};

struct Corral(Child);

impl Drop for Corral {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], consensus::network::unused_port()))
}

async fn spawn(addr: SocketAddr, dir: &std::path::Path) -> Corral {
    let child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["--client-addr", &addr.to_string(), "--data-dir"])
        .arg(dir)
        .args(["--log", "warn", "--admin-port", "0", "--metrics-port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn corral");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "corral did not start listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Corral(child)
}

/// Creates `/w<writer>-<n>` one after another until the connection breaks;
/// returns the acknowledged paths with their data.
async fn writer(addr: SocketAddr, id: usize) -> Vec<(String, Bytes)> {
    let mut acked = Vec::new();
    let Ok(socket) = tokio::net::TcpStream::connect(addr).await else {
        return acked;
    };
    let mut c = tokio_util::codec::Framed::new(socket, jute::ClientCodec::default());
    use futures::{SinkExt, StreamExt};
    let hello = ConnectRequest {
        time_out: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    if c.send(&hello).await.is_err()
        || !matches!(c.next().await, Some(Ok(jute::ClientFrame::Connect(_))))
    {
        return acked;
    }
    for n in 0.. {
        let path = format!("/w{id}-{n}");
        let data = Bytes::from(format!("{id}:{n}"));
        let req = Request::Create(CreateRequest {
            path: path.clone(),
            data: Some(data.clone()),
            acl: vec![Acl::open()],
            flags: 0,
        });
        if c.send((RequestHeader { xid: n + 1, op: 1 }, &req))
            .await
            .is_err()
        {
            break;
        }
        match c.next().await {
            Some(Ok(jute::ClientFrame::Reply { header, .. }))
                if header.err == 0 && header.xid == n + 1 =>
            {
                acked.push((path, data))
            }
            _ => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_on_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut all: BTreeMap<String, Bytes> = BTreeMap::new();
    for (round, run_for) in [(0, 300u64), (1, 700), (2, 150)].into_iter() {
        let addr = free_addr();
        let mut server = spawn(addr, dir.path()).await;
        let writers: Vec<_> = (0..4)
            .map(|w| tokio::spawn(writer(addr, round * 10 + w)))
            .collect();
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        server.0.kill().expect("SIGKILL");
        let _ = server.0.wait();
        let mut acked_now = 0;
        for w in writers {
            let acked = w.await.expect("writer");
            acked_now += acked.len();
            all.extend(acked);
        }
        assert!(
            acked_now > 0,
            "round {round}: the writers got acknowledgements before the kill"
        );

        // Restart and check everything ever acknowledged.
        let addr = free_addr();
        let _server = spawn(addr, dir.path()).await;
        let (mut c, _) = connect(addr, Some(false)).await;
        for (i, (path, data)) in all.iter().enumerate() {
            let xid = i32::try_from(i).unwrap_or(i32::MAX);
            let (h, rsp) = call(
                &mut c,
                xid,
                Request::GetData(GetDataRequest {
                    path: path.clone(),
                    watch: false,
                }),
            )
            .await;
            assert_eq!(
                h.err, 0,
                "round {round}: acknowledged {path} is missing after kill -9"
            );
            match rsp {
                Response::GetData(d) => assert_eq!(d.data.as_ref(), Some(data), "{path}"),
                other => panic!("{other:?}"),
            }
        }
        println!(
            "round {round}: {acked_now} acknowledged before the kill, {} checked after restart",
            all.len()
        );
    }
}
