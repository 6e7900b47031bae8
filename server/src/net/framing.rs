//! A connection's frames in and out, with buffers that cost nothing while
//! the connection is idle.
//!
//! tokio-util's `Framed` keeps an 8 KiB read buffer and an 8 KiB write
//! buffer for as long as a connection lives (it never lets them shrink
//! below that): two thirds of what an idle session cost. Here a read goes
//! through a buffer on the stack, and only the bytes of a frame not yet
//! complete are kept on the heap; the write buffer is let go each time it
//! has been written out. Each costs one allocation per read or per flush
//! while busy (a `read`/`write` system call costs far more), nothing while
//! idle.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use futures::Stream;
use jute::{CodecError, Frame, ServerCodec};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes read from the socket at a time (the stack buffer).
const READ_CHUNK: usize = 4096;

/// Encoded bytes after which `feed` writes them out before taking more
/// (as `Framed`'s backpressure boundary).
const WRITE_BOUNDARY: usize = 8192;

/// Frames read from `io`, decoded by a [`ServerCodec`].
pub(crate) struct FrameReader<R> {
    io: R,
    codec: ServerCodec,
    /// The start of a frame not yet complete (empty, without an
    /// allocation, between frames).
    buf: BytesMut,
    eof: bool,
}

impl<R> FrameReader<R> {
    pub(crate) fn new(io: R, codec: ServerCodec) -> Self {
        FrameReader {
            io,
            codec,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The socket, dropping whatever was read but not decoded.
    pub(crate) fn into_inner(self) -> R {
        self.io
    }

    /// The same frames read from another reader of the same connection
    /// (its read half), keeping what was already read.
    pub(crate) fn map_io<T>(self, f: impl FnOnce(R) -> T) -> FrameReader<T> {
        FrameReader {
            io: f(self.io),
            codec: self.codec,
            buf: self.buf,
            eof: self.eof,
        }
    }

    /// A frame decoded from what is buffered, if a whole one is there.
    fn decode(&mut self) -> Result<Option<Frame>, CodecError> {
        let frame = self.codec.decode(&mut self.buf)?;
        if self.buf.is_empty() {
            // Frames split off share the allocation until they are
            // dropped; the reader holds none of it between frames.
            self.buf = BytesMut::new();
        }
        Ok(frame)
    }
}

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<Frame, CodecError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.decode() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            if this.eof {
                return Poll::Ready(if this.buf.is_empty() {
                    None
                } else {
                    // The connection ended inside a frame.
                    let left = std::mem::take(&mut this.buf).len();
                    Some(Err(CodecError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed with {left} bytes of a frame unread"),
                    ))))
                });
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            if let Err(e) = ready!(Pin::new(&mut this.io).poll_read(cx, &mut read)) {
                return Poll::Ready(Some(Err(CodecError::Io(e))));
            }
            if read.filled().is_empty() {
                this.eof = true;
            } else {
                this.buf.extend_from_slice(read.filled());
            }
        }
    }
}

/// Frames encoded by a [`ServerCodec`] and written to `io`.
pub(crate) struct FrameWriter<W> {
    io: W,
    codec: ServerCodec,
    /// Encoded, not yet written (no allocation once written out).
    buf: BytesMut,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub(crate) fn new(io: W, codec: ServerCodec) -> Self {
        FrameWriter {
            io,
            codec,
            buf: BytesMut::new(),
        }
    }

    /// Encodes `item`; writes out what is buffered once it passes 8 KiB.
    pub(crate) async fn feed<T>(&mut self, item: T) -> Result<(), CodecError>
    where
        ServerCodec: Encoder<T, Error = CodecError>,
    {
        self.codec.encode(item, &mut self.buf)?;
        if self.buf.len() >= WRITE_BOUNDARY {
            self.write_out().await?;
        }
        Ok(())
    }

    /// Writes out everything encoded so far and flushes the socket.
    pub(crate) async fn flush(&mut self) -> Result<(), CodecError> {
        self.write_out().await?;
        self.io.flush().await.map_err(CodecError::Io)
    }

    /// Flushes, then shuts the socket's write side down.
    pub(crate) async fn close(&mut self) -> Result<(), CodecError> {
        self.flush().await?;
        self.io.shutdown().await.map_err(CodecError::Io)
    }

    async fn write_out(&mut self) -> Result<(), CodecError> {
        while self.buf.has_remaining() {
            let n = self.io.write(&self.buf).await.map_err(CodecError::Io)?;
            if n == 0 {
                return Err(CodecError::Io(io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
        }
        self.buf = BytesMut::new();
        Ok(())
    }
}
