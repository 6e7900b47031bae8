//! The jute primitives: `int`, `long`, `boolean`, `ustring`, `buffer` and
//! `vector<T>`, as [`Decode`]/[`Encode`] impls on Rust types.
//!
//! | jute            | Rust                | null (`-1` length)            |
//! |-----------------|---------------------|-------------------------------|
//! | `int`           | `i32`               | —                             |
//! | `long`          | `i64`               | —                             |
//! | `boolean`       | `bool`              | — (any non-zero byte is true) |
//! | `ustring`       | `String`            | read as `""`                  |
//! | `ustring`       | `Option<String>`    | `None`                        |
//! | `buffer`        | `Bytes`             | read as empty                 |
//! | `buffer`        | `Option<Bytes>`     | `None`                        |
//! | `vector<T>`     | `Vec<T>`            | read as empty                 |
//!
//! The non-`Option` forms are used where ZooKeeper treats null and empty the
//! same way (a null path fails validation exactly as an empty one does, a null
//! ACL list is `INVALIDACL` exactly as an empty one is); the `Option` forms
//! where a client can tell the difference (node data created as null reads
//! back as null).
//!
//! Strings are decoded as Java's `new String(bytes, UTF_8)` does: invalid
//! sequences become U+FFFD, never an error.
//!
//! Every length is checked against the bytes left in the frame before
//! anything is allocated.

use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{be_i32, be_i64, be_u8};

use crate::DecodeError;
use crate::record::{Decode, Encode, JResult};

impl Decode for i32 {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        be_i32(input)
    }
}

impl Encode for i32 {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_i32(*self);
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

impl Decode for i64 {
    const MIN_WIRE_LEN: usize = 8;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        be_i64(input)
    }
}

impl Encode for i64 {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_i64(*self);
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

impl Decode for bool {
    const MIN_WIRE_LEN: usize = 1;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        // Java's DataInput.readBoolean: any non-zero byte is true.
        let (input, b) = be_u8(input)?;
        Ok((input, b != 0))
    }
}

impl Encode for bool {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(u8::from(*self));
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

/// Reads a jute `buffer` without copying it: `None` for the `-1` null
/// marker.
///
/// # Errors
/// As [`Option<Bytes>`]'s decoder.
pub fn buffer_ref(input: &[u8]) -> JResult<'_, Option<&[u8]>> {
    length_prefixed(input, "buffer")
}

/// Reads a length-prefixed byte run; `None` for the `-1` null marker.
///
/// The length is checked against the remaining input before slicing, so a
/// declared length of 2^31 fails at once.
fn length_prefixed<'a>(input: &'a [u8], what: &'static str) -> JResult<'a, Option<&'a [u8]>> {
    let (input, len) = be_i32(input)?;
    if len == -1 {
        return Ok((input, None));
    }
    let n = usize::try_from(len)
        .map_err(|_| nom::Err::Failure(DecodeError::InvalidLength { what, len }))?;
    match input.split_at_checked(n) {
        Some((bytes, rest)) => Ok((rest, Some(bytes))),
        None => Err(nom::Err::Failure(DecodeError::InvalidLength { what, len })),
    }
}

/// Writes a jute length. Lengths above `i32::MAX` cannot be represented; a
/// record that large is far beyond any frame limit, so it saturates rather
/// than wrapping to a negative (null) length.
fn put_len(buf: &mut BytesMut, len: usize) {
    buf.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
}

impl Decode for Option<Bytes> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, b) = length_prefixed(input, "buffer")?;
        Ok((input, b.map(Bytes::copy_from_slice)))
    }
}

impl Encode for Option<Bytes> {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            None => buf.put_i32(-1),
            Some(b) => b.encode(buf),
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.as_ref().map_or(0, Bytes::len)
    }
}

impl Decode for Bytes {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, b) = <Option<Bytes>>::decode(input)?;
        Ok((input, b.unwrap_or_default()))
    }
}

impl Encode for Bytes {
    fn encode(&self, buf: &mut BytesMut) {
        put_len(buf, self.len());
        buf.put_slice(self);
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

impl Decode for Option<String> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, b) = length_prefixed(input, "ustring")?;
        Ok((input, b.map(|b| String::from_utf8_lossy(b).into_owned())))
    }
}

impl Encode for Option<String> {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            None => buf.put_i32(-1),
            Some(s) => s.encode(buf),
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.as_ref().map_or(0, String::len)
    }
}

impl Decode for String {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, s) = <Option<String>>::decode(input)?;
        Ok((input, s.unwrap_or_default()))
    }
}

impl Encode for String {
    fn encode(&self, buf: &mut BytesMut) {
        put_len(buf, self.len());
        buf.put_slice(self.as_bytes());
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

impl<T: Decode> Decode for Vec<T> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (mut input, len) = be_i32(input)?;
        if len == -1 {
            return Ok((input, Vec::new()));
        }
        let n = usize::try_from(len).map_err(|_| {
            nom::Err::Failure(DecodeError::InvalidLength {
                what: "vector",
                len,
            })
        })?;
        // Every element takes at least MIN_WIRE_LEN bytes, so a count the
        // remaining input cannot hold is rejected before any reservation.
        let min = T::MIN_WIRE_LEN.max(1);
        if n > input.len() / min {
            return Err(nom::Err::Failure(DecodeError::InvalidLength {
                what: "vector",
                len,
            }));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (rest, item) = T::decode(input)?;
            input = rest;
            out.push(item);
        }
        Ok((input, out))
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, buf: &mut BytesMut) {
        put_len(buf, self.len());
        for item in self {
            item.encode(buf);
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.iter().map(Encode::encoded_len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_buffers_are_distinct_when_optional() {
        let null = <Option<Bytes>>::decode_from(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(null, Ok(None));
        let empty = <Option<Bytes>>::decode_from(&[0, 0, 0, 0]);
        assert_eq!(empty, Ok(Some(Bytes::new())));
        assert_eq!(None::<Bytes>.to_bytes().as_ref(), &[0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn oversized_lengths_fail_without_allocating() {
        // 2^31 - 1 declared bytes, 3 present.
        let r = String::decode_from(&[0x7f, 0xff, 0xff, 0xff, b'a', b'b', b'c']);
        assert_eq!(
            r,
            Err(DecodeError::InvalidLength {
                what: "ustring",
                len: i32::MAX
            })
        );
        // A vector of 2^31 - 1 ints with 8 bytes present.
        let r = <Vec<i32>>::decode_from(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(
            r,
            Err(DecodeError::InvalidLength {
                what: "vector",
                len: i32::MAX
            })
        );
        let r = <Vec<i32>>::decode_from(&[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(
            r,
            Err(DecodeError::InvalidLength {
                what: "vector",
                len: -2
            })
        );
    }

    #[test]
    fn strings_decode_lossily_like_java() {
        let r = String::decode_from(&[0, 0, 0, 2, 0xc3, 0x28]);
        assert_eq!(r.as_deref(), Ok("\u{fffd}("));
    }

    #[test]
    fn truncated_primitives_are_typed_errors() {
        assert_eq!(i64::decode_from(&[0, 0, 0]), Err(DecodeError::Truncated));
        assert_eq!(bool::decode_from(&[]), Err(DecodeError::Truncated));
        assert_eq!(bool::decode_from(&[7]), Ok(true));
    }
}
