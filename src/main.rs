//! The `strata` binary: parse configuration, open the data directory, serve until SIGTERM/SIGINT,
//! then flush and exit.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use strata::broker::Broker;
use strata::config::BrokerConfig;
use strata::network::{NetworkLimits, Server};
use tokio::net::TcpListener;
use tracing::{error, info, warn};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let config = match BrokerConfig::from_args(std::env::args()) {
        Ok(c) => c,
        Err(strata::config::ConfigError::Help(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("strata: {e}");
            return ExitCode::from(2);
        }
    };
    let ignored = config.unknown_or_ignored_keys();
    if !ignored.is_empty() {
        warn!(keys = %ignored.join(", "), "configuration keys not used by Strata");
    }
    for w in config.warnings() {
        warn!("{w}");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("strata: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(mut config: BrokerConfig) -> ExitCode {
    let listen = config.listen;
    let limits = NetworkLimits {
        max_frame_bytes: config.socket_request_max_bytes.max(1) as usize,
        max_connections: config.max_connections,
        max_in_flight_per_connection: config.max_in_flight_per_connection(),
        idle_timeout_ms: config.connections_max_idle_ms,
        ..NetworkLimits::default()
    };
    let retention_every = Duration::from_millis(config.log_retention_check_interval_ms.max(1000));

    let started = std::time::Instant::now();
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            error!(%listen, error = %e, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    // Port 0 asks the OS for a free port; clients must be told the real one.
    if config.advertised_port == 0 {
        if let Ok(addr) = listener.local_addr() {
            config.advertised_port = addr.port();
        }
    }
    let broker = match Broker::open(config) {
        Ok(b) => b,
        Err(e) => {
            error!(error = %e, "cannot open the data directory");
            return ExitCode::FAILURE;
        }
    };
    info!(
        %listen,
        cluster_id = %broker.cluster_id(),
        node_id = broker.node_id(),
        partitions = broker.all_partitions().len(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Strata is serving"
    );

    spawn_housekeeping(broker.clone(), retention_every);
    Server::new(listener, broker.clone(), limits)
        .run(shutdown_signal())
        .await;

    let errors = broker.flush_all();
    for e in &errors {
        error!(error = %e, "flush at shutdown failed");
    }
    if errors.is_empty() {
        info!("flushed; exiting");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn spawn_housekeeping(broker: Arc<Broker>, retention_every: Duration) {
    let b = broker.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(retention_every);
        loop {
            tick.tick().await;
            let b = b.clone();
            let _ = tokio::task::spawn_blocking(move || b.run_housekeeping()).await;
        }
    });
    let c = broker.clone();
    tokio::spawn(async move {
        // How much of a crashed log recovery has to scan: what was written since the last tick.
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            let c = c.clone();
            let _ = tokio::task::spawn_blocking(move || c.checkpoint_logs()).await;
        }
    });
    tokio::spawn(async move {
        // Interval flushes (log.flush.interval.ms) are checked at this granularity.
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            let b = broker.clone();
            let _ = tokio::task::spawn_blocking(move || b.flush_due()).await;
        }
    });
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!(error = %e, "cannot install SIGTERM handler");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
    }
}
