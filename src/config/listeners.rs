//! Kafka listener strings (`NAME://host:port,...`), the listener-to-protocol map, and the choice
//! of the one plaintext client listener Strata serves.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use super::error::ConfigError;

/// One `NAME://host:port` entry. An empty host means every interface, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// Splits `host:port`, `[v6]:port` or `:port`.
pub(crate) fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']')?,
        None => host,
    };
    Some((host.to_string(), port))
}

/// Parses a comma-separated listener list, naming `key` in errors.
pub(crate) fn parse_endpoints(key: &str, raw: &str) -> Result<Vec<Endpoint>, ConfigError> {
    let mut out: Vec<Endpoint> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |reason: &str| ConfigError::invalid(key, raw, format!("{item}: {reason}"));
        let (name, rest) = item
            .split_once("://")
            .ok_or_else(|| bad("expected NAME://host:port"))?;
        if name.is_empty() {
            return Err(bad("missing listener name"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("expected host:port"))?;
        // Kafka compares listener names case-insensitively by upper-casing them.
        let name = name.to_ascii_uppercase();
        if out.iter().any(|e| e.name == name) {
            return Err(bad("each listener must have a different name"));
        }
        out.push(Endpoint { name, host, port });
    }
    Ok(out)
}

/// Parses `listener.security.protocol.map` into (listener name, protocol) pairs.
pub(crate) fn parse_protocol_map(raw: &str) -> Result<Vec<(String, String)>, ConfigError> {
    const KEY: &str = "listener.security.protocol.map";
    const PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
    let mut out = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, protocol) = item.split_once(':').ok_or_else(|| {
            ConfigError::invalid(KEY, raw, format!("{item}: expected NAME:PROTOCOL"))
        })?;
        let protocol = protocol.trim().to_ascii_uppercase();
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return Err(ConfigError::invalid(
                KEY,
                raw,
                format!("unknown security protocol {protocol}"),
            ));
        }
        out.push((name.trim().to_ascii_uppercase(), protocol));
    }
    Ok(out)
}

/// Picks the listener to serve: the first non-controller listener. It must map to PLAINTEXT, the
/// only protocol Strata speaks; other client listeners are reported, controller ones skipped.
pub(crate) fn choose_listener(
    listeners_raw: &str,
    endpoints: &[Endpoint],
    protocols: &[(String, String)],
    controller_names: &[String],
    warnings: &mut Vec<String>,
) -> Result<Endpoint, ConfigError> {
    let mut chosen: Option<Endpoint> = None;
    for e in endpoints {
        if controller_names.contains(&e.name) {
            warnings.push(format!(
                "listener {} is a controller listener (controller.listener.names) and is not served: Strata runs without a controller quorum",
                e.name
            ));
            continue;
        }
        let protocol = protocols
            .iter()
            .find(|(n, _)| *n == e.name)
            .map(|(_, p)| p.as_str())
            .ok_or_else(|| {
                ConfigError::invalid(
                    "listeners",
                    listeners_raw,
                    format!(
                        "listener {} has no entry in listener.security.protocol.map",
                        e.name
                    ),
                )
            })?;
        if protocol != "PLAINTEXT" {
            return Err(ConfigError::invalid(
                "listeners",
                listeners_raw,
                format!(
                    "listener {} uses security protocol {protocol}; only PLAINTEXT is supported",
                    e.name
                ),
            ));
        }
        if chosen.is_some() {
            warnings.push(format!(
                "listener {} is not served: Strata serves one listener",
                e.name
            ));
        } else {
            chosen = Some(e.clone());
        }
    }
    chosen.ok_or_else(|| {
        ConfigError::invalid("listeners", listeners_raw, "no PLAINTEXT client listener")
    })
}

/// The address to bind for `endpoint`. Host names are resolved once, here, so a typo stops
/// start-up with the key named rather than failing later at bind time.
pub(crate) fn bind_address(key: &str, raw: &str, e: &Endpoint) -> Result<SocketAddr, ConfigError> {
    if e.host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), e.port));
    }
    if let Ok(ip) = e.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, e.port));
    }
    (e.host.as_str(), e.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| ConfigError::invalid(key, raw, format!("cannot resolve host {}", e.host)))
}

/// True for 0.0.0.0, :: and the empty host, which clients cannot connect to.
pub(crate) fn is_meta_address(host: &str) -> bool {
    host.is_empty() || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Vec<(String, String)> {
        parse_protocol_map(super::super::broker_keys::DEFAULT_PROTOCOL_MAP).unwrap()
    }

    #[test]
    fn endpoint_forms() {
        let e = parse_endpoints(
            "listeners",
            "PLAINTEXT://0.0.0.0:9092, plaintext2://:9093,X://[::1]:0",
        )
        .unwrap();
        assert_eq!(
            e[0],
            Endpoint {
                name: "PLAINTEXT".into(),
                host: "0.0.0.0".into(),
                port: 9092
            }
        );
        assert_eq!(
            e[1],
            Endpoint {
                name: "PLAINTEXT2".into(),
                host: String::new(),
                port: 9093
            }
        );
        assert_eq!(
            e[2],
            Endpoint {
                name: "X".into(),
                host: "::1".into(),
                port: 0
            }
        );
        for bad in [
            "0.0.0.0:9092",
            "PLAINTEXT://host",
            "PLAINTEXT://h:65536",
            "://h:1",
            "A://h:1,A://h:2",
        ] {
            let err = parse_endpoints("listeners", bad).unwrap_err().to_string();
            assert!(err.contains("listeners"), "{err}");
        }
    }

    #[test]
    fn only_plaintext_is_served_and_controllers_are_skipped() {
        let mut w = Vec::new();
        let e = parse_endpoints("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093").unwrap();
        let mut map = plain();
        map.push(("CONTROLLER".into(), "PLAINTEXT".into()));
        let chosen = choose_listener("", &e, &map, &["CONTROLLER".into()], &mut w).unwrap();
        assert_eq!(chosen.port, 9092);
        assert_eq!(w.len(), 1);

        let e = parse_endpoints("listeners", "SSL://:9093").unwrap();
        let err = choose_listener("SSL://:9093", &e, &plain(), &[], &mut w).unwrap_err();
        assert!(err.to_string().contains("listeners") && err.to_string().contains("SSL"));

        let e = parse_endpoints("listeners", "INTERNAL://:9093").unwrap();
        assert!(choose_listener("", &e, &plain(), &[], &mut w).is_err());
        assert!(parse_protocol_map("A:KERBEROS").is_err());
    }

    #[test]
    fn bind_addresses() {
        let e = |host: &str| Endpoint {
            name: "P".into(),
            host: host.into(),
            port: 1,
        };
        assert_eq!(
            bind_address("k", "", &e("")).unwrap(),
            "0.0.0.0:1".parse().unwrap()
        );
        assert_eq!(
            bind_address("k", "", &e("::1")).unwrap(),
            "[::1]:1".parse().unwrap()
        );
        assert!(bind_address("k", "", &e("localhost"))
            .unwrap()
            .ip()
            .is_loopback());
        assert!(is_meta_address("0.0.0.0") && is_meta_address("::") && !is_meta_address("h"));
        assert_eq!(split_host_port("[::1]:5"), Some(("::1".into(), 5)));
        assert_eq!(split_host_port(":5"), Some((String::new(), 5)));
        assert_eq!(split_host_port("h"), None);
    }
}
