//! DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44) for topics and the broker.

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};
use crate::broker::Broker;
use crate::config::{AlterOp, ConfigEntry, TopicOverrides};
use crate::error::{broker_config_error, config_error, topic_error};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;

type Failure = (ResponseError, String);

pub async fn describe_configs(ctx: RequestContext, req: DescribeConfigsRequest) -> Reply {
    let broker = &ctx.broker;
    let version = ctx.version();
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = match describe_resource(broker, r.resource_type, r.resource_name.as_str())
            {
                Ok(e) => e,
                Err((e, msg)) => {
                    return base
                        .with_error_code(e.code())
                        .with_error_message(Some(StrBytes::from_string(msg)))
                }
            };
            let keys: Option<HashSet<String>> = r
                .configuration_keys
                .map(|k| k.iter().map(|s| s.to_string()).collect());
            let configs = entries
                .into_iter()
                .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                .map(|e| to_result(e, req.include_synonyms, req.include_documentation, version))
                .collect();
            base.with_configs(configs)
        })
        .collect();
    ctx.reply(&DescribeConfigsResponse::default().with_results(results))
}

fn describe_resource(broker: &Broker, kind: i8, name: &str) -> Result<Vec<ConfigEntry>, Failure> {
    match kind {
        TOPIC => {
            let topic = broker.topic(name).ok_or((
                ResponseError::UnknownTopicOrPartition,
                format!("Topic '{name}' does not exist."),
            ))?;
            Ok(topic.overrides.describe(&broker.config()))
        }
        BROKER => {
            check_broker_name(broker, name)?;
            Ok(broker.with_config(|c| c.describe()))
        }
        BROKER_LOGGER => {
            check_broker_name(broker, name)?;
            Ok(Vec::new())
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

fn check_broker_name(broker: &Broker, name: &str) -> Result<(), Failure> {
    if name.is_empty() || name == broker.node_id().to_string() {
        Ok(())
    } else {
        Err((
            ResponseError::InvalidRequest,
            format!(
                "Unexpected broker id, expected {} or empty string, but received {name}",
                broker.node_id()
            ),
        ))
    }
}

fn to_result(
    e: ConfigEntry,
    include_synonyms: bool,
    include_documentation: bool,
    version: i16,
) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        e.synonyms
            .into_iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(s.name))
                    .with_value(s.value.map(StrBytes::from_string))
                    .with_source(s.source as i8)
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(if e.sensitive {
            None
        } else {
            e.value.map(StrBytes::from_string)
        })
        .with_read_only(e.read_only)
        .with_config_source(e.source as i8)
        .with_is_sensitive(e.sensitive)
        // config_type exists from v3.
        .with_config_type(if version >= 3 { e.config_type as i8 } else { 0 })
        .with_synonyms(synonyms)
        // Null unless asked for, and null for keys Strata has no text for, as Kafka sends it.
        .with_documentation(
            e.documentation
                .filter(|_| include_documentation)
                .map(StrBytes::from_string),
        )
}

/// Applies `ops` to one resource. `replace` is legacy AlterConfigs: the ops are the whole new set.
fn alter_resource(
    broker: &Broker,
    kind: i8,
    name: &str,
    ops: &[AlterOp],
    replace: bool,
    validate_only: bool,
) -> Result<(), Failure> {
    let mut seen = HashSet::new();
    for op in ops {
        if !seen.insert(op.key().to_string()) {
            return Err((
                ResponseError::InvalidRequest,
                format!("Error due to duplicate config keys: {}", op.key()),
            ));
        }
    }
    match kind {
        TOPIC => {
            let topic = broker.topic(name).ok_or((
                ResponseError::UnknownTopicOrPartition,
                format!("Topic '{name}' does not exist."),
            ))?;
            let mut overrides = if replace {
                TopicOverrides::default()
            } else {
                topic.overrides.clone()
            };
            for op in ops {
                let r = match op {
                    AlterOp::Set(k, v) => overrides.set(k, v),
                    AlterOp::Delete(k) => {
                        overrides.remove(k);
                        Ok(())
                    }
                    AlterOp::Append(k, v) => overrides.append(k, v),
                    AlterOp::Subtract(k, v) => overrides.subtract(k, v),
                };
                r.map_err(|e| (config_error(&e), e.to_string()))?;
            }
            overrides
                .validate(&broker.config())
                .map_err(|e| (config_error(&e), e.to_string()))?;
            if validate_only {
                return Ok(());
            }
            broker
                .set_topic_overrides(name, overrides)
                .map_err(|e| (topic_error(&e), e.to_string()))
        }
        BROKER => broker
            .alter_broker_config(name, ops, replace, validate_only)
            .map_err(|e| (broker_config_error(&e), e.to_string())),
        BROKER_LOGGER => {
            check_broker_name(broker, name)?;
            Err((
                ResponseError::InvalidRequest,
                "Changing log levels at run time is not supported; use RUST_LOG".into(),
            ))
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

fn duplicates<'a>(resources: impl Iterator<Item = (i8, &'a str)>) -> HashSet<(i8, String)> {
    let mut seen = HashSet::new();
    let mut dups = HashSet::new();
    for (k, n) in resources {
        if !seen.insert((k, n.to_string())) {
            dups.insert((k, n.to_string()));
        }
    }
    dups
}

fn outcome(r: Result<(), Failure>) -> (i16, Option<StrBytes>) {
    match r {
        Ok(()) => (0, None),
        Err((e, msg)) => (e.code(), Some(StrBytes::from_string(msg))),
    }
}

pub async fn alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> Reply {
    let dups = duplicates(
        req.resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let result = if dups.contains(&(r.resource_type, r.resource_name.to_string())) {
                Err((
                    ResponseError::InvalidRequest,
                    "Duplicate resource in request".into(),
                ))
            } else {
                let ops: Result<Vec<AlterOp>, Failure> = r
                    .configs
                    .iter()
                    .map(|c| match &c.value {
                        Some(v) => Ok(AlterOp::Set(c.name.to_string(), v.to_string())),
                        None => Err((
                            ResponseError::InvalidRequest,
                            format!("Null value not supported for : {}", c.name),
                        )),
                    })
                    .collect();
                ops.and_then(|ops| {
                    alter_resource(
                        &ctx.broker,
                        r.resource_type,
                        r.resource_name.as_str(),
                        &ops,
                        true,
                        req.validate_only,
                    )
                })
            };
            let (code, msg) = outcome(result);
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(msg)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
        })
        .collect();
    ctx.reply(&AlterConfigsResponse::default().with_responses(responses))
}

pub async fn incremental_alter_configs(
    ctx: RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> Reply {
    let dups = duplicates(
        req.resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let result = if dups.contains(&(r.resource_type, r.resource_name.to_string())) {
                Err((
                    ResponseError::InvalidRequest,
                    "Duplicate resource in request".into(),
                ))
            } else {
                let ops: Result<Vec<AlterOp>, Failure> = r
                    .configs
                    .iter()
                    .map(|c| {
                        let key = c.name.to_string();
                        let value = c.value.as_ref().map(|v| v.to_string());
                        match (c.config_operation, value) {
                            (0, Some(v)) => Ok(AlterOp::Set(key, v)),
                            (1, _) => Ok(AlterOp::Delete(key)),
                            (2, Some(v)) => Ok(AlterOp::Append(key, v)),
                            (3, Some(v)) => Ok(AlterOp::Subtract(key, v)),
                            (0 | 2 | 3, None) => Err((
                                ResponseError::InvalidRequest,
                                format!("Null value not supported for : {key}"),
                            )),
                            (op, _) => Err((
                                ResponseError::InvalidRequest,
                                format!("Unknown alter config operation type {op}"),
                            )),
                        }
                    })
                    .collect();
                ops.and_then(|ops| {
                    alter_resource(
                        &ctx.broker,
                        r.resource_type,
                        r.resource_name.as_str(),
                        &ops,
                        false,
                        req.validate_only,
                    )
                })
            };
            let (code, msg) = outcome(result);
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(msg)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
        })
        .collect();
    ctx.reply(&IncrementalAlterConfigsResponse::default().with_responses(responses))
}
