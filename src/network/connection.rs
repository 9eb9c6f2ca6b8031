//! One client connection: read frames, run each request's in-order part, and write responses in
//! request order.
//!
//! Apache Kafka handles one request per connection at a time. Strata keeps that order for
//! everything that changes state (a produce request's append happens before the next request is
//! read) but lets the waiting part of a request (a produce's fsync, a fetch's long poll) overlap
//! with the requests behind it. The writer task awaits those parts in request order, so clients
//! still see responses in the order they asked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::{debug, info_span, Instrument};

use super::codec::{Part, ResponseFrame};
use super::frame::{read_frame_body, read_frame_size, FrameError};
use super::limits::NetworkLimits;
use crate::broker::Broker;
use crate::handlers::{self, Reply};
use crate::types::FileSlice;

/// What the writer task has to send back, in request order.
enum Outgoing {
    Now(ResponseFrame),
    Later(JoinHandle<Option<ResponseFrame>>),
    Close,
}

pub struct ConnectionContext {
    pub broker: Arc<Broker>,
    pub limits: Arc<NetworkLimits>,
    /// Shared budget of buffered request bytes across all connections.
    pub request_bytes: Arc<Semaphore>,
    pub shutdown: watch::Receiver<bool>,
}

pub async fn serve(stream: TcpStream, peer: SocketAddr, ctx: ConnectionContext) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Outgoing>(ctx.limits.max_in_flight_per_connection.max(1));
    let writer_task = tokio::spawn(write_responses(writer, rx));
    let mut shutdown = ctx.shutdown.clone();
    let idle = Duration::from_millis(ctx.limits.idle_timeout_ms.max(1));

    loop {
        let size = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            _ = tx.closed() => break,
            r = tokio::time::timeout(idle, read_frame_size(&mut reader, ctx.limits.max_frame_bytes)) => match r {
                Err(_) => { debug!(%peer, "closing idle connection"); break; }
                Ok(Ok(Some(size))) => size,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => { log_frame_error(peer, &e); break; }
            },
        };
        let Some(permit) = acquire_budget(&ctx.request_bytes, size).await else {
            break;
        };
        let frame = match tokio::time::timeout(idle, read_frame_body(&mut reader, size)).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(e)) => {
                log_frame_error(peer, &e);
                break;
            }
            Err(_) => {
                debug!(%peer, "closing connection stalled inside a frame");
                break;
            }
        };
        let outgoing = handle_frame(&ctx.broker, peer, frame, permit).await;
        let close = matches!(outgoing, Outgoing::Close);
        if tx.send(outgoing).await.is_err() || close {
            break;
        }
    }
    drop(tx);
    let _ = writer_task.await;
}

async fn handle_frame(
    broker: &Arc<Broker>,
    peer: SocketAddr,
    frame: Bytes,
    permit: OwnedSemaphorePermit,
) -> Outgoing {
    let span = info_span!(
        "request",
        api = tracing::field::Empty,
        v = tracing::field::Empty,
        corr = tracing::field::Empty
    );
    match handlers::dispatch(broker, peer, frame)
        .instrument(span.clone())
        .await
    {
        Reply::Now(bytes) => Outgoing::Now(ResponseFrame::from(bytes)),
        Reply::NoResponse => Outgoing::Now(ResponseFrame::from(Bytes::new())),
        Reply::Later(mut fut) => {
            // Most waits are over before they start (data already there for a fetch, nothing to
            // fsync for a produce): answering from here saves a task and two wake-ups.
            let first = std::future::poll_fn(|cx| {
                let _in_request = span.enter();
                std::task::Poll::Ready(fut.as_mut().poll(cx))
            })
            .await;
            if let std::task::Poll::Ready(out) = first {
                drop(permit);
                return match out {
                    Some(frame) => Outgoing::Now(frame),
                    None => Outgoing::Close,
                };
            }
            Outgoing::Later(tokio::spawn(
                async move {
                    let out = fut.await;
                    // The request's bytes (e.g. produced batches) are released only once the
                    // response is built, so the budget covers everything a request pins.
                    drop(permit);
                    out
                }
                .instrument(span),
            ))
        }
        Reply::Close => Outgoing::Close,
    }
}

async fn acquire_budget(budget: &Arc<Semaphore>, size: usize) -> Option<OwnedSemaphorePermit> {
    let permits = u32::try_from(size).ok()?;
    budget.clone().acquire_many_owned(permits).await.ok()
}

async fn write_responses(mut writer: OwnedWriteHalf, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some(out) = rx.recv().await {
        let frame = match out {
            Outgoing::Now(f) => Some(f),
            Outgoing::Later(handle) => match handle.await {
                Ok(Some(f)) => Some(f),
                // A response that cannot be encoded: the client gets a closed connection rather
                // than a wait for an answer that never comes.
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "request task failed; closing connection");
                    break;
                }
            },
            Outgoing::Close => break,
        };
        if let Some(f) = frame {
            if !f.is_empty() && write_frame(&mut writer, &f).await.is_err() {
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}

fn log_frame_error(peer: SocketAddr, e: &FrameError) {
    match e {
        FrameError::Io(_) | FrameError::Truncated => debug!(%peer, error = %e, "connection ended"),
        _ => tracing::warn!(%peer, error = %e, "closing connection after bad frame"),
    }
}

/// Writes a frame's parts in order: runs of buffers with vectored writes, file ranges with
/// `sendfile` straight from the page cache.
async fn write_frame(writer: &mut OwnedWriteHalf, frame: &ResponseFrame) -> std::io::Result<()> {
    let parts = frame.parts();
    let mut i = 0;
    while i < parts.len() {
        let run: Vec<&[u8]> = parts[i..]
            .iter()
            .map_while(|p| match p {
                Part::Bytes(b) => Some(&b[..]),
                Part::File(_) => None,
            })
            .collect();
        i += run.len();
        write_buffers(writer, &run).await?;
        if let Some(Part::File(f)) = parts.get(i) {
            send_file(writer, f).await?;
            i += 1;
        }
    }
    Ok(())
}

async fn send_file(writer: &mut OwnedWriteHalf, slice: &FileSlice) -> std::io::Result<()> {
    let stream: &TcpStream = writer.as_ref();
    let mut position = slice.position;
    let end = slice.position + slice.len as u64;
    while position < end {
        stream.writable().await?;
        let left = (end - position) as usize;
        let sent = stream.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, &*slice.file, Some(&mut position), left)
                .map_err(std::io::Error::from)
        });
        match sent {
            // The file is shorter than the range: the length is already on the wire, so the
            // connection cannot continue.
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes buffers with vectored writes, resuming after partial writes.
async fn write_buffers(writer: &mut OwnedWriteHalf, parts: &[&[u8]]) -> std::io::Result<()> {
    let (mut i, mut offset) = (0usize, 0usize);
    loop {
        // Empty buffers carry nothing and would make a write of zero bytes look like an error.
        while i < parts.len() && parts[i].len() == offset {
            i += 1;
            offset = 0;
        }
        if i >= parts.len() {
            return Ok(());
        }
        let slices: Vec<std::io::IoSlice<'_>> =
            std::iter::once(std::io::IoSlice::new(&parts[i][offset..]))
                .chain(parts[i + 1..].iter().map(|p| std::io::IoSlice::new(p)))
                .take(64)
                .collect();
        let mut n = writer.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && i < parts.len() {
            let left = parts[i].len() - offset;
            if n >= left {
                n -= left;
                i += 1;
                offset = 0;
            } else {
                offset += n;
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::{write_frame, Part, ResponseFrame};
    use crate::types::FileSlice;

    /// Buffers and file ranges reach the peer in order and whole, also when a file range is
    /// larger than the socket buffers and has to wait for the reader.
    #[tokio::test]
    async fn frames_mixing_buffers_and_file_ranges_arrive_in_order() {
        let mut file = tempfile::tempfile().unwrap();
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&content).unwrap();
        let file = Arc::new(file);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let (server, _) = listener.accept().await.unwrap();
        let (_read, mut write) = server.into_split();
        let slice = |position: u64, len: usize| {
            Part::File(FileSlice {
                file: file.clone(),
                position,
                len,
            })
        };
        let frame = ResponseFrame::from_parts(vec![
            Part::Bytes(Bytes::from_static(b"head")),
            slice(10, 2_500_000),
            Part::Bytes(Bytes::new()),
            slice(0, 0),
            Part::Bytes(Bytes::from_static(b"mid")),
            slice(2_999_990, 10),
            Part::Bytes(Bytes::from_static(b"tail")),
        ]);
        write_frame(&mut write, &frame).await.unwrap();
        drop(write);
        let got = client.await.unwrap();
        let mut want = b"head".to_vec();
        want.extend_from_slice(&content[10..2_500_010]);
        want.extend_from_slice(b"mid");
        want.extend_from_slice(&content[2_999_990..]);
        want.extend_from_slice(b"tail");
        assert_eq!(got.len(), want.len());
        assert!(got == want);
        assert_eq!(frame.concat().unwrap(), Bytes::from(want));
    }

    /// A range past the end of its file (a file cut behind the broker's back) fails the write
    /// instead of spinning or sending a short frame silently.
    #[tokio::test]
    async fn a_file_range_past_the_end_of_the_file_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[7u8; 100]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, mut write) = server.into_split();
        let frame = ResponseFrame::from_parts(vec![Part::File(FileSlice {
            file: Arc::new(file),
            position: 50,
            len: 100,
        })]);
        assert!(write_frame(&mut write, &frame).await.is_err());
    }
}
