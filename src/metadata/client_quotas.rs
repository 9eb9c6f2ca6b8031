//! Client quotas (KIP-546): values per entity (a user, a client id, both, or an IP address, each
//! possibly the default entity), validated and matched as Kafka's controller does. Strata stores
//! and describes them; it does not throttle.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use thiserror::Error;

pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// An entity: entity type to name, `None` naming the type's default entity.
pub type QuotaEntity = BTreeMap<String, Option<String>>;

/// Described entities with their values by key.
pub type Described = Vec<(QuotaEntity, BTreeMap<String, f64>)>;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum QuotaError {
    /// Kafka's INVALID_REQUEST, with its message.
    #[error("{0}")]
    Invalid(String),
    /// An entity type Kafka does not know in a describe filter (UNSUPPORTED_VERSION).
    #[error("Unsupported entity type {0}")]
    UnsupportedEntityType(String),
}

#[derive(Clone, Copy)]
enum ValueType {
    Long,
    Int,
    Double,
}

const USER_AND_CLIENT_KEYS: &[(&str, ValueType)] = &[
    ("producer_byte_rate", ValueType::Long),
    ("consumer_byte_rate", ValueType::Long),
    ("request_percentage", ValueType::Double),
    ("controller_mutation_rate", ValueType::Double),
];
const IP_KEYS: &[(&str, ValueType)] = &[("connection_creation_rate", ValueType::Int)];

/// One entity's changes in an AlterClientQuotas request: a value to set, or `None` to remove.
pub struct QuotaAlteration {
    pub entity: Vec<(String, Option<String>)>,
    pub ops: Vec<(String, Option<f64>)>,
}

/// A DescribeClientQuotas filter component.
enum MatchType {
    Exact(Option<String>),
    Default,
    Specified,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientQuotas {
    entities: BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
}

impl ClientQuotas {
    pub fn entries(&self) -> impl Iterator<Item = (&QuotaEntity, &BTreeMap<String, f64>)> {
        self.entities.iter()
    }

    /// Restores one stored value (no validation: it was validated when set).
    pub fn restore(&mut self, entity: QuotaEntity, key: String, value: f64) {
        self.entities.entry(entity).or_default().insert(key, value);
    }

    /// Applies the alterations (unless `validate_only`), each entity all or nothing, and answers
    /// per entity as Kafka does: an entity named twice, or a key named twice for one entity, is
    /// refused.
    pub fn alter(
        &mut self,
        alterations: Vec<QuotaAlteration>,
        validate_only: bool,
    ) -> Vec<(QuotaEntity, Result<(), QuotaError>)> {
        let mut results: Vec<(QuotaEntity, Result<(), QuotaError>)> = Vec::new();
        // Position of each entity in `results`: requests can name many entities.
        let mut position: BTreeMap<QuotaEntity, usize> = BTreeMap::new();
        let mut changes: Vec<(QuotaEntity, String, Option<f64>)> = Vec::new();
        for alteration in alterations {
            // The wire's list becomes a map: a type named twice keeps its last name.
            let entity: QuotaEntity = alteration.entity.into_iter().collect();
            let mut ops: Vec<(String, Option<f64>)> = Vec::new();
            let mut keys: HashSet<String> = HashSet::new();
            let mut duplicate_key = false;
            for (k, v) in alteration.ops {
                if keys.insert(k.clone()) {
                    ops.push((k, v));
                } else {
                    duplicate_key = true;
                }
            }
            let seen = position.get(&entity).copied();
            if duplicate_key || seen.is_some() {
                let err = Err(QuotaError::Invalid(format!(
                    "Ignoring duplicate entity ClientQuotaEntity(entries={})",
                    java_map_text(&entity)
                )));
                match seen {
                    Some(i) => results[i].1 = err,
                    None => {
                        position.insert(entity.clone(), results.len());
                        results.push((entity, err));
                    }
                }
                continue;
            }
            let outcome = self.check_entity(&entity, &ops).map(|mut c| {
                changes.append(&mut c);
            });
            position.insert(entity.clone(), results.len());
            results.push((entity, outcome));
        }
        if !validate_only {
            for (entity, key, value) in changes {
                match value {
                    Some(v) => {
                        self.entities.entry(entity).or_default().insert(key, v);
                    }
                    None => {
                        if let Some(values) = self.entities.get_mut(&entity) {
                            values.remove(&key);
                            if values.is_empty() {
                                self.entities.remove(&entity);
                            }
                        }
                    }
                }
            }
        }
        results
    }

    /// The changes one entity's ops make, or why none of them applies.
    #[allow(clippy::type_complexity)]
    fn check_entity(
        &self,
        entity: &QuotaEntity,
        ops: &[(String, Option<f64>)],
    ) -> Result<Vec<(QuotaEntity, String, Option<f64>)>, QuotaError> {
        if entity.is_empty() {
            return Err(QuotaError::Invalid(
                "Invalid empty client quota entity".into(),
            ));
        }
        for (t, name) in entity {
            if t != USER && t != CLIENT_ID && t != IP {
                return Err(QuotaError::Invalid(format!(
                    "Unhandled client quota entity type: {t}"
                )));
            }
            if name.as_deref() == Some("") {
                return Err(QuotaError::Invalid(format!("Empty {t} not supported")));
            }
        }
        let keys = match entity.get(IP) {
            Some(_) if entity.contains_key(USER) || entity.contains_key(CLIENT_ID) => {
                return Err(QuotaError::Invalid(
                    "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"
                        .into(),
                ))
            }
            Some(Some(ip)) if ip.parse::<IpAddr>().is_err() => {
                return Err(QuotaError::Invalid(format!(
                    "{ip} is not a valid IP or resolvable host."
                )))
            }
            Some(_) => IP_KEYS,
            None => USER_AND_CLIENT_KEYS,
        };
        let current = self.entities.get(entity);
        let mut changes = Vec::new();
        for (key, value) in ops {
            match value {
                None => {
                    if current.is_some_and(|c| c.contains_key(key)) {
                        changes.push((entity.clone(), key.clone(), None));
                    }
                }
                Some(v) => {
                    check_value(keys, key, *v)?;
                    if current.and_then(|c| c.get(key)) != Some(v) {
                        changes.push((entity.clone(), key.clone(), Some(*v)));
                    }
                }
            }
        }
        Ok(changes)
    }

    /// The entities a DescribeClientQuotas filter selects, with their values.
    /// Components are (entity type, match type code, match string), checked in request order
    /// as Kafka checks them.
    pub fn describe(
        &self,
        components: Vec<(String, i8, Option<String>)>,
        strict: bool,
    ) -> Result<Described, QuotaError> {
        let mut exact: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut of_type: Vec<String> = Vec::new();
        for (t, code, name) in components {
            if t.is_empty() {
                return Err(QuotaError::Invalid("Invalid empty entity type.".into()));
            }
            if exact.contains_key(&t) || of_type.contains(&t) {
                return Err(QuotaError::Invalid(format!(
                    "Entity type {t} cannot appear more than once in the filter."
                )));
            }
            if t != USER && t != CLIENT_ID && t != IP {
                return Err(QuotaError::UnsupportedEntityType(t));
            }
            match match_type(code, name)? {
                MatchType::Exact(name) => {
                    exact.insert(t, name);
                }
                MatchType::Default => {
                    exact.insert(t, None);
                }
                MatchType::Specified => of_type.push(t),
            }
        }
        let has = |t: &str| exact.contains_key(t) || of_type.iter().any(|x| x == t);
        if has(IP) && (has(USER) || has(CLIENT_ID)) {
            return Err(QuotaError::Invalid(
                "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."
                    .into(),
            ));
        }
        Ok(self
            .entities
            .iter()
            .filter(|(entity, _)| {
                (!strict || entity.len() == exact.len() + of_type.len())
                    && exact.iter().all(|(t, n)| entity.get(t) == Some(n))
                    && of_type.iter().all(|t| entity.contains_key(t))
            })
            .map(|(e, v)| (e.clone(), v.clone()))
            .collect())
    }
}

/// A describe component's match type and string, as Kafka validates them.
fn match_type(code: i8, name: Option<String>) -> Result<MatchType, QuotaError> {
    match (code, name) {
        (0, Some(n)) => Ok(MatchType::Exact(Some(n))),
        (0, None) => Err(QuotaError::Invalid(
            "Request specified MATCH_TYPE_EXACT, but set match string to null.".into(),
        )),
        (1, None) => Ok(MatchType::Default),
        (1, Some(_)) => Err(QuotaError::Invalid(
            "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.".into(),
        )),
        (2, None) => Ok(MatchType::Specified),
        (2, Some(_)) => Err(QuotaError::Invalid(
            "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.".into(),
        )),
        (other, _) => Err(QuotaError::Invalid(format!("Unknown match type {other}"))),
    }
}

fn check_value(keys: &[(&str, ValueType)], key: &str, value: f64) -> Result<(), QuotaError> {
    let Some(&(_, value_type)) = keys.iter().find(|(k, _)| *k == key) else {
        return Err(QuotaError::Invalid(format!(
            "Invalid configuration key {key}"
        )));
    };
    // NaN fails every comparison; Kafka refuses it here too.
    if value.is_nan() || value <= 0.0 {
        return Err(QuotaError::Invalid(format!(
            "Quota {key} must be greater than 0"
        )));
    }
    let limit = match value_type {
        ValueType::Double => return Ok(()),
        ValueType::Int if value > i32::MAX as f64 => "an INT",
        ValueType::Long if value > i64::MAX as f64 => "a LONG",
        ValueType::Int | ValueType::Long => {
            return if (value % 1.0).abs() > 1e-6 {
                Err(QuotaError::Invalid(format!(
                    "{key} cannot be a fractional value."
                )))
            } else {
                Ok(())
            }
        }
    };
    Err(QuotaError::Invalid(format!(
        "Proposed value for {key} is too large for {limit}."
    )))
}

/// An entity as Java prints a `HashMap<String, String>` of at most a few entries (in braces, by bucket of
/// the key's hash in a 16-slot table), `<default>` entities printed as `null`.
fn java_map_text(entity: &QuotaEntity) -> String {
    let bucket = |k: &str| {
        let h = k
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32)) as u32;
        (h ^ (h >> 16)) & 15
    };
    let mut entries: Vec<(&String, &Option<String>)> = entity.iter().collect();
    entries.sort_by_key(|(k, _)| bucket(k));
    let text: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
        .collect();
    format!("{{{}}}", text.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alteration(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> QuotaAlteration {
        QuotaAlteration {
            entity: entity
                .iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect(),
            ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn one(q: &mut ClientQuotas, a: QuotaAlteration) -> Result<(), QuotaError> {
        q.alter(vec![a], false).remove(0).1
    }

    #[test]
    fn set_describe_and_remove() {
        let mut q = ClientQuotas::default();
        one(
            &mut q,
            alteration(
                &[("user", Some("a"))],
                &[("producer_byte_rate", Some(10.0))],
            ),
        )
        .unwrap();
        one(
            &mut q,
            alteration(
                &[("user", Some("a")), ("client-id", None)],
                &[("request_percentage", Some(1.5))],
            ),
        )
        .unwrap();
        let exact = |strict| {
            q.describe(vec![("user".into(), 0, Some("a".into()))], strict)
                .unwrap()
                .len()
        };
        assert_eq!((exact(false), exact(true)), (2, 1));
        let default_client = q
            .describe(vec![("client-id".into(), 1, None)], false)
            .unwrap();
        assert_eq!(default_client.len(), 1);
        one(
            &mut q,
            alteration(&[("user", Some("a"))], &[("producer_byte_rate", None)]),
        )
        .unwrap();
        assert_eq!(q.describe(vec![], false).unwrap().len(), 1);
    }

    #[test]
    fn validation_follows_kafka() {
        let mut q = ClientQuotas::default();
        let err = |q: &mut ClientQuotas, e: &[(&str, Option<&str>)], k: &str, v: f64| {
            one(q, alteration(e, &[(k, Some(v))]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&mut q, &[("user", Some("a"))], "producer_byte_rate", 1.5),
            "producer_byte_rate cannot be a fractional value."
        );
        assert_eq!(
            err(&mut q, &[("user", Some("a"))], "request_percentage", 0.0),
            "Quota request_percentage must be greater than 0"
        );
        assert_eq!(
            err(
                &mut q,
                &[("ip", Some("nope"))],
                "connection_creation_rate",
                1.0
            ),
            "nope is not a valid IP or resolvable host."
        );
        assert_eq!(
            err(&mut q, &[("ip", None)], "connection_creation_rate", 1e10),
            "Proposed value for connection_creation_rate is too large for an INT."
        );
        assert_eq!(
            err(&mut q, &[("group", Some("a"))], "x", 1.0),
            "Unhandled client quota entity type: group"
        );
        assert!(q.describe(vec![], false).unwrap().is_empty());
    }

    #[test]
    fn validate_only_changes_nothing() {
        let mut q = ClientQuotas::default();
        let r = q.alter(
            vec![alteration(
                &[("user", None)],
                &[("consumer_byte_rate", Some(5.0))],
            )],
            true,
        );
        assert!(r[0].1.is_ok());
        assert!(q.describe(vec![], false).unwrap().is_empty());
    }

    #[test]
    fn java_map_order_of_user_and_client_id() {
        let mut e = QuotaEntity::new();
        e.insert("user".into(), Some("u".into()));
        e.insert("client-id".into(), None);
        // "client-id" hashes to bucket 12 and "user" to bucket 13 of a 16-slot table.
        assert_eq!(java_map_text(&e), "{client-id=null, user=u}");
    }
}
