//! The accept loop: bounded connections, and a shutdown that stops accepting, lets in-flight
//! requests finish, then returns so the broker can flush its logs.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tracing::{info, warn};

use super::connection::{self, ConnectionContext};
use super::limits::NetworkLimits;
use crate::broker::Broker;

pub struct Server {
    listener: TcpListener,
    broker: Arc<Broker>,
    limits: Arc<NetworkLimits>,
}

/// How long shutdown waits for connections to finish their in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    pub fn new(listener: TcpListener, broker: Arc<Broker>, limits: NetworkLimits) -> Server {
        Server {
            listener,
            broker,
            limits: Arc::new(limits),
        }
    }

    /// Serves until `stop` resolves, then drains connections.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        // Transactions a crash left prepared get their markers now, not when a client comes.
        self.broker.txns();
        // One permit per open connection. The pool is larger than any bound so that
        // max.connections can be raised at run time; the bound is checked on each accept.
        const CONNECTION_PERMITS: u32 = u32::MAX;
        let connections = Arc::new(Semaphore::new(CONNECTION_PERMITS as usize));
        // A frame is admitted only when the whole of it fits the budget, so the budget must hold
        // at least one maximal frame or such a request would wait forever.
        let budget_bytes = self
            .limits
            .max_buffered_request_bytes
            .max(self.limits.max_frame_bytes)
            .min(Semaphore::MAX_PERMITS);
        let request_bytes = Arc::new(Semaphore::new(budget_bytes));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        tokio::pin!(stop);

        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stop => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let max_connections = self
                .broker
                .with_config(|c| c.run_time_max_connections())
                .unwrap_or(self.limits.max_connections)
                .max(1);
            let open = CONNECTION_PERMITS as usize - connections.available_permits();
            let permit = match connections.clone().try_acquire_owned() {
                Ok(p) if open < max_connections => p,
                _ => {
                    warn!(%peer, max_connections, "max.connections reached; closing new connection");
                    drop(stream);
                    continue;
                }
            };
            let ctx = ConnectionContext {
                broker: self.broker.clone(),
                limits: self.limits.clone(),
                request_bytes: request_bytes.clone(),
                shutdown: shutdown_rx.clone(),
            };
            tokio::spawn(async move {
                connection::serve(stream, peer, ctx).await;
                drop(permit);
            });
        }

        info!("stopped accepting connections; draining in-flight requests");
        let _ = shutdown_tx.send(true);
        self.broker.begin_shutdown();
        if tokio::time::timeout(DRAIN_TIMEOUT, connections.acquire_many(CONNECTION_PERMITS))
            .await
            .is_err()
        {
            warn!("some connections did not finish within the drain timeout");
        }
    }
}
