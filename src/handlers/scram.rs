//! DescribeUserScramCredentials (50), AlterUserScramCredentials (51). Credentials are stored
//! and described; Strata's listener does not authenticate with SASL yet.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};
use crate::error::scram_error;
use crate::metadata::scram::Upsertion;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub async fn describe(ctx: RequestContext, req: DescribeUserScramCredentialsRequest) -> Reply {
    let users = req
        .users
        .map(|list| list.into_iter().map(|u| u.name.to_string()).collect());
    let results = ctx
        .broker
        .describe_scram_credentials(users)
        .into_iter()
        .map(|(user, r)| {
            // Kafka leaves the message empty, not null, on success.
            let base = DescribeUserScramCredentialsResult::default()
                .with_user(s(&user))
                .with_error_message(Some(StrBytes::default()));
            match r {
                Ok(infos) => base.with_credential_infos(
                    infos
                        .into_iter()
                        .map(|(m, iterations)| {
                            CredentialInfo::default()
                                .with_mechanism(m.code())
                                .with_iterations(iterations)
                        })
                        .collect(),
                ),
                Err(e) => base
                    .with_error_code(scram_error(&e).code())
                    .with_error_message(Some(s(&e.to_string()))),
            }
        })
        .collect();
    ctx.reply(
        &DescribeUserScramCredentialsResponse::default()
            .with_error_message(Some(StrBytes::default()))
            .with_results(results),
    )
}

pub async fn alter(ctx: RequestContext, req: AlterUserScramCredentialsRequest) -> Reply {
    let deletions: Vec<(String, i8)> = req
        .deletions
        .into_iter()
        .map(|d| (d.name.to_string(), d.mechanism))
        .collect();
    let upsertions: Vec<Upsertion> = req
        .upsertions
        .into_iter()
        .map(|u| Upsertion {
            user: u.name.to_string(),
            mechanism: u.mechanism,
            iterations: u.iterations,
            salt: u.salt.to_vec(),
            salted_password: u.salted_password.to_vec(),
        })
        .collect();
    let mut users: Vec<String> = deletions.iter().map(|(u, _)| u.clone()).collect();
    users.extend(upsertions.iter().map(|u| u.user.clone()));
    let results = match ctx.broker.alter_scram_credentials(deletions, upsertions) {
        Ok(results) => results
            .into_iter()
            .map(|(user, r)| {
                let base = AlterUserScramCredentialsResult::default()
                    .with_user(s(&user))
                    .with_error_message(None);
                match r {
                    Ok(()) => base,
                    Err(e) => base
                        .with_error_code(scram_error(&e).code())
                        .with_error_message(Some(s(&e.to_string()))),
                }
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "could not persist SCRAM credentials");
            users.dedup();
            users
                .iter()
                .map(|u| {
                    AlterUserScramCredentialsResult::default()
                        .with_user(s(u))
                        .with_error_code(ResponseError::KafkaStorageError.code())
                        .with_error_message(Some(s(&e.to_string())))
                })
                .collect()
        }
    };
    ctx.reply(&AlterUserScramCredentialsResponse::default().with_results(results))
}
