//! Request header decoding and response encoding.
//!
//! The first eight bytes of every request are fixed in all header versions (api key, api version,
//! correlation id), so they are read by hand: that is enough to answer or refuse a request whose key
//! or version this broker does not know. Everything else goes through the `kafka-protocol` crate.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use thiserror::Error;

use crate::types::FileSlice;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("request of {0} bytes is too short for a request header")]
    ShortHeader(usize),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("malformed request header: {0}")]
    Header(String),
    #[error("could not encode response: {0}")]
    Encode(String),
}

/// The fixed start of a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

pub fn read_prefix(frame: &[u8]) -> Result<RequestPrefix, CodecError> {
    if frame.len() < 8 {
        return Err(CodecError::ShortHeader(frame.len()));
    }
    Ok(RequestPrefix {
        api_key: i16::from_be_bytes([frame[0], frame[1]]),
        api_version: i16::from_be_bytes([frame[2], frame[3]]),
        correlation_id: i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
    })
}

/// Decodes the full request header for a known api key; `frame` is advanced past it.
pub fn decode_header(
    api_key: ApiKey,
    api_version: i16,
    frame: &mut Bytes,
) -> Result<RequestHeader, CodecError> {
    let header_version = api_key.request_header_version(api_version);
    RequestHeader::decode(frame, header_version).map_err(|e| CodecError::Header(e.to_string()))
}

/// Encodes a response frame: size prefix, response header, body.
pub fn encode_response<M: Encodable>(
    correlation_id: i32,
    header_version: i16,
    body: &M,
    version: i16,
) -> Result<Bytes, CodecError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefix_needs_eight_bytes() {
        assert!(matches!(
            read_prefix(&[0; 7]),
            Err(CodecError::ShortHeader(7))
        ));
        let p = read_prefix(&[0, 18, 0, 3, 0, 0, 0, 42]).unwrap();
        assert_eq!(
            p,
            RequestPrefix {
                api_key: 18,
                api_version: 3,
                correlation_id: 42
            }
        );
    }

    proptest! {
        #[test]
        fn header_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), key in 0i16..80, version in -1i16..20) {
            if let Ok(api_key) = ApiKey::try_from(key) {
                let mut b = Bytes::from(bytes);
                let _ = decode_header(api_key, version, &mut b);
            }
        }
    }
}

/// An encoded response as one or more parts, written to the socket in order: buffers with
/// vectored writes, file ranges with `sendfile`. Large payloads (fetched record batches) stay in
/// their own buffers, or in the page cache, instead of being copied into one.
#[derive(Debug, Clone, Default)]
pub struct ResponseFrame {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub enum Part {
    Bytes(Bytes),
    File(FileSlice),
}

impl Part {
    pub fn len(&self) -> usize {
        match self {
            Part::Bytes(b) => b.len(),
            Part::File(f) => f.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Bytes> for ResponseFrame {
    fn from(b: Bytes) -> Self {
        ResponseFrame {
            parts: vec![Part::Bytes(b)],
        }
    }
}

impl ResponseFrame {
    pub fn from_parts(parts: Vec<Part>) -> Self {
        ResponseFrame { parts }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn len(&self) -> usize {
        self.parts.iter().map(Part::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One contiguous copy, file ranges read in: for tests.
    pub fn concat(&self) -> std::io::Result<Bytes> {
        let mut out = BytesMut::with_capacity(self.len());
        for p in &self.parts {
            match p {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::File(f) => out.extend_from_slice(&f.read()?),
            }
        }
        Ok(out.freeze())
    }
}
