//! Per-op semantic tables: every write's success and error paths, with the
//! Stat fields asserted, as ZooKeeper 3.8 answers them.

mod common;

use bytes::Bytes;
use common::*;
use jute::proto::*;
use jute::{Acl, ErrorCode, Id, Perms, Request, Response, Stat};
use storage::{ChangeEvent, ChangeKind, CommandOp, TreeConfig};

fn events(evs: &[ChangeEvent]) -> Vec<(i64, String, ChangeKind)> {
    evs.iter()
        .map(|e| (e.zxid, e.path.clone(), e.kind))
        .collect()
}

fn stat_of(h: &Harness, path: &str) -> Stat {
    h.tree
        .exists(path, &[], true)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn fresh_tree_matches_a_new_zookeeper() {
    let h = Harness::new();
    let root = h.tree.get_children2("/", &[]).expect("root");
    assert_eq!(root.children, vec!["zookeeper"]);
    assert_eq!(
        root.stat,
        Stat {
            num_children: 1,
            // 2 * creates - children: -1 for a fresh root (golden captures).
            cversion: -1,
            ..Stat::default()
        }
    );
    assert_eq!(
        h.tree.exists("/zookeeper", &[], true).map(|s| s.cversion),
        Ok(-2)
    );
    let zk = h.tree.get_children("/zookeeper", &[]).expect("/zookeeper");
    assert_eq!(zk.children, vec!["config", "quota"]);
    let cfg = h.tree.get_acl("/zookeeper/config", &[]).expect("config");
    assert_eq!(
        cfg.acl,
        vec![Acl {
            perms: Perms::READ.bits(),
            id: Id::new("world", "anyone")
        }]
    );
    assert_eq!(cfg.stat.aversion, -1);
    assert_eq!(
        h.tree.get_data("/", &[]).expect("root").data,
        Some(Bytes::new())
    );
}

#[test]
fn create_sets_every_stat_field_and_touches_the_parent() {
    let mut h = Harness::new();
    let a = h.must_create("/a");
    let z = h.zxid;
    assert_eq!(a.path, "/a");
    assert_eq!(
        a.stat,
        Stat {
            czxid: z,
            mzxid: z,
            ctime: h.time,
            mtime: h.time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: 0,
            data_length: 1,
            num_children: 0,
            pzxid: z
        }
    );
    let root = stat_of(&h, "/");
    assert_eq!(
        (root.cversion, root.pzxid, root.num_children),
        (0, z, 2),
        "2 * 1 create - 2 children"
    );
    // create (op 1) answers with the path only
    let r = h.write(S1, Request::Create(create_req("/b", b"", 0)));
    assert_eq!(
        r,
        Ok(Response::Create(CreateResponse { path: "/b".into() }))
    );
}

#[test]
fn create_error_paths() {
    let mut h = Harness::new();
    h.must_create("/a");
    assert_eq!(h.create("/a", b"", 0), Err(ErrorCode::NodeExists));
    assert_eq!(h.create("/x/y", b"", 0), Err(ErrorCode::NoNode));
    assert_eq!(h.create("/a/", b"", 0), Err(ErrorCode::BadArguments));
    assert_eq!(h.create("a", b"", 0), Err(ErrorCode::BadArguments));
    assert_eq!(h.create("/a/.", b"", 0), Err(ErrorCode::BadArguments));
    assert_eq!(
        h.create("/a", b"", 7),
        Err(ErrorCode::BadArguments),
        "unknown mode"
    );
    let mut no_acl = create_req("/c", b"", 0);
    no_acl.acl.clear();
    assert_eq!(
        h.write(S1, Request::Create2(no_acl)),
        Err(ErrorCode::InvalidAcl)
    );
    // ephemeral parents
    h.create("/e", b"", 1).expect("ephemeral");
    assert_eq!(
        h.create("/e/child", b"", 0),
        Err(ErrorCode::NoChildrenForEphemerals)
    );
    // a closed session cannot write
    h.run(S2, CommandOp::CloseSession);
    assert_eq!(
        h.write(S2, Request::Create2(create_req("/z", b"", 0))),
        Err(ErrorCode::SessionExpired)
    );
}

#[test]
fn sequential_names_come_from_the_parent_cversion() {
    let mut h = Harness::new();
    h.must_create("/q");
    let first = h.create("/q/n-", b"", 2);
    assert!(
        matches!(&first, Ok(Response::Create2(r)) if r.path == "/q/n-0000000000"),
        "{first:?}"
    );
    h.must_create("/q/other");
    let third = h.create("/q/n-", b"", 2);
    assert!(
        matches!(&third, Ok(Response::Create2(r)) if r.path == "/q/n-0000000002"),
        "{third:?}"
    );
    // A trailing slash is fine for a sequential create.
    let bare = h.create("/q/", b"", 2);
    assert!(
        matches!(&bare, Ok(Response::Create2(r)) if r.path == "/q/0000000003"),
        "{bare:?}"
    );
}

#[test]
fn ephemeral_owner_is_the_session_and_close_removes_them() {
    let mut h = Harness::new();
    h.must_create("/p");
    let r = h.write(S2, Request::Create2(create_req("/p/e", b"x", 3)));
    let Ok(Response::Create2(e)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(e.path, "/p/e0000000000");
    assert_eq!(e.stat.ephemeral_owner, S2);
    assert_eq!(
        h.tree.ephemerals(S2, "/"),
        vec!["/p/e0000000000".to_string()]
    );
    let out = h.run(S2, CommandOp::CloseSession);
    assert_eq!(out.result, Ok(Response::Empty));
    assert_eq!(
        events(&out.events),
        vec![
            (h.zxid, "/p/e0000000000".to_string(), ChangeKind::Deleted),
            (h.zxid, "/p".to_string(), ChangeKind::ChildrenChanged),
        ]
    );
    // Delivery is filtered by READ on the deleted node's (open) ACL.
    assert_eq!(&*out.events[0].acl, &[Acl::open()]);
    assert_eq!(
        h.tree.exists("/p/e0000000000", &[], true),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        h.run(S2, CommandOp::CloseSession).result,
        Err(ErrorCode::SessionExpired)
    );
}

#[test]
fn containers_and_ttl_nodes_hide_their_owner_marker() {
    let mut h = Harness::new();
    let r = h.write(S1, Request::CreateContainer(create_req("/c", b"", 4)));
    let Ok(Response::Create2(c)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(c.stat.ephemeral_owner, 0);
    assert_eq!(
        h.tree.node("/c").map(|n| n.stat.ephemeral_owner),
        Some(i64::MIN)
    );
    let ttl = CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: vec![Acl::open()],
        flags: 5,
        ttl: 500,
    };
    let r = h.write(S1, Request::CreateTtl(ttl.clone()));
    let Ok(Response::Create2(t)) = r else {
        panic!("{r:?}")
    };
    assert_eq!((t.stat.ephemeral_owner, t.stat.data_length), (0, 0));
    assert_eq!(
        h.tree.get_data("/t", &[]).map(|d| d.data),
        Ok(None),
        "null data reads back as null"
    );
    assert_eq!(
        h.tree.expirable().cloned().collect::<Vec<_>>(),
        vec!["/c".to_string(), "/t".to_string()]
    );
    // TTL range and mode checks
    for (flags, ttl_ms) in [(5, 0), (5, -3), (5, 1 << 41), (0, 500)] {
        let bad = CreateTtlRequest {
            path: "/t2".into(),
            flags,
            ttl: ttl_ms,
            ..ttl.clone()
        };
        assert_eq!(
            h.write(S1, Request::CreateTtl(bad)),
            Err(ErrorCode::BadArguments),
            "flags {flags} ttl {ttl_ms}"
        );
    }
    // TTL modes through a plain create carry no TTL
    assert_eq!(h.create("/t3", b"", 5), Err(ErrorCode::BadArguments));
    // TTLs are off unless extendedTypesEnabled
    let mut off = Harness::with_config(TreeConfig {
        ttl_enabled: false,
        ..TreeConfig::default()
    });
    assert_eq!(
        off.write(S1, Request::CreateTtl(ttl)),
        Err(ErrorCode::Unimplemented)
    );
}

#[test]
fn delete_paths() {
    let mut h = Harness::new();
    h.must_create("/a");
    h.must_create("/a/b");
    let del = |path: &str, version| {
        Request::Delete(DeleteRequest {
            path: path.into(),
            version,
        })
    };
    assert_eq!(h.write(S1, del("/a", -1)), Err(ErrorCode::NotEmpty));
    assert_eq!(h.write(S1, del("/a/b", 3)), Err(ErrorCode::BadVersion));
    assert_eq!(h.write(S1, del("/a/zz", -1)), Err(ErrorCode::NoNode));
    assert_eq!(h.write(S1, del("/zz/zz", -1)), Err(ErrorCode::NoNode));
    assert_eq!(h.write(S1, del("/", -1)), Err(ErrorCode::BadArguments));
    assert_eq!(
        h.write(S1, del("/zookeeper", -1)),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(
        h.write(S1, del("/zookeeper/config", -1)),
        Err(ErrorCode::BadArguments)
    );
    let before = stat_of(&h, "/a");
    assert_eq!(h.write(S1, del("/a/b", 0)), Ok(Response::Empty));
    let after = stat_of(&h, "/a");
    assert_eq!(after.num_children, 0);
    assert_eq!(after.pzxid, h.zxid);
    assert_eq!(after.cversion, before.cversion + 1);
    assert_eq!(
        after.mzxid, before.mzxid,
        "a child delete is not a data change"
    );
}

#[test]
fn set_data_versions_and_stats() {
    let mut h = Harness::new();
    h.must_create("/a");
    let set = |version, data: Option<&'static [u8]>| {
        Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: data.map(Bytes::from_static),
            version,
        })
    };
    assert_eq!(h.write(S1, set(5, Some(b"x"))), Err(ErrorCode::BadVersion));
    let r = h.write(S1, set(0, Some(b"hello")));
    let Ok(Response::SetData(s)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (
            s.stat.version,
            s.stat.mzxid,
            s.stat.mtime,
            s.stat.data_length
        ),
        (1, h.zxid, h.time, 5)
    );
    assert!(s.stat.czxid < s.stat.mzxid);
    let r = h.write(S1, set(-1, None));
    let Ok(Response::SetData(s)) = r else {
        panic!("{r:?}")
    };
    assert_eq!((s.stat.version, s.stat.data_length), (2, 0));
    assert_eq!(h.tree.get_data("/a", &[]).map(|d| d.data), Ok(None));
    assert_eq!(
        h.write(
            S1,
            Request::SetData(SetDataRequest {
                path: "/nope".into(),
                data: None,
                version: -1
            })
        ),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        h.write(
            S1,
            Request::SetData(SetDataRequest {
                path: "/a//".into(),
                data: None,
                version: -1
            })
        ),
        Err(ErrorCode::BadArguments)
    );
}

#[test]
fn acls_guard_every_write_and_get_acl_masks_digests() {
    let mut h = Harness::new();
    let user = Id::new("digest", storage::acl::digest_id("alice:secret"));
    let mine = vec![
        Acl {
            perms: Perms::ALL.bits(),
            id: user.clone(),
        },
        Acl {
            perms: Perms::READ.bits(),
            id: Id::new("world", "anyone"),
        },
    ];
    let req = CreateRequest {
        path: "/locked".into(),
        data: Some(Bytes::from_static(b"s")),
        acl: mine.clone(),
        flags: 0,
    };
    h.write(S1, Request::Create2(req)).expect("create");
    // Strangers: READ yes, WRITE/CREATE/DELETE/ADMIN no.
    assert!(h.tree.get_data("/locked", &h.auth).is_ok());
    let hidden = vec![Acl {
        perms: Perms::ALL.bits(),
        id: user.clone(),
    }];
    let req = CreateRequest {
        path: "/hidden".into(),
        data: None,
        acl: hidden,
        flags: 0,
    };
    h.write(S1, Request::Create2(req)).expect("create");
    assert_eq!(
        h.tree.get_acl("/hidden", &h.auth).map(|_| ()),
        Err(ErrorCode::NoAuth),
        "getACL needs READ or ADMIN"
    );
    assert_eq!(h.create("/locked/c", b"", 0), Err(ErrorCode::NoAuth));
    let set = Request::SetData(SetDataRequest {
        path: "/locked".into(),
        data: None,
        version: -1,
    });
    assert_eq!(h.write(S1, set.clone()), Err(ErrorCode::NoAuth));
    let set_acl = Request::SetAcl(SetAclRequest {
        path: "/locked".into(),
        acl: vec![Acl::open()],
        version: -1,
    });
    assert_eq!(h.write(S1, set_acl.clone()), Err(ErrorCode::NoAuth));
    let masked = h.tree.get_acl("/locked", &h.auth).expect("getACL");
    assert_eq!(masked.acl[0].id, Id::new("digest", "alice:x"));
    // Alice may do everything; she sees the real digest.
    h.auth.push(user.clone());
    assert_eq!(
        h.tree.get_acl("/locked", &h.auth).expect("getACL").acl,
        mine
    );
    assert!(h.create("/locked/c", b"", 0).is_ok());
    assert!(h.write(S1, set).is_ok());
    let r = h.write(S1, set_acl);
    let Ok(Response::SetAcl(s)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(s.stat.aversion, 1);
    // super can do anything
    h.auth = vec![Id::new("super", "")];
    let lock = Request::SetAcl(SetAclRequest {
        path: "/locked".into(),
        acl: vec![Acl { perms: 0, id: user }],
        version: 1,
    });
    assert!(h.write(S1, lock).is_ok());
    // BADVERSION on aversion
    let stale = Request::SetAcl(SetAclRequest {
        path: "/locked".into(),
        acl: vec![Acl::open()],
        version: 0,
    });
    assert_eq!(h.write(S1, stale), Err(ErrorCode::BadVersion));
    // `auth` with no digest identity is INVALIDACL
    h.auth = vec![Id::new("ip", "127.0.0.1")];
    let auth_acl = CreateRequest {
        path: "/x".into(),
        data: None,
        acl: vec![Acl {
            perms: 31,
            id: Id::new("auth", ""),
        }],
        flags: 0,
    };
    assert_eq!(
        h.write(S1, Request::Create2(auth_acl)),
        Err(ErrorCode::InvalidAcl)
    );
}

#[test]
fn multi_is_all_or_nothing_with_zookeeper_results() {
    let mut h = Harness::new();
    h.must_create("/m");
    let before_root = stat_of(&h, "/");
    let ops = vec![
        Op::Create(create_req("/m/a", b"", 0)),
        Op::Check(CheckVersionRequest {
            path: "/m".into(),
            version: 7,
        }),
        Op::SetData(SetDataRequest {
            path: "/m".into(),
            data: None,
            version: -1,
        }),
    ];
    let out = h.run(S1, CommandOp::Write(Request::Multi(MultiRequest { ops })));
    let codes = |out: &storage::ApplyOutcome| match &out.result {
        Ok(Response::Multi(m)) => m
            .results
            .iter()
            .map(|r| match r {
                OpResult::Error { err } => *err,
                _ => 1,
            })
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes(&out), vec![0, -103, -2]);
    assert!(out.events.is_empty());
    assert_eq!(
        h.tree.exists("/m/a", &[], true),
        Err(ErrorCode::NoNode),
        "rolled back"
    );
    assert_eq!(stat_of(&h, "/m").cversion, 0, "parent rolled back");
    assert_eq!(stat_of(&h, "/"), before_root);

    let ops = vec![
        Op::Create(create_req("/m/a", b"", 0)),
        Op::Create(create_req("/m/s-", b"", 2)),
        Op::Create(create_req("/m/s-", b"", 2)),
        Op::Check(CheckVersionRequest {
            path: "/m/a".into(),
            version: 0,
        }),
        Op::SetData(SetDataRequest {
            path: "/m/a".into(),
            data: Some(Bytes::from_static(b"v")),
            version: 0,
        }),
        Op::Delete(DeleteRequest {
            path: "/m/a".into(),
            version: 1,
        }),
    ];
    let out = h.run(S1, CommandOp::Write(Request::Multi(MultiRequest { ops })));
    let Ok(Response::Multi(m)) = &out.result else {
        panic!("{out:?}")
    };
    assert!(matches!(&m.results[0], OpResult::Create { path } if path == "/m/a"));
    assert!(matches!(&m.results[1], OpResult::Create { path } if path == "/m/s-0000000001"));
    assert!(matches!(&m.results[2], OpResult::Create { path } if path == "/m/s-0000000002"));
    assert!(matches!(m.results[3], OpResult::Check));
    assert!(matches!(&m.results[4], OpResult::SetData { stat } if stat.version == 1));
    assert!(matches!(m.results[5], OpResult::Delete));
    assert_eq!(
        out.events
            .iter()
            .filter(|e| e.kind == ChangeKind::Created)
            .count(),
        3
    );
    assert!(
        out.events.iter().all(|e| e.zxid == h.zxid),
        "one zxid for the whole multi"
    );
    assert_eq!(
        h.tree.get_children("/m", &[]).map(|c| c.children),
        Ok(vec!["s-0000000001".into(), "s-0000000002".into()])
    );

    // A read inside a write multi fails the whole request.
    let ops = vec![Op::GetData(GetDataRequest {
        path: "/m".into(),
        watch: false,
    })];
    let out = h.run(S1, CommandOp::Write(Request::Multi(MultiRequest { ops })));
    assert_eq!(out.result, Err(ErrorCode::MarshallingError));

    // A delete that fails after a create of a sibling restores both.
    h.must_create("/m/keep");
    let ops = vec![
        Op::Delete(DeleteRequest {
            path: "/m/keep".into(),
            version: -1,
        }),
        Op::Create(create_req("/m/keep", b"again", 0)),
        Op::Delete(DeleteRequest {
            path: "/m/none".into(),
            version: -1,
        }),
    ];
    let before = h.tree.get_data("/m/keep", &[]).expect("keep");
    let out = h.run(S1, CommandOp::Write(Request::Multi(MultiRequest { ops })));
    assert_eq!(codes(&out), vec![0, 0, -101]);
    assert_eq!(h.tree.get_data("/m/keep", &[]), Ok(before));
}

#[test]
fn every_command_consumes_a_zxid_and_reads_see_it() {
    let mut h = Harness::new();
    let z0 = h.tree.last_zxid();
    assert_eq!(h.create("/nope/x", b"", 0), Err(ErrorCode::NoNode));
    assert_eq!(h.tree.last_zxid(), z0 + 1);
}

#[test]
fn reads_all_children_number_and_ephemerals() {
    let mut h = Harness::new();
    h.must_create("/r");
    h.must_create("/r/a");
    h.must_create("/r/a/b");
    h.must_create("/r/c");
    assert_eq!(h.tree.all_children_number("/r", &[]), Ok(3));
    assert_eq!(
        h.tree.all_children_number("/missing", &[]),
        Err(ErrorCode::NoNode)
    );
    h.create("/r/e1", b"", 1).expect("e1");
    h.create("/r/a/e2", b"", 1).expect("e2");
    assert_eq!(h.tree.ephemerals(S1, "/r/a"), vec!["/r/a/e2".to_string()]);
    assert_eq!(h.tree.ephemerals(S1, "/").len(), 2);
    assert!(h.tree.ephemerals(S2, "/").is_empty());
}

#[test]
fn delete_container_reaps_only_empty_containers() {
    let mut h = Harness::new();
    h.write(S1, Request::CreateContainer(create_req("/c", b"", 4)))
        .expect("container");
    h.must_create("/plain");
    h.must_create("/c/child");
    assert_eq!(
        h.write(0, Request::DeleteContainer("/c".into())),
        Err(ErrorCode::NotEmpty)
    );
    assert_eq!(
        h.write(0, Request::DeleteContainer("/plain".into())),
        Err(ErrorCode::BadVersion),
        "not a container"
    );
    assert_eq!(
        h.write(S1, Request::DeleteContainer("/c".into())),
        Err(ErrorCode::BadArguments),
        "clients may not send it"
    );
    h.write(
        S1,
        Request::Delete(DeleteRequest {
            path: "/c/child".into(),
            version: -1,
        }),
    )
    .expect("delete child");
    let out = h.run(0, CommandOp::Write(Request::DeleteContainer("/c".into())));
    assert_eq!(out.result, Ok(Response::Empty));
    assert_eq!(
        events(&out.events)[0],
        (h.zxid, "/c".to_string(), ChangeKind::Deleted)
    );
    assert_eq!(h.tree.expirable().count(), 0);
}

#[test]
fn ttl_nodes_expire_only_after_their_ttl_without_changes() {
    let mut h = Harness::new();
    let ttl = CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: vec![Acl::open()],
        flags: 5,
        ttl: 1000,
    };
    h.write(S1, Request::CreateTtl(ttl)).expect("ttl node");
    // The harness advances time by 10 ms per command.
    assert_eq!(
        h.write(0, Request::DeleteContainer("/t".into())),
        Err(ErrorCode::BadVersion),
        "too young"
    );
    h.time += 2000;
    assert_eq!(
        h.write(0, Request::DeleteContainer("/t".into())),
        Ok(Response::Empty)
    );
    // A fresh container that never had a child is not collected.
    h.write(S1, Request::CreateContainer(create_req("/c", b"", 4)))
        .expect("container");
    assert_eq!(
        h.write(0, Request::DeleteContainer("/c".into())),
        Err(ErrorCode::BadVersion)
    );
}

#[test]
fn failed_multi_restores_a_deleted_node_with_its_own_acl() {
    let mut h = Harness::new();
    let acl = vec![Acl {
        perms: (Perms::READ | Perms::WRITE).bits(),
        id: Id::new("world", "anyone"),
    }];
    let req = CreateRequest {
        path: "/only".into(),
        data: Some(Bytes::from_static(b"x")),
        acl: acl.clone(),
        flags: 0,
    };
    h.write(S1, Request::Create2(req)).expect("create");
    let before = h.tree.get_acl("/only", &[]).expect("acl");
    let ops = vec![
        Op::Delete(DeleteRequest {
            path: "/only".into(),
            version: -1,
        }),
        Op::Check(CheckVersionRequest {
            path: "/missing".into(),
            version: -1,
        }),
    ];
    h.write(S1, Request::Multi(MultiRequest { ops }))
        .expect("multi replies");
    assert_eq!(h.tree.get_acl("/only", &[]), Ok(before));
    assert_eq!(
        h.tree.get_data("/only", &[]).map(|d| d.data),
        Ok(Some(Bytes::from_static(b"x")))
    );
}

#[test]
fn events_carry_the_acl_delivery_is_checked_against() {
    let mut h = Harness::new();
    let secret = vec![Acl {
        perms: Perms::ALL.bits(),
        id: Id::new("digest", "bob:x"),
    }];
    let req = CreateRequest {
        path: "/s".into(),
        data: None,
        acl: secret.clone(),
        flags: 0,
    };
    let out = h.run(S1, CommandOp::Write(Request::Create2(req)));
    assert_eq!(
        &*out.events[0].acl,
        secret.as_slice(),
        "NodeCreated: the new node's ACL"
    );
    assert_eq!(
        &*out.events[1].acl,
        &[Acl::open()],
        "NodeChildrenChanged: the parent's ACL"
    );
}

#[test]
fn set_config_replaces_zookeeper_config_as_zookeeper_does() {
    let mut h = Harness::new();
    let text = "server.1=a:1:2:participant\nversion=0";
    let out = h.run(
        0,
        CommandOp::SetConfig {
            version: 0,
            data: Bytes::from_static(text.as_bytes()),
        },
    );
    assert_eq!(
        events(&out.events),
        vec![(
            h.zxid,
            "/zookeeper/config".to_owned(),
            ChangeKind::DataChanged
        )]
    );
    let got = h.tree.get_data("/zookeeper/config", &[]).expect("config");
    assert_eq!(got.data.as_deref(), Some(text.as_bytes()));
    // Answered as ZooKeeper answers `reconfig`: the data and the Stat.
    assert_eq!(out.result, Ok(Response::GetData(got.clone())));
    // Version stays -1, mzxid is the configuration's version, mtime the
    // leader's time (DataTree.setData(CONFIG_NODE, data, -1, version, time)).
    assert_eq!(
        (
            got.stat.version,
            got.stat.mzxid,
            got.stat.mtime,
            got.stat.aversion
        ),
        (-1, 0, h.time, -1)
    );
    // The command survives the log's encoding.
    let cmd = storage::Command {
        time: 5,
        session_id: 0,
        auth: Vec::new(),
        op: CommandOp::SetConfig {
            version: 0x1_0000_0002,
            data: Bytes::from_static(text.as_bytes()),
        },
    };
    let mut buf = bytes::BytesMut::new();
    cmd.encode(&mut buf);
    assert_eq!(buf.len(), cmd.approx_len());
    assert_eq!(storage::Command::decode(&buf).ok(), Some(cmd));
}

#[test]
fn a_reconfig_is_versioned_by_its_own_zxid() {
    let mut h = Harness::new();
    let lines = "server.1=a:1:2:participant\nserver.2=b:1:2:participant\n";
    let out = h.run(
        0,
        CommandOp::SetConfig {
            version: -1,
            data: Bytes::from_static(lines.as_bytes()),
        },
    );
    let got = h.tree.get_data("/zookeeper/config", &[]).expect("config");
    let want = format!("{lines}version={:x}", h.zxid);
    assert_eq!(got.data.as_deref(), Some(want.as_bytes()));
    assert_eq!((got.stat.version, got.stat.mzxid), (-1, h.zxid));
    assert_eq!(out.result, Ok(Response::GetData(got)));
}

#[test]
fn restore_replaces_the_tree_and_keeps_zxids_growing() {
    let mut source = Harness::new();
    source.must_create("/kept");
    source.must_create("/kept/child");
    let mut snapshot = Vec::new();
    storage::snapshot::write(&source.tree, &mut snapshot).expect("snapshot");

    let mut h = Harness::new();
    for _ in 0..20 {
        h.must_create(&format!("/gone{}", h.zxid));
    }
    let before = h.tree.last_zxid();
    // Not a snapshot: nothing changes.
    let out = h.run(
        0,
        CommandOp::Restore {
            snapshot: Bytes::from_static(b"garbage"),
        },
    );
    assert_eq!(out.result, Err(ErrorCode::BadArguments));
    assert!(h.tree.node("/gone1").is_some() || h.tree.node_count() > 20);
    let out = h.run(
        0,
        CommandOp::Restore {
            snapshot: Bytes::from(snapshot),
        },
    );
    assert_eq!(out.result, Ok(Response::Empty));
    assert!(h.tree.last_zxid() > before, "zxids never go back");
    assert!(h.tree.node("/kept/child").is_some());
    assert_eq!(h.tree.node_count(), source.tree.node_count());
    assert!(h.tree.iter_nodes().all(|n| !n.path().starts_with("/gone")));
    assert_eq!(
        h.tree.get_data("/kept", &[]).expect("kept").stat,
        source.tree.get_data("/kept", &[]).expect("kept").stat,
        "the snapshot's Stat"
    );
    // The snapshot's sessions.
    assert_eq!(h.tree.sessions().len(), source.tree.sessions().len());
}

#[test]
fn a_restore_is_stored_whole() {
    use storage::{Durability, Store};
    let mut source = Harness::new();
    source.must_create("/from-snapshot");
    let mut snapshot = Vec::new();
    storage::snapshot::write(&source.tree, &mut snapshot).expect("snapshot");

    let dir = tempfile::tempdir().expect("dir");
    let config = TreeConfig::default();
    let (store, tree) = Store::open(dir.path(), config.clone()).expect("open");
    let mut h = Harness::new();
    h.tree = tree;
    h.open(S1);
    h.must_create("/before-restore");
    store
        .commit(&mut h.tree, Durability::Synced)
        .expect("commit");
    let out = h.run(
        0,
        CommandOp::Restore {
            snapshot: Bytes::from(snapshot),
        },
    );
    assert_eq!(out.result, Ok(Response::Empty));
    store
        .commit(&mut h.tree, Durability::Synced)
        .expect("commit");
    let zxid = h.tree.last_zxid();
    drop(store);
    let (_store, tree) = Store::open(dir.path(), config).expect("reopen");
    assert!(tree.node("/from-snapshot").is_some());
    assert!(tree.node("/before-restore").is_none());
    assert_eq!(tree.last_zxid(), zxid);
    assert_eq!(tree.node_count(), source.tree.node_count());
}
