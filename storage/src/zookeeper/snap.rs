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
use crate::node::{Node, NodeKind};
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
}

/// A snapshot parsed, its nodes not yet in any tree.
pub struct Snapshot<'a> {
    /// The sessions and their timeouts, ms.
    pub sessions: Vec<(i64, i32)>,
    /// The digest the snapshot carries, if it carries one for a real
    /// transaction (`zxid > 0`).
    pub digest: Option<ZxidDigest>,
    /// The nodes (their digest is computed as they are stored or built).
    pub nodes: Nodes<'a>,
}

/// One node record of a snapshot: its path (the root's as `/`) and the
/// offset of the record in the snapshot's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Rec<'a> {
    /// The node's path.
    pub path: &'a str,
    at: usize,
    /// The path's first 16 bytes, big-endian, padded with zeros (which no
    /// path holds): ordered as the paths are, as far as they go.
    head: u128,
}

impl<'a> Rec<'a> {
    fn new(path: &'a str, at: usize) -> Self {
        let mut head = [0u8; 16];
        let n = path.len().min(16);
        head[..n].copy_from_slice(&path.as_bytes()[..n]);
        Rec {
            path,
            at,
            head: u128::from_be_bytes(head),
        }
    }

    /// Path order, mostly decided by the heads.
    fn cmp_path(&self, other: &Self) -> std::cmp::Ordering {
        self.head
            .cmp(&other.head)
            .then_with(|| self.path.as_bytes().cmp(other.path.as_bytes()))
    }
}

/// A node record decoded, borrowing the snapshot's bytes.
struct Record<'a> {
    data: Option<&'a [u8]>,
    acl: i64,
    stat: StatPersisted,
}

/// A node record as its bytes: its data (`None` for null), its ACL index
/// and its stat's 60 bytes (jute's encoding).
struct RawRecord<'a> {
    data: Option<&'a [u8]>,
    acl: i64,
    stat: &'a [u8],
}

/// An ACL list of the snapshot's map, and its encoding as the store keeps
/// it (`vector<ACL>`).
struct AclList {
    list: Vec<Acl>,
    encoded: Vec<u8>,
}

/// A snapshot's nodes, left in its bytes: two runs of records (the two
/// halves of the file, parsed on two threads), each sorted by path. From
/// these the store is written ([`Nodes::ingest`]) and a tree of all or
/// some of them built ([`Nodes::build`]), each record decoded again where
/// it is used (a few nanoseconds) rather than copied out once for all.
pub struct Nodes<'a> {
    buf: &'a [u8],
    file: &'a Path,
    runs: [Vec<Rec<'a>>; 2],
    acls: HashMap<i64, AclList>,
    ephemerals: Vec<Rec<'a>>,
}

/// The records of both runs from `from` (inclusive) to `to` (exclusive),
/// in path order.
struct Merge<'n, 'a> {
    runs: [&'n [Rec<'a>]; 2],
}

impl<'a> Iterator for Merge<'_, 'a> {
    type Item = Rec<'a>;

    fn next(&mut self) -> Option<Rec<'a>> {
        let side = match (self.runs[0].first(), self.runs[1].first()) {
            (Some(x), Some(y)) => usize::from(x.cmp_path(y).is_gt()),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return None,
        };
        let (first, rest) = self.runs[side].split_first()?;
        self.runs[side] = rest;
        Some(*first)
    }
}

/// The path below which `path`'s descendants sort, and the first path
/// after them: every descendant of `/a` starts with `/a/`, and all sort
/// between `/a/` and `/a0` (`'0'` follows `'/'`).
fn descendants(path: &str) -> (String, String) {
    if path == "/" {
        return ("/".to_owned(), "0".to_owned());
    }
    (format!("{path}/"), format!("{path}0"))
}

impl<'a> Nodes<'a> {
    /// How many nodes.
    pub fn len(&self) -> usize {
        self.runs[0].len() + self.runs[1].len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ephemeral nodes (owned by a session), in no order.
    pub fn ephemerals(&self) -> &[Rec<'a>] {
        &self.ephemerals
    }

    /// Record `r` ([`Nodes::raw`]) with its stat decoded.
    fn record(&self, r: Rec<'a>) -> Result<Record<'a>, ImportError> {
        let cut_short = || ImportError::corrupt(self.file, r.at as u64, "a node record cut short");
        let raw = self.raw(r.at).ok_or_else(cut_short)?;
        let (_, stat) =
            <StatPersisted as jute::Decode>::decode(raw.stat).map_err(|_| cut_short())?;
        Ok(Record {
            data: raw.data,
            acl: raw.acl,
            stat,
        })
    }

    /// The size of a node's data.
    pub fn data_len(&self, r: Rec<'a>) -> Result<usize, ImportError> {
        Ok(self.record(r)?.data.map_or(0, <[u8]>::len))
    }

    /// Every node with a path in `[from, to)` (`to` `None`: to the end), in
    /// path order.
    fn range(&self, from: Option<&str>, to: Option<&str>) -> Merge<'_, 'a> {
        let cut = |run: &'_ Vec<Rec<'a>>, key: Option<&str>, none: usize| {
            key.map_or(none, |k| {
                run.partition_point(|r| r.path.as_bytes() < k.as_bytes())
            })
        };
        let slice = |i: usize| {
            let run = &self.runs[i];
            let a = cut(run, from, 0);
            let b = cut(run, to, run.len()).max(a);
            run.get(a..b).unwrap_or_default()
        };
        Merge {
            runs: [slice(0), slice(1)],
        }
    }

    /// Every node, in path order.
    pub fn iter(&self) -> impl Iterator<Item = Rec<'a>> + '_ {
        self.range(None, None)
    }

    /// The descendants of `path` (not `path` itself), in path order.
    pub fn descendants<'p>(
        &self,
        path: &'p str,
    ) -> impl Iterator<Item = Rec<'a>> + use<'_, 'a, 'p> {
        let (from, to) = descendants(path);
        self.range(Some(&from), Some(&to))
            .filter(move |r| r.path != path)
    }

    /// The node at `path`.
    pub fn find(&self, path: &str) -> Option<Rec<'a>> {
        self.runs.iter().find_map(|run| {
            let i = run.partition_point(|r| r.path.as_bytes() < path.as_bytes());
            run.get(i).filter(|r| r.path == path).copied()
        })
    }

    /// The path at which the nodes divide into two halves, near the
    /// median (each run's candidate is ranked in the other).
    fn pivot(&self) -> Option<&'a str> {
        let half = self.len() / 2;
        let [a, b] = &self.runs;
        let rank = |run: &[Rec<'a>], other: &[Rec<'a>], i: usize| {
            run.get(i).map(|r| {
                let below = other.partition_point(|o| o.path.as_bytes() < r.path.as_bytes());
                (i + below, r.path)
            })
        };
        let candidate = |run: &[Rec<'a>], other: &[Rec<'a>]| {
            let i = {
                // The first record of `run` ranked at or above the middle.
                let (mut lo, mut hi) = (0, run.len());
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match rank(run, other, mid) {
                        Some((r, _)) if r < half => lo = mid + 1,
                        _ => hi = mid,
                    }
                }
                lo
            };
            rank(run, other, i)
        };
        [candidate(a, b), candidate(b, a)]
            .into_iter()
            .flatten()
            .min_by_key(|(r, _)| r.abs_diff(half))
            .map(|(_, p)| p)
    }

    /// A record parsed before, as its bytes.
    fn raw(&self, at: usize) -> Option<RawRecord<'a>> {
        let b = self.buf;
        let int = |i: usize| {
            b.get(i..i + 4)
                .map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        };
        let data_at = at + 4 + usize::try_from(int(at)?).ok()?;
        let (data, data_end) = match usize::try_from(int(data_at)?) {
            Ok(len) => (
                Some(b.get(data_at + 4..data_at + 4 + len)?),
                data_at + 4 + len,
            ),
            Err(_) => (None, data_at + 4),
        };
        let acl = b.get(data_end..data_end + 8)?;
        let acl = i64::from_be_bytes([
            acl[0], acl[1], acl[2], acl[3], acl[4], acl[5], acl[6], acl[7],
        ]);
        Some(RawRecord {
            data,
            acl,
            stat: b.get(data_end + 8..data_end + 68)?,
        })
    }

    /// Appends node `r`'s value, as the store keeps it, to `out`: the
    /// record's stat and data copied as they are (the store encodes them
    /// as jute does), its ACL list's encoding looked up.
    fn encode(&self, r: Rec<'a>, out: &mut BytesMut) -> Result<(), ImportError> {
        let RawRecord { data, acl, stat } = self.raw(r.at).ok_or_else(|| {
            ImportError::corrupt(self.file, r.at as u64, "a node record cut short")
        })?;
        let acl = self.acls.get(&acl).ok_or_else(|| {
            ImportError::corrupt(
                self.file,
                r.at as u64,
                format!("ACL {acl} is not in the map"),
            )
        })?;
        crate::persist::encoding::encode_node_raw_into(out, stat, &acl.encoded, data);
        Ok(())
    }

    /// Writes every node into `store` (new and empty) by bulk ingestion,
    /// in two key ranges on two threads. The account of what was written:
    /// nodes, checksum of their values, their digest (each value decoded
    /// again: what the store holds is what ZooKeeper's digest covers), and
    /// the path dividing the ranges. With `check`, for a snapshot without
    /// ZooKeeper's digest, the digest is computed a second time from the
    /// records themselves, and the two must agree.
    ///
    /// # Errors
    /// [`ImportError::Corrupt`] for a path that appears twice;
    /// [`ImportError::Store`] if the store fails.
    pub fn ingest(&self, store: &crate::Store, check: bool) -> Result<crate::Stored, ImportError> {
        let pivot = self.pivot();
        let part = |from: Option<&str>, to: Option<&str>| -> Result<crate::Stored, ImportError> {
            let mut sum = crate::Stored::default();
            let mut source = 0i64;
            let mut value = BytesMut::with_capacity(1 << 16);
            let mut previous: Option<Rec<'a>> = None;
            let began = std::time::Instant::now();
            store.ingest_nodes_with(|write| -> Result<(), ImportError> {
                for r in self.range(from, to) {
                    self.not_twice(previous, r)?;
                    previous = Some(r);
                    value.clear();
                    self.encode(r, &mut value)?;
                    sum.add_node(r.path, &value)?;
                    if check {
                        let rec = self.record(r)?;
                        let d = crate::digest::node_digest(r.path, rec.data, &rec.stat);
                        source = source.wrapping_add(d as i64);
                    }
                    write(r.path.as_bytes(), &value)?;
                }
                Ok(())
            })?;
            if check && source != sum.digest {
                return Err(ImportError::Store(format!(
                    "the stored values' digest {} is not the snapshot's records' {source}",
                    sum.digest
                )));
            }
            tracing::debug!(
                nodes = sum.nodes,
                ms = began.elapsed().as_millis() as u64,
                "snapshot nodes ingested"
            );
            Ok(sum)
        };
        let (low, high) = std::thread::scope(|scope| {
            let low = scope.spawn(|| part(None, pivot));
            let high = part(pivot, None);
            (low.join(), high)
        });
        let low = low.map_err(|_| ImportError::Store("an ingestion thread panicked".into()))??;
        let mut sum = high?;
        sum.merge(&low);
        sum.middle = pivot.unwrap_or_default().to_owned();
        Ok(sum)
    }

    fn not_twice(&self, previous: Option<Rec<'a>>, r: Rec<'a>) -> Result<(), ImportError> {
        match previous {
            Some(p) if p.path == r.path => Err(ImportError::corrupt(
                self.file,
                r.at as u64,
                format!("{} appears twice", r.path),
            )),
            _ => Ok(()),
        }
    }

    /// Inserts into `tree` (empty) every node, or with `only` those nodes
    /// (in path order, each with its parent), interning each of
    /// ZooKeeper's ACL indexes once. Returns their digest.
    ///
    /// # Errors
    /// [`ImportError::Corrupt`] for a node without its parent, or a path
    /// that appears twice.
    pub fn build(&self, tree: &mut Tree, only: Option<&[Rec<'a>]>) -> Result<i64, ImportError> {
        let mut all = self.iter();
        let mut some = only.unwrap_or_default().iter().copied();
        let nodes: &mut dyn Iterator<Item = Rec<'a>> =
            if only.is_some() { &mut some } else { &mut all };
        tree.nodes
            .reserve(only.map_or(self.len(), <[Rec<'a>]>::len));
        let mut refs: HashMap<i64, AclRef> = HashMap::new();
        let mut hint = 0;
        let mut previous: Option<Rec<'a>> = None;
        let mut digest = 0i64;
        for r in nodes {
            self.not_twice(previous, r)?;
            previous = Some(r);
            let rec = self.record(r)?;
            digest =
                digest.wrapping_add(crate::digest::node_digest(r.path, rec.data, &rec.stat) as i64);
            let acl = match refs.get(&rec.acl) {
                Some(&a) => {
                    tree.acls.add_use(a);
                    a
                }
                None => {
                    let list = self.acls.get(&rec.acl).ok_or_else(|| {
                        ImportError::corrupt(
                            self.file,
                            r.at as u64,
                            format!("{:?} has ACL {}, not in the map", r.path, rec.acl),
                        )
                    })?;
                    let a = tree.acls.intern(&list.list);
                    refs.insert(rec.acl, a);
                    a
                }
            };
            let node = Node {
                data: rec.data.map(Box::from),
                acl,
                stat: rec.stat,
                path: Box::from(""),
                children: ThinVec::new(),
            };
            tree.insert_loaded(r.path.into(), node, &mut hint)
                .map_err(|path| {
                    ImportError::corrupt(
                        self.file,
                        r.at as u64,
                        format!("{path} has no parent (ZooKeeper: Invalid Datatree)"),
                    )
                })?;
        }
        Ok(digest)
    }
}

/// `zlib`'s `adler32_combine`: the Adler-32 of `A ‖ B` from those of `A`
/// and `B` and the length of `B` (which lets two threads each sum half a
/// snapshot).
pub(super) fn adler32_combine(a: u32, b: u32, len_b: usize) -> u32 {
    const BASE: u64 = 65_521;
    let rem = len_b as u64 % BASE;
    let (a1, a2) = (u64::from(a & 0xffff), u64::from(a >> 16));
    let (b1, b2) = (u64::from(b & 0xffff), u64::from(b >> 16));
    let sum1 = (a1 + b1 + BASE - 1) % BASE;
    let sum2 = (rem * a1 % BASE + a2 + b2 + BASE - rem) % BASE;
    (sum1 | (sum2 << 16)) as u32
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

/// Whether the record at `at` is the `"/"` that ends the nodes.
fn is_end(buf: &[u8], at: usize) -> bool {
    buf.get(at..at + 5) == Some(&[0, 0, 0, 1, b'/'][..])
}

/// Walks the node records from `start` by their lengths alone, to the
/// first record boundary at or after `split` (or the end of the nodes).
fn boundary(buf: &[u8], start: usize, split: usize, file: &Path) -> Result<usize, ImportError> {
    let len_at = |at: usize| -> Result<usize, ImportError> {
        let b = buf
            .get(at..at + 4)
            .ok_or_else(|| ImportError::corrupt(file, at as u64, "the nodes end without \"/\""))?;
        let n = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Ok(usize::try_from(n).unwrap_or(0))
    };
    let mut at = start;
    while at < split && !is_end(buf, at) {
        let data_at = at + 4 + len_at(at)?;
        at = data_at + 4 + len_at(data_at)? + 8 + 60;
    }
    Ok(at)
}

/// `ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID`.
const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// One half of a snapshot's node records, parsed.
struct Half<'a> {
    recs: Vec<Rec<'a>>,
    ephemerals: Vec<Rec<'a>>,
    /// Where its records end.
    end: usize,
    /// The Adler-32 of its records.
    adler: u32,
    /// Nodes whose parent is not among the records before them in this
    /// half (the first ones of the second half): their parents are looked
    /// up once both halves are sorted.
    unresolved: Vec<Rec<'a>>,
}

/// Parses a whole snapshot (`buf`, decompressed): sessions, ACL map, the
/// node records (on two threads, each half checked and sorted by path),
/// and every seal.
///
/// # Errors
/// [`ImportError::Corrupt`] with the offset of what is wrong, or
/// [`ImportError::Unsupported`] for a format version other than 2.
pub fn parse<'a>(
    buf: &'a [u8],
    file: &'a Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Snapshot<'a>, ImportError> {
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
    let mut acls: HashMap<i64, AclList> = HashMap::new();
    let mut add_list = |index: i64, list: Vec<Acl>| {
        let mut encoded = BytesMut::new();
        list.encode(&mut encoded);
        acls.insert(
            index,
            AclList {
                list,
                encoded: encoded.to_vec(),
            },
        );
    };
    for _ in 0..lists.max(0) {
        let index: i64 = c.read("ACL index")?;
        let list: Vec<Acl> = c.read("ACL list")?;
        add_list(index, list);
    }
    add_list(OPEN_UNSAFE_ACL_ID, vec![Acl::open()]);

    // The records are split at a boundary found by a quick walk over their
    // lengths, and each half parsed on a thread of its own: checked, summed
    // (Adler-32) and sorted by path.
    let start = c.pos;
    let began = std::time::Instant::now();
    // Parses from `from` to the first record boundary at or after `split`,
    // or to the end of the nodes.
    let parse = |from: usize, split: usize| -> Result<Half<'a>, ImportError> {
        let mut c = Cursor::new(buf, file);
        c.pos = from;
        // A record takes at least 76 bytes.
        let most = split.min(buf.len()).saturating_sub(from) / 76 + 1;
        let mut half = Half {
            recs: Vec::with_capacity(most),
            ephemerals: Vec::new(),
            adler: 0,
            unresolved: Vec::new(),
            end: from,
        };
        // The path from the root to the last node: ZooKeeper writes a
        // node's children right after it (`DataTree.serializeNode`), so a
        // node's parent is on it.
        let mut chain: Vec<&'a str> = Vec::new();
        while c.pos < split && !is_end(buf, c.pos) {
            let at = c.pos;
            if buf.get(at..at + 4) == Some(&[0xff; 4][..]) {
                return Err(ImportError::corrupt(
                    file,
                    at as u64,
                    "a node with a null path",
                ));
            }
            let path = c.str("path")?;
            c.buffer("data")?;
            let acl: i64 = c.read("ACL index")?;
            let stat: StatPersisted = c.read("stat")?;
            let path = if path.is_empty() { "/" } else { path };
            let r = Rec::new(path, at);
            if path != "/" {
                if !path.starts_with('/') || path.ends_with('/') {
                    return Err(ImportError::corrupt(
                        file,
                        at as u64,
                        format!("bad path {path:?}"),
                    ));
                }
                let parent = crate::path::parent(path).unwrap_or("/");
                while chain.last().is_some_and(|&p| p != parent) {
                    chain.pop();
                }
                if chain.is_empty() {
                    half.unresolved.push(r);
                    chain.push(parent);
                }
            }
            chain.push(path);
            if !acls.contains_key(&acl) {
                return Err(ImportError::corrupt(
                    file,
                    at as u64,
                    format!("{path:?} has ACL {acl}, not in the map"),
                ));
            }
            if matches!(
                NodeKind::from_owner(stat.ephemeral_owner),
                NodeKind::Ephemeral(_)
            ) {
                half.ephemerals.push(r);
            }
            half.recs.push(r);
        }
        half.end = c.pos;
        half.adler = adler2::adler32_slice(buf.get(from..c.pos).unwrap_or_default());
        // Sorted on the first 16 bytes of each path, kept in the record
        // (no pointer to follow for most comparisons), then on the rest.
        half.recs.sort_unstable_by(Rec::cmp_path);
        Ok(half)
    };
    // One thread parses the first half of the bytes while the other walks
    // to where that half ends, then parses the rest.
    let split = start + buf.len().saturating_sub(start) / 2;
    let (low, high) = std::thread::scope(|scope| {
        let low = scope.spawn(|| parse(start, split));
        let high =
            boundary(buf, start, split, file).and_then(|b| parse(b, usize::MAX).map(|h| (b, h)));
        (low.join(), high)
    });
    let low = low.map_err(|_| ImportError::corrupt(file, start as u64, "a parser panicked"))??;
    let (middle, high) = high?;
    let end = high.end;
    if low.end != middle {
        return Err(ImportError::corrupt(
            file,
            middle as u64,
            "the two halves of the nodes do not meet",
        ));
    }
    let count = low.recs.len() + high.recs.len();
    progress(Progress::Bytes(end as u64));
    let mut ephemerals = low.ephemerals;
    ephemerals.extend(high.ephemerals);
    let nodes = Nodes {
        buf,
        file,
        runs: [low.recs, high.recs],
        acls,
        ephemerals,
    };
    // The first records of each half whose parents come before the half.
    for r in low.unresolved.iter().chain(&high.unresolved) {
        if nodes
            .find(crate::path::parent(r.path).unwrap_or("/"))
            .is_none()
        {
            return Err(ImportError::corrupt(
                file,
                r.at as u64,
                format!("{} has no parent (ZooKeeper: Invalid Datatree)", r.path),
            ));
        }
    }
    if nodes.find("/").is_none() {
        return Err(ImportError::corrupt(file, start as u64, "no root node"));
    }
    tracing::debug!(
        nodes = count,
        ms = began.elapsed().as_millis() as u64,
        "snapshot nodes parsed"
    );
    progress(Progress::Nodes(count as u64));

    // The seal covers everything before it: the two halves' sums combined.
    let head = adler2::adler32_slice(buf.get(..start).unwrap_or_default());
    let head = adler32_combine(head, low.adler, middle - start);
    let mut adler = adler2::Adler32::from_checksum(adler32_combine(head, high.adler, end - middle));
    let mut sealed = end;
    c.pos = end;
    if c.str("path")? != "/" {
        return Err(ImportError::corrupt(
            file,
            end as u64,
            "no \"/\" after the nodes",
        ));
    }
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
    Ok(Snapshot {
        sessions,
        digest,
        nodes,
    })
}

/// Reads a whole snapshot (`buf`, decompressed) into `tree`, which must be
/// empty ([`parse`], then every node built into the tree).
///
/// # Errors
/// As [`parse`] and [`Nodes::build`].
pub fn read(
    buf: &[u8],
    file: &Path,
    tree: &mut Tree,
    progress: &mut dyn FnMut(Progress),
) -> Result<Loaded, ImportError> {
    let s = parse(buf, file, progress)?;
    let tree_digest = s.nodes.build(tree, None)?;
    Ok(Loaded {
        sessions: s.sessions,
        digest: s.digest,
        nodes: s.nodes.len() as u64,
        tree_digest,
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
