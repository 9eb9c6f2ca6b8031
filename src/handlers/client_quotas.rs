//! DescribeClientQuotas (48), AlterClientQuotas (49). Quotas are stored and described; Strata
//! does not throttle.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    alter_client_quotas_response, describe_client_quotas_response, AlterClientQuotasRequest,
    AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};
use crate::error::quota_error;
use crate::metadata::client_quotas::{QuotaAlteration, QuotaEntity};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub async fn describe(ctx: RequestContext, req: DescribeClientQuotasRequest) -> Reply {
    let components = req
        .components
        .into_iter()
        .map(|c| {
            (
                c.entity_type.to_string(),
                c.match_type,
                c._match.map(|m| m.to_string()),
            )
        })
        .collect();
    let resp = match ctx.broker.describe_client_quotas(components, req.strict) {
        // Kafka's answer carries an empty message, not a null one, on success.
        Ok(entries) => DescribeClientQuotasResponse::default()
            .with_error_message(Some(StrBytes::default()))
            .with_entries(Some(
                entries
                    .into_iter()
                    .map(|(e, values)| {
                        describe_client_quotas_response::EntryData::default()
                            .with_entity(
                                e.into_iter()
                                    .map(|(t, n)| {
                                        describe_client_quotas_response::EntityData::default()
                                            .with_entity_type(s(&t))
                                            .with_entity_name(n.as_deref().map(s))
                                    })
                                    .collect(),
                            )
                            .with_values(
                                values
                                    .into_iter()
                                    .map(|(k, v)| {
                                        describe_client_quotas_response::ValueData::default()
                                            .with_key(s(&k))
                                            .with_value(v)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )),
        Err(e) => DescribeClientQuotasResponse::default()
            .with_error_code(quota_error(&e).code())
            .with_error_message(Some(s(&e.to_string())))
            .with_entries(None),
    };
    ctx.reply(&resp)
}

fn entity_data(e: &QuotaEntity) -> Vec<alter_client_quotas_response::EntityData> {
    e.iter()
        .map(|(t, n)| {
            alter_client_quotas_response::EntityData::default()
                .with_entity_type(s(t))
                .with_entity_name(n.as_deref().map(s))
        })
        .collect()
}

pub async fn alter(ctx: RequestContext, req: AlterClientQuotasRequest) -> Reply {
    let alterations: Vec<QuotaAlteration> = req
        .entries
        .into_iter()
        .map(|e| QuotaAlteration {
            entity: e
                .entity
                .into_iter()
                .map(|x| {
                    (
                        x.entity_type.to_string(),
                        x.entity_name.map(|n| n.to_string()),
                    )
                })
                .collect(),
            ops: e
                .ops
                .into_iter()
                .map(|op| (op.key.to_string(), (!op.remove).then_some(op.value)))
                .collect(),
        })
        .collect();
    let requested: Vec<QuotaEntity> = alterations
        .iter()
        .map(|a| a.entity.iter().cloned().collect())
        .collect();
    let entries = match ctx
        .broker
        .alter_client_quotas(alterations, req.validate_only)
    {
        Ok(results) => results
            .iter()
            .map(|(e, r)| {
                let entry = alter_client_quotas_response::EntryData::default()
                    .with_entity(entity_data(e))
                    .with_error_message(None);
                match r {
                    Ok(()) => entry,
                    Err(err) => entry
                        .with_error_code(quota_error(err).code())
                        .with_error_message(Some(s(&err.to_string()))),
                }
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "could not persist client quotas");
            requested
                .iter()
                .map(|entity| {
                    alter_client_quotas_response::EntryData::default()
                        .with_entity(entity_data(entity))
                        .with_error_code(ResponseError::KafkaStorageError.code())
                        .with_error_message(Some(s(&e.to_string())))
                })
                .collect()
        }
    };
    ctx.reply(&AlterClientQuotasResponse::default().with_entries(entries))
}
