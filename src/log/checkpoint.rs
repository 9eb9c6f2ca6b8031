//! Small state files (log start offset, recovery point, leader epochs, clean-shutdown marker):
//! `"STCK" | version u8 | payload length u32 | payload | CRC-32C of all before`, replaced
//! atomically (temp file, fsync, rename, fsync directory). A file that fails its checks is treated
//! as absent by the caller, which then falls back to the safe path (a full scan).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 4] = b"STCK";
const VERSION: u8 = 1;
/// No checkpoint here holds more than a few kilobytes; anything larger is corrupt.
const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

pub fn write(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 13);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The payload, or None when the file is missing or fails any check.
pub fn read(path: &Path) -> Option<Vec<u8>> {
    let bytes = fs::read(path).ok()?;
    if bytes.len() < 13 || &bytes[..4] != MAGIC || bytes[4] != VERSION {
        return None;
    }
    let len = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
    if len > MAX_PAYLOAD || bytes.len() != 9 + len + 4 {
        return None;
    }
    let (body, crc) = bytes.split_at(9 + len);
    let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    (crc32c::crc32c(body) == stored).then(|| body[9..].to_vec())
}

pub fn write_i64(path: &Path, v: i64) -> std::io::Result<()> {
    write(path, &v.to_be_bytes())
}

pub fn read_i64(path: &Path) -> Option<i64> {
    let p = read(path)?;
    let a: [u8; 8] = p.as_slice().try_into().ok()?;
    Some(i64::from_be_bytes(a))
}

/// Leader epochs as (epoch, start offset) pairs.
pub fn write_epochs(path: &Path, epochs: &[(i32, i64)]) -> std::io::Result<()> {
    let mut p = Vec::with_capacity(epochs.len() * 12);
    for (e, o) in epochs {
        p.extend_from_slice(&e.to_be_bytes());
        p.extend_from_slice(&o.to_be_bytes());
    }
    write(path, &p)
}

pub fn read_epochs(path: &Path) -> Option<Vec<(i32, i64)>> {
    let p = read(path)?;
    if !p.len().is_multiple_of(12) {
        return None;
    }
    Some(
        p.chunks_exact(12)
            .map(|c| {
                let e = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                let mut o = [0u8; 8];
                o.copy_from_slice(&c[4..]);
                (e, i64::from_be_bytes(o))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flip_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        write_epochs(&p, &[(0, 0), (3, 100)]).unwrap();
        assert_eq!(read_epochs(&p).unwrap(), vec![(0, 0), (3, 100)]);
        let good = fs::read(&p).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            fs::write(&p, &bad).unwrap();
            assert!(read(&p).is_none(), "flip at {i}");
        }
        fs::write(&p, &good[..good.len() - 1]).unwrap();
        assert!(read(&p).is_none());
        assert!(read(&dir.path().join("missing")).is_none());
    }
}
