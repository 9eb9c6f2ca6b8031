//! Producer ids for InitProducerId. Ids are never handed out twice, even across crashes: a block
//! of ids is reserved on disk before any id from it is used.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::ProducerStateError;
use crate::types::ProducerId;

/// Ids reserved per disk write.
pub const BLOCK_SIZE: i64 = 1000;

pub struct ProducerIdAllocator {
    path: PathBuf,
    /// (next id to hand out, end of the reserved block)
    next: Mutex<(i64, i64)>,
}

fn read_block_end(path: &Path) -> Result<i64, ProducerStateError> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
        Ok(bytes) => {
            if bytes.len() != 12 || crc32c::crc32c(&bytes[..8]).to_be_bytes() != bytes[8..] {
                return Err(ProducerStateError::Corrupt(format!(
                    "{} is damaged; refusing to start rather than reuse producer ids",
                    path.display()
                )));
            }
            let mut a = [0u8; 8];
            a.copy_from_slice(&bytes[..8]);
            Ok(i64::from_be_bytes(a))
        }
    }
}

fn write_block_end(path: &Path, end: i64) -> Result<(), ProducerStateError> {
    use std::io::Write;
    let mut bytes = end.to_be_bytes().to_vec();
    bytes.extend_from_slice(&crc32c::crc32c(&bytes).to_be_bytes());
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl ProducerIdAllocator {
    pub fn open(path: &Path) -> Result<Self, ProducerStateError> {
        let end = read_block_end(path)?;
        Ok(ProducerIdAllocator {
            path: path.to_path_buf(),
            next: Mutex::new((end, end)),
        })
    }

    pub fn next(&self) -> Result<ProducerId, ProducerStateError> {
        let mut g = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 >= g.1 {
            let end = g.1 + BLOCK_SIZE;
            write_block_end(&self.path, end)?;
            g.1 = end;
        }
        let id = g.0;
        g.0 += 1;
        Ok(ProducerId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_never_reuses_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("producer-id-block");
        let a = ProducerIdAllocator::open(&path).unwrap();
        let first: Vec<i64> = (0..3).map(|_| a.next().unwrap().0).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(a);
        let b = ProducerIdAllocator::open(&path).unwrap();
        assert!(b.next().unwrap().0 >= BLOCK_SIZE);
        for _ in 0..(BLOCK_SIZE + 5) {
            b.next().unwrap();
        }
        let c = ProducerIdAllocator::open(&path).unwrap();
        assert!(c.next().unwrap().0 >= 3 * BLOCK_SIZE);
    }

    #[test]
    fn damaged_file_stops_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("producer-id-block");
        std::fs::write(&path, b"0123456789ab").unwrap();
        assert!(matches!(
            ProducerIdAllocator::open(&path),
            Err(ProducerStateError::Corrupt(_))
        ));
    }
}
