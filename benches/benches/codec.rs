//! Codec micro-benchmarks: a request frame encoded by the client codec and
//! decoded by the server's (frame, then body), and a reply encoded, per
//! frame. Regressions show up here before they do in `zk-load`.
//!
//! `cargo bench -p benches --bench codec`

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jute::proto::{
    ConnectRequest, CreateRequest, GetDataRequest, GetDataResponse, ReplyHeader, RequestHeader,
    SetDataRequest,
};
use jute::{Acl, ClientCodec, Encode, Request, Response, ServerCodec, Stat};
use tokio_util::codec::{Decoder, Encoder};

fn requests() -> Vec<(&'static str, Request)> {
    let data = Some(Bytes::from(vec![b'x'; 100]));
    vec![
        (
            "getData",
            Request::GetData(GetDataRequest {
                path: "/zk-load/s12".into(),
                watch: false,
            }),
        ),
        (
            "setData",
            Request::SetData(SetDataRequest {
                path: "/zk-load/s12".into(),
                data: data.clone(),
                version: -1,
            }),
        ),
        (
            "create",
            Request::Create(CreateRequest {
                path: "/zk-load/s12/c-".into(),
                data,
                acl: vec![Acl::open()],
                flags: 2,
            }),
        ),
    ]
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("jute");
    g.throughput(Throughput::Elements(1));
    for (name, req) in requests() {
        let header = RequestHeader {
            xid: 7,
            op: req.opcode().into(),
        };
        g.bench_function(format!("encode {name} request"), |b| {
            let mut codec = ClientCodec::default();
            let mut buf = BytesMut::with_capacity(256);
            b.iter(|| {
                buf.clear();
                codec
                    .encode((header.clone(), &req), &mut buf)
                    .expect("encodable");
                buf.len()
            });
        });
        // The server's side: one frame off the wire, then its body.
        let mut wire = BytesMut::new();
        ClientCodec::default()
            .encode((header.clone(), &req), &mut wire)
            .expect("encodable");
        let frame = wire.freeze();
        g.bench_function(format!("decode {name} request"), |b| {
            // A connection past its handshake.
            let mut codec = ServerCodec::new(jute::DEFAULT_MAX_FRAME_LEN);
            let mut hello = BytesMut::new();
            ClientCodec::default()
                .encode(&ConnectRequest::default(), &mut hello)
                .expect("encodable");
            assert!(matches!(
                codec.decode(&mut hello),
                Ok(Some(jute::Frame::Connect(_)))
            ));
            b.iter(|| {
                let mut src = BytesMut::from(&frame[..]);
                match codec.decode(&mut src) {
                    Ok(Some(jute::Frame::Request { header, body })) => {
                        Request::decode(header.op, &body).expect("decodable")
                    }
                    other => panic!("{other:?}"),
                }
            });
        });
    }
    let reply = (
        ReplyHeader {
            xid: 7,
            zxid: 0x1_0000_0042,
            err: 0,
        },
        Response::GetData(GetDataResponse {
            data: Some(Bytes::from(vec![b'x'; 100])),
            stat: Stat::default(),
        }),
    );
    g.bench_function("encode getData reply", |b| {
        let mut buf = BytesMut::with_capacity(256);
        b.iter(|| {
            buf.clear();
            reply.0.encode(&mut buf);
            reply.1.encode(&mut buf);
            buf.len()
        });
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
