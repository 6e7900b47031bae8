//! ZooKeeper's transaction logs (`FileTxnLog`):
//!
//! ```text
//! FileHeader { int magic "ZKLG"; int version 2; long dbid 0 }
//! ( long adler32; int len; byte[len] txn; byte 'B' )*
//! zeros                     the preallocated rest of the file
//! ```
//!
//! `txn` is a `TxnHeader`, the record its type names, and from 3.6 a
//! `TxnDigest`. A record of length 0 ends the log (the preallocated zeros,
//! `Util.readTxnBytes`). ZooKeeper also ends the file quietly at a record
//! cut short or without its `'B'`, a crash's torn write; here that is an
//! error naming the file and offset, unless the caller accepts torn tails.
//! A checksum that does not match is an error for both.

use std::path::Path;

use jute::Decode;
use jute::txn::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, CreateTxnV0, DeleteTxn, ErrorTxn, FileHeader, MultiTxn, SetAclTxn, SetDataTxn,
    TXNLOG_MAGIC, TxnDigest, TxnHeader,
};

use super::ImportError;
use super::cursor::Cursor;

/// `ZooDefs.OpCode` values of transactions, by their ZooKeeper names.
#[allow(missing_docs)]
pub mod op {
    pub const ERROR: i32 = -1;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const SET_DATA: i32 = 5;
    pub const SET_ACL: i32 = 7;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
}

/// A transaction's record (`SerializeUtils.deserializeTxn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    /// `create`, `create2` (a V0 create gets `parent_cversion` -1).
    Create(CreateTxn),
    /// `createTTL`
    CreateTtl(CreateTtlTxn),
    /// `createContainer`
    CreateContainer(CreateContainerTxn),
    /// `delete`, `deleteContainer`
    Delete(DeleteTxn),
    /// `setData`, `reconfig`
    SetData(SetDataTxn),
    /// `setACL`
    SetAcl(SetAclTxn),
    /// `check` (in a multi)
    Check(CheckVersionTxn),
    /// `createSession`
    CreateSession(CreateSessionTxn),
    /// `closeSession`, with the ephemerals to delete (3.6+) or without.
    CloseSession(Option<CloseSessionTxn>),
    /// `error`
    Error(ErrorTxn),
    /// `multi`: each sub-transaction's type and record.
    Multi(Vec<(i32, TxnBody)>),
}

/// One transaction of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its header.
    pub header: TxnHeader,
    /// Its record.
    pub body: TxnBody,
    /// The tree's digest after it (3.6+ with `digest.enabled`).
    pub digest: Option<TxnDigest>,
}

/// Where a log's records end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// At the end of the file or at the preallocated zeros.
    Clean,
    /// In a record cut short, or one without its `'B'`: a torn write, at
    /// this offset.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// How it is torn.
        why: String,
    },
}

/// Reads every record of the log in `buf`, handing each to `each` with its
/// offset and size. Stops at the end of the records; a checksum mismatch
/// or an undecodable record is an error.
pub fn read(
    buf: &[u8],
    file: &Path,
    each: &mut dyn FnMut(Entry, u64) -> Result<(), ImportError>,
) -> Result<End, ImportError> {
    read_after(buf, file, i64::MIN, each)
}

/// [`read`], handing over only the transactions after zxid `after`: the
/// records before are checked (checksum, end marker, header) but their
/// bodies not decoded, as a restore passes over what its snapshot holds.
pub fn read_after(
    buf: &[u8],
    file: &Path,
    after: i64,
    each: &mut dyn FnMut(Entry, u64) -> Result<(), ImportError>,
) -> Result<End, ImportError> {
    let mut c = Cursor::new(buf, file);
    let header: FileHeader = c.read("file header")?;
    if header.magic != TXNLOG_MAGIC {
        return Err(ImportError::corrupt(
            file,
            0,
            format!("magic {:#x} is not ZKLG", header.magic),
        ));
    }
    if header.version != 2 {
        return Err(ImportError::Unsupported {
            file: file.to_path_buf(),
            what: format!("log version {} (ZooKeeper 3.x writes 2)", header.version),
        });
    }
    loop {
        let at = c.pos;
        if c.remaining() == 0 {
            return Ok(End::Clean);
        }
        let torn = |why: &str| {
            Ok(End::Torn {
                offset: at as u64,
                why: why.to_owned(),
            })
        };
        if c.remaining() < 12 {
            if buf.get(at..).unwrap_or_default().iter().all(|&b| b == 0) {
                return Ok(End::Clean);
            }
            return torn("the file ends inside a record's checksum or length");
        }
        let crc: i64 = c.read("checksum")?;
        let len: i32 = c.read("length")?;
        if len == 0 || len == -1 {
            // `readTxnBytes`: an empty (or null) record is the end.
            return Ok(End::Clean);
        }
        let Ok(len) = usize::try_from(len) else {
            return Err(ImportError::corrupt(
                file,
                at as u64 + 8,
                format!("record length {len}"),
            ));
        };
        if c.remaining() < len + 1 {
            return torn("the file ends inside a record");
        }
        let bytes = buf.get(c.pos..c.pos + len).unwrap_or_default();
        let marker = buf.get(c.pos + len).copied().unwrap_or(0);
        if marker != b'B' {
            return torn("a record without its end marker 'B'");
        }
        let sum = adler2::adler32_slice(bytes);
        if u64::from(sum) != crc as u64 {
            return Err(ImportError::corrupt(
                file,
                at as u64,
                format!(
                    "record checksum is {sum:#x}, the file says {:#x} (ZooKeeper: CRC check failed)",
                    crc as u64
                ),
            ));
        }
        let corrupt = |why| ImportError::corrupt(file, at as u64 + 12, why);
        c.pos += len + 1;
        let (_, header) = TxnHeader::decode(bytes)
            .map_err(|e| corrupt(format!("txn header: {}", jute::DecodeError::from(e))))?;
        if header.zxid <= after {
            continue;
        }
        each(decode_entry(bytes).map_err(corrupt)?, at as u64)?;
    }
}

/// Decodes one transaction: header, record, optional digest.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, String> {
    let (rest, header) = TxnHeader::decode(bytes)
        .map_err(|e| format!("txn header: {}", jute::DecodeError::from(e)))?;
    let (rest, body) = decode_body(header.txn_type, rest)?;
    let digest = TxnDigest::decode(rest).ok().map(|(_, d)| d);
    Ok(Entry {
        header,
        body,
        digest,
    })
}

fn one<'a, T: Decode>(input: &'a [u8], what: &str) -> Result<(&'a [u8], T), String> {
    T::decode(input).map_err(|e| format!("{what}: {}", jute::DecodeError::from(e)))
}

/// The record of type `t` at the front of `input`, and what follows it.
pub fn decode_body(t: i32, input: &[u8]) -> Result<(&[u8], TxnBody), String> {
    Ok(match t {
        op::CREATE | op::CREATE2 => match CreateTxn::decode(input) {
            Ok((rest, v)) => (rest, TxnBody::Create(v)),
            Err(_) if t == op::CREATE => {
                // A V0 create: no parentCVersion, which -1 stands for.
                let (rest, v0): (_, CreateTxnV0) = one(input, "create txn")?;
                (
                    rest,
                    TxnBody::Create(CreateTxn {
                        path: v0.path,
                        data: v0.data,
                        acl: v0.acl,
                        ephemeral: v0.ephemeral,
                        parent_cversion: -1,
                    }),
                )
            }
            Err(e) => return Err(format!("create txn: {}", jute::DecodeError::from(e))),
        },
        op::CREATE_TTL => {
            let (rest, v) = one(input, "createTTL txn")?;
            (rest, TxnBody::CreateTtl(v))
        }
        op::CREATE_CONTAINER => {
            let (rest, v) = one(input, "createContainer txn")?;
            (rest, TxnBody::CreateContainer(v))
        }
        op::DELETE | op::DELETE_CONTAINER => {
            let (rest, v) = one(input, "delete txn")?;
            (rest, TxnBody::Delete(v))
        }
        op::SET_DATA | op::RECONFIG => {
            let (rest, v) = one(input, "setData txn")?;
            (rest, TxnBody::SetData(v))
        }
        op::SET_ACL => {
            let (rest, v) = one(input, "setACL txn")?;
            (rest, TxnBody::SetAcl(v))
        }
        op::CHECK => {
            let (rest, v) = one(input, "check txn")?;
            (rest, TxnBody::Check(v))
        }
        op::CREATE_SESSION => {
            let (rest, v) = one(input, "createSession txn")?;
            (rest, TxnBody::CreateSession(v))
        }
        op::CLOSE_SESSION => match CloseSessionTxn::decode(input) {
            Ok((rest, v)) => (rest, TxnBody::CloseSession(Some(v))),
            // Before 3.6 a closeSession had no record.
            Err(_) => (input, TxnBody::CloseSession(None)),
        },
        op::ERROR => {
            let (rest, v) = one(input, "error txn")?;
            (rest, TxnBody::Error(v))
        }
        op::MULTI => {
            let (rest, multi): (_, MultiTxn) = one(input, "multi txn")?;
            let mut ops = Vec::with_capacity(multi.txns.len());
            for sub in multi.txns {
                let data = sub.data.unwrap_or_default();
                // `byteBuffer2Record`: bytes after the record are ignored.
                let (_, body) = decode_body(sub.txn_type, &data)?;
                ops.push((sub.txn_type, body));
            }
            (rest, TxnBody::Multi(ops))
        }
        t => return Err(format!("unsupported txn type {t}")),
    })
}
