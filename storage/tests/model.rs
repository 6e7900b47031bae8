//! Model test (sled's `fuzz_model` style): random command sequences —
//! creates of every plain mode, deletes, sets, ACL changes, checks, multis,
//! session opens and closes — applied to the real [`Tree`] and to a small
//! reference model written for obviousness (a `BTreeMap` of paths, children
//! found by scanning, a `multi` done on a clone). After every command the
//! replies must agree, and at the end the whole trees must; a second `Tree`
//! replaying the same commands must end byte-identical (determinism).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, ErrorCode, Id, Perms, Request, Response, Stat};
use proptest::prelude::*;
use storage::{Command, CommandOp, Durability, Store, Tree, TreeConfig, apply};

// ------------------------------------------------------------------ model --

#[derive(Debug, Clone, PartialEq)]
struct MNode {
    data: Option<Vec<u8>>,
    acl: Vec<Acl>,
    czxid: i64,
    mzxid: i64,
    ctime: i64,
    mtime: i64,
    version: i32,
    creates: i32,
    aversion: i32,
    owner: i64,
    pzxid: i64,
}

#[derive(Debug, Clone)]
struct Model {
    nodes: BTreeMap<String, MNode>,
    sessions: BTreeSet<i64>,
}

fn parent_of(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].into(),
        None => String::new(),
    }
}

fn allowed(acl: &[Acl], perm: Perms, auth: &[Id]) -> bool {
    auth.iter().any(|i| i.scheme == "super")
        || acl.iter().any(|a| {
            a.perms & perm.bits() != 0
                && ((a.id.scheme == "world" && a.id.id == "anyone") || auth.contains(&a.id))
        })
}

impl Model {
    fn new() -> Self {
        let mut nodes = BTreeMap::new();
        let blank = |acl: Vec<Acl>| MNode {
            data: Some(Vec::new()),
            acl,
            czxid: 0,
            mzxid: 0,
            ctime: 0,
            mtime: 0,
            version: 0,
            creates: 0,
            aversion: 0,
            owner: 0,
            pzxid: 0,
        };
        for p in ["/", "/zookeeper", "/zookeeper/quota"] {
            nodes.insert(p.to_string(), blank(vec![Acl::open()]));
        }
        let mut cfg = blank(vec![Acl {
            perms: 1,
            id: Id::new("world", "anyone"),
        }]);
        cfg.aversion = -1;
        nodes.insert("/zookeeper/config".into(), cfg);
        Model {
            nodes,
            sessions: BTreeSet::new(),
        }
    }

    fn children(&self, p: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|k| *k != "/" && parent_of(k) == p)
            .map(|k| k.rsplit('/').next().unwrap_or("").to_string())
            .collect()
    }

    fn stat(&self, p: &str) -> Stat {
        let n = &self.nodes[p];
        let kids = self.children(p).len() as i32;
        Stat {
            czxid: n.czxid,
            mzxid: n.mzxid,
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: n.creates * 2 - kids,
            aversion: n.aversion,
            ephemeral_owner: n.owner,
            data_length: n.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children: kids,
            pzxid: n.pzxid,
        }
    }

    fn fix_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
        if acl.is_empty() {
            return Err(ErrorCode::InvalidAcl);
        }
        let mut out: Vec<Acl> = Vec::new();
        for a in acl {
            let expanded: Vec<Acl> = if a.id.scheme == "auth" {
                let ids: Vec<Acl> = auth
                    .iter()
                    .filter(|i| i.scheme == "digest")
                    .map(|i| Acl {
                        perms: a.perms,
                        id: i.clone(),
                    })
                    .collect();
                if ids.is_empty() {
                    return Err(ErrorCode::InvalidAcl);
                }
                ids
            } else {
                vec![a.clone()]
            };
            for e in expanded {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// One write op against the model, mutating it on success.
    fn op(
        &mut self,
        op: &Op,
        s: i64,
        auth: &[Id],
        zxid: i64,
        time: i64,
    ) -> Result<OpResult, ErrorCode> {
        let version_ok = |cur: i32, want: i32| want == -1 || want == cur;
        match op {
            Op::Create(r) | Op::Create2(r) => {
                if !(0..=3).contains(&r.flags) {
                    return Err(ErrorCode::BadArguments);
                }
                let parent = parent_of(&r.path);
                let acl = Self::fix_acl(&r.acl, auth)?;
                let pn = self.nodes.get(&parent).ok_or(ErrorCode::NoNode)?;
                if !allowed(&pn.acl, Perms::CREATE, auth) {
                    return Err(ErrorCode::NoAuth);
                }
                let mut path = r.path.clone();
                if r.flags & 2 != 0 {
                    path.push_str(&format!("{:010}", pn.creates));
                }
                if storage::path::validate(&path).is_err() {
                    return Err(ErrorCode::BadArguments);
                }
                if self.nodes.contains_key(&path) {
                    return Err(ErrorCode::NodeExists);
                }
                if pn.owner != 0 {
                    return Err(ErrorCode::NoChildrenForEphemerals);
                }
                let owner = if r.flags & 1 != 0 { s } else { 0 };
                let pn = self.nodes.get_mut(&parent).ok_or(ErrorCode::NoNode)?;
                pn.creates += 1;
                pn.pzxid = zxid;
                self.nodes.insert(
                    path.clone(),
                    MNode {
                        data: r.data.as_ref().map(|d| d.to_vec()),
                        acl,
                        czxid: zxid,
                        mzxid: zxid,
                        ctime: time,
                        mtime: time,
                        version: 0,
                        creates: 0,
                        aversion: 0,
                        owner,
                        pzxid: zxid,
                    },
                );
                Ok(match op {
                    Op::Create(_) => OpResult::Create { path },
                    _ => OpResult::Create2 {
                        stat: self.stat(&path),
                        path,
                    },
                })
            }
            Op::Delete(r) => {
                if ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]
                    .contains(&r.path.as_str())
                    || !r.path.contains('/')
                {
                    return Err(ErrorCode::BadArguments);
                }
                let parent = parent_of(&r.path);
                let pn = self.nodes.get(&parent).ok_or(ErrorCode::NoNode)?;
                if !allowed(&pn.acl, Perms::DELETE, auth) {
                    return Err(ErrorCode::NoAuth);
                }
                let n = self.nodes.get(&r.path).ok_or(ErrorCode::NoNode)?;
                if !version_ok(n.version, r.version) {
                    return Err(ErrorCode::BadVersion);
                }
                if !self.children(&r.path).is_empty() {
                    return Err(ErrorCode::NotEmpty);
                }
                self.nodes.remove(&r.path);
                let pn = self.nodes.get_mut(&parent).ok_or(ErrorCode::NoNode)?;
                pn.pzxid = pn.pzxid.max(zxid);
                Ok(OpResult::Delete)
            }
            Op::SetData(r) => {
                storage::path::validate(&r.path).map_err(|_| ErrorCode::BadArguments)?;
                let n = self.nodes.get_mut(&r.path).ok_or(ErrorCode::NoNode)?;
                if !allowed(&n.acl, Perms::WRITE, auth) {
                    return Err(ErrorCode::NoAuth);
                }
                if !version_ok(n.version, r.version) {
                    return Err(ErrorCode::BadVersion);
                }
                n.version += 1;
                n.data = r.data.as_ref().map(|d| d.to_vec());
                n.mzxid = zxid;
                n.mtime = time;
                Ok(OpResult::SetData {
                    stat: self.stat(&r.path),
                })
            }
            Op::Check(r) => {
                storage::path::validate(&r.path).map_err(|_| ErrorCode::BadArguments)?;
                let n = self.nodes.get(&r.path).ok_or(ErrorCode::NoNode)?;
                if !allowed(&n.acl, Perms::READ, auth) {
                    return Err(ErrorCode::NoAuth);
                }
                if !version_ok(n.version, r.version) {
                    return Err(ErrorCode::BadVersion);
                }
                Ok(OpResult::Check)
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn apply(&mut self, cmd: &Command, zxid: i64) -> Result<Response, ErrorCode> {
        let (s, auth, time) = (cmd.session_id, &cmd.auth[..], cmd.time);
        match &cmd.op {
            CommandOp::CreateSession { .. } => {
                self.sessions.insert(s);
                Ok(Response::Empty)
            }
            CommandOp::Error { err } => {
                Err(ErrorCode::try_from(*err).unwrap_or(ErrorCode::SystemError))
            }
            CommandOp::Restore { .. } => Err(ErrorCode::Unimplemented),
            CommandOp::SetConfig { version, data } => {
                let n = self
                    .nodes
                    .get_mut("/zookeeper/config")
                    .ok_or(ErrorCode::NoNode)?;
                // A negative version is a reconfig's: its own zxid.
                let (version, data) = if *version < 0 {
                    let mut d = data.to_vec();
                    d.extend_from_slice(format!("version={zxid:x}").as_bytes());
                    (zxid, d)
                } else {
                    (*version, data.to_vec())
                };
                n.data = Some(data.clone());
                (n.version, n.mzxid, n.mtime) = (-1, version, time);
                Ok(Response::GetData(GetDataResponse {
                    data: Some(Bytes::from(data)),
                    stat: self.stat("/zookeeper/config"),
                }))
            }
            CommandOp::CloseSession => {
                if !self.sessions.remove(&s) {
                    return Err(ErrorCode::SessionExpired);
                }
                let mine: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.owner == s)
                    .map(|(p, _)| p.clone())
                    .collect();
                for p in mine {
                    self.nodes.remove(&p);
                    if let Some(pn) = self.nodes.get_mut(&parent_of(&p)) {
                        pn.pzxid = pn.pzxid.max(zxid);
                    }
                }
                Ok(Response::Empty)
            }
            CommandOp::Write(req) => {
                if !self.sessions.contains(&s) {
                    return Err(ErrorCode::SessionExpired);
                }
                match req {
                    Request::Multi(m) => {
                        let mut scratch = self.clone();
                        let mut results = Vec::new();
                        for (i, op) in m.ops.iter().enumerate() {
                            match scratch.op(op, s, auth, zxid, time) {
                                Ok(r) => results.push(r),
                                Err(code) => {
                                    let errs = (0..m.ops.len())
                                        .map(|j| OpResult::Error {
                                            err: if j < i {
                                                0
                                            } else if j == i {
                                                code.into()
                                            } else {
                                                -2
                                            },
                                        })
                                        .collect();
                                    return Ok(Response::Multi(MultiResponse { results: errs }));
                                }
                            }
                        }
                        *self = scratch;
                        Ok(Response::Multi(MultiResponse { results }))
                    }
                    Request::SetAcl(r) => {
                        storage::path::validate(&r.path).map_err(|_| ErrorCode::BadArguments)?;
                        let acl = Self::fix_acl(&r.acl, auth)?;
                        let n = self.nodes.get_mut(&r.path).ok_or(ErrorCode::NoNode)?;
                        if !allowed(&n.acl, Perms::ADMIN, auth) {
                            return Err(ErrorCode::NoAuth);
                        }
                        if r.version != -1 && r.version != n.aversion {
                            return Err(ErrorCode::BadVersion);
                        }
                        n.aversion += 1;
                        n.acl = acl;
                        Ok(Response::SetAcl(SetAclResponse {
                            stat: self.stat(&r.path),
                        }))
                    }
                    Request::Create(r) => {
                        self.op(&Op::Create(r.clone()), s, auth, zxid, time)
                            .map(|r| match r {
                                OpResult::Create { path } => {
                                    Response::Create(CreateResponse { path })
                                }
                                other => panic!("{other:?}"),
                            })
                    }
                    Request::Create2(r) => self
                        .op(&Op::Create2(r.clone()), s, auth, zxid, time)
                        .map(|r| match r {
                            OpResult::Create2 { path, stat } => {
                                Response::Create2(Create2Response { path, stat })
                            }
                            other => panic!("{other:?}"),
                        }),
                    Request::Delete(r) => self
                        .op(&Op::Delete(r.clone()), s, auth, zxid, time)
                        .map(|_| Response::Empty),
                    Request::SetData(r) => self
                        .op(&Op::SetData(r.clone()), s, auth, zxid, time)
                        .map(|r| match r {
                            OpResult::SetData { stat } => {
                                Response::SetData(SetDataResponse { stat })
                            }
                            other => panic!("{other:?}"),
                        }),
                    other => panic!("model does not generate {other:?}"),
                }
            }
        }
    }
}

// ------------------------------------------------------------- generators --

const SESSIONS: [i64; 3] = [11, 12, 13];

fn alice() -> Id {
    Id::new("digest", storage::acl::digest_id("alice:pw"))
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..4)
            .prop_map(|parts| format!("/{}", parts.join("/"))),
        1 => Just("/".to_string()),
        1 => Just("/zookeeper".to_string()),
        1 => Just("/a/".to_string()),
        1 => Just("/a//b".to_string()),
    ]
}

fn any_acl() -> impl Strategy<Value = Vec<Acl>> {
    prop_oneof![
        4 => Just(vec![Acl::open()]),
        1 => Just(vec![Acl { perms: Perms::READ.bits(), id: Id::new("world", "anyone") }]),
        1 => Just(vec![Acl { perms: Perms::ALL.bits(), id: alice() }]),
        1 => Just(vec![Acl { perms: Perms::ALL.bits(), id: Id::new("auth", "") }]),
        1 => Just(vec![Acl { perms: (Perms::CREATE | Perms::READ).bits(), id: Id::new("world", "anyone") }, Acl { perms: Perms::ALL.bits(), id: alice() }]),
        1 => Just(vec![]),
    ]
}

fn any_data() -> impl Strategy<Value = Option<Bytes>> {
    prop_oneof![
        Just(None),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|v| Some(Bytes::from(v)))
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    let version = prop_oneof![Just(-1), 0..3i32];
    prop_oneof![
        3 => (any_path(), any_data(), any_acl(), 0..4i32)
            .prop_map(|(path, data, acl, flags)| Op::Create(CreateRequest { path, data, acl, flags })),
        2 => (any_path(), any_data(), any_acl(), 0..4i32)
            .prop_map(|(path, data, acl, flags)| Op::Create2(CreateRequest { path, data, acl, flags })),
        2 => (any_path(), version.clone()).prop_map(|(path, version)| Op::Delete(DeleteRequest { path, version })),
        2 => (any_path(), any_data(), version.clone())
            .prop_map(|(path, data, version)| Op::SetData(SetDataRequest { path, data, version })),
        1 => (any_path(), version).prop_map(|(path, version)| Op::Check(CheckVersionRequest { path, version })),
    ]
}

fn any_command() -> impl Strategy<Value = Command> {
    let auth = prop_oneof![
        4 => Just(vec![Id::new("ip", "127.0.0.1")]),
        2 => Just(vec![Id::new("ip", "127.0.0.1"), alice()]),
        1 => Just(vec![Id::new("super", "")]),
    ];
    let op = prop_oneof![
        8 => any_op().prop_filter_map("single writes", |op| match op {
            Op::Create(r) => Some(CommandOp::Write(Request::Create(r))),
            Op::Create2(r) => Some(CommandOp::Write(Request::Create2(r))),
            Op::Delete(r) => Some(CommandOp::Write(Request::Delete(r))),
            Op::SetData(r) => Some(CommandOp::Write(Request::SetData(r))),
            _ => None,
        }),
        2 => proptest::collection::vec(any_op(), 0..5).prop_map(|ops| CommandOp::Write(Request::Multi(MultiRequest { ops }))),
        1 => (any_path(), any_acl(), prop_oneof![Just(-1), 0..2i32])
            .prop_map(|(path, acl, version)| CommandOp::Write(Request::SetAcl(SetAclRequest { path, acl, version }))),
        1 => Just(CommandOp::CloseSession),
        1 => Just(CommandOp::CreateSession { timeout_ms: 5000, passwd: Bytes::from_static(&[1; 16]) }),
        1 => (0..3i64).prop_map(|v| CommandOp::SetConfig { version: v, data: Bytes::from(format!("server.1=a:1:2:participant\nversion={v:x}")) }),
        1 => Just(CommandOp::SetConfig { version: -1, data: Bytes::from_static(b"server.1=a:1:2:participant\nserver.2=b:1:2:participant\n") }),
    ];
    (proptest::sample::select(&SESSIONS[..]), auth, op, 0..5i64).prop_map(
        |(session_id, auth, op, dt)| Command {
            time: 1_000 + dt,
            session_id,
            auth,
            op,
        },
    )
}

// ------------------------------------------------------------------ check --

fn dump(tree: &Tree) -> Vec<(String, Option<Bytes>, Vec<Acl>, Stat)> {
    let mut paths: Vec<String> = vec!["/".into()];
    let mut out = Vec::new();
    while let Some(p) = paths.pop() {
        let node = tree.node(&p).expect("listed child exists");
        for c in tree.child_names(node) {
            paths.push(storage::path::join(&p, c));
        }
        out.push((
            p.clone(),
            node.data_bytes(),
            tree.acl_of(node).to_vec(),
            node.stat(),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    // Every node is reachable from the root, and nothing else is stored.
    assert_eq!(
        out.len(),
        tree.node_count(),
        "unreachable nodes in the store"
    );
    assert_eq!(tree.iter_nodes().count(), tree.node_count());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn tree_matches_the_model_and_replays_identically(cmds in proptest::collection::vec(any_command(), 1..100)) {
        let mut tree = Tree::new(TreeConfig { ttl_enabled: false, ..TreeConfig::default() });
        let mut model = Model::new();
        let open = |s: i64| Command { time: 1, session_id: s, auth: vec![], op: CommandOp::CreateSession { timeout_ms: 5000, passwd: Bytes::from_static(&[0; 16]) } };
        let mut all = SESSIONS.iter().map(|s| open(*s)).collect::<Vec<_>>();
        all.extend(cmds);
        let mut time = 0;
        for (i, mut cmd) in all.into_iter().enumerate() {
            time += cmd.time; // monotonic leader clock
            cmd.time = time;
            let zxid = i as i64 + 1;
            let got = apply(&mut tree, &cmd, zxid);
            let want = model.apply(&cmd, zxid);
            prop_assert_eq!(&got.result, &want, "command {} {:?}", i, cmd);
            prop_assert_eq!(tree.last_zxid(), zxid);
            if got.result.is_err() {
                prop_assert!(got.events.is_empty(), "failed commands fire nothing");
            }
        }
        let want: Vec<_> = model.nodes.iter().map(|(p, n)| {
            (p.clone(), n.data.clone().map(Bytes::from), n.acl.clone(), model.stat(p))
        }).collect();
        prop_assert_eq!(dump(&tree), want);
        // ZooKeeper's approximateDataSize, kept as the tree changes
        // (multis that fail and roll back included).
        let size: usize = model.nodes.iter().map(|(p, n)| p.len() + n.data.as_ref().map_or(0, |d| d.len())).sum();
        prop_assert_eq!(tree.approximate_data_size(), size as u64);
        for s in SESSIONS {
            let mut mine: Vec<String> = model.nodes.iter().filter(|(_, n)| n.owner == s).map(|(p, _)| p.clone()).collect();
            mine.sort();
            prop_assert_eq!(tree.ephemerals(s, "/"), mine);
        }
    }

    #[test]
    fn replaying_the_log_gives_identical_state(cmds in proptest::collection::vec(any_command(), 1..80)) {
        let mut a = Tree::new(TreeConfig::default());
        let mut b = Tree::new(TreeConfig::default());
        let mut outcomes = Vec::new();
        for (i, cmd) in cmds.iter().enumerate() {
            outcomes.push(apply(&mut a, cmd, i as i64 + 1));
        }
        for (i, cmd) in cmds.iter().enumerate() {
            prop_assert_eq!(&apply(&mut b, cmd, i as i64 + 1), &outcomes[i]);
        }
        prop_assert_eq!(dump(&a), dump(&b));
        prop_assert_eq!(format!("{:?}", a.sessions()), format!("{:?}", b.sessions()));
    }

}

proptest! {
    // Each case opens fjall databases: fewer cases, same generator.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The store: commands applied and committed one by one, with the
    /// process "rebooted" (store and tree dropped, reopened from disk) at
    /// random points; after every reboot the tree must equal the one before.
    #[test]
    fn the_store_survives_reboots(cmds in proptest::collection::vec((any_command(), proptest::bool::weighted(0.1)), 1..60)) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let config = TreeConfig { ttl_enabled: false, ..TreeConfig::default() };
        let (mut store, mut tree) = Store::open(dir.path(), config.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut reference = Tree::new(config.clone());
        for (i, (cmd, reboot)) in cmds.iter().enumerate() {
            let zxid = i as i64 + 1;
            let got = apply(&mut tree, cmd, zxid);
            prop_assert_eq!(&got, &apply(&mut reference, cmd, zxid));
            store.commit(&mut tree, Durability::Buffered).map_err(|e| TestCaseError::fail(e.to_string()))?;
            if *reboot {
                let before = dump(&tree);
                drop(store);
                drop(tree);
                (store, tree) = Store::open(dir.path(), config.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(dump(&tree), before);
                prop_assert_eq!(tree.last_zxid(), zxid);
                prop_assert_eq!(format!("{:?}", tree.sessions()), format!("{:?}", reference.sessions()));
            }
        }
        drop(store);
        drop(tree);
        let (_, tree) = Store::open(dir.path(), config).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dump(&tree), dump(&reference));
        prop_assert_eq!(tree.expirable().count(), reference.expirable().count());
        prop_assert_eq!(tree.approximate_data_size(), reference.approximate_data_size());
    }
}

proptest! {
    /// The replicated encoding of every command decodes to the same command.
    #[test]
    fn commands_round_trip_through_their_log_encoding(cmd in any_command()) {
        let mut buf = bytes::BytesMut::new();
        cmd.encode(&mut buf);
        prop_assert_eq!(Command::decode(&buf).ok(), Some(cmd));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A snapshot of any reachable tree reads back identical, and a store
    /// that adopts it (replacing what it held) reopens to the same tree.
    #[test]
    fn snapshots_round_trip_and_replace_a_store(cmds in proptest::collection::vec(any_command(), 1..60)) {
        let mut tree = Tree::new(TreeConfig::default());
        for (i, cmd) in cmds.iter().enumerate() {
            apply(&mut tree, cmd, i as i64 + 1);
        }
        let mut bytes = Vec::new();
        storage::snapshot::write(&tree, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut copy = storage::snapshot::read(&mut bytes.as_slice(), TreeConfig::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dump(&copy), dump(&tree));
        prop_assert_eq!(copy.last_zxid(), tree.last_zxid());
        prop_assert_eq!(format!("{:?}", copy.sessions()), format!("{:?}", tree.sessions()));
        // A store that held something else adopts the snapshot.
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (store, mut other) = Store::open(dir.path(), TreeConfig::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let junk = Command { time: 5, session_id: 99, auth: vec![], op: CommandOp::CreateSession { timeout_ms: 1, passwd: Bytes::new() } };
        apply(&mut other, &junk, 1);
        store.commit(&mut other, Durability::Buffered).map_err(|e| TestCaseError::fail(e.to_string()))?;
        store.replace(&mut copy, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        drop(store);
        let (store, reopened) = Store::open(dir.path(), TreeConfig::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dump(&reopened), dump(&tree));
        prop_assert_eq!(format!("{:?}", reopened.sessions()), format!("{:?}", tree.sessions()));
        // A snapshot written from a view of the store, not the tree, reads
        // back to the same tree; later commits do not show in the view.
        let view = store.view();
        let mut later = reopened;
        apply(&mut later, &junk, tree.last_zxid() + 1);
        store.commit(&mut later, Durability::Buffered).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut from_store = Vec::new();
        view.write_snapshot(&mut from_store).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let copy = storage::snapshot::read(&mut from_store.as_slice(), TreeConfig::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dump(&copy), dump(&tree));
        prop_assert_eq!(copy.last_zxid(), tree.last_zxid());
        prop_assert_eq!(format!("{:?}", copy.sessions()), format!("{:?}", tree.sessions()));
    }

    /// Truncated or corrupted snapshots are errors, never panics.
    #[test]
    fn damaged_snapshots_are_refused(cut in 0usize..400, flip in 0usize..400) {
        let mut tree = Tree::new(TreeConfig::default());
        let open = Command { time: 1, session_id: 7, auth: vec![], op: CommandOp::CreateSession { timeout_ms: 5, passwd: Bytes::from_static(&[1; 16]) } };
        apply(&mut tree, &open, 1);
        let mut bytes = Vec::new();
        storage::snapshot::write(&tree, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let cut = cut.min(bytes.len().saturating_sub(1));
        prop_assert!(storage::snapshot::read(&mut &bytes[..cut], TreeConfig::default()).is_err());
        let mut flipped = bytes.clone();
        if let Some(b) = flipped.get_mut(flip) {
            *b ^= 0xff;
        }
        let _ = storage::snapshot::read(&mut flipped.as_slice(), TreeConfig::default());
    }
}
