//! Feeds arbitrary bytes to the server-side frame decoder, as a client
//! connection would deliver them (in chunks), and decodes every request body
//! it yields. The first byte picks the chunk size; the rest is the stream.
//! Any panic, and any allocation the fuzzer's RSS limit catches, is a bug.

#![no_main]

use bytes::BytesMut;
use jute::{ClientCodec, Frame, Request, Response, OpCode, ServerCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);

    let mut codec = ServerCodec::default();
    let mut buf = BytesMut::new();
    'feed: for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Frame::Request { header, body })) => {
                    let _ = Request::decode(header.op, &body);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }

    // The same bytes as a server's replies, decoded by the client side.
    let mut client = ClientCodec::default();
    let mut buf = BytesMut::from(stream);
    while let Ok(Some(jute::ClientFrame::Reply { header, body })) = client.decode(&mut buf) {
        let op = OpCode::try_from(header.xid.rem_euclid(23)).unwrap_or(OpCode::GetData);
        let _ = Response::decode(op, header.err, &body);
    }
});
