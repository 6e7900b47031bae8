//! Property tests: every record survives `decode(encode(x)) == x`, whole
//! requests and replies survive the opcode dispatch and the frame codecs, and
//! arbitrary bytes never make any decoder panic.

use bytes::BytesMut;
use jute::proto::*;
use jute::*;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn roundtrip<T: Decode + Encode + PartialEq + std::fmt::Debug>(x: &T) -> Result<(), TestCaseError> {
    let bytes = x.to_bytes();
    prop_assert_eq!(
        bytes.len(),
        x.encoded_len(),
        "encoded_len disagrees with encode"
    );
    let (rest, back) = T::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert!(rest.is_empty(), "{} trailing bytes", rest.len());
    prop_assert_eq!(&back, x);
    Ok(())
}

macro_rules! roundtrip_records {
    ($($name:ident: $t:ty),* $(,)?) => {
        proptest! {
            $(
                #[test]
                fn $name(x in any::<$t>()) {
                    roundtrip(&x)?;
                }
            )*
        }
    };
}

roundtrip_records! {
    id: Id,
    acl: Acl,
    stat: Stat,
    stat_persisted: StatPersisted,
    client_info: ClientInfo,
    connect_request: ConnectRequest,
    connect_response: ConnectResponse,
    request_header: RequestHeader,
    reply_header: ReplyHeader,
    multi_header: MultiHeader,
    auth_packet: AuthPacket,
    watcher_event: WatcherEvent,
    set_watches: SetWatches,
    set_watches2: SetWatches2,
    create_request: CreateRequest,
    create_ttl_request: CreateTtlRequest,
    delete_request: DeleteRequest,
    exists_request: ExistsRequest,
    get_data_request: GetDataRequest,
    set_data_request: SetDataRequest,
    get_acl_request: GetAclRequest,
    set_acl_request: SetAclRequest,
    get_children_request: GetChildrenRequest,
    get_children2_request: GetChildren2Request,
    sync_request: SyncRequest,
    check_version_request: CheckVersionRequest,
    reconfig_request: ReconfigRequest,
    check_watches_request: CheckWatchesRequest,
    remove_watches_request: RemoveWatchesRequest,
    get_ephemerals_request: GetEphemeralsRequest,
    get_all_children_number_request: GetAllChildrenNumberRequest,
    add_watch_request: AddWatchRequest,
    get_sasl_request: GetSaslRequest,
    set_sasl_response: SetSaslResponse,
    create_response: CreateResponse,
    create2_response: Create2Response,
    exists_response: ExistsResponse,
    get_data_response: GetDataResponse,
    set_data_response: SetDataResponse,
    get_acl_response: GetAclResponse,
    set_acl_response: SetAclResponse,
    get_children_response: GetChildrenResponse,
    get_children2_response: GetChildren2Response,
    sync_response: SyncResponse,
    get_ephemerals_response: GetEphemeralsResponse,
    get_all_children_number_response: GetAllChildrenNumberResponse,
    who_am_i_response: WhoAmIResponse,
    error_response: ErrorResponse,
    multi_request: MultiRequest,
    multi_response: MultiResponse,
}

/// Every request variant, each built from an arbitrary record.
fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        any::<CreateRequest>().prop_map(Request::Create),
        any::<DeleteRequest>().prop_map(Request::Delete),
        any::<ExistsRequest>().prop_map(Request::Exists),
        any::<GetDataRequest>().prop_map(Request::GetData),
        any::<SetDataRequest>().prop_map(Request::SetData),
        any::<GetAclRequest>().prop_map(Request::GetAcl),
        any::<SetAclRequest>().prop_map(Request::SetAcl),
        any::<GetChildrenRequest>().prop_map(Request::GetChildren),
        any::<SyncRequest>().prop_map(Request::Sync),
        Just(Request::Ping),
        any::<GetChildren2Request>().prop_map(Request::GetChildren2),
        any::<CheckVersionRequest>().prop_map(Request::Check),
        any::<MultiRequest>().prop_map(Request::Multi),
        any::<CreateRequest>().prop_map(Request::Create2),
        any::<ReconfigRequest>().prop_map(Request::Reconfig),
        any::<CheckWatchesRequest>().prop_map(Request::CheckWatches),
        any::<RemoveWatchesRequest>().prop_map(Request::RemoveWatches),
        any::<CreateRequest>().prop_map(Request::CreateContainer),
        "(/[a-z]{1,6}){1,3}".prop_map(Request::DeleteContainer),
        any::<CreateTtlRequest>().prop_map(Request::CreateTtl),
        any::<MultiRequest>().prop_map(Request::MultiRead),
        any::<AuthPacket>().prop_map(Request::Auth),
        any::<SetWatches>().prop_map(Request::SetWatches),
        any::<GetSaslRequest>().prop_map(Request::Sasl),
        any::<GetEphemeralsRequest>().prop_map(Request::GetEphemerals),
        any::<GetAllChildrenNumberRequest>().prop_map(Request::GetAllChildrenNumber),
        any::<SetWatches2>().prop_map(Request::SetWatches2),
        any::<AddWatchRequest>().prop_map(Request::AddWatch),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
    ]
}

/// Every response variant with an opcode that answers with it.
fn any_response() -> impl Strategy<Value = (OpCode, Response)> {
    prop_oneof![
        Just((OpCode::Delete, Response::Empty)),
        any::<CreateResponse>().prop_map(|r| (OpCode::Create, Response::Create(r))),
        any::<Create2Response>().prop_map(|r| (OpCode::Create2, Response::Create2(r))),
        any::<Create2Response>().prop_map(|r| (OpCode::CreateTtl, Response::Create2(r))),
        any::<ExistsResponse>().prop_map(|r| (OpCode::Exists, Response::Exists(r))),
        any::<GetDataResponse>().prop_map(|r| (OpCode::GetData, Response::GetData(r))),
        any::<GetDataResponse>().prop_map(|r| (OpCode::Reconfig, Response::GetData(r))),
        any::<SetDataResponse>().prop_map(|r| (OpCode::SetData, Response::SetData(r))),
        any::<GetAclResponse>().prop_map(|r| (OpCode::GetAcl, Response::GetAcl(r))),
        any::<SetAclResponse>().prop_map(|r| (OpCode::SetAcl, Response::SetAcl(r))),
        any::<GetChildrenResponse>().prop_map(|r| (OpCode::GetChildren, Response::GetChildren(r))),
        any::<GetChildren2Response>()
            .prop_map(|r| (OpCode::GetChildren2, Response::GetChildren2(r))),
        any::<SyncResponse>().prop_map(|r| (OpCode::Sync, Response::Sync(r))),
        any::<MultiResponse>().prop_map(|r| (OpCode::Multi, Response::Multi(r))),
        any::<SetSaslResponse>().prop_map(|r| (OpCode::Sasl, Response::Sasl(r))),
        any::<GetEphemeralsResponse>()
            .prop_map(|r| (OpCode::GetEphemerals, Response::GetEphemerals(r))),
        any::<GetAllChildrenNumberResponse>().prop_map(|r| (
            OpCode::GetAllChildrenNumber,
            Response::GetAllChildrenNumber(r)
        )),
        any::<WhoAmIResponse>().prop_map(|r| (OpCode::WhoAmI, Response::WhoAmI(r))),
        any::<ErrorResponse>().prop_map(|r| (OpCode::AddWatch, Response::AddWatch(r))),
        any::<WatcherEvent>().prop_map(|r| (OpCode::Notification, Response::Notification(r))),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip_through_the_opcode_dispatch(req in any_request()) {
        let body = req.to_bytes();
        prop_assert_eq!(body.len(), req.encoded_len());
        let back = Request::decode(req.opcode().into(), &body);
        prop_assert_eq!(back, Ok(req));
    }

    #[test]
    fn responses_round_trip_through_the_opcode_dispatch((op, rsp) in any_response()) {
        let body = rsp.to_bytes();
        prop_assert_eq!(body.len(), rsp.encoded_len());
        prop_assert_eq!(Response::decode(op, 0, &body), Ok(rsp));
    }

    #[test]
    fn conversations_round_trip_through_both_codecs(
        connect in any::<ConnectRequest>(),
        accept in any::<ConnectResponse>(),
        reqs in proptest::collection::vec((any::<i32>(), any_request()), 0..6),
        rsps in proptest::collection::vec((any::<ReplyHeader>(), any_response()), 0..6),
    ) {
        // client → server
        let mut client = ClientCodec::default();
        let mut wire = BytesMut::new();
        client.encode(&connect, &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (xid, req) in &reqs {
            let header = RequestHeader { xid: *xid, op: req.opcode().into() };
            client.encode((header, req), &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut server = ServerCodec::default();
        // A ConnectRequest whose first 4 bytes spell a four-letter word
        // cannot happen: its length is at most 45 + passwd.
        prop_assert_eq!(server.decode(&mut wire).ok().flatten(), Some(Frame::Connect(connect)));
        for (xid, req) in &reqs {
            match server.decode(&mut wire) {
                Ok(Some(Frame::Request { header, body })) => {
                    prop_assert_eq!(header.xid, *xid);
                    let got = Request::decode(header.op, &body);
                    prop_assert_eq!(got.as_ref(), Ok(req));
                }
                other => prop_assert!(false, "expected a request, got {:?}", other),
            }
        }
        prop_assert!(wire.is_empty());

        // server → client
        let mut wire = BytesMut::new();
        server.encode(&accept, &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (header, (_, rsp)) in &rsps {
            server.encode((header, rsp), &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        prop_assert_eq!(client.decode(&mut wire).ok().flatten(), Some(ClientFrame::Connect(accept)));
        for (header, (op, rsp)) in &rsps {
            match client.decode(&mut wire) {
                Ok(Some(ClientFrame::Reply { header: h, body })) => {
                    prop_assert_eq!(&h, header);
                    // The header's err is arbitrary here; decode as a success
                    // unless the body is empty.
                    let got = Response::decode(*op, 0, &body);
                    prop_assert_eq!(got.as_ref(), Ok(rsp));
                }
                other => prop_assert!(false, "expected a reply, got {:?}", other),
            }
        }
    }

    /// Arbitrary bytes through every decoder: errors are fine, panics are not.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), op in -12i32..110) {
        let _ = Request::decode(op, &bytes);
        if let Ok(code) = OpCode::try_from(op) {
            let _ = Response::decode(code, 0, &bytes);
        }
        let _ = ConnectRequest::decode_from(&bytes);
        let _ = ConnectResponse::decode_from(&bytes);
        let _ = MultiRequest::decode_from(&bytes);
        let _ = MultiResponse::decode_from(&bytes);
        let _ = SetWatches2::decode_from(&bytes);
        let _ = GetAclResponse::decode_from(&bytes);
        for connected in [false, true] {
            let mut server = ServerCodec::default();
            let mut client = ClientCodec::default();
            let mut src = BytesMut::from(&bytes[..]);
            if connected {
                let mut hello = BytesMut::new();
                let _ = ClientCodec::default().encode(ConnectRequest::default(), &mut hello);
                hello.extend_from_slice(&bytes);
                src = hello;
            }
            let mut src2 = src.clone();
            while let Ok(Some(_)) = server.decode(&mut src) {}
            while let Ok(Some(_)) = client.decode(&mut src2) {}
        }
    }
}

/// The same check through a real `FramedRead`, so the tokio-util driver
/// (EOF handling included) is covered too.
#[tokio::test]
async fn framed_read_stops_cleanly_on_garbage() {
    use futures::StreamExt;
    let garbage: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut framed = tokio_util::codec::FramedRead::new(&garbage[..], ServerCodec::default());
    let mut last = None;
    while let Some(item) = framed.next().await {
        let stop = item.is_err();
        last = Some(item);
        if stop {
            break;
        }
    }
    assert!(
        last.is_some_and(|r| r.is_err()),
        "garbage must end in an error, not a hang"
    );
}

#[test]
fn empty_body_with_error_code_is_empty_response() {
    assert_eq!(
        Response::decode(OpCode::GetData, -101, &[]),
        Ok(Response::Empty)
    );
    assert_eq!(
        Response::decode(OpCode::GetData, 0, &[]),
        Err(DecodeError::Truncated)
    );
}
