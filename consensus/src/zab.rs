//! Following a running ZooKeeper ensemble as a Zab observer
//! (docs/migration.md): the learner side of ZooKeeper's quorum protocol as
//! `Learner` and `Observer` speak it (3.4+, protocol 0x10000), keeping a
//! [`Mirror`] of the leader's tree.
//!
//! ```text
//! observer                                   leader (quorum port)
//!   OBSERVERINFO(16, acceptedEpoch<<32, LearnerInfo{sid, 0x10000, 0}) ─►
//!   ◄─ LEADERINFO(17, newEpoch<<32, int 0x10000)
//!   ACKEPOCH(18, lastZxid, int currentEpoch | -1) ─►
//!   ◄─ SNAP(15) + snapshot stream + "BenWasHere"  |  DIFF(13)  |  TRUNC(14)
//!   ◄─ PROPOSAL(2)/COMMIT(4) pairs, INFORM(8) … NEWLEADER(10)
//!   ACK(3, newEpoch<<32) ─►
//!   ◄─ UPTODATE(12); then INFORM(8)/INFORMANDACTIVATE(19) per commit,
//!      PING(5) every half tick, answered with PING(5, zxid, empty)
//! ```
//!
//! The leader is found by its quorum port: only a leading server listens
//! there (`Leader` binds it; followers never do), so the observer tries
//! each voter's in turn. Packets are jute `QuorumPacket`s back to back, with
//! no length prefix. The observer never writes to the ensemble's state: a
//! sid unknown to the leader only makes it log, and observers never count
//! towards a quorum. Blocking I/O on a thread of its own: this runs beside
//! a server, not on its request path.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use storage::zookeeper::{Mirror, snap, txnlog};
use storage::{Tree, TreeConfig};

/// `Leader` packet types.
mod packet {
    pub const PROPOSAL: i32 = 2;
    pub const ACK: i32 = 3;
    pub const COMMIT: i32 = 4;
    pub const PING: i32 = 5;
    pub const SYNC: i32 = 7;
    pub const INFORM: i32 = 8;
    pub const COMMITANDACTIVATE: i32 = 9;
    pub const NEWLEADER: i32 = 10;
    pub const UPTODATE: i32 = 12;
    pub const DIFF: i32 = 13;
    pub const TRUNC: i32 = 14;
    pub const SNAP: i32 = 15;
    pub const OBSERVERINFO: i32 = 16;
    pub const LEADERINFO: i32 = 17;
    pub const ACKEPOCH: i32 = 18;
    pub const INFORMANDACTIVATE: i32 = 19;
}

/// Zab 1.0's protocol version (`0x10000`).
const PROTOCOL: i32 = 0x10000;
/// The longest packet data accepted.
const MAX_DATA: usize = 64 << 20;

/// Whom to follow and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The voters: sid and quorum address (`server.N=host:QUORUMPORT:…`).
    pub voters: Vec<(u64, SocketAddr)>,
    /// This observer's sid (as listed, `:observer`, in the ensemble's
    /// configuration; never a voter's).
    pub me: u64,
    /// The tree's settings.
    pub tree_config: TreeConfig,
    /// A read that waits longer than this ends the connection (the leader
    /// pings every half tick).
    pub read_timeout: Duration,
    /// Addresses a running ZooKeeper server always listens on (the voters'
    /// election ports): with `until_gone`, following ends only once every
    /// one of them refuses a connection, so a partition between this
    /// observer and a running ensemble (connections that time out) is
    /// never taken for its end.
    pub alive: Vec<SocketAddr>,
    /// With `until_gone`: once synced, following ends when no voter has
    /// led for this long.
    pub gone_after: Duration,
    /// End when the ensemble is gone (cut-over), rather than keep looking
    /// for a leader.
    pub until_gone: bool,
    /// TLS to the leader's quorum port (the ensemble's `sslQuorum=true`):
    /// this observer's certificate and the trust store, as a member's.
    pub tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

/// The connection to the leader: TCP, or TLS over it.
enum Link {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::rustls::StreamOwned<tokio_rustls::rustls::ClientConnection, TcpStream>>),
}

impl Link {
    /// Connects to `addr` (TLS with `tls`), reads bounded by `timeout`.
    fn connect(
        addr: &SocketAddr,
        tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
        timeout: Duration,
    ) -> std::io::Result<Link> {
        let stream = TcpStream::connect_timeout(addr, Duration::from_millis(500))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let Some(config) = tls else {
            return Ok(Link::Plain(stream));
        };
        let name = crate::network::server_name(&addr.to_string())?;
        let conn = tokio_rustls::rustls::ClientConnection::new(config.clone(), name)
            .map_err(std::io::Error::other)?;
        let mut tls = tokio_rustls::rustls::StreamOwned::new(conn, stream);
        // The handshake now, so that a certificate refused is this
        // connection's error rather than the first packet's.
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Link::Tls(Box::new(tls)))
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Link::Plain(s) => s.read(buf),
            Link::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Link::Plain(s) => s.write(buf),
            Link::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Link::Plain(s) => s.flush(),
            Link::Tls(s) => s.flush(),
        }
    }
}

/// Writes one packet to the leader in one piece.
fn send(
    link: &mut BufReader<Link>,
    kind: i32,
    zxid: i64,
    data: Option<&[u8]>,
) -> std::io::Result<()> {
    let mut packet = Vec::with_capacity(20 + data.map_or(0, <[u8]>::len));
    write_packet(&mut packet, kind, zxid, data)?;
    let out = link.get_mut();
    out.write_all(&packet)?;
    out.flush()
}

/// What the observer knows, for `mntr`, the AdminServer and `corral
/// migrate status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The leader's sid, while connected.
    pub leader: Option<u64>,
    /// Whether the last sync finished (UPTODATE).
    pub synced: bool,
    /// The last zxid applied here.
    pub last_zxid: i64,
    /// The highest zxid the leader has announced (pings, transactions).
    pub leader_zxid: i64,
    /// `leader_zxid - last_zxid`, 0 when caught up.
    pub lag_zxids: i64,
    /// Seconds since this observer last held everything the leader had
    /// announced.
    pub lag_seconds: f64,
    /// Nodes and sessions in the tree.
    pub nodes: u64,
    /// Sessions.
    pub sessions: u64,
    /// Transactions applied since following began.
    pub applied: u64,
    /// Connections made to a leader.
    pub connections: u64,
    /// How the last sync began: "SNAP", "DIFF" or "TRUNC".
    pub last_sync: String,
    /// Transactions whose digest differed from the tree's (a fuzzy
    /// snapshot's first ones may).
    pub digest_mismatches: u64,
    /// The last transaction that carried a digest and whether the tree
    /// matched it.
    pub last_digest: Option<(i64, bool)>,
    /// Why the last connection ended.
    pub last_error: Option<String>,
}

/// Why following failed.
#[derive(Debug, thiserror::Error)]
pub enum ZabError {
    /// The connection failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The leader sent something this observer does not accept.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The leader's snapshot or a transaction did not decode.
    #[error("data: {0}")]
    Data(#[from] storage::zookeeper::ImportError),
    /// Stopped before the first sync finished: nothing to hand over.
    #[error("stopped before the observer was synced with a leader")]
    NeverSynced,
}

/// One `QuorumPacket`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packet {
    kind: i32,
    zxid: i64,
    data: Option<Vec<u8>>,
}

fn write_packet(
    out: &mut impl Write,
    kind: i32,
    zxid: i64,
    data: Option<&[u8]>,
) -> std::io::Result<()> {
    out.write_all(&kind.to_be_bytes())?;
    out.write_all(&zxid.to_be_bytes())?;
    match data {
        Some(d) => {
            out.write_all(&(d.len() as i32).to_be_bytes())?;
            out.write_all(d)?;
        }
        None => out.write_all(&(-1i32).to_be_bytes())?,
    }
    // authinfo: null, as ZooKeeper's learners send it.
    out.write_all(&(-1i32).to_be_bytes())?;
    out.flush()
}

fn read_i32(input: &mut impl Read) -> std::io::Result<i32> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b)?;
    Ok(i32::from_be_bytes(b))
}

fn read_bytes(input: &mut impl Read) -> Result<Option<Vec<u8>>, ZabError> {
    let len = read_i32(input)?;
    if len < 0 {
        return Ok(None);
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_DATA {
        return Err(ZabError::Protocol(format!("a field of {len} bytes")));
    }
    let mut v = vec![0u8; len];
    input.read_exact(&mut v)?;
    Ok(Some(v))
}

fn read_packet(input: &mut impl Read) -> Result<Packet, ZabError> {
    let kind = read_i32(input)?;
    let mut z = [0u8; 8];
    input.read_exact(&mut z)?;
    let data = read_bytes(input)?;
    let ids = read_i32(input)?;
    for _ in 0..ids.max(0) {
        read_bytes(input)?;
        read_bytes(input)?;
    }
    Ok(Packet {
        kind,
        zxid: i64::from_be_bytes(z),
        data,
    })
}

/// What a learner keeps between connections: its epochs
/// (`acceptedEpoch`, `currentEpoch`), and whether the tree held must be
/// replaced by a sync from nothing (after a `TRUNC` it cannot apply).
#[derive(Debug, Default, Clone, Copy)]
struct Epochs {
    accepted: i64,
    current: i64,
    resync: bool,
}

/// Follows the ensemble of `options` until `stop` is set (or, with
/// `until_gone`, until no voter leads any more), and returns the tree
/// followed. `status` is kept current.
///
/// # Errors
/// [`ZabError::NeverSynced`] if it stops before a first sync finished.
pub fn follow(
    options: &Options,
    status: &Arc<Mutex<Status>>,
    stop: &AtomicBool,
) -> Result<Mirror, ZabError> {
    let mut mirror: Option<Mirror> = None;
    let mut epochs = Epochs::default();
    let mut led_last = Instant::now();
    let mut ever_synced = false;
    while !stop.load(Ordering::Relaxed) {
        let mut connected = false;
        for (sid, addr) in &options.voters {
            let stream = match Link::connect(addr, options.tls.as_ref(), options.read_timeout) {
                Ok(s) => s,
                Err(e) => {
                    if options.tls.is_some() && e.kind() != std::io::ErrorKind::ConnectionRefused {
                        set(status, |s| s.last_error = Some(format!("{addr}: {e}")));
                        tracing::debug!(%addr, error = %e, "no TLS connection to this voter");
                    }
                    continue;
                }
            };
            connected = true;
            set(status, |s| {
                s.leader = Some(*sid);
                s.connections += 1;
            });
            tracing::info!(leader = sid, %addr, "following a ZooKeeper leader");
            let outcome = session(stream, options, &mut mirror, &mut epochs, status, stop);
            led_last = Instant::now();
            let why = match outcome {
                Ok(()) => "stopped".to_owned(),
                Err(e) => e.to_string(),
            };
            ever_synced |= status.lock().map(|s| s.synced).unwrap_or(false);
            set(status, |s| {
                s.leader = None;
                s.synced = false;
                s.last_error = Some(why.clone());
            });
            tracing::info!(leader = sid, why, "connection to the leader ended");
            break;
        }
        if options.until_gone
            && ever_synced
            && !connected
            && led_last.elapsed() >= options.gone_after
        {
            // Only a refusal proves a server stopped: a connection that
            // times out or finds no route may be a partition between this
            // observer and servers that still run.
            let running: Vec<&SocketAddr> = options
                .alive
                .iter()
                .filter(|a| {
                    !matches!(
                        TcpStream::connect_timeout(a, Duration::from_millis(500)),
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
                    )
                })
                .collect();
            if running.is_empty() {
                tracing::info!("no ZooKeeper server leads or runs any more: following ends");
                break;
            }
            set(status, |s| {
                s.last_error = Some(format!(
                    "no leader reachable, but ZooKeeper still runs at {running:?}: not cutting over"
                ));
            });
        }
        std::thread::sleep(Duration::from_millis(if connected { 100 } else { 200 }));
    }
    match mirror {
        Some(m) if ever_synced => Ok(m),
        _ => Err(ZabError::NeverSynced),
    }
}

fn set(status: &Arc<Mutex<Status>>, f: impl FnOnce(&mut Status)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

/// One connection to the leader: handshake, sync, then transactions until
/// it ends. The tree held stays consistent whatever happens: a `DIFF`
/// applies committed transactions to it in order (each a consistent
/// state), while a `SNAP` (or a sync from nothing) builds a new tree that
/// replaces it only at `UPTODATE`; a connection that ends sooner drops the
/// new tree and keeps the old.
fn session(
    stream: Link,
    options: &Options,
    mirror: &mut Option<Mirror>,
    epochs: &mut Epochs,
    status: &Arc<Mutex<Status>>,
    stop: &AtomicBool,
) -> Result<(), ZabError> {
    // Reads through the buffer; each packet written to the stream whole
    // (`send`).
    let mut input = BufReader::with_capacity(1 << 20, stream);

    // OBSERVERINFO: our sid, protocol, config version 0 (never ahead).
    let mut info = Vec::with_capacity(20);
    info.extend_from_slice(&(options.me as i64).to_be_bytes());
    info.extend_from_slice(&PROTOCOL.to_be_bytes());
    info.extend_from_slice(&0i64.to_be_bytes());
    send(
        &mut input,
        packet::OBSERVERINFO,
        epochs.accepted << 32,
        Some(&info),
    )?;

    let leader_info = read_packet(&mut input)?;
    if leader_info.kind != packet::LEADERINFO {
        return Err(ZabError::Protocol(format!(
            "expected LEADERINFO, got packet type {}",
            leader_info.kind
        )));
    }
    let new_epoch = leader_info.zxid >> 32;
    let epoch_bytes = if new_epoch > epochs.accepted {
        let current = epochs.current as i32;
        epochs.accepted = new_epoch;
        current
    } else if new_epoch == epochs.accepted {
        -1
    } else {
        return Err(ZabError::Protocol(format!(
            "the leader's epoch {new_epoch} is below the accepted {}",
            epochs.accepted
        )));
    };
    let last = mirror.as_ref().map_or(0, Mirror::last_zxid);
    send(
        &mut input,
        packet::ACKEPOCH,
        last,
        Some(&epoch_bytes.to_be_bytes()),
    )?;

    // The sync: SNAP, DIFF or TRUNC first.
    let first = read_packet(&mut input)?;
    let source = Path::new("the leader's SNAP");
    // A tree that replaces the one held once the sync is complete.
    let mut fresh: Option<Mirror> = None;
    let how = match first.kind {
        packet::SNAP => {
            let (tree, sessions) =
                snap::read_stream(&mut input, source, options.tree_config.clone())?;
            let signature = read_bytes(&mut input)?.unwrap_or_default();
            if signature != b"BenWasHere" {
                return Err(ZabError::Protocol(
                    "the snapshot's signature is missing".into(),
                ));
            }
            fresh = Some(Mirror::new(tree, &sessions, first.zxid));
            "SNAP"
        }
        packet::DIFF => {
            if epochs.resync || mirror.is_none() {
                fresh = Some(Mirror::new(Tree::new(options.tree_config.clone()), &[], 0));
            }
            "DIFF"
        }
        packet::TRUNC => {
            // No log is kept here to truncate: the next sync starts from
            // nothing (the tree held stays until it completes).
            if last != first.zxid {
                epochs.resync = true;
                return Err(ZabError::Protocol(format!(
                    "TRUNC to {:#x}: syncing again from nothing",
                    first.zxid
                )));
            }
            "TRUNC"
        }
        other => {
            return Err(ZabError::Protocol(format!(
                "expected SNAP, DIFF or TRUNC, got packet type {other}"
            )));
        }
    };
    set(status, |s| s.last_sync = how.to_owned());
    let mut proposals: std::collections::VecDeque<(i64, Vec<u8>)> = Default::default();
    let mut synced = false;
    let mut caught_up_at = Instant::now();
    let mut applied = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let p = read_packet(&mut input)?;
        if p.kind == packet::UPTODATE
            && let Some(f) = fresh.take()
        {
            *mirror = Some(f);
            epochs.resync = false;
        }
        let Some(m) = fresh.as_mut().or(mirror.as_mut()) else {
            return Err(ZabError::Protocol("no tree after the sync began".into()));
        };
        let mut leader_zxid = None;
        match p.kind {
            packet::PROPOSAL => {
                proposals.push_back((p.zxid, p.data.unwrap_or_default()));
            }
            packet::COMMIT | packet::COMMITANDACTIVATE => {
                while let Some((zxid, data)) = proposals.pop_front() {
                    if zxid > p.zxid {
                        proposals.push_front((zxid, data));
                        break;
                    }
                    apply(m, &data)?;
                    applied += 1;
                }
            }
            packet::INFORM => {
                apply(m, p.data.as_deref().unwrap_or_default())?;
                applied += 1;
                leader_zxid = Some(p.zxid);
            }
            packet::INFORMANDACTIVATE => {
                let data = p.data.unwrap_or_default();
                apply(m, data.get(8..).unwrap_or_default())?;
                applied += 1;
                leader_zxid = Some(p.zxid);
            }
            packet::NEWLEADER => {
                epochs.current = new_epoch;
                send(&mut input, packet::ACK, new_epoch << 32, None)?;
            }
            packet::UPTODATE => {
                synced = true;
                send(&mut input, packet::ACK, new_epoch << 32, None)?;
                tracing::info!(
                    last_zxid = format_args!("{:#x}", m.last_zxid()),
                    sync = how,
                    "up to date with the leader"
                );
            }
            packet::PING => {
                if synced {
                    // No sessions are held here: an empty list, never null
                    // (the leader reads it unconditionally).
                    send(&mut input, packet::PING, p.zxid, Some(&[]))?;
                }
                leader_zxid = Some(p.zxid);
            }
            packet::SYNC => {}
            other => tracing::debug!(kind = other, "packet ignored"),
        }
        let last = m.last_zxid();
        set(status, |s| {
            s.synced = synced;
            s.last_zxid = last;
            if let Some(z) = leader_zxid {
                s.leader_zxid = s.leader_zxid.max(z);
            }
            s.leader_zxid = s.leader_zxid.max(last);
            s.lag_zxids = s.leader_zxid - last;
            if s.lag_zxids <= 0 {
                caught_up_at = Instant::now();
            }
            s.lag_seconds = caught_up_at.elapsed().as_secs_f64();
            s.nodes = m.tree().node_count() as u64;
            s.sessions = m.tree().sessions().len() as u64;
            s.digest_mismatches = m.mismatches();
            s.applied += std::mem::take(&mut applied);
            s.last_digest = m.last_checked();
        });
    }
}

fn apply(mirror: &mut Mirror, txn: &[u8]) -> Result<(), ZabError> {
    let entry = txnlog::decode_entry(txn).map_err(ZabError::Protocol)?;
    mirror.apply(&entry);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A synced tree survives a second sync cut short: the first
    /// connection syncs by DIFF (one committed create) to UPTODATE; the
    /// second is told SNAP and hangs up half way; the tree followed is the
    /// first one, at its zxid.
    #[test]
    fn a_tree_held_survives_a_later_sync_cut_short() {
        use jute::Encode;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let zxid = (1i64 << 32) | 1;
        let leader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            let (mut s, _) = listener.accept().expect("accept");
            read_packet(&mut s).expect("OBSERVERINFO");
            write_packet(
                &mut s,
                packet::LEADERINFO,
                1 << 32,
                Some(&PROTOCOL.to_be_bytes()),
            )
            .expect("LEADERINFO");
            acks.push(read_packet(&mut s).expect("ACKEPOCH").zxid);
            write_packet(&mut s, packet::DIFF, zxid, None).expect("DIFF");
            let mut txn = jute::txn::TxnHeader {
                client_id: 7,
                cxid: 1,
                zxid,
                time: 1_700_000_000_000,
                txn_type: 1,
            }
            .to_bytes()
            .to_vec();
            txn.extend_from_slice(
                &jute::txn::CreateTxn {
                    path: "/a".into(),
                    data: Some(bytes::Bytes::from_static(b"x")),
                    acl: vec![jute::Acl::open()],
                    ephemeral: false,
                    parent_cversion: 1,
                }
                .to_bytes(),
            );
            write_packet(&mut s, packet::PROPOSAL, zxid, Some(&txn)).expect("PROPOSAL");
            write_packet(&mut s, packet::COMMIT, zxid, None).expect("COMMIT");
            write_packet(&mut s, packet::NEWLEADER, 1 << 32, Some(b"")).expect("NEWLEADER");
            acks.push(read_packet(&mut s).expect("ACK").kind as i64);
            write_packet(&mut s, packet::UPTODATE, -1, None).expect("UPTODATE");
            read_packet(&mut s).expect("ACK");
            drop(s);
            let (mut s, _) = listener.accept().expect("accept again");
            read_packet(&mut s).expect("OBSERVERINFO");
            write_packet(
                &mut s,
                packet::LEADERINFO,
                2 << 32,
                Some(&PROTOCOL.to_be_bytes()),
            )
            .expect("LEADERINFO");
            acks.push(read_packet(&mut s).expect("ACKEPOCH").zxid);
            write_packet(&mut s, packet::SNAP, 2 << 32, None).expect("SNAP");
            s.write_all(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                .expect("half a snapshot");
            acks
        });
        // A server that still runs (its election port open): no cut-over,
        // although no voter leads.
        let running = TcpListener::bind("127.0.0.1:0").expect("bind");
        let options = Options {
            voters: vec![(1, addr)],
            me: 9,
            tree_config: TreeConfig::default(),
            read_timeout: Duration::from_secs(2),
            alive: vec![running.local_addr().expect("addr")],
            gone_after: Duration::from_millis(300),
            until_gone: true,
            tls: None,
        };
        let status = Arc::new(Mutex::new(Status::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let following = {
            let (options, status) = (options.clone(), status.clone());
            std::thread::spawn(move || {
                let _ = tx.send(follow(&options, &status, &AtomicBool::new(false)));
            })
        };
        let waited = (0..100).find(|_| {
            std::thread::sleep(Duration::from_millis(50));
            status
                .lock()
                .ok()
                .and_then(|s| s.last_error.clone())
                .is_some_and(|e| e.contains("still runs"))
        });
        assert!(waited.is_some(), "{:?}", status.lock().map(|s| s.clone()));
        assert!(
            rx.try_recv().is_err(),
            "followed to the end while a server still runs"
        );
        drop(running);
        let mirror = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("ends once no server runs")
            .expect("the first tree");
        following.join().expect("follower");
        let acks = leader.join().expect("leader");
        assert_eq!(
            acks,
            vec![0, i64::from(packet::ACK), zxid],
            "ACKEPOCH zxids, the NEWLEADER ACK"
        );
        assert_eq!(mirror.last_zxid(), zxid);
        assert!(mirror.tree().node("/a").is_some());
    }

    /// A leader that hands over half a snapshot and hangs up, `times`
    /// times: the observer never syncs, keeps nothing, and says so.
    #[test]
    fn a_sync_cut_short_leaves_nothing_behind() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let leader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().expect("accept");
                let info = read_packet(&mut s).expect("OBSERVERINFO");
                seen.push(info.clone());
                write_packet(
                    &mut s,
                    packet::LEADERINFO,
                    3 << 32,
                    Some(&PROTOCOL.to_be_bytes()),
                )
                .expect("LEADERINFO");
                let ack = read_packet(&mut s).expect("ACKEPOCH");
                seen.push(ack);
                write_packet(&mut s, packet::SNAP, (3 << 32) | 7, None).expect("SNAP");
                // One session, an empty ACL map, then the root cut short.
                let mut body = Vec::new();
                body.extend_from_slice(&1i32.to_be_bytes());
                body.extend_from_slice(&0x42i64.to_be_bytes());
                body.extend_from_slice(&30_000i32.to_be_bytes());
                body.extend_from_slice(&0i32.to_be_bytes());
                body.extend_from_slice(&0i32.to_be_bytes());
                body.extend_from_slice(&[0, 0, 0]);
                s.write_all(&body).expect("half a snapshot");
            }
            seen
        });
        let options = Options {
            voters: vec![(1, addr)],
            me: 9,
            tree_config: TreeConfig::default(),
            read_timeout: Duration::from_secs(2),
            alive: Vec::new(),
            gone_after: Duration::from_millis(300),
            until_gone: true,
            tls: None,
        };
        let status = Arc::new(Mutex::new(Status::default()));
        let stop = AtomicBool::new(false);
        let stopper = {
            let status = status.clone();
            std::thread::spawn(move || {
                while status.lock().map(|s| s.connections).unwrap_or(0) < 2 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        // Two connections fail mid-sync; with no leader left, it stops.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _ = tx.send(follow(&options, &status, &stop));
            });
            stopper.join().expect("stopper");
            let seen = leader.join().expect("leader");
            assert_eq!(seen[0].kind, packet::OBSERVERINFO);
            let li = seen[0].data.clone().expect("LearnerInfo");
            assert_eq!(&li[..8], &9i64.to_be_bytes());
            assert_eq!(&li[8..12], &PROTOCOL.to_be_bytes());
            assert_eq!(seen[1].kind, packet::ACKEPOCH);
            assert_eq!(seen[1].zxid, 0, "nothing applied yet");
            // The second time the epoch is already accepted.
            assert_eq!(seen[3].data.as_deref(), Some(&(-1i32).to_be_bytes()[..]));
            // Nothing answers any more: once gone_after passes, it ends.
            std::thread::sleep(Duration::from_millis(100));
            stop.store(true, Ordering::Relaxed);
        });
        let outcome = rx.recv().expect("follow returned");
        assert!(matches!(outcome, Err(ZabError::NeverSynced)), "{outcome:?}");
        let s = status.lock().expect("status").clone();
        assert!(!s.synced && s.last_error.is_some(), "{s:?}");
    }

    #[test]
    fn packets_are_zookeepers_bytes() {
        let mut out = Vec::new();
        write_packet(
            &mut out,
            packet::ACKEPOCH,
            0x5,
            Some(&(-1i32).to_be_bytes()),
        )
        .expect("write");
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..4], &18i32.to_be_bytes());
        assert_eq!(&out[20..], &(-1i32).to_be_bytes());
        let back = read_packet(&mut out.as_slice()).expect("read");
        assert_eq!(
            back,
            Packet {
                kind: 18,
                zxid: 5,
                data: Some((-1i32).to_be_bytes().to_vec())
            }
        );
        let mut null = Vec::new();
        write_packet(&mut null, packet::ACK, 1 << 32, None).expect("write");
        assert_eq!(null.len(), 20);
        assert_eq!(read_packet(&mut null.as_slice()).expect("read").data, None);
    }
}
