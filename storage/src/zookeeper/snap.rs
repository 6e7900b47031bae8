//! ZooKeeper's snapshot format (`FileSnap`, `SerializeUtils`,
//! `DataTree.serialize`, `ReferenceCountedACLCache.serialize`):
//!
//! ```text
//! FileHeader { int magic "ZKSN"; int version 2; long dbid -1 }
//! int count; count × { long session; int timeout }
//! int map;   map × { long index; vector<ACL> acls }
//! ( ustring path; buffer data; long acl; StatPersisted stat )*   root's path is ""
//! ustring "/"                                                    end of the nodes
//! long adler32; ustring "/"                                      seal
//! [ long zxid; int digestVersion; long digest; long adler32; ustring "/" ]  3.6+
//! [ long lastProcessedZxid; long adler32; ustring "/" ]                      3.9+
//! ```
//!
//! Nodes come parents first (a depth-first walk), each parent's children
//! in hash order; every node's ACL is an index into the map, -1 for
//! `OPEN_ACL_UNSAFE`.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use bytes::BytesMut;
use jute::txn::{FileHeader, SNAP_MAGIC};
use jute::{Acl, Encode, StatPersisted};
use thin_vec::ThinVec;

use super::cursor::Cursor;
use super::{ImportError, Progress};
use crate::acl::AclRef;
use crate::node::Node;
use crate::tree::Tree;

/// `DataTree.ZxidDigest`: the tree's digest after transaction `zxid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    /// The transaction the digest follows.
    pub zxid: i64,
    /// `DigestCalculator`'s version (2 since 3.6).
    pub version: i32,
    /// The digest.
    pub digest: i64,
}

/// A snapshot read into a tree.
pub struct Loaded {
    /// The sessions and their timeouts, ms.
    pub sessions: Vec<(i64, i32)>,
    /// The digest the snapshot carries, if it carries one for a real
    /// transaction (`zxid > 0`).
    pub digest: Option<ZxidDigest>,
    /// Nodes read.
    pub nodes: u64,
    /// The nodes' digest ([`crate::digest`]), as the tree holds them.
    pub tree_digest: i64,
    /// What was ingested into the store given to [`read`], if one was:
    /// nodes and checksum of their stored values, and the median key.
    pub ingested: Option<crate::Stored>,
}

/// Nodes encoded as the store keeps them, one half of the snapshot's,
/// sorted by path: key and value bytes back to back.
#[derive(Default)]
struct Arena {
    bytes: BytesMut,
    /// (offset, key length, value length) of each node.
    entries: Vec<(usize, u32, u32)>,
}

impl Arena {
    fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let &(at, k, v) = self.entries.get(i)?;
        let (k, v) = (k as usize, v as usize);
        Some((
            self.bytes.get(at..at + k)?,
            self.bytes.get(at + k..at + k + v)?,
        ))
    }
}

/// The two arenas' nodes in path order.
struct Merged<'a> {
    halves: [&'a Arena; 2],
    next: [usize; 2],
}

impl<'a> Iterator for Merged<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let a = self.halves[0].get(self.next[0]);
        let b = self.halves[1].get(self.next[1]);
        let side = match (a, b) {
            (Some(x), Some(y)) => usize::from(x.0 > y.0),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return None,
        };
        self.next[side] += 1;
        if side == 0 { a } else { b }
    }
}

/// One node as parsed, before its ACL is interned.
struct Parsed {
    path: Box<str>,
    data: Option<Box<[u8]>>,
    acl: i64,
    stat: StatPersisted,
    /// Its offset in the file, for errors.
    at: u64,
}

/// The ACL list a node's ZooKeeper ACL index names.
fn acl_list<'a>(
    acls: &'a HashMap<i64, Vec<Acl>>,
    p: &Parsed,
    file: &Path,
) -> Result<&'a [Acl], ImportError> {
    acls.get(&p.acl).map(Vec::as_slice).ok_or_else(|| {
        ImportError::corrupt(
            file,
            p.at,
            format!("{:?} has ACL {}, not in the map", p.path, p.acl),
        )
    })
}

/// Inserts nodes parsed in two sorted runs into `tree`, merging them,
/// interning each ZooKeeper ACL index once.
fn insert_sorted(
    tree: &mut Tree,
    low: Vec<Parsed>,
    high: Vec<Parsed>,
    acls: &HashMap<i64, Vec<Acl>>,
    file: &Path,
) -> Result<(), ImportError> {
    let count = low.len() + high.len();
    tree.nodes.reserve(count);
    let mut refs: HashMap<i64, AclRef> = HashMap::new();
    let mut hint = 0;
    let mut previous: Option<Box<str>> = None;
    let (mut low, mut high) = (low.into_iter().peekable(), high.into_iter().peekable());
    loop {
        let take_low = match (low.peek(), high.peek()) {
            (Some(a), Some(b)) => a.path.as_bytes() <= b.path.as_bytes(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let Some(p) = (if take_low { low.next() } else { high.next() }) else {
            break;
        };
        if previous.as_deref() == Some(&*p.path) {
            return Err(ImportError::corrupt(
                file,
                p.at,
                format!("{} appears twice", p.path),
            ));
        }
        let acl = match refs.get(&p.acl) {
            Some(&r) => {
                tree.acls.add_use(r);
                r
            }
            None => {
                let list = acl_list(acls, &p, file)?;
                let r = tree.acls.intern(list);
                refs.insert(p.acl, r);
                r
            }
        };
        previous = Some(p.path.clone());
        let node = Node {
            data: p.data,
            acl,
            stat: p.stat,
            path: Box::from(""),
            children: ThinVec::new(),
        };
        tree.insert_loaded(p.path, node, &mut hint)
            .map_err(|path| {
                ImportError::corrupt(
                    file,
                    p.at,
                    format!("{path} has no parent (ZooKeeper: Invalid Datatree)"),
                )
            })?;
    }
    Ok(())
}

/// Walks the node records from `start` by their lengths alone: the offset
/// of a record boundary near the middle, the offset of the terminating
/// `"/"` path, and the number of nodes.
fn walk_nodes(buf: &[u8], start: usize, file: &Path) -> Result<(usize, usize, usize), ImportError> {
    let len_at = |at: usize| -> Result<usize, ImportError> {
        let b = buf
            .get(at..at + 4)
            .ok_or_else(|| ImportError::corrupt(file, at as u64, "the nodes end without \"/\""))?;
        let n = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Ok(usize::try_from(n).unwrap_or(0))
    };
    let mut offsets = Vec::new();
    let mut at = start;
    loop {
        let path_len = len_at(at)?;
        if path_len == 1 && buf.get(at + 4) == Some(&b'/') {
            break;
        }
        offsets.push(at);
        let data_at = at + 4 + path_len;
        let data_len = len_at(data_at)?;
        at = data_at + 4 + data_len + 8 + 60;
        if at > buf.len() {
            return Err(ImportError::corrupt(
                file,
                offsets.last().copied().unwrap_or(start) as u64,
                "a node record is cut short",
            ));
        }
    }
    let middle = offsets.get(offsets.len() / 2).copied().unwrap_or(at);
    Ok((middle, at, offsets.len()))
}

/// `ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID`.
const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// Reads a whole snapshot (`buf`, decompressed) into `tree`, which must be
/// empty. Every seal is checked. With a `store` (new and empty), its nodes
/// are also ingested into it, on a thread of their own while the tree is
/// built ([`crate::Store::ingest_nodes`]).
pub fn read(
    buf: &[u8],
    file: &Path,
    tree: &mut Tree,
    progress: &mut dyn FnMut(Progress),
    store: Option<&crate::Store>,
) -> Result<Loaded, ImportError> {
    let mut c = Cursor::new(buf, file);
    let header: FileHeader = c.read("file header")?;
    if header.magic != SNAP_MAGIC {
        return Err(ImportError::corrupt(
            file,
            0,
            format!("magic {:#x} is not ZKSN", header.magic),
        ));
    }
    if header.version != 2 {
        return Err(ImportError::Unsupported {
            file: file.to_path_buf(),
            what: format!(
                "snapshot version {} (ZooKeeper 3.x writes 2)",
                header.version
            ),
        });
    }
    let count: i32 = c.read("session count")?;
    let mut sessions = Vec::with_capacity(count.clamp(0, 1 << 20) as usize);
    for _ in 0..count.max(0) {
        let id: i64 = c.read("session id")?;
        let timeout: i32 = c.read("session timeout")?;
        sessions.push((id, timeout));
    }
    let lists: i32 = c.read("ACL map size")?;
    let mut acls: HashMap<i64, Vec<Acl>> = HashMap::new();
    for _ in 0..lists.max(0) {
        let index: i64 = c.read("ACL index")?;
        let list: Vec<Acl> = c.read("ACL list")?;
        acls.insert(index, list);
    }
    acls.insert(OPEN_UNSAFE_ACL_ID, vec![Acl::open()]);

    // Nodes are parsed on two threads, each half sorted by path, and
    // inserted in merged order: the tree keeps children sorted, and
    // appending in order is cheap where inserting ZooKeeper's hash order
    // into a large family is not. The halves split at a record boundary
    // found by a quick walk over the records' lengths.
    let start = c.pos;
    let began = std::time::Instant::now();
    let (middle, end, count) = walk_nodes(buf, start, file)?;
    // Each parser also sums the nodes' digests and, with a store, encodes
    // its sorted half as the store keeps it, with a checksum.
    type Half = (Vec<Parsed>, Arena, i64, crate::Stored);
    let parse = |from: usize, to: usize| -> Result<Half, ImportError> {
        let mut c = Cursor::new(buf.get(..to).unwrap_or_default(), file);
        c.pos = from;
        let mut out = Vec::with_capacity(count / 2 + 1);
        let mut digest = 0i64;
        while c.pos < to {
            let at = c.pos as u64;
            let path = c.str("path")?;
            let data = c.buffer("data")?;
            let acl: i64 = c.read("ACL index")?;
            let stat: StatPersisted = c.read("stat")?;
            let key: Box<str> = if path.is_empty() {
                "/".into()
            } else {
                path.into()
            };
            if key.as_ref() != "/" && (!key.starts_with('/') || key.ends_with('/')) {
                return Err(ImportError::corrupt(file, at, format!("bad path {path:?}")));
            }
            digest = digest.wrapping_add(crate::digest::node_digest(&key, data, &stat) as i64);
            out.push(Parsed {
                path: key,
                data: data.map(Box::from),
                acl,
                stat,
                at,
            });
        }
        out.sort_unstable_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let mut arena = Arena::default();
        let mut sum = crate::Stored::default();
        if store.is_some() {
            arena.bytes.reserve(to - from + out.len() * 32);
            arena.entries.reserve(out.len());
            for p in &out {
                let list = acl_list(&acls, p, file)?;
                let at = arena.bytes.len();
                arena.bytes.extend_from_slice(p.path.as_bytes());
                crate::persist::encoding::encode_node_into(
                    &mut arena.bytes,
                    &p.stat,
                    list,
                    p.data.as_deref(),
                );
                let value = arena.bytes.get(at + p.path.len()..).unwrap_or_default();
                sum.add_bytes(&p.path, value);
                let (k, v) = (p.path.len(), value.len());
                arena.entries.push((
                    at,
                    u32::try_from(k).unwrap_or(u32::MAX),
                    u32::try_from(v).unwrap_or(u32::MAX),
                ));
            }
        }
        Ok((out, arena, digest, sum))
    };
    let (low, high) = std::thread::scope(|scope| {
        let low = scope.spawn(|| parse(start, middle));
        let high = parse(middle, end);
        (low.join(), high)
    });
    let low = low.map_err(|_| ImportError::corrupt(file, start as u64, "a parser panicked"))??;
    let high = high?;
    let (low, low_arena, low_digest, low_sum) = low;
    let (high, high_arena, high_digest, high_sum) = high;
    progress(Progress::Bytes(end as u64));
    c.pos = end;
    if c.str("path")? != "/" {
        return Err(ImportError::corrupt(
            file,
            end as u64,
            "no \"/\" after the nodes",
        ));
    }

    let parsed = began.elapsed();
    // The tree is built here while, with a store, another thread ingests
    // the encoded nodes in path order.
    let mut ingested = None;
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let ingest = store.map(|store| {
            let (low_arena, high_arena) = (&low_arena, &high_arena);
            scope.spawn(move || {
                let total = low_arena.entries.len() + high_arena.entries.len();
                let mut median = String::new();
                let merged = Merged {
                    halves: [low_arena, high_arena],
                    next: [0, 0],
                }
                .enumerate()
                .map(|(i, (k, v))| {
                    if i == total / 2 {
                        median = String::from_utf8_lossy(k).into_owned();
                    }
                    (k, v)
                });
                let began = std::time::Instant::now();
                let done = store.ingest_nodes(merged).map(|()| median);
                tracing::debug!(
                    ms = began.elapsed().as_millis() as u64,
                    "snapshot nodes ingested"
                );
                done
            })
        });
        let inserted = insert_sorted(tree, low, high, &acls, file);
        tracing::debug!(
            ms = (began.elapsed() - parsed).as_millis() as u64,
            "tree built"
        );
        if let Some(ingest) = ingest {
            let median = ingest
                .join()
                .map_err(|_| ImportError::corrupt(file, start as u64, "the ingestion panicked"))?
                .map_err(|e| ImportError::Store(e.to_string()))?;
            let mut sum = low_sum;
            sum.merge(&high_sum);
            sum.middle = median;
            ingested = Some(sum);
        }
        inserted
    })?;
    tracing::debug!(
        nodes = count,
        parse_ms = parsed.as_millis() as u64,
        insert_ms = (began.elapsed() - parsed).as_millis() as u64,
        ingested = store.is_some(),
        "snapshot nodes read"
    );
    let count = count as u64;
    progress(Progress::Nodes(count));
    if tree.node("/").is_none() {
        return Err(ImportError::corrupt(file, start as u64, "no root node"));
    }

    let mut adler = adler2::Adler32::new();
    let mut sealed = 0usize;
    c.seal(&mut adler, &mut sealed)?;

    // 3.6+: the digest, sealed again; 3.9+: the last processed zxid.
    let mut digest = None;
    if c.remaining() > 0 {
        let zxid: i64 = c.read("digest zxid")?;
        let version: i32 = c.read("digest version")?;
        let value = if version < 2 {
            // The first digest versions wrote it as a hex string.
            let s = c.str("digest")?;
            u64::from_str_radix(s, 16).unwrap_or(0) as i64
        } else {
            c.read::<i64>("digest")?
        };
        c.seal(&mut adler, &mut sealed)?;
        if zxid > 0 {
            digest = Some(ZxidDigest {
                zxid,
                version,
                digest: value,
            });
        }
    }
    if c.remaining() > 0 {
        let _last_processed: i64 = c.read("last processed zxid")?;
        c.seal(&mut adler, &mut sealed)?;
    }
    if c.remaining() > 0 {
        return Err(ImportError::corrupt(
            file,
            c.pos as u64,
            format!("{} bytes after the last seal", c.remaining()),
        ));
    }
    progress(Progress::Bytes((c.pos - end) as u64));
    Ok(Loaded {
        sessions,
        digest,
        nodes: count,
        tree_digest: low_digest.wrapping_add(high_digest),
        ingested,
    })
}

/// Writes `tree` as a ZooKeeper snapshot (`FileSnap.serialize`, checked
/// stream, uncompressed), with the tree's digest at its last zxid: the
/// file ZooKeeper names `snapshot.<last zxid>`.
///
/// # Errors
/// Whatever `out` reports.
pub fn write(tree: &Tree, digest: i64, out: &mut impl Write) -> io::Result<()> {
    let mut w = Checked {
        out,
        adler: adler2::Adler32::new(),
        buf: bytes::BytesMut::with_capacity(1 << 16),
    };
    w.put(&FileHeader {
        magic: SNAP_MAGIC,
        version: 2,
        dbid: -1,
    })?;
    let sessions: Vec<(i64, i32)> = tree
        .sessions
        .iter()
        .map(|(id, info)| (*id, info.timeout_ms))
        .collect();
    w.put(&(sessions.len() as i32))?;
    for (id, timeout) in sessions {
        w.put(&id)?;
        w.put(&timeout)?;
    }
    // The ACL map: every list in use, numbered from 1 as ZooKeeper's
    // `aclIndex` counts.
    let mut index: HashMap<AclRef, i64> = HashMap::new();
    let mut lists: Vec<AclRef> = Vec::new();
    for n in tree.iter_nodes() {
        if let std::collections::hash_map::Entry::Vacant(e) = index.entry(n.acl) {
            lists.push(n.acl);
            e.insert(lists.len() as i64);
        }
    }
    w.put(&(lists.len() as i32))?;
    for (i, r) in lists.iter().enumerate() {
        w.put(&(i as i64 + 1))?;
        w.put(&tree.acls.get(*r).to_vec())?;
    }
    // Depth first from the root, as `DataTree.serializeNode` walks.
    let mut stack: Vec<&Node> = tree.node("/").into_iter().collect();
    while let Some(n) = stack.pop() {
        let path = if n.path() == "/" { "" } else { n.path() };
        w.put(&path.to_owned())?;
        w.put(&n.data.as_deref().map(bytes::Bytes::copy_from_slice))?;
        w.put(&index.get(&n.acl).copied().unwrap_or(OPEN_UNSAFE_ACL_ID))?;
        w.put(&n.stat)?;
        let kids: Vec<&Node> = tree
            .child_names(n)
            .filter_map(|name| tree.node(&crate::path::join(n.path(), name)))
            .collect();
        stack.extend(kids.into_iter().rev());
    }
    w.put(&"/".to_owned())?;
    w.seal()?;
    w.put(&tree.last_zxid())?;
    w.put(&crate::digest::DIGEST_VERSION)?;
    w.put(&digest)?;
    w.seal()?;
    w.flush()
}

/// A writer that keeps the Adler-32 of everything written
/// (`CheckedOutputStream`).
struct Checked<'a, W: Write> {
    out: &'a mut W,
    adler: adler2::Adler32,
    buf: bytes::BytesMut,
}

impl<W: Write> Checked<'_, W> {
    fn put(&mut self, v: &impl Encode) -> io::Result<()> {
        v.encode(&mut self.buf);
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.adler.write_slice(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// `SnapStream.sealStream`.
    fn seal(&mut self) -> io::Result<()> {
        self.flush()?;
        let sum = i64::from(self.adler.checksum());
        self.put(&sum)?;
        self.put(&"/".to_owned())?;
        self.flush()
    }
}

/// Reads the snapshot a ZooKeeper leader sends a learner after `SNAP`
/// (`ZKDatabase.serializeSnapshot`: the sessions, the ACL map and the
/// nodes, as in a snapshot file but with no header and no seal) from a
/// stream, into a new tree. The `"BenWasHere"` signature
/// that follows is the caller's to read. `source` names the stream in
/// errors.
///
/// # Errors
/// [`ImportError::Corrupt`] (the offset counted from the stream's start)
/// or [`ImportError::Io`].
pub fn read_stream(
    input: &mut impl std::io::Read,
    source: &Path,
    config: crate::TreeConfig,
) -> Result<(Tree, Vec<(i64, i32)>), ImportError> {
    let mut tree = Tree::empty(config);
    let mut r = StreamReader {
        input,
        at: 0,
        source,
    };
    let count = r.int()?;
    let mut sessions = Vec::new();
    for _ in 0..count.max(0) {
        let id = r.long()?;
        let timeout = r.int()?;
        sessions.push((id, timeout));
    }
    let lists = r.int()?;
    let mut acls: HashMap<i64, Vec<Acl>> = HashMap::new();
    for _ in 0..lists.max(0) {
        let index = r.long()?;
        let n = r.int()?;
        let mut list = Vec::new();
        for _ in 0..n.max(0) {
            let perms = r.int()?;
            let scheme = r.string()?;
            let id = r.string()?;
            list.push(Acl {
                perms,
                id: jute::Id::new(scheme, id),
            });
        }
        acls.insert(index, list);
    }
    acls.insert(OPEN_UNSAFE_ACL_ID, vec![Acl::open()]);
    let mut nodes = Vec::new();
    loop {
        let at = r.at;
        let path = r.string()?;
        if path == "/" {
            break;
        }
        let data = r.buffer()?;
        let acl = r.long()?;
        let mut stat = [0u8; 60];
        r.exact(&mut stat)?;
        let (_, stat) = <StatPersisted as jute::Decode>::decode(&stat)
            .map_err(|_| ImportError::corrupt(source, at, "stat"))?;
        let key: Box<str> = if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
        nodes.push(Parsed {
            path: key,
            data: data.map(Vec::into_boxed_slice),
            acl,
            stat,
            at,
        });
    }
    nodes.sort_unstable_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    insert_sorted(&mut tree, nodes, Vec::new(), &acls, source)?;
    if tree.node("/").is_none() {
        return Err(ImportError::corrupt(source, 0, "no root node"));
    }
    Ok((tree, sessions))
}

/// Jute primitives from a stream, with the offset for errors.
pub(crate) struct StreamReader<'a, R: std::io::Read> {
    pub input: &'a mut R,
    pub at: u64,
    pub source: &'a Path,
}

/// The longest string or buffer accepted from a stream (ZooKeeper's own
/// limit is `jute.maxbuffer`, 1 MiB by default, twice with its slack).
const MAX_STREAM_FIELD: usize = 64 << 20;

impl<R: std::io::Read> StreamReader<'_, R> {
    pub fn exact(&mut self, buf: &mut [u8]) -> Result<(), ImportError> {
        self.input
            .read_exact(buf)
            .map_err(|e| ImportError::io(self.source, e))?;
        self.at += buf.len() as u64;
        Ok(())
    }

    pub fn int(&mut self) -> Result<i32, ImportError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(i32::from_be_bytes(b))
    }

    pub fn long(&mut self) -> Result<i64, ImportError> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(i64::from_be_bytes(b))
    }

    pub fn buffer(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
        let at = self.at;
        let len = self.int()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_STREAM_FIELD)
            .ok_or_else(|| {
                ImportError::corrupt(self.source, at, format!("a field of {len} bytes"))
            })?;
        let mut v = vec![0u8; len];
        self.exact(&mut v)?;
        Ok(Some(v))
    }

    pub fn string(&mut self) -> Result<String, ImportError> {
        let at = self.at;
        let bytes = self.buffer()?.unwrap_or_default();
        String::from_utf8(bytes).map_err(|e| ImportError::corrupt(self.source, at, e.to_string()))
    }
}
