//! Bounded big-endian reader and writer for the group records. Every length read is checked
//! against the bytes left before anything is allocated, so a corrupt record fails to decode
//! instead of exhausting memory.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::GroupRecordError;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GroupRecordError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(GroupRecordError::Truncated {
                at: self.pos,
                needed: n.saturating_sub(self.remaining()),
            })?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(GroupRecordError::Truncated {
                at: self.pos,
                needed: n,
            })?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GroupRecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, GroupRecordError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, GroupRecordError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, GroupRecordError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(crate) fn uuid(&mut self) -> Result<uuid::Uuid, GroupRecordError> {
        Ok(uuid::Uuid::from_bytes(self.array()?))
    }

    /// A u32 element count, refused when `min_size`-byte elements could not fit in what is left.
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        min_size: usize,
    ) -> Result<usize, GroupRecordError> {
        let n = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        if n > self.remaining() / min_size.max(1) {
            return Err(GroupRecordError::InvalidLength {
                what,
                len: i64::try_from(n).unwrap_or(i64::MAX),
            });
        }
        Ok(n)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, GroupRecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, GroupRecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A string with a u16 length.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, GroupRecordError> {
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| GroupRecordError::InvalidUtf8(what))
    }

    /// An optional string: a presence byte, then the string.
    pub(crate) fn opt_string(
        &mut self,
        what: &'static str,
    ) -> Result<Option<String>, GroupRecordError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string(what).map(Some),
            other => Err(GroupRecordError::InvalidLength {
                what,
                len: i64::from(other),
            }),
        }
    }

    /// Bytes with a u32 length, bounded by what is left.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<Bytes, GroupRecordError> {
        let len = self.u32()?;
        let len = usize::try_from(len).map_err(|_| GroupRecordError::InvalidLength {
            what,
            len: i64::from(len),
        })?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    pub(crate) fn finish(self) -> Result<(), GroupRecordError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(GroupRecordError::TrailingBytes(n)),
        }
    }
}

pub(crate) struct Writer {
    buf: BytesMut,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer {
            buf: BytesMut::new(),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.put_u8(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    pub(crate) fn uuid(&mut self, v: &uuid::Uuid) {
        self.buf.put_slice(v.as_bytes());
    }

    pub(crate) fn count(&mut self, n: usize) {
        self.buf.put_u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// Strings longer than u16::MAX are cut at a character boundary: group ids, topic names and
    /// client ids are far shorter in practice, and a record must never fail to encode.
    pub(crate) fn string(&mut self, s: &str) {
        let mut end = s.len().min(usize::from(u16::MAX));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let cut = s.get(..end).unwrap_or_default();
        self.buf.put_u16(u16::try_from(cut.len()).unwrap_or(0));
        self.buf.put_slice(cut.as_bytes());
    }

    pub(crate) fn opt_string(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.string(s);
            }
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.buf.put_u32(len);
        self.buf.put_slice(b.get(..len as usize).unwrap_or(b));
    }

    pub(crate) fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}
