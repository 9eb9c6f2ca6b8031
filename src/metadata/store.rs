//! Persistence of [`ClusterState`].
//!
//! The local store is one text file, `<data dir>/cluster-metadata`, rewritten whole on every
//! change (topic changes are rare and small) through a temp file, fsync and rename, and ending with
//! a CRC-32C of everything before it. A file that fails its checksum stops start-up rather than
//! being half-trusted: partitions on disk must never be served under the wrong topic id.
//!
//! ```text
//! strata-metadata 1
//! cluster.id <id>
//! topic <name> <uuid> <epoch>,<epoch>,...
//! config <topic> <key> <value, %-escaped>
//! broker-config <default|node> <key> <value, %-escaped>
//! crc32c <8 hex digits>
//! ```

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;
use uuid::Uuid;

use super::client_store::{self, ClientState};
use super::topic::{ClusterState, TopicMeta};
use crate::config::TopicOverrides;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("metadata file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metadata file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

/// Where cluster metadata lives. One implementation today (a local file); the seam exists so a
/// replicated store (e.g. etcd) can take its place for a multi-node cluster.
pub trait MetadataStore: Send + Sync {
    fn load(&self) -> Result<Option<ClusterState>, StoreError>;
    fn save(&self, state: &ClusterState) -> Result<(), StoreError>;
    /// Client quotas and SCRAM credentials; empty when none were ever stored.
    fn load_clients(&self) -> Result<ClientState, StoreError>;
    fn save_clients(&self, state: &ClientState) -> Result<(), StoreError>;
}

pub struct FileMetadataStore {
    path: PathBuf,
    clients_path: PathBuf,
}

const FILE_NAME: &str = "cluster-metadata";
const MAGIC: &str = "strata-metadata 1";

impl FileMetadataStore {
    pub fn new(data_dir: &Path) -> FileMetadataStore {
        FileMetadataStore {
            path: data_dir.join(FILE_NAME),
            clients_path: data_dir.join(client_store::FILE_NAME),
        }
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }
}

impl MetadataStore for FileMetadataStore {
    fn load(&self) -> Result<Option<ClusterState>, StoreError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        decode(&text).map(Some).map_err(|r| self.corrupt(r))
    }

    fn save(&self, state: &ClusterState) -> Result<(), StoreError> {
        write_atomically(&self.path, &encode(state)).map_err(|e| self.io(e))
    }

    fn load_clients(&self) -> Result<ClientState, StoreError> {
        let path = &self.clients_path;
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ClientState::default()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.clone(),
                    source,
                })
            }
        };
        client_store::decode(&text).map_err(|reason| StoreError::Corrupt {
            path: path.clone(),
            reason,
        })
    }

    fn save_clients(&self, state: &ClientState) -> Result<(), StoreError> {
        write_atomically(&self.clients_path, &client_store::encode(state)).map_err(|source| {
            StoreError::Io {
                path: self.clients_path.clone(),
                source,
            }
        })
    }
}

/// Replaces `path` with `text` so that a crash leaves the old or the new file, never a mix:
/// a temp file beside it, fsync, rename, fsync of the directory.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Appends the checksum line to a file body.
pub(crate) fn seal(mut body: String) -> String {
    let crc = crc32c::crc32c(body.as_bytes());
    body.push_str(&format!("crc32c {crc:08x}\n"));
    body
}

/// The body of a sealed file, if its checksum line is well formed and matches.
pub(crate) fn unseal(text: &str) -> Result<&str, String> {
    let without_newline = text.strip_suffix('\n').ok_or("no final newline")?;
    let footer_at = without_newline.rfind('\n').ok_or("no checksum line")? + 1;
    let (body, footer) = without_newline.split_at(footer_at);
    let hex = footer.strip_prefix("crc32c ").ok_or("bad checksum line")?;
    if hex.len() != 8
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err("bad checksum line".into());
    }
    let stored = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
    if crc32c::crc32c(body.as_bytes()) != stored {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '%' => out.push_str("%25"),
            ' ' => out.push_str("%20"),
            '~' => out.push_str("%7E"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn unescape(v: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3).ok_or("truncated escape")?;
        out.push(match code {
            "25" => '%',
            "20" => ' ',
            "7E" => '~',
            "0A" => '\n',
            "0D" => '\r',
            _ => return Err(format!("unknown escape %{code}")),
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn encode(state: &ClusterState) -> String {
    let mut body = format!("{MAGIC}\ncluster.id {}\n", state.cluster_id);
    for t in state.topics.values() {
        let epochs: Vec<String> = t.leader_epochs.iter().map(|e| e.to_string()).collect();
        body.push_str(&format!("topic {} {} {}\n", t.name, t.id, epochs.join(",")));
        for (k, v) in t.overrides.entries() {
            body.push_str(&format!("config {} {} {}\n", t.name, escape(k), escape(v)));
        }
    }
    for (scope, k, v) in &state.broker_configs {
        body.push_str(&format!(
            "broker-config {} {} {}\n",
            scope,
            escape(k),
            escape(v)
        ));
    }
    seal(body)
}

pub fn decode(text: &str) -> Result<ClusterState, String> {
    let body = unseal(text)?;
    let mut lines = body.lines();
    if lines.next() != Some(MAGIC) {
        return Err("unknown format version".into());
    }
    let mut state = ClusterState::default();
    for line in lines {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("cluster.id"), Some(id), None, None) => state.cluster_id = id.to_string(),
            (Some("topic"), Some(name), Some(id), Some(epochs)) => {
                let id = Uuid::parse_str(id).map_err(|e| format!("topic {name}: {e}"))?;
                let leader_epochs = epochs
                    .split(',')
                    .map(|e| e.parse::<i32>().map_err(|e| format!("topic {name}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                state.topics.insert(
                    name.to_string(),
                    TopicMeta {
                        name: name.to_string(),
                        id,
                        leader_epochs,
                        overrides: TopicOverrides::default(),
                    },
                );
            }
            (Some("config"), Some(topic), Some(key), Some(value)) => {
                let t = state
                    .topics
                    .get_mut(topic)
                    .ok_or_else(|| format!("config for unknown topic {topic}"))?;
                t.overrides
                    .restore(&unescape(key)?, &unescape(value)?)
                    .map_err(|e| format!("topic {topic}: {e}"))?;
            }
            (Some("broker-config"), Some(scope), Some(key), Some(value))
                if scope == "default" || scope == "node" =>
            {
                state
                    .broker_configs
                    .push((scope.to_string(), unescape(key)?, unescape(value)?));
            }
            _ => return Err(format!("unrecognised line: {line}")),
        }
    }
    if state.cluster_id.is_empty() {
        return Err("no cluster id".into());
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ClusterState {
        let mut overrides = TopicOverrides::default();
        overrides.set("retention.ms", "1000").unwrap();
        let mut s = ClusterState {
            cluster_id: "abc".into(),
            broker_configs: vec![("default".into(), "log.retention.ms".into(), "5 000".into())],
            ..Default::default()
        };
        s.topics.insert(
            "t.1".into(),
            TopicMeta {
                name: "t.1".into(),
                id: Uuid::new_v4(),
                leader_epochs: vec![0, 3, 1],
                overrides,
            },
        );
        s
    }

    #[test]
    fn round_trip_through_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileMetadataStore::new(dir.path());
        assert!(store.load().unwrap().is_none());
        let s = sample();
        store.save(&s).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.cluster_id, "abc");
        let t = &back.topics["t.1"];
        assert_eq!(t.leader_epochs, vec![0, 3, 1]);
        assert_eq!(t.id, s.topics["t.1"].id);
        assert_eq!(t.overrides.entries().count(), 1);
        assert_eq!(back.broker_configs, s.broker_configs);
    }

    #[test]
    fn escapes_round_trip() {
        for v in ["a b", "%", "x\ny", "", "%20", "~"] {
            assert_eq!(unescape(&escape(v)).unwrap(), v);
        }
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
}
