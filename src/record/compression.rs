//! Decompression of record batch payloads, always bounded: a stream that would inflate past the
//! limit is rejected, so a small request can never make the broker allocate gigabytes. And
//! compression, for topics whose `compression.type` names a codec.

use std::io::{Read, Write};

use thiserror::Error;

use super::batch::Compression;

#[derive(Debug, Error)]
pub enum DecompressError {
    #[error("{codec} payload inflates past the {limit}-byte limit")]
    TooLarge { codec: &'static str, limit: usize },
    #[error("corrupt {codec} payload: {reason}")]
    Corrupt { codec: &'static str, reason: String },
}

/// Java's snappy-java stream framing ("xerial"), used by the Java client; librdkafka and others
/// send raw snappy. Kafka accepts both.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";

pub fn decompress(
    codec: Compression,
    data: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    let name = codec.name();
    let corrupt = |e: std::io::Error| DecompressError::Corrupt {
        codec: name,
        reason: e.to_string(),
    };
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(data), name, limit)
            .map_err(|e| e.or_corrupt(corrupt)),
        Compression::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), name, limit)
            .map_err(|e| e.or_corrupt(corrupt)),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(data).map_err(corrupt)?;
            read_bounded(dec, name, limit).map_err(|e| e.or_corrupt(corrupt))
        }
        Compression::Snappy => snappy(data, limit),
    }
}

/// A topic's compression.gzip.level / compression.lz4.level / compression.zstd.level (KIP-390).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// -1 is the codec's default (6); otherwise 1 to 9.
    pub gzip: i32,
    /// Not applied: the LZ4 encoder here has one (fast) level; Kafka's default, 9, is also
    /// LZ4's fast mode.
    pub lz4: i32,
    pub zstd: i32,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            gzip: -1,
            lz4: 9,
            zstd: 3,
        }
    }
}

/// snappy-java's block size; Kafka writes snappy in its framing, the one the Java client reads.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compresses a batch payload as Kafka's own writers do. The output of a bounded input is bounded:
/// at most a little more than `data`.
pub fn compress(codec: Compression, data: &[u8], levels: &Levels) -> std::io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let level = match levels.gzip {
                l @ 0..=9 => flate2::Compression::new(l as u32),
                _ => flate2::Compression::default(),
            };
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), level);
            e.write_all(data)?;
            e.finish()
        }
        Compression::Lz4 => {
            // Independent 64 KiB blocks, no checksums: the frame Kafka's LZ4 reader expects.
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2));
            e.write_all(data)?;
            e.finish().map_err(std::io::Error::other)
        }
        Compression::Zstd => zstd::stream::encode_all(data, levels.zstd),
        Compression::Snappy => {
            let mut out = XERIAL_MAGIC.to_vec();
            // The framing's version and compatible version.
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut enc = snap::raw::Encoder::new();
            let mut block = Vec::new();
            for chunk in data.chunks(XERIAL_BLOCK) {
                block.resize(snap::raw::max_compress_len(chunk.len()), 0);
                let n = enc
                    .compress(chunk, &mut block)
                    .map_err(std::io::Error::other)?;
                out.extend_from_slice(&(n as i32).to_be_bytes());
                out.extend_from_slice(&block[..n]);
            }
            Ok(out)
        }
    }
}

enum BoundedError {
    TooLarge(DecompressError),
    Io(std::io::Error),
}

impl BoundedError {
    fn or_corrupt(self, f: impl Fn(std::io::Error) -> DecompressError) -> DecompressError {
        match self {
            BoundedError::TooLarge(e) => e,
            BoundedError::Io(e) => f(e),
        }
    }
}

fn read_bounded(
    reader: impl Read,
    codec: &'static str,
    limit: usize,
) -> Result<Vec<u8>, BoundedError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(BoundedError::Io)?;
    if out.len() > limit {
        return Err(BoundedError::TooLarge(DecompressError::TooLarge {
            codec,
            limit,
        }));
    }
    Ok(out)
}

fn snappy_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), DecompressError> {
    let corrupt = |e: snap::Error| DecompressError::Corrupt {
        codec: "snappy",
        reason: e.to_string(),
    };
    let len = snap::raw::decompress_len(block).map_err(corrupt)?;
    if out.len() + len > limit {
        return Err(DecompressError::TooLarge {
            codec: "snappy",
            limit,
        });
    }
    let start = out.len();
    out.resize(start + len, 0);
    snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(corrupt)?;
    Ok(())
}

fn snappy(data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let Some(mut rest) = data.strip_prefix(XERIAL_MAGIC.as_slice()) else {
        snappy_block(data, &mut out, limit)?;
        return Ok(out);
    };
    let corrupt = |reason: &str| DecompressError::Corrupt {
        codec: "snappy",
        reason: reason.into(),
    };
    // Two i32 version fields follow the magic.
    rest = rest
        .get(8..)
        .ok_or_else(|| corrupt("truncated xerial header"))?;
    while !rest.is_empty() {
        let len_bytes: [u8; 4] = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("truncated block length"))?;
        let len = i32::from_be_bytes(len_bytes);
        if len < 0 {
            return Err(corrupt("negative block length"));
        }
        let block = rest
            .get(4..4 + len as usize)
            .ok_or_else(|| corrupt("truncated block"))?;
        snappy_block(block, &mut out, limit)?;
        rest = &rest[4 + len as usize..];
    }
    Ok(out)
}

#[cfg(test)]
pub mod test_codecs {
    //! Compressors for building test batches in every codec.
    use std::io::Write;

    use super::super::batch::Compression;

    pub fn compress(codec: Compression, data: &[u8]) -> Vec<u8> {
        match codec {
            Compression::None => data.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Snappy => snap::raw::Encoder::new().compress_vec(data).unwrap(),
            Compression::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::stream::encode_all(data, 1).unwrap(),
        }
    }

    /// The Java client's xerial framing around raw snappy blocks.
    pub fn xerial(data: &[u8]) -> Vec<u8> {
        let mut out = super::XERIAL_MAGIC.to_vec();
        out.extend_from_slice(&1i32.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
        for chunk in data.chunks(1000) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            out.extend_from_slice(&(block.len() as i32).to_be_bytes());
            out.extend_from_slice(&block);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_codecs::{compress, xerial};
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn every_codec_round_trips_at_and_below_the_limit() {
        let data: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for c in ALL {
            let z = compress(c, &data);
            assert_eq!(decompress(c, &z, data.len()).unwrap(), data, "{c:?}");
            if c != Compression::None {
                assert!(
                    matches!(
                        decompress(c, &z, data.len() - 1),
                        Err(DecompressError::TooLarge { .. })
                    ),
                    "{c:?} past the limit"
                );
            }
        }
        assert_eq!(
            decompress(Compression::Snappy, &xerial(&data), data.len()).unwrap(),
            data
        );
        assert!(decompress(Compression::Snappy, &xerial(&data), data.len() - 1).is_err());
    }

    #[test]
    fn compress_round_trips_every_codec_and_level() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let levels = [
            Levels::default(),
            Levels {
                gzip: 1,
                lz4: 1,
                zstd: -5,
            },
            Levels {
                gzip: 9,
                lz4: 17,
                zstd: 19,
            },
        ];
        for c in ALL {
            for l in &levels {
                for input in [&data[..], &[][..], &data[..1]] {
                    let z = super::compress(c, input, l).unwrap();
                    assert_eq!(
                        decompress(c, &z, input.len()).unwrap(),
                        input,
                        "{c:?} {l:?}"
                    );
                }
            }
        }
        // Snappy is framed as the Java client writes it, in 32 KiB blocks.
        let z = super::compress(Compression::Snappy, &data, &Levels::default()).unwrap();
        assert!(z.starts_with(XERIAL_MAGIC));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        for c in [
            Compression::Gzip,
            Compression::Lz4,
            Compression::Zstd,
            Compression::Snappy,
        ] {
            let z = compress(c, &zeros);
            assert!(z.len() < zeros.len() / 10);
            assert!(
                matches!(
                    decompress(c, &z, 1 << 20),
                    Err(DecompressError::TooLarge { .. })
                ),
                "{c:?}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for c in ALL {
            for junk in [
                &b""[..],
                b"\x00\x01\x02",
                b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x7f\xff\xff\xff",
            ] {
                let _ = decompress(c, junk, 1 << 20);
            }
        }
    }
}
