//! The command line: precedence of file, --set and flags, and usage errors.

use std::io::Write;

use super::tests_broker::assert_names;
use super::*;

fn args(list: &[&str]) -> Result<BrokerConfig, ConfigError> {
    BrokerConfig::from_args(
        std::iter::once("strata")
            .chain(list.iter().copied())
            .map(String::from),
    )
}

#[test]
fn command_line_precedence() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "num.partitions=2\nlog.retention.ms=10\nnode.id=5\nlisteners=PLAINTEXT://127.0.0.1:1000\nlog.dirs=/from/file"
    )
    .unwrap();
    let path = file.path().to_str().unwrap();
    let c = args(&["--config", path]).unwrap();
    assert_eq!((c.num_partitions, c.node_id, c.listen.port()), (2, 5, 1000));
    let c = args(&[
        "--config",
        path,
        "--set",
        "num.partitions=3",
        "--set=node.id=6",
        "--node-id",
        "9",
        "--listen=127.0.0.1:2000",
        "--data-dir",
        "/flag/dir",
        "--advertised-listener",
        "ext.example:3000",
    ])
    .unwrap();
    assert_eq!(c.num_partitions, 3);
    assert_eq!(c.node_id, 9);
    assert_eq!(c.listen, "127.0.0.1:2000".parse().unwrap());
    assert_eq!(
        (c.advertised_host.as_str(), c.advertised_port),
        ("ext.example", 3000)
    );
    assert_eq!(c.data_dir, std::path::PathBuf::from("/flag/dir"));
    assert_eq!(c.log_defaults.retention_ms, 10);
    let origins: Vec<_> = c
        .user_values()
        .map(|(k, v)| (k.to_string(), v.origin))
        .collect();
    assert!(origins.contains(&("num.partitions".into(), Origin::SetFlag)));
    assert!(origins.contains(&("log.retention.ms".into(), Origin::ConfigFile)));
    assert!(origins.contains(&("node.id".into(), Origin::CommandLine)));
    // --set of a key that is invalid names it.
    assert_names(
        args(&["--set", "num.partitions=0"]).unwrap_err(),
        "num.partitions",
        "0",
    );
}

#[test]
fn command_line_errors() {
    assert!(matches!(args(&["--help"]), Err(ConfigError::Help(_))));
    assert!(matches!(args(&["-h"]), Err(ConfigError::Help(_))));
    for bad in [
        &["--bogus"][..],
        &["positional"],
        &["--listen"],
        &["--set", "novalue"],
        &["--listen", "nohostport"],
        &["--data-dir", ""],
    ] {
        match args(bad) {
            Err(ConfigError::Usage(text)) => assert!(text.contains("Usage"), "{text}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(matches!(
        args(&["--node-id", "x"]),
        Err(ConfigError::InvalidValue { .. })
    ));
    assert!(matches!(
        args(&["--config", "/nonexistent/strata/server.properties"]),
        Err(ConfigError::Io { .. })
    ));
}
