//! Helpers shared by the storage tests: a tree with a live session and
//! one-line builders for commands.

#![allow(dead_code)]

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, ErrorCode, Id, Request, Response};
use storage::{ApplyOutcome, Command, CommandOp, Tree, TreeConfig, apply};

pub const S1: i64 = 0x0100_0000_0000_0001;
pub const S2: i64 = 0x0100_0000_0000_0002;

/// A tree, the next zxid, and the time the "leader" stamps.
pub struct Harness {
    pub tree: Tree,
    pub zxid: i64,
    pub time: i64,
    pub auth: Vec<Id>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(TreeConfig {
            ttl_enabled: true,
            ..TreeConfig::default()
        })
    }

    pub fn with_config(config: TreeConfig) -> Self {
        let mut h = Harness {
            tree: Tree::new(config),
            zxid: 0,
            time: 1_000_000,
            auth: vec![Id::new("ip", "127.0.0.1")],
        };
        h.open(S1);
        h.open(S2);
        h
    }

    pub fn run(&mut self, session: i64, op: CommandOp) -> ApplyOutcome {
        self.zxid += 1;
        self.time += 10;
        let cmd = Command {
            time: self.time,
            session_id: session,
            auth: self.auth.clone(),
            op,
        };
        apply(&mut self.tree, &cmd, self.zxid)
    }

    pub fn open(&mut self, session: i64) {
        let out = self.run(
            session,
            CommandOp::CreateSession {
                timeout_ms: 10_000,
                passwd: Bytes::from_static(&[7; 16]),
            },
        );
        assert_eq!(out.result, Ok(Response::Empty));
    }

    pub fn write(&mut self, session: i64, req: Request) -> Result<Response, ErrorCode> {
        self.run(session, CommandOp::Write(req)).result
    }

    pub fn create(&mut self, path: &str, data: &[u8], flags: i32) -> Result<Response, ErrorCode> {
        self.write(S1, Request::Create2(create_req(path, data, flags)))
    }

    pub fn must_create(&mut self, path: &str) -> Create2Response {
        match self.create(path, b"d", 0) {
            Ok(Response::Create2(r)) => r,
            other => panic!("create {path}: {other:?}"),
        }
    }
}

pub fn create_req(path: &str, data: &[u8], flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: vec![Acl::open()],
        flags,
    }
}
