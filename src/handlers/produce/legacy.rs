//! Produce v0-v2. They are advertised (librdkafka needs them in the range to enable compression)
//! but their message formats (v0/v1) are not stored; every partition is answered with
//! UNSUPPORTED_VERSION, in the response layout of the requested version.
//!
//! The protocol crate no longer decodes these versions, so the few fields needed are read here,
//! each length checked against the bytes left.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;

use crate::handlers::Reply;
use crate::network::codec::RequestPrefix;

struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|s| i16::from_be_bytes([s[0], s[1]]))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.i16()?;
        if n < 0 {
            return Some(&[]);
        }
        self.take(n as usize)
    }
    fn bytes(&mut self) -> Option<()> {
        let n = self.i32()?;
        if n > 0 {
            self.take(n as usize)?;
        }
        Some(())
    }
    /// An array count, bounded by the bytes left (each element takes at least 4 bytes).
    fn count(&mut self) -> Option<usize> {
        let n = self.i32()?;
        if n < 0 {
            return Some(0);
        }
        let n = n as usize;
        (n <= self.b.len() / 4).then_some(n)
    }
}

/// Parses a v0-v2 produce request (after the fixed header prefix) and answers every partition
/// with UNSUPPORTED_VERSION. Undecodable requests close the connection.
pub fn reject(prefix: &RequestPrefix, frame: &Bytes) -> Reply {
    match build(prefix, frame) {
        Some(b) => Reply::Now(b),
        None => Reply::Close,
    }
}

fn build(prefix: &RequestPrefix, frame: &[u8]) -> Option<Bytes> {
    let mut c = Cursor { b: frame.get(8..)? };
    c.string()?; // client id (request header v1)
    let acks = c.i16()?;
    c.i32()?; // timeout
    let mut out = BytesMut::with_capacity(64);
    out.put_i32(0);
    out.put_i32(prefix.correlation_id);
    let topics = c.count()?;
    out.put_i32(topics as i32);
    for _ in 0..topics {
        let name = c.string()?;
        out.put_i16(name.len() as i16);
        out.put_slice(name);
        let parts = c.count()?;
        out.put_i32(parts as i32);
        for _ in 0..parts {
            let index = c.i32()?;
            c.bytes()?;
            out.put_i32(index);
            out.put_i16(ResponseError::UnsupportedVersion.code());
            out.put_i64(-1);
            if prefix.api_version >= 2 {
                out.put_i64(-1);
            }
        }
    }
    if prefix.api_version >= 1 {
        out.put_i32(0); // throttle time
    }
    if acks == 0 {
        return Some(Bytes::new());
    }
    let size = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&size.to_be_bytes());
    Some(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: i16) -> Vec<u8> {
        let mut b = vec![];
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&7i32.to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
        b.extend_from_slice(&1i16.to_be_bytes()); // acks
        b.extend_from_slice(&1000i32.to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes());
        b.push(b't');
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&3i32.to_be_bytes());
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&[9, 9]);
        b
    }

    #[test]
    fn every_partition_gets_unsupported_version() {
        for v in 0..=2 {
            let prefix = RequestPrefix {
                api_key: 0,
                api_version: v,
                correlation_id: 7,
            };
            let out = build(&prefix, &request(v)).unwrap();
            let size = i32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
            assert_eq!(size, out.len() - 4);
            // correlation id, 1 topic "t", 1 partition 3, error 35
            assert_eq!(&out[4..8], &7i32.to_be_bytes());
            let err_at = 4 + 4 + 4 + 2 + 1 + 4 + 4;
            assert_eq!(&out[err_at..err_at + 2], &35i16.to_be_bytes());
        }
    }

    #[test]
    fn truncated_or_lying_counts_are_refused() {
        let full = request(1);
        for cut in 8..full.len() {
            let prefix = RequestPrefix {
                api_key: 0,
                api_version: 1,
                correlation_id: 7,
            };
            assert!(build(&prefix, &full[..cut]).is_none(), "cut at {cut}");
        }
        let mut lying = request(1);
        lying[16..20].copy_from_slice(&i32::MAX.to_be_bytes());
        let prefix = RequestPrefix {
            api_key: 0,
            api_version: 1,
            correlation_id: 7,
        };
        assert!(build(&prefix, &lying).is_none());
    }
}
