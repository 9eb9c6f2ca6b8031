//! Client quotas and SCRAM credentials: changed under one lock and persisted before the change
//! is visible or acknowledged.

use super::Broker;
use crate::metadata::client_quotas::{Described, QuotaAlteration, QuotaEntity, QuotaError};
use crate::metadata::scram::{Mechanism, ScramError, Upsertion};
use crate::metadata::StoreError;

pub type QuotaResults = Vec<(QuotaEntity, Result<(), QuotaError>)>;
pub type ScramResults = Vec<(String, Result<(), ScramError>)>;

impl Broker {
    fn clients(&self) -> std::sync::MutexGuard<'_, crate::metadata::ClientState> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Kafka applies valid entities and refuses the others in one request; so does this. A
    /// failed write changes nothing and fails the whole request.
    pub fn alter_client_quotas(
        &self,
        alterations: Vec<QuotaAlteration>,
        validate_only: bool,
    ) -> Result<QuotaResults, StoreError> {
        let mut current = self.clients();
        let mut next = current.clone();
        let results = next.quotas.alter(alterations, validate_only);
        if next != *current {
            self.store.save_clients(&next)?;
            *current = next;
        }
        Ok(results)
    }

    pub fn describe_client_quotas(
        &self,
        components: Vec<(String, i8, Option<String>)>,
        strict: bool,
    ) -> Result<Described, QuotaError> {
        self.clients().quotas.describe(components, strict)
    }

    pub fn alter_scram_credentials(
        &self,
        deletions: Vec<(String, i8)>,
        upsertions: Vec<Upsertion>,
    ) -> Result<ScramResults, StoreError> {
        let mut current = self.clients();
        let mut next = current.clone();
        let results = next.scram.alter(deletions, upsertions);
        if next != *current {
            self.store.save_clients(&next)?;
            *current = next;
        }
        Ok(results)
    }

    #[allow(clippy::type_complexity)]
    pub fn describe_scram_credentials(
        &self,
        users: Option<Vec<String>>,
    ) -> Vec<(String, Result<Vec<(Mechanism, i32)>, ScramError>)> {
        self.clients().scram.describe(users)
    }
}
