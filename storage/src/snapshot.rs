//! Snapshots: the whole tree and session table as one byte stream, written
//! node by node (parents before children) and read back into a fresh tree.
//! Used to bring a replica that fell behind the purged log up to date.
//!
//! ```text
//! [v=1][last_zxid i64]
//! ( [1][ustring path][i32 len][node value]  |  [2][i64 session][i32 len][session value] )*
//! [0]
//! ```
//!
//! Node and session values are `persist::encoding`'s, so a snapshot and
//! the store share one format. A snapshot is written either from a tree
//! in memory ([`write`]) or, without holding any lock or copying the tree,
//! from a consistent view of the store ([`crate::StoreView::write_snapshot`],
//! nodes in key order: a parent's path sorts before its children's).

use std::io::{self, Read, Write};

use crate::node::Node;
use crate::persist::encoding::{decode_session, encode_node, encode_session};
use crate::persist::load_nodes;
use crate::tree::{Changes, Tree, TreeConfig};
use crate::{StorageError, path};

pub(crate) const VERSION: u8 = 1;

pub(crate) fn put_block(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("record over 4 GiB"))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

/// Writes `tree` as a snapshot, parents before children.
///
/// # Errors
/// Whatever `out` reports.
pub fn write(tree: &Tree, out: &mut impl Write) -> io::Result<()> {
    out.write_all(&[VERSION])?;
    out.write_all(&tree.last_zxid().to_be_bytes())?;
    let mut stack: Vec<&Node> = tree.node("/").into_iter().collect();
    while let Some(node) = stack.pop() {
        out.write_all(&[1])?;
        put_block(out, node.path().as_bytes())?;
        put_block(
            out,
            &encode_node(&node.stat, tree.acl_of(node), node.data.as_deref()),
        )?;
        for name in tree.child_names(node) {
            if let Some(child) = tree.node(&path::join(node.path(), name)) {
                stack.push(child);
            }
        }
    }
    for (id, info) in tree.sessions().iter() {
        out.write_all(&[2])?;
        out.write_all(&id.to_be_bytes())?;
        put_block(out, &encode_session(info))?;
    }
    out.write_all(&[0])
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("snapshot: {what}"))
}

fn read_exact<const N: usize>(input: &mut impl Read) -> Result<[u8; N], StorageError> {
    let mut b = [0u8; N];
    input.read_exact(&mut b).map_err(corrupt)?;
    Ok(b)
}

/// Reads a length-prefixed record into `buf` (reused: no allocation per
/// record once it is large enough), refusing lengths above `max` (nothing
/// is allocated from an unchecked length).
fn read_block_into(
    input: &mut impl Read,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<(), StorageError> {
    let len = u32::from_be_bytes(read_exact::<4>(input)?) as usize;
    if len > max {
        return Err(corrupt(format_args!("record of {len} bytes")));
    }
    buf.resize(len, 0);
    input.read_exact(buf).map_err(corrupt)
}

/// Largest record a snapshot may hold: a node with ZooKeeper's largest
/// data plus a generous ACL list.
const MAX_RECORD: usize = 16 << 20;

/// Reads a snapshot into a fresh tree. The tree tracks no changes yet: a
/// store that adopts it rewrites everything (`Store::replace`).
///
/// # Errors
/// [`StorageError::Corrupt`] for a malformed snapshot, one whose nodes do
/// not form a tree, or one without a root.
pub fn read(input: &mut (impl Read + Send), config: TreeConfig) -> Result<Tree, StorageError> {
    if read_exact::<1>(input)? != [VERSION] {
        return Err(corrupt("unknown version"));
    }
    let mut tree = Tree::empty(config);
    tree.last_zxid = i64::from_be_bytes(read_exact::<8>(input)?);
    // Nodes are decoded on a second thread while this one builds the
    // index (`persist::load_nodes`); sessions come after the nodes.
    let sessions = load_nodes(&mut tree, true, |sink| {
        let mut sessions = Vec::new();
        let (mut key, mut value) = (Vec::new(), Vec::new());
        loop {
            match read_exact::<1>(input)? {
                [0] => break,
                [1] => {
                    read_block_into(input, MAX_RECORD, &mut key)?;
                    read_block_into(input, MAX_RECORD, &mut value)?;
                    if !sink.push(&key, &value)? {
                        break;
                    }
                }
                [2] => {
                    let id = i64::from_be_bytes(read_exact::<8>(input)?);
                    read_block_into(input, MAX_RECORD, &mut value)?;
                    sessions.push((id, decode_session(&value)?));
                }
                [t] => return Err(corrupt(format_args!("unknown record tag {t}"))),
            }
        }
        Ok(sessions)
    })?;
    for (id, info) in sessions {
        tree.sessions.open(id, info);
    }
    if !tree.nodes.contains("/") {
        return Err(corrupt("no root"));
    }
    // Nothing to mark: a store adopts the whole tree with `Store::replace`.
    tree.changes = Some(Changes::default());
    Ok(tree)
}
