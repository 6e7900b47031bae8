//! `storage::apply` micro-benchmarks, per operation, on a tree of 10,000
//! znodes: `setData`, `create` + `delete`, and a `getData`-equivalent read
//! of a node through the tree (`Tree::get_data`). Regressions of the state machine
//! show up here before they do in `zk-load`.
//!
//! `cargo bench -p benches --bench apply`

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jute::proto::{CreateRequest, DeleteRequest, SetDataRequest};
use jute::{Acl, Request};
use storage::{Command, CommandOp, Tree, TreeConfig, apply};

const SESSION: i64 = 0x100;

struct Bench {
    tree: Tree,
    zxid: i64,
}

impl Bench {
    fn run(&mut self, op: CommandOp) {
        self.zxid += 1;
        let cmd = Command {
            time: self.zxid,
            session_id: SESSION,
            auth: Vec::new(),
            op,
        };
        let out = apply(&mut self.tree, &cmd, self.zxid);
        assert!(out.result.is_ok(), "{:?}", out.result);
    }

    fn write(&mut self, req: Request) {
        self.run(CommandOp::Write(req));
    }
}

fn create(path: String, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path,
        data: Some(Bytes::from(vec![b'x'; 100])),
        acl: vec![Acl::open()],
        flags,
    })
}

fn setup() -> Bench {
    let mut b = Bench {
        tree: Tree::new(TreeConfig::default()),
        zxid: 0,
    };
    b.run(CommandOp::CreateSession {
        timeout_ms: 30_000,
        passwd: Bytes::from_static(&[0; 16]),
    });
    b.write(create("/b".into(), 0));
    for d in 0..10 {
        b.write(create(format!("/b/d{d}"), 0));
        for n in 0..1000 {
            b.write(create(format!("/b/d{d}/n{n}"), 0));
        }
    }
    b
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("storage::apply");
    g.throughput(Throughput::Elements(1));
    let mut b = setup();
    let data = Bytes::from(vec![b'y'; 100]);
    g.bench_function("setData", |x| {
        x.iter(|| {
            b.write(Request::SetData(SetDataRequest {
                path: "/b/d5/n500".into(),
                data: Some(data.clone()),
                version: -1,
            }));
        });
    });
    g.bench_function("create + delete", |x| {
        x.iter(|| {
            b.write(create("/b/d3/tmp".into(), 0));
            b.write(Request::Delete(DeleteRequest {
                path: "/b/d3/tmp".into(),
                version: -1,
            }));
        });
    });
    g.bench_function("getData (a read under the lock)", |x| {
        x.iter(|| b.tree.get_data("/b/d7/n700", &[]).is_ok());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
