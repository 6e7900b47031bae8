//! `multi` and `multiRead` framing (`MultiOperationRecord`, `MultiResponse`).
//!
//! ```text
//! request:  ( MultiHeader{type, done=false, err=-1} op-record )*  MultiHeader{-1, true, -1}
//! response: ( MultiHeader{type, done=false, err}    result     )*  MultiHeader{-1, true, -1}
//! ```
//!
//! An error result has type −1, the code in the header's `err`, and an
//! `ErrorResponse{err}` body. In a failed `multi`, ZooKeeper answers the ops
//! before the failed one with `OK` (0), the failed one with its code, and the
//! ops after it with `RUNTIMEINCONSISTENCY` (−2).

use bytes::{Bytes, BytesMut};

use crate::data::Stat;
use crate::proto::header::MultiHeader;
use crate::proto::records::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, GetChildrenRequest,
    GetDataRequest, SetDataRequest,
};
use crate::record::{Decode, Encode, JResult};
use crate::{DecodeError, OpCode};

/// One op of a `multi` (writes and `check`) or `multiRead` (`getData`,
/// `getChildren`) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `create` (1).
    Create(CreateRequest),
    /// `create2` (15).
    Create2(CreateRequest),
    /// `createContainer` (19).
    CreateContainer(CreateRequest),
    /// `createTTL` (21).
    CreateTtl(CreateTtlRequest),
    /// `delete` (2).
    Delete(DeleteRequest),
    /// `setData` (5).
    SetData(SetDataRequest),
    /// `check` (13).
    Check(CheckVersionRequest),
    /// `getChildren` (8), in `multiRead`.
    GetChildren(GetChildrenRequest),
    /// `getData` (4), in `multiRead`.
    GetData(GetDataRequest),
}

impl Op {
    /// The opcode written in this op's `MultiHeader`.
    pub fn opcode(&self) -> OpCode {
        match self {
            Op::Create(_) => OpCode::Create,
            Op::Create2(_) => OpCode::Create2,
            Op::CreateContainer(_) => OpCode::CreateContainer,
            Op::CreateTtl(_) => OpCode::CreateTtl,
            Op::Delete(_) => OpCode::Delete,
            Op::SetData(_) => OpCode::SetData,
            Op::Check(_) => OpCode::Check,
            Op::GetChildren(_) => OpCode::GetChildren,
            Op::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the op acts on.
    pub fn path(&self) -> &str {
        match self {
            Op::Create(r) | Op::Create2(r) | Op::CreateContainer(r) => &r.path,
            Op::CreateTtl(r) => &r.path,
            Op::Delete(r) => &r.path,
            Op::SetData(r) => &r.path,
            Op::Check(r) => &r.path,
            Op::GetChildren(r) => &r.path,
            Op::GetData(r) => &r.path,
        }
    }

    fn body(&self) -> &dyn Encode {
        match self {
            Op::Create(r) | Op::Create2(r) | Op::CreateContainer(r) => r,
            Op::CreateTtl(r) => r,
            Op::Delete(r) => r,
            Op::SetData(r) => r,
            Op::Check(r) => r,
            Op::GetChildren(r) => r,
            Op::GetData(r) => r,
        }
    }

    fn decode_body(op: i32, input: &[u8]) -> JResult<'_, Self> {
        let unexpected = || nom::Err::Failure(DecodeError::UnexpectedOpCode(op));
        let code = OpCode::try_from(op).map_err(|_| unexpected())?;
        Ok(match code {
            OpCode::Create => map(CreateRequest::decode(input)?, Op::Create),
            OpCode::Create2 => map(CreateRequest::decode(input)?, Op::Create2),
            OpCode::CreateContainer => map(CreateRequest::decode(input)?, Op::CreateContainer),
            OpCode::CreateTtl => map(CreateTtlRequest::decode(input)?, Op::CreateTtl),
            OpCode::Delete => map(DeleteRequest::decode(input)?, Op::Delete),
            OpCode::SetData => map(SetDataRequest::decode(input)?, Op::SetData),
            OpCode::Check => map(CheckVersionRequest::decode(input)?, Op::Check),
            OpCode::GetChildren => map(GetChildrenRequest::decode(input)?, Op::GetChildren),
            OpCode::GetData => map(GetDataRequest::decode(input)?, Op::GetData),
            _ => return Err(unexpected()),
        })
    }
}

fn map<T, U>((rest, v): (&[u8], T), f: impl FnOnce(T) -> U) -> (&[u8], U) {
    (rest, f(v))
}

/// The body of `multi` (14) and `multiRead` (22).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    /// The ops, in order.
    pub ops: Vec<Op>,
}

impl Decode for MultiRequest {
    const MIN_WIRE_LEN: usize = 9;

    fn decode(mut input: &[u8]) -> JResult<'_, Self> {
        let mut ops = Vec::new();
        loop {
            let (rest, h) = MultiHeader::decode(input)?;
            if h.done {
                return Ok((rest, MultiRequest { ops }));
            }
            // Each op consumes at least its 9-byte header, so this loop is
            // bounded by the frame length.
            let (rest, op) = Op::decode_body(h.op, rest)?;
            ops.push(op);
            input = rest;
        }
    }
}

impl Encode for MultiRequest {
    fn encode(&self, buf: &mut BytesMut) {
        for op in &self.ops {
            MultiHeader {
                op: op.opcode().into(),
                done: false,
                err: -1,
            }
            .encode(buf);
            op.body().encode(buf);
        }
        MultiHeader::END.encode(buf);
    }

    fn encoded_len(&self) -> usize {
        9 + self
            .ops
            .iter()
            .map(|op| 9 + op.body().encoded_len())
            .sum::<usize>()
    }
}

/// One result of a `multi` / `multiRead` response (`OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// Type 1: `CreateResponse{path}`.
    Create {
        /// The created path.
        path: String,
    },
    /// Type 15: `Create2Response{path, stat}` (also for container and TTL
    /// creates, as ZooKeeper's `CreateResult(path, stat)`).
    Create2 {
        /// The created path.
        path: String,
        /// Its stat.
        stat: Stat,
    },
    /// Type 2: no body.
    Delete,
    /// Type 5: `SetDataResponse{stat}`.
    SetData {
        /// The new stat.
        stat: Stat,
    },
    /// Type 13: no body.
    Check,
    /// Type 8: `GetChildrenResponse{children}`.
    GetChildren {
        /// Child names.
        children: Vec<String>,
    },
    /// Type 4: `GetDataResponse{data, stat}`.
    GetData {
        /// The data; `None` if created null.
        data: Option<Bytes>,
        /// Its stat.
        stat: Stat,
    },
    /// Type −1: `ErrorResponse{err}`, code also in the header.
    Error {
        /// The [`crate::ErrorCode`] value.
        err: i32,
    },
}

impl OpResult {
    fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            OpResult::Create { .. } => (OpCode::Create, 0),
            OpResult::Create2 { .. } => (OpCode::Create2, 0),
            OpResult::Delete => (OpCode::Delete, 0),
            OpResult::SetData { .. } => (OpCode::SetData, 0),
            OpResult::Check => (OpCode::Check, 0),
            OpResult::GetChildren { .. } => (OpCode::GetChildren, 0),
            OpResult::GetData { .. } => (OpCode::GetData, 0),
            OpResult::Error { err } => (OpCode::Error, *err),
        };
        MultiHeader {
            op: op.into(),
            done: false,
            err,
        }
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            OpResult::Create { path } => path.encode(buf),
            OpResult::Create2 { path, stat } => {
                path.encode(buf);
                stat.encode(buf);
            }
            OpResult::Delete | OpResult::Check => {}
            OpResult::SetData { stat } => stat.encode(buf),
            OpResult::GetChildren { children } => children.encode(buf),
            OpResult::GetData { data, stat } => {
                data.encode(buf);
                stat.encode(buf);
            }
            OpResult::Error { err } => err.encode(buf),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            OpResult::Create { path } => path.encoded_len(),
            OpResult::Create2 { path, .. } => path.encoded_len() + 68,
            OpResult::Delete | OpResult::Check => 0,
            OpResult::SetData { .. } => 68,
            OpResult::GetChildren { children } => children.encoded_len(),
            OpResult::GetData { data, .. } => data.encoded_len() + 68,
            OpResult::Error { .. } => 4,
        }
    }

    fn decode_body(op: i32, input: &[u8]) -> JResult<'_, Self> {
        let unexpected = || nom::Err::Failure(DecodeError::UnexpectedOpCode(op));
        let code = OpCode::try_from(op).map_err(|_| unexpected())?;
        Ok(match code {
            OpCode::Create => map(String::decode(input)?, |path| OpResult::Create { path }),
            OpCode::Create2 => {
                let (input, path) = String::decode(input)?;
                map(Stat::decode(input)?, |stat| OpResult::Create2 {
                    path,
                    stat,
                })
            }
            OpCode::Delete => (input, OpResult::Delete),
            OpCode::SetData => map(Stat::decode(input)?, |stat| OpResult::SetData { stat }),
            OpCode::Check => (input, OpResult::Check),
            OpCode::GetChildren => map(<Vec<String>>::decode(input)?, |children| {
                OpResult::GetChildren { children }
            }),
            OpCode::GetData => {
                let (input, data) = <Option<Bytes>>::decode(input)?;
                map(Stat::decode(input)?, |stat| OpResult::GetData {
                    data,
                    stat,
                })
            }
            OpCode::Error => map(i32::decode(input)?, |err| OpResult::Error { err }),
            _ => return Err(unexpected()),
        })
    }
}

/// The body of a `multi` / `multiRead` response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    /// One result per op, in order.
    pub results: Vec<OpResult>,
}

impl Decode for MultiResponse {
    const MIN_WIRE_LEN: usize = 9;

    fn decode(mut input: &[u8]) -> JResult<'_, Self> {
        let mut results = Vec::new();
        loop {
            let (rest, h) = MultiHeader::decode(input)?;
            if h.done {
                return Ok((rest, MultiResponse { results }));
            }
            let (rest, r) = OpResult::decode_body(h.op, rest)?;
            results.push(r);
            input = rest;
        }
    }
}

impl Encode for MultiResponse {
    fn encode(&self, buf: &mut BytesMut) {
        for r in &self.results {
            r.header().encode(buf);
            r.encode_body(buf);
        }
        MultiHeader::END.encode(buf);
    }

    fn encoded_len(&self) -> usize {
        9 + self.results.iter().map(|r| 9 + r.body_len()).sum::<usize>()
    }
}

#[cfg(feature = "proptest")]
mod arbitrary {
    use super::*;
    use crate::arbitrary::Field;
    use proptest::prelude::*;

    impl Arbitrary for Op {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            prop_oneof![
                any::<CreateRequest>().prop_map(Op::Create),
                any::<CreateRequest>().prop_map(Op::Create2),
                any::<CreateRequest>().prop_map(Op::CreateContainer),
                any::<CreateTtlRequest>().prop_map(Op::CreateTtl),
                any::<DeleteRequest>().prop_map(Op::Delete),
                any::<SetDataRequest>().prop_map(Op::SetData),
                any::<CheckVersionRequest>().prop_map(Op::Check),
                any::<GetChildrenRequest>().prop_map(Op::GetChildren),
                any::<GetDataRequest>().prop_map(Op::GetData),
            ]
            .boxed()
        }
    }

    impl Arbitrary for MultiRequest {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            proptest::collection::vec(any::<Op>(), 0..5)
                .prop_map(|ops| MultiRequest { ops })
                .boxed()
        }
    }

    impl Arbitrary for OpResult {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            prop_oneof![
                String::strategy().prop_map(|path| OpResult::Create { path }),
                (String::strategy(), any::<Stat>())
                    .prop_map(|(path, stat)| OpResult::Create2 { path, stat }),
                Just(OpResult::Delete),
                any::<Stat>().prop_map(|stat| OpResult::SetData { stat }),
                Just(OpResult::Check),
                <Vec<String>>::strategy().prop_map(|children| OpResult::GetChildren { children }),
                (<Option<Bytes>>::strategy(), any::<Stat>())
                    .prop_map(|(data, stat)| OpResult::GetData { data, stat }),
                any::<i32>().prop_map(|err| OpResult::Error { err }),
            ]
            .boxed()
        }
    }

    impl Arbitrary for MultiResponse {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            proptest::collection::vec(any::<OpResult>(), 0..5)
                .prop_map(|results| MultiResponse { results })
                .boxed()
        }
    }
}
