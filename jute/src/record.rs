//! The [`Decode`] / [`Encode`] traits that every jute type implements, from
//! `int` up to whole requests.

use bytes::BytesMut;

use crate::DecodeError;

/// The result of a jute decoder: the rest of the input and the value.
pub type JResult<'a, T> = nom::IResult<&'a [u8], T, DecodeError>;

/// A jute type that can be read from the wire.
///
/// Decoders are nom `complete` parsers over a whole frame: running out of
/// input is [`DecodeError::Truncated`], never `Incomplete`.
pub trait Decode: Sized {
    /// The fewest bytes one value takes on the wire. Used to bound the
    /// capacity reserved for a vector from the bytes actually present, so a
    /// declared element count never drives an allocation.
    const MIN_WIRE_LEN: usize;

    /// Parses one value from the front of `input`.
    ///
    /// # Errors
    /// [`DecodeError`] when `input` does not start with a valid value.
    fn decode(input: &[u8]) -> JResult<'_, Self>;

    /// Parses one value from `input`, ignoring bytes after it (as ZooKeeper's
    /// `ByteBufferInputStream.byteBuffer2Record` does).
    ///
    /// # Errors
    /// [`DecodeError`] when `input` does not start with a valid value.
    fn decode_from(input: &[u8]) -> Result<Self, DecodeError> {
        Self::decode(input)
            .map(|(_, v)| v)
            .map_err(DecodeError::from)
    }
}

/// A jute type that can be written to the wire.
pub trait Encode {
    /// Appends the wire form of `self` to `buf`.
    fn encode(&self, buf: &mut BytesMut);

    /// The number of bytes [`Encode::encode`] appends.
    fn encoded_len(&self) -> usize;

    /// Encodes into a fresh buffer (for tests and one-off messages).
    fn to_bytes(&self) -> BytesMut {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf
    }
}

/// Two records back to back, e.g. a `ReplyHeader` followed by its body.
impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, buf: &mut BytesMut) {
        self.0.encode(buf);
        self.1.encode(buf);
    }

    fn encoded_len(&self) -> usize {
        self.0.encoded_len() + self.1.encoded_len()
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, buf: &mut BytesMut) {
        (**self).encode(buf);
    }

    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
}

/// Declares a jute record: the struct with its fields in `zookeeper.jute`
/// order, its [`Decode`] and [`Encode`] impls, and (with the `proptest`
/// feature) a proptest `Arbitrary` impl.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        impl $crate::record::Decode for $name {
            const MIN_WIRE_LEN: usize = 0 $( + <$ty as $crate::record::Decode>::MIN_WIRE_LEN )*;

            fn decode(input: &[u8]) -> $crate::record::JResult<'_, Self> {
                $( let (input, $field) = <$ty as $crate::record::Decode>::decode(input)?; )*
                Ok((input, Self { $($field),* }))
            }
        }

        impl $crate::record::Encode for $name {
            fn encode(&self, buf: &mut bytes::BytesMut) {
                $( $crate::record::Encode::encode(&self.$field, buf); )*
                let _ = buf;
            }

            fn encoded_len(&self) -> usize {
                0 $( + $crate::record::Encode::encoded_len(&self.$field) )*
            }
        }

        #[cfg(feature = "proptest")]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;

            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy as _;
                ( $( <$ty as $crate::arbitrary::Field>::strategy(), )* )
                    .prop_map(|( $($field,)* )| Self { $($field),* })
                    .boxed()
            }
        }
    };
}

pub(crate) use record;

/// Bytes written as they are, without a length prefix: a frame body that is
/// passed through undecoded (tools and tests that send malformed or unknown
/// requests on purpose, proxies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Raw(pub bytes::Bytes);

impl Encode for Raw {
    fn encode(&self, buf: &mut BytesMut) {
        bytes::BufMut::put_slice(buf, &self.0);
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }
}
