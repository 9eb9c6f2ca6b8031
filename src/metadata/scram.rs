//! SCRAM credentials (KIP-554): per user and mechanism, the salt, iteration count and the two
//! keys derived from the salted password (RFC 5802), never the salted password itself, as Kafka
//! keeps them. Alterations are validated as Kafka's controller does.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use indexmap::IndexMap;
use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;

/// Kafka's minimum for both mechanisms, and its maximum.
pub const MIN_ITERATIONS: i32 = 4096;
pub const MAX_ITERATIONS: i32 = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    Sha256 = 1,
    Sha512 = 2,
}

impl Mechanism {
    pub fn from_code(code: i8) -> Option<Mechanism> {
        match code {
            1 => Some(Mechanism::Sha256),
            2 => Some(Mechanism::Sha512),
            _ => None,
        }
    }

    pub fn code(self) -> i8 {
        self as i8
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            // HMAC accepts keys of any length; these constructors cannot fail.
            Mechanism::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            Mechanism::Sha512 => Hmac::<Sha512>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => Sha256::digest(data).to_vec(),
            Mechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl Credential {
    /// RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
    /// HMAC(SaltedPassword, "Server Key").
    pub fn derive(
        mechanism: Mechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: i32,
    ) -> Self {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        Credential {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScramError {
    #[error("Username must not be empty")]
    EmptyUser,
    #[error("Unknown SCRAM mechanism")]
    UnknownMechanism,
    #[error("Too few iterations")]
    TooFewIterations,
    #[error("Too many iterations")]
    TooManyIterations,
    #[error("A user credential cannot be altered twice in the same request")]
    AlteredTwice,
    #[error("Attempt to delete a user credential that does not exist")]
    DeleteUnknown,
    #[error("Attempt to describe a user credential that does not exist: {0}")]
    DescribeUnknown(String),
    #[error("Cannot describe SCRAM credentials for the same user twice in a single request: {0}")]
    DescribedTwice(String),
}

pub struct Upsertion {
    pub user: String,
    pub mechanism: i8,
    pub iterations: i32,
    pub salt: Vec<u8>,
    pub salted_password: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScramCredentials {
    credentials: BTreeMap<(String, Mechanism), Credential>,
}

enum Change {
    Delete(Mechanism),
    Upsert(Mechanism, Credential),
}

impl ScramCredentials {
    pub fn entries(&self) -> impl Iterator<Item = (&(String, Mechanism), &Credential)> {
        self.credentials.iter()
    }

    pub fn restore(&mut self, user: String, mechanism: Mechanism, credential: Credential) {
        self.credentials.insert((user, mechanism), credential);
    }

    /// Applies deletions and upsertions; one result per user named. A user named twice in one
    /// request (in either list) is refused and none of its changes apply.
    pub fn alter(
        &mut self,
        deletions: Vec<(String, i8)>,
        upsertions: Vec<Upsertion>,
    ) -> Vec<(String, Result<(), ScramError>)> {
        // Maps, not lists: one request can name many users. Kafka answers in hash order.
        let mut accepted: BTreeMap<String, Change> = BTreeMap::new();
        let mut refused: BTreeMap<String, ScramError> = BTreeMap::new();
        for (user, code) in deletions {
            if refused.contains_key(&user) {
                continue;
            }
            if accepted.remove(&user).is_some() {
                refused.insert(user, ScramError::AlteredTwice);
                continue;
            }
            match self.check_deletion(&user, code) {
                Ok(m) => {
                    accepted.insert(user, Change::Delete(m));
                }
                Err(e) => {
                    refused.insert(user, e);
                }
            }
        }
        for u in upsertions {
            if refused.contains_key(&u.user) {
                continue;
            }
            if accepted.remove(&u.user).is_some() {
                refused.insert(u.user, ScramError::AlteredTwice);
                continue;
            }
            match check_upsertion(&u) {
                Ok(m) => {
                    let c = Credential::derive(m, &u.salt, &u.salted_password, u.iterations);
                    accepted.insert(u.user, Change::Upsert(m, c));
                }
                Err(e) => {
                    refused.insert(u.user, e);
                }
            }
        }
        let mut results = Vec::with_capacity(accepted.len() + refused.len());
        for (user, change) in accepted {
            match change {
                Change::Delete(m) => {
                    self.credentials.remove(&(user.clone(), m));
                }
                Change::Upsert(m, c) => {
                    self.credentials.insert((user.clone(), m), c);
                }
            }
            results.push((user, Ok(())));
        }
        results.extend(refused.into_iter().map(|(u, e)| (u, Err(e))));
        results
    }

    fn check_deletion(&self, user: &str, code: i8) -> Result<Mechanism, ScramError> {
        let m = check_user_and_mechanism(user, code)?;
        if !self.credentials.contains_key(&(user.to_string(), m)) {
            return Err(ScramError::DeleteUnknown);
        }
        Ok(m)
    }

    /// Each user's mechanisms and iteration counts. `None` or an empty list means every user.
    #[allow(clippy::type_complexity)]
    pub fn describe(
        &self,
        users: Option<Vec<String>>,
    ) -> Vec<(String, Result<Vec<(Mechanism, i32)>, ScramError>)> {
        // Each user once, in the order first named, marked when named again.
        let mut wanted: IndexMap<String, bool> = IndexMap::new();
        match users {
            Some(list) if !list.is_empty() => {
                for u in list {
                    wanted
                        .entry(u)
                        .and_modify(|twice| *twice = true)
                        .or_insert(false);
                }
            }
            _ => {
                for (user, _) in self.credentials.keys() {
                    wanted.entry(user.clone()).or_insert(false);
                }
            }
        }
        wanted
            .into_iter()
            .map(|(user, twice)| {
                if twice {
                    let e = ScramError::DescribedTwice(user.clone());
                    return (user, Err(e));
                }
                let infos: Vec<(Mechanism, i32)> = self
                    .credentials
                    .range((user.clone(), Mechanism::Sha256)..=(user.clone(), Mechanism::Sha512))
                    .map(|((_, m), c)| (*m, c.iterations))
                    .collect();
                if infos.is_empty() {
                    let e = ScramError::DescribeUnknown(user.clone());
                    (user, Err(e))
                } else {
                    (user, Ok(infos))
                }
            })
            .collect()
    }
}

fn check_user_and_mechanism(user: &str, code: i8) -> Result<Mechanism, ScramError> {
    if user.is_empty() {
        return Err(ScramError::EmptyUser);
    }
    Mechanism::from_code(code).ok_or(ScramError::UnknownMechanism)
}

fn check_upsertion(u: &Upsertion) -> Result<Mechanism, ScramError> {
    let m = check_user_and_mechanism(&u.user, u.mechanism)?;
    if u.iterations < MIN_ITERATIONS {
        return Err(ScramError::TooFewIterations);
    }
    if u.iterations > MAX_ITERATIONS {
        return Err(ScramError::TooManyIterations);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(user: &str, mechanism: i8, iterations: i32) -> Upsertion {
        Upsertion {
            user: user.into(),
            mechanism,
            iterations,
            salt: b"salt".to_vec(),
            salted_password: vec![1; 32],
        }
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn derived_keys_follow_rfc_5802() {
        // Expected values computed independently (Python's hmac and hashlib).
        let c = Credential::derive(Mechanism::Sha256, b"s", &[7; 32], 4096);
        assert_eq!(
            hex(&c.stored_key),
            "ce070ec55f16927529272711132ac6e1568fe921ceac0c8dc2017d264232f77a"
        );
        assert_eq!(
            hex(&c.server_key),
            "d4a3cf039114f007712e98d612c9a92d2b7626328566d61cfecbbb2c9483f8e9"
        );
        let c512 = Credential::derive(Mechanism::Sha512, b"s", &[7; 32], 4096);
        assert_eq!(
            hex(&c512.stored_key[..16]),
            "66eee4286e787ae15849c97f00963164"
        );
    }

    #[test]
    fn alter_and_describe() {
        let mut s = ScramCredentials::default();
        let r = s.alter(vec![], vec![upsert("a", 1, 4096), upsert("b", 2, 16384)]);
        assert!(r.iter().all(|(_, r)| r.is_ok()));
        s.alter(vec![], vec![upsert("a", 2, 5000)]);
        let d = s.describe(None);
        assert_eq!(
            d,
            vec![
                (
                    "a".to_string(),
                    Ok(vec![(Mechanism::Sha256, 4096), (Mechanism::Sha512, 5000)])
                ),
                ("b".to_string(), Ok(vec![(Mechanism::Sha512, 16384)])),
            ]
        );
        let r = s.alter(vec![("a".into(), 1)], vec![]);
        assert_eq!(r, vec![("a".to_string(), Ok(()))]);
        let r = s.alter(vec![("a".into(), 1)], vec![]);
        assert_eq!(r, vec![("a".to_string(), Err(ScramError::DeleteUnknown))]);
    }

    #[test]
    fn refusals() {
        let mut s = ScramCredentials::default();
        let r = s.alter(
            vec![("d".into(), 1)],
            vec![
                upsert("", 1, 4096),
                upsert("m", 0, 4096),
                upsert("low", 1, MIN_ITERATIONS - 1),
                upsert("high", 1, MAX_ITERATIONS + 1),
                upsert("twice", 1, 4096),
                upsert("twice", 2, 4096),
            ],
        );
        let errs: Vec<(String, ScramError)> =
            r.into_iter().map(|(u, r)| (u, r.unwrap_err())).collect();
        assert!(errs.contains(&("d".into(), ScramError::DeleteUnknown)));
        assert!(errs.contains(&("".into(), ScramError::EmptyUser)));
        assert!(errs.contains(&("m".into(), ScramError::UnknownMechanism)));
        assert!(errs.contains(&("low".into(), ScramError::TooFewIterations)));
        assert!(errs.contains(&("high".into(), ScramError::TooManyIterations)));
        assert!(errs.contains(&("twice".into(), ScramError::AlteredTwice)));
        assert!(s.describe(None).is_empty());
        let d = s.describe(Some(vec!["x".into(), "x".into(), "y".into()]));
        assert_eq!(d[0].1, Err(ScramError::DescribedTwice("x".into())));
        assert_eq!(d[1].1, Err(ScramError::DescribeUnknown("y".into())));
    }
}
