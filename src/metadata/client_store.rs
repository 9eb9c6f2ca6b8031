//! The file holding client quotas and SCRAM credentials, `<data dir>/client-quotas-and-credentials`:
//! rewritten whole on each change, atomically and checksummed like `cluster-metadata`.
//!
//! ```text
//! strata-clients 1
//! quota <key> <value> <type> <name> [<type> <name>]...   (name `~`: the default entity)
//! scram <user> <mechanism 1|2> <iterations> <salt hex> <stored key hex> <server key hex>
//! crc32c <8 hex digits>
//! ```
//! Names and keys are %-escaped (see `store::escape`); values print as Rust's shortest
//! round-tripping decimal form.

use super::client_quotas::{ClientQuotas, QuotaEntity};
use super::scram::{Credential, Mechanism, ScramCredentials};
use super::store::{escape, seal, unescape, unseal};

pub const FILE_NAME: &str = "client-quotas-and-credentials";
const MAGIC: &str = "strata-clients 1";
const DEFAULT_ENTITY: &str = "~";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientState {
    pub quotas: ClientQuotas,
    pub scram: ScramCredentials,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return Err(format!("bad hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

pub fn encode(state: &ClientState) -> String {
    let mut body = format!("{MAGIC}\n");
    for (entity, values) in state.quotas.entries() {
        let entity_text: Vec<String> = entity
            .iter()
            .map(|(t, n)| {
                let name = n.as_deref().map_or(DEFAULT_ENTITY.to_string(), escape);
                format!("{} {name}", escape(t))
            })
            .collect();
        for (key, value) in values {
            body.push_str(&format!(
                "quota {} {value:?} {}\n",
                escape(key),
                entity_text.join(" ")
            ));
        }
    }
    for ((user, mechanism), c) in state.scram.entries() {
        body.push_str(&format!(
            "scram {} {} {} {} {} {}\n",
            escape(user),
            mechanism.code(),
            c.iterations,
            hex(&c.salt),
            hex(&c.stored_key),
            hex(&c.server_key)
        ));
    }
    seal(body)
}

pub fn decode(text: &str) -> Result<ClientState, String> {
    let body = unseal(text)?;
    let mut lines = body.lines();
    if lines.next() != Some(MAGIC) {
        return Err("unknown format version".into());
    }
    let mut state = ClientState::default();
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["quota", key, value, entity @ ..] if !entity.is_empty() && entity.len() % 2 == 0 => {
                let value: f64 = value.parse().map_err(|_| format!("bad value: {line}"))?;
                let mut e = QuotaEntity::new();
                for pair in entity.chunks(2) {
                    let name = match pair[1] {
                        DEFAULT_ENTITY => None,
                        n => Some(unescape(n)?),
                    };
                    e.insert(unescape(pair[0])?, name);
                }
                state.quotas.restore(e, unescape(key)?, value);
            }
            ["scram", user, mechanism, iterations, salt, stored, server] => {
                let mechanism = mechanism
                    .parse::<i8>()
                    .ok()
                    .and_then(Mechanism::from_code)
                    .ok_or_else(|| format!("bad mechanism: {line}"))?;
                let credential = Credential {
                    salt: unhex(salt)?,
                    stored_key: unhex(stored)?,
                    server_key: unhex(server)?,
                    iterations: iterations
                        .parse()
                        .map_err(|_| format!("bad iterations: {line}"))?,
                };
                state.scram.restore(unescape(user)?, mechanism, credential);
            }
            _ => return Err(format!("unrecognised line: {line}")),
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::client_quotas::QuotaAlteration;
    use crate::metadata::scram::Upsertion;

    fn sample() -> ClientState {
        let mut s = ClientState::default();
        let results = s.quotas.alter(
            vec![
                QuotaAlteration {
                    entity: vec![
                        ("user".into(), Some("a b~%".into())),
                        ("client-id".into(), None),
                    ],
                    ops: vec![
                        ("request_percentage".into(), Some(0.1 + 0.2)),
                        ("producer_byte_rate".into(), Some(1e12)),
                    ],
                },
                QuotaAlteration {
                    entity: vec![("ip".into(), Some("::1".into()))],
                    ops: vec![("connection_creation_rate".into(), Some(3.0))],
                },
            ],
            false,
        );
        assert!(results.iter().all(|(_, r)| r.is_ok()));
        s.scram.alter(
            vec![],
            vec![Upsertion {
                user: "u ser".into(),
                mechanism: 2,
                iterations: 8192,
                salt: vec![0, 255, 16],
                salted_password: vec![9; 64],
            }],
        );
        s
    }

    #[test]
    fn round_trip() {
        let s = sample();
        assert_eq!(decode(&encode(&s)).unwrap(), s);
        let empty = ClientState::default();
        assert_eq!(decode(&encode(&empty)).unwrap(), empty);
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let text = encode(&sample());
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] ^= 0x01;
            if let Ok(t) = String::from_utf8(bytes) {
                if t != text {
                    assert!(decode(&t).is_err(), "flip at {i} not detected");
                }
            }
        }
    }

    #[test]
    fn survives_the_file_store() {
        use crate::metadata::{FileMetadataStore, MetadataStore};
        let dir = tempfile::tempdir().unwrap();
        let store = FileMetadataStore::new(dir.path());
        assert_eq!(store.load_clients().unwrap(), ClientState::default());
        let s = sample();
        store.save_clients(&s).unwrap();
        assert_eq!(store.load_clients().unwrap(), s);
    }
}
