//! Finding and reading ZooKeeper's files: `version-2/snapshot.<zxid>`
//! (optionally `.gz` or `.snappy`, `SnapStream`) and `version-2/log.<zxid>`
//! (`FileTxnLog`), named by the hex zxid they start from
//! (`Util.getZxidFromName`).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ImportError;

/// How a snapshot file is compressed (`SnapStream.StreamMode`, from its
/// name's suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No suffix: the Adler-32 checked stream itself.
    None,
    /// `.gz`: gzip.
    Gzip,
    /// `.snappy`: xerial snappy-java's stream.
    Snappy,
}

/// One of ZooKeeper's files, with the zxid its name gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkFile {
    /// The file.
    pub path: PathBuf,
    /// The zxid in its name.
    pub zxid: i64,
    /// How it is compressed (snapshots only).
    pub compression: Compression,
}

/// ZooKeeper keeps its files in `version-2` under `dataDir` and
/// `dataLogDir`; either the parent or `version-2` itself may be given.
pub fn version_dir(dir: &Path) -> PathBuf {
    let v2 = dir.join("version-2");
    if v2.is_dir() { v2 } else { dir.to_path_buf() }
}

/// The files in `dir` named `<prefix>.<hex zxid>[.<suffix>]`, by zxid
/// (`Util.sortDataDir`), oldest first.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<ZkFile>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ImportError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let (hex, compression) = match rest.split_once('.') {
            None => (rest, Compression::None),
            Some((hex, "gz")) => (hex, Compression::Gzip),
            Some((hex, "snappy")) => (hex, Compression::Snappy),
            Some(_) => continue,
        };
        let Ok(zxid) = u64::from_str_radix(hex, 16) else {
            continue;
        };
        out.push(ZkFile {
            path: entry.path(),
            zxid: zxid as i64,
            compression,
        });
    }
    out.sort_by_key(|f| f.zxid);
    Ok(out)
}

/// ZooKeeper's cheap check before reading a snapshot
/// (`SnapStream.isValidSnapshot`): an uncompressed one must end with its
/// last seal's `"/"` (an int 1 and the byte `/`); a compressed one must
/// start with its format's magic. A snapshot cut short by a crash while it
/// was written fails here without being read.
pub fn looks_complete(file: &ZkFile) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(&file.path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    match file.compression {
        Compression::None => {
            if len < 10 {
                return Err(format!("{len} bytes: too short"));
            }
            let mut tail = [0u8; 5];
            f.seek(SeekFrom::End(-5)).map_err(|e| e.to_string())?;
            f.read_exact(&mut tail).map_err(|e| e.to_string())?;
            if tail != [0, 0, 0, 1, b'/'] {
                return Err("does not end with a seal (cut short?)".into());
            }
        }
        Compression::Gzip | Compression::Snappy => {
            let mut head = [0u8; 8];
            f.read_exact(&mut head).map_err(|e| e.to_string())?;
            let ok = match file.compression {
                Compression::Gzip => head[..2] == [0x1f, 0x8b],
                _ => head == SNAPPY_MAGIC,
            };
            if !ok {
                return Err("no gzip or snappy magic".into());
            }
        }
    }
    Ok(())
}

/// The written part of a transaction log. ZooKeeper preallocates its logs
/// in 64 MiB steps by writing one byte at the end (`FilePadding`), so
/// past the last record the file is a hole that reads as zeros: reading
/// stops at the first hole (`SEEK_HOLE`), which a log's records never
/// span. Where holes are not reported, the whole file is read.
pub fn read_log(file: &ZkFile) -> Result<Vec<u8>, ImportError> {
    let io = |e: std::io::Error| ImportError::io(&file.path, e);
    let mut f = std::fs::File::open(&file.path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    #[cfg(target_os = "linux")]
    let len = rustix::fs::seek(&f, rustix::fs::SeekFrom::Hole(0)).map_or(len, |hole| hole.min(len));
    // The seek moved the file's offset.
    std::io::Seek::rewind(&mut f).map_err(io)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut out).map_err(io)?;
    Ok(out)
}

/// The whole of a file, each half read by a thread of its own: copying a
/// large snapshot out of the page cache takes a tenth of a second.
#[cfg(unix)]
fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path)?;
    let len = usize::try_from(f.metadata()?.len()).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; len];
    let (first, second) = buf.split_at_mut(len / 2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| f.read_exact_at(first, 0));
        let second = f.read_exact_at(second, (len / 2) as u64);
        reader
            .join()
            .map_err(|_| std::io::Error::other("a reader panicked"))??;
        second
    })?;
    Ok(buf)
}

#[cfg(not(unix))]
fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// The whole of `file`, decompressed.
pub fn read(file: &ZkFile) -> Result<Vec<u8>, ImportError> {
    let raw = read_whole(&file.path).map_err(|e| ImportError::io(&file.path, e))?;
    match file.compression {
        Compression::None => Ok(raw),
        Compression::Gzip => {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| ImportError::corrupt(&file.path, 0, format!("gzip: {e}")))?;
            Ok(out)
        }
        Compression::Snappy => unsnappy(&file.path, &raw),
    }
}

/// snappy-java's `SnappyCodec.MAGIC_HEADER`: the stream's first 8 bytes,
/// followed by two ints (version and compatible version).
const SNAPPY_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Decodes snappy-java's `SnappyOutputStream` format: the 16-byte header,
/// then blocks of `[int length][raw snappy block]` (a header may repeat
/// where streams were concatenated, as `SnappyInputStream` allows).
fn unsnappy(path: &Path, raw: &[u8]) -> Result<Vec<u8>, ImportError> {
    if raw.get(..8) != Some(&SNAPPY_MAGIC[..]) {
        return Err(ImportError::corrupt(path, 0, "not a snappy-java stream"));
    }
    let mut out = Vec::with_capacity(raw.len() * 3);
    let mut decoder = snap::raw::Decoder::new();
    let mut pos = 0usize;
    while pos < raw.len() {
        if raw.get(pos..pos + 8) == Some(&SNAPPY_MAGIC[..]) {
            pos += 16;
            continue;
        }
        let len = raw
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| ImportError::corrupt(path, pos as u64, "snappy block cut short"))?;
        let block = raw
            .get(pos + 4..pos + 4 + len)
            .ok_or_else(|| ImportError::corrupt(path, pos as u64, "snappy block cut short"))?;
        let n = snap::raw::decompress_len(block)
            .map_err(|e| ImportError::corrupt(path, pos as u64, format!("snappy: {e}")))?;
        let start = out.len();
        out.resize(start + n, 0);
        decoder
            .decompress(block, &mut out[start..])
            .map_err(|e| ImportError::corrupt(path, pos as u64, format!("snappy: {e}")))?;
        pos += 4 + len;
    }
    Ok(out)
}
