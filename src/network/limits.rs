//! Bounds on what one client, and all clients together, can make the broker hold in memory.

/// Every bound the network layer enforces. Each one has a test at the limit and past it.
#[derive(Debug, Clone)]
pub struct NetworkLimits {
    /// `socket.request.max.bytes`: the largest request frame accepted. Checked before allocating.
    pub max_frame_bytes: usize,
    /// `max.connections`: connections above this are closed right after accept.
    pub max_connections: usize,
    /// Requests of one connection being handled or waiting to be written back at once. A client
    /// that pipelines more is simply not read from until responses drain (TCP backpressure).
    pub max_in_flight_per_connection: usize,
    /// Bytes of request frames held by all connections together (`queued.max.request.bytes`).
    /// A frame larger than what is left waits until other requests finish.
    pub max_buffered_request_bytes: usize,
    /// `connections.max.idle.ms`: a connection with no complete request for this long is closed.
    pub idle_timeout_ms: u64,
}

impl Default for NetworkLimits {
    fn default() -> Self {
        NetworkLimits {
            max_frame_bytes: 100 * 1024 * 1024,
            max_connections: 10_000,
            max_in_flight_per_connection: 128,
            max_buffered_request_bytes: 512 * 1024 * 1024,
            idle_timeout_ms: 600_000,
        }
    }
}
