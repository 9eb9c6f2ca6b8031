//! The `strata` command line: flags, `--config FILE` and `--set key=value`.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::broker::{BrokerConfig, Flags, Origin, UserValue};
use super::error::ConfigError;
use super::properties;

pub const USAGE: &str = "\
Usage: strata [OPTIONS]

Options:
  --listen HOST:PORT               address to accept clients on (default 127.0.0.1:9092)
  --advertised-listener HOST:PORT  address given to clients (default: the listen address)
  --data-dir DIR                   where logs and metadata live (default ./data)
  --node-id N                      this broker's id (default 1)
  --config FILE                    a Kafka server.properties file
  --set KEY=VALUE                  set one server.properties key (repeatable)
  -h, --help                       print this help

Precedence: built-in defaults < --config < --set < the dedicated flags above.";

fn usage_error(message: String) -> ConfigError {
    ConfigError::Usage(format!("{message}\n\n{USAGE}"))
}

impl BrokerConfig {
    /// Builds the configuration from the process arguments as `std::env::args()` yields them:
    /// the first item is the program name and is skipped. `--help` returns
    /// [`ConfigError::Help`] carrying the usage text.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<BrokerConfig, ConfigError> {
        let mut args = args.into_iter().skip(1);
        let mut flags = Flags::default();
        let mut config_file: Option<PathBuf> = None;
        let mut sets: Vec<(String, String)> = Vec::new();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Err(ConfigError::Help(USAGE.to_string()));
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if !flag.starts_with("--") {
                return Err(usage_error(format!("unexpected argument {arg:?}")));
            }
            let known = [
                "--listen",
                "--advertised-listener",
                "--data-dir",
                "--node-id",
                "--config",
                "--set",
            ];
            if !known.contains(&flag.as_str()) {
                return Err(usage_error(format!("unknown option {flag}")));
            }
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| usage_error(format!("{flag} needs a value")))?,
            };
            match flag.as_str() {
                "--listen" => flags.listen = Some(value),
                "--advertised-listener" => flags.advertised = Some(value),
                "--data-dir" => flags.data_dir = Some(PathBuf::from(value)),
                "--node-id" => flags.node_id = Some(value),
                "--config" => config_file = Some(PathBuf::from(value)),
                _ => {
                    let (k, v) = value.split_once('=').ok_or_else(|| {
                        usage_error(format!("--set expects KEY=VALUE, got {value:?}"))
                    })?;
                    sets.push((k.trim().to_string(), v.to_string()));
                }
            }
        }
        let mut user: IndexMap<String, UserValue> = IndexMap::new();
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
                path: path.clone(),
                source,
            })?;
            for p in properties::parse(&text, &path.display().to_string())? {
                user.insert(
                    p.key,
                    UserValue {
                        value: p.value,
                        origin: Origin::ConfigFile,
                    },
                );
            }
        }
        for (k, v) in sets {
            user.insert(
                k,
                UserValue {
                    value: v,
                    origin: Origin::SetFlag,
                },
            );
        }
        BrokerConfig::build(user, &flags)
    }
}
