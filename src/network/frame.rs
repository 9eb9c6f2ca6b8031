//! Length-prefixed frames: a big-endian i32 size, then that many bytes.
//!
//! The size is checked against the limit before any buffer for the body is reserved, so a client
//! announcing a 2 GiB request costs the broker nothing but the four bytes it sent.

use bytes::{Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("frame size {size} is negative or zero")]
    InvalidSize { size: i32 },
    #[error("frame size {size} exceeds socket.request.max.bytes {max}")]
    TooLarge { size: usize, max: usize },
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads the next frame's size. `Ok(None)` on a clean end of stream between frames.
pub async fn read_frame_size<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_frame_bytes: usize,
) -> Result<Option<usize>, FrameError> {
    let mut size_buf = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        let n = reader.read(&mut size_buf[filled..]).await?;
        if n == 0 {
            return if filled == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        filled += n;
    }
    let size = i32::from_be_bytes(size_buf);
    check_frame_size(size, max_frame_bytes).map(Some)
}

/// Validates a frame size against the limit: sizes in `1..=max` pass.
pub fn check_frame_size(size: i32, max_frame_bytes: usize) -> Result<usize, FrameError> {
    if size <= 0 {
        return Err(FrameError::InvalidSize { size });
    }
    let size = size as usize;
    if size > max_frame_bytes {
        return Err(FrameError::TooLarge {
            size,
            max: max_frame_bytes,
        });
    }
    Ok(size)
}

/// Reads a frame body of `size` bytes (already checked by [`check_frame_size`]).
pub async fn read_frame_body<R: AsyncRead + Unpin>(
    reader: &mut R,
    size: usize,
) -> Result<Bytes, FrameError> {
    // Read into uninitialised capacity: zeroing a produce request's megabytes first would cost
    // as much as the read itself. `take` keeps the read inside this frame.
    let mut body = BytesMut::with_capacity(size);
    while body.len() < size {
        let want = (size - body.len()) as u64;
        match (&mut *reader).take(want).read_buf(&mut body).await {
            Ok(0) => return Err(FrameError::Truncated),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FrameError::Truncated)
            }
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_is_inclusive() {
        assert_eq!(check_frame_size(100, 100).unwrap(), 100);
        assert!(matches!(
            check_frame_size(101, 100),
            Err(FrameError::TooLarge {
                size: 101,
                max: 100
            })
        ));
        assert_eq!(check_frame_size(99, 100).unwrap(), 99);
    }

    #[test]
    fn zero_and_negative_sizes_are_rejected() {
        assert!(matches!(
            check_frame_size(0, 100),
            Err(FrameError::InvalidSize { .. })
        ));
        assert!(matches!(
            check_frame_size(-1, 100),
            Err(FrameError::InvalidSize { .. })
        ));
        assert!(matches!(
            check_frame_size(i32::MIN, 100),
            Err(FrameError::InvalidSize { .. })
        ));
    }

    #[tokio::test]
    async fn clean_eof_between_frames_is_none_and_partial_size_is_truncated() {
        let mut empty: &[u8] = &[];
        assert!(read_frame_size(&mut empty, 10).await.unwrap().is_none());
        let mut partial: &[u8] = &[0, 0];
        assert!(matches!(
            read_frame_size(&mut partial, 10).await,
            Err(FrameError::Truncated)
        ));
    }

    #[tokio::test]
    async fn body_shorter_than_announced_is_truncated() {
        let mut short: &[u8] = &[1, 2, 3];
        assert!(matches!(
            read_frame_body(&mut short, 4).await,
            Err(FrameError::Truncated)
        ));
    }
}
