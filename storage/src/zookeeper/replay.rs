//! `DataTree.processTxn` on a Corral [`Tree`]: ZooKeeper's transactions
//! applied as ZooKeeper applies them while restoring, including its
//! tolerance of a fuzzy snapshot (a transaction already in the snapshot
//! fails with `NONODE` or `NODEEXISTS` and is ignored, and a create that
//! finds its node moves the parent's cversion and pzxid forward).
//!
//! The tree's digest (`DigestCalculator`) is kept as a running sum: each
//! node's digest leaves it before the node changes and comes back after.

use jute::txn::TxnHeader;
use jute::{Acl, StatPersisted};

use super::txnlog::{Entry, TxnBody, op};
use crate::digest::node_digest;
use crate::node::{Node, NodeKind};
use crate::sessions::SessionInfo;
use crate::tree::Tree;

/// A tree being restored, with its running digest.
pub struct Replay<'a> {
    pub tree: &'a mut Tree,
    pub digest: i64,
}

/// `KeeperException.Code` values the replay reports (and ignores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    NoNode,
    NodeExists,
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl<'a> Replay<'a> {
    /// A replay on `tree`, whose digest is known to be `digest`.
    pub fn with_digest(tree: &'a mut Tree, digest: i64) -> Self {
        Replay { tree, digest }
    }

    fn digest_of(&self, path: &str) -> i64 {
        self.tree
            .node(path)
            .map_or(0, |n| node_digest(path, n.data.as_deref(), &n.stat) as i64)
    }

    /// Runs `f` on the node at `path`, keeping the running digest.
    fn change(&mut self, path: &str, f: impl FnOnce(&mut Tree)) {
        self.tree.mark_node(path);
        self.digest = self.digest.wrapping_sub(self.digest_of(path));
        f(self.tree);
        self.digest = self.digest.wrapping_add(self.digest_of(path));
    }

    /// `FileTxnSnapLog.processTransaction` + `DataTree.processTxn`.
    pub fn apply(&mut self, entry: &Entry) {
        let h = &entry.header;
        match &entry.body {
            TxnBody::CreateSession(s) => {
                let info = SessionInfo {
                    timeout_ms: s.timeout,
                    passwd: bytes::Bytes::copy_from_slice(&super::zookeeper_password(h.client_id)),
                };
                // A session the fuzzy snapshot already holds keeps its entry.
                self.tree.open_session(h.client_id, info);
            }
            TxnBody::CloseSession(txn) => {
                let owned = self.tree.close_session(h.client_id).unwrap_or_default();
                if let Some(txn) = txn {
                    for p in &txn.paths_to_delete {
                        let _ = self.delete(p, h.zxid);
                    }
                }
                for p in owned {
                    let still_ours = self
                        .tree
                        .node(&p)
                        .is_some_and(|n| n.kind() == NodeKind::Ephemeral(h.client_id));
                    if still_ours {
                        let _ = self.delete(&p, h.zxid);
                    }
                }
            }
            body => {
                let _ = self.process(h, h.txn_type, body);
            }
        }
        if h.zxid > self.tree.last_zxid {
            self.tree.last_zxid = h.zxid;
        }
    }

    fn process(&mut self, h: &TxnHeader, t: i32, body: &TxnBody) -> Result<(), Failed> {
        let result = match body {
            TxnBody::Create(c) => {
                let owner = if c.ephemeral { h.client_id } else { 0 };
                self.create(
                    &c.path,
                    c.data.as_deref(),
                    &c.acl,
                    c.parent_cversion,
                    owner,
                    h,
                )
            }
            TxnBody::CreateTtl(c) => self.create(
                &c.path,
                c.data.as_deref(),
                &c.acl,
                c.parent_cversion,
                NodeKind::Ttl(c.ttl).owner(),
                h,
            ),
            TxnBody::CreateContainer(c) => self.create(
                &c.path,
                c.data.as_deref(),
                &c.acl,
                c.parent_cversion,
                NodeKind::Container.owner(),
                h,
            ),
            TxnBody::Delete(d) => self.delete(&d.path, h.zxid),
            TxnBody::SetData(s) => self.set_data(&s.path, s.data.as_deref(), s.version, h),
            TxnBody::SetAcl(s) => self.set_acl(&s.path, &s.acl, s.version),
            TxnBody::Multi(ops) => {
                // A multi that failed was logged with error sub-transactions
                // only; nothing of it is applied.
                if ops.iter().any(|(t, _)| *t == op::ERROR) {
                    return Ok(());
                }
                let mut first = Ok(());
                for (t, sub) in ops {
                    let r = self.process(h, *t, sub);
                    if first.is_ok() {
                        first = r;
                    }
                }
                first
            }
            TxnBody::Check(_) | TxnBody::Error(_) => Ok(()),
            TxnBody::CreateSession(_) | TxnBody::CloseSession(_) => Ok(()),
        };
        // A create of a node the fuzzy snapshot already holds moves the
        // parent's cversion and pzxid to the transaction's.
        if t == op::CREATE
            && result == Err(Failed::NodeExists)
            && let TxnBody::Create(c) = body
        {
            return self.set_cversion_pzxid(parent_of(&c.path), c.parent_cversion, h.zxid);
        }
        result
    }

    /// `DataTree.createNode`.
    fn create(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: &[Acl],
        parent_cversion: i32,
        owner: i64,
        h: &TxnHeader,
    ) -> Result<(), Failed> {
        let parent = parent_of(path).to_owned();
        if self.tree.node(&parent).is_none() || path == "/" {
            return Err(Failed::NoNode);
        }
        if self.tree.node(path).is_some() {
            // The existing node takes the transaction's ACL.
            let acl = self.tree.acls.intern(acl);
            self.change(path, |t| {
                if let Some(n) = t.nodes.get_mut(path) {
                    let old = std::mem::replace(&mut n.acl, acl);
                    t.acls.release(old);
                }
            });
            return Err(Failed::NodeExists);
        }
        // The parent's cversion and pzxid move as `setCversionPzxid` moves
        // them (only forward: a replayed create of a node created and
        // deleted in a fuzzy snapshot's range must not put them back).
        let zxid = h.zxid;
        self.set_cversion_pzxid(&parent, parent_cversion, zxid)?;
        let acl = self.tree.acls.intern(acl);
        let mut node = Node::new(data, acl, NodeKind::from_owner(owner), zxid, h.time);
        node.stat = StatPersisted {
            ephemeral_owner: owner,
            ..node.stat
        };
        self.change(path, |t| t.insert(path, node));
        Ok(())
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves even if the child
    /// is already gone.
    fn delete(&mut self, path: &str, zxid: i64) -> Result<(), Failed> {
        let parent = parent_of(path).to_owned();
        if self.tree.node(&parent).is_none() || path == "/" {
            return Err(Failed::NoNode);
        }
        self.change(&parent, |t| {
            if let Some(p) = t.nodes.get_mut(&parent)
                && zxid > p.stat.pzxid
            {
                p.stat.pzxid = zxid;
            }
        });
        if self.tree.node(path).is_none() {
            return Err(Failed::NoNode);
        }
        // ZooKeeper drops the node even with children (they become
        // unreachable and leave with the next snapshot): the subtree goes.
        let mut doomed = vec![path.to_owned()];
        let mut i = 0;
        while let Some(p) = doomed.get(i).cloned() {
            if let Some(n) = self.tree.node(&p) {
                let kids: Vec<String> = self
                    .tree
                    .child_names(n)
                    .map(|c| crate::path::join(&p, c))
                    .collect();
                doomed.extend(kids);
            }
            i += 1;
        }
        for p in doomed.iter().rev() {
            self.change(p, |t| {
                t.remove(p);
            });
        }
        Ok(())
    }

    /// `DataTree.setData`.
    fn set_data(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        version: i32,
        h: &TxnHeader,
    ) -> Result<(), Failed> {
        if self.tree.node(path).is_none() {
            return Err(Failed::NoNode);
        }
        self.change(path, |t| {
            if let Some((_, n)) = t.set_data(path, data.map(Box::from)) {
                n.stat.mtime = h.time;
                n.stat.mzxid = h.zxid;
                n.stat.version = version;
            }
        });
        Ok(())
    }

    /// `DataTree.setACL`.
    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<(), Failed> {
        if self.tree.node(path).is_none() {
            return Err(Failed::NoNode);
        }
        let r = self.tree.acls.intern(acl);
        self.change(path, |t| {
            if let Some(n) = t.nodes.get_mut(path) {
                let old = std::mem::replace(&mut n.acl, r);
                n.stat.aversion = version;
                t.acls.release(old);
            }
        });
        Ok(())
    }

    /// `DataTree.setCversionPzxid`.
    fn set_cversion_pzxid(&mut self, path: &str, cversion: i32, zxid: i64) -> Result<(), Failed> {
        if self.tree.node(path).is_none() {
            return Err(Failed::NoNode);
        }
        self.change(path, |t| {
            if let Some(n) = t.nodes.get_mut(path) {
                let cversion = if cversion == -1 {
                    n.stat.cversion.wrapping_add(1)
                } else {
                    cversion
                };
                if cversion > n.stat.cversion {
                    n.stat.cversion = cversion;
                    n.stat.pzxid = zxid;
                }
            }
        });
        Ok(())
    }
}
