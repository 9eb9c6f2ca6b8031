//! Differential steps for config validation (topic and broker), the answers' null fields,
//! DescribeConfigs synonyms, and Metadata auto-creation right after a delete.

use kafka_protocol::messages::*;

use super::{name, s, Side};

type Steps = Vec<(String, String)>;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

fn create(topic: &str, configs: &[(&str, &str)], validate_only: bool) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_validate_only(validate_only)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )])
}

fn create_summary(r: &CreateTopicsResponse) -> String {
    format!(
        "{:?}",
        r.topics
            .iter()
            .map(|x| (
                x.error_code,
                x.error_message.as_ref().map(|m| m.to_string())
            ))
            .collect::<Vec<_>>()
    )
}

/// One IncrementalAlterConfigs resource; `ops` are (key, operation, value).
fn incremental(
    kind: i8,
    resource: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> IncrementalAlterConfigsRequest {
    IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(s(resource))
                .with_configs(
                    ops.iter()
                        .map(|(k, op, v)| {
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(s(k))
                                .with_config_operation(*op)
                                .with_value(v.map(s))
                        })
                        .collect(),
                ),
        ])
}

fn incremental_summary(r: &IncrementalAlterConfigsResponse, with_message: bool) -> String {
    format!(
        "{:?}",
        r.responses
            .iter()
            .map(|x| (
                x.error_code,
                with_message.then(|| x.error_message.as_ref().map(|m| m.to_string()))
            ))
            .collect::<Vec<_>>()
    )
}

fn legacy(
    kind: i8,
    resource: &str,
    entries: &[(&str, &str)],
    validate_only: bool,
) -> AlterConfigsRequest {
    AlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(kind)
            .with_resource_name(s(resource))
            .with_configs(
                entries
                    .iter()
                    .map(|(k, v)| {
                        alter_configs_request::AlterableConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )])
}

fn legacy_summary(r: &AlterConfigsResponse) -> String {
    format!(
        "{:?}",
        r.responses
            .iter()
            .map(|x| (
                x.error_code,
                x.error_message.as_ref().map(|m| m.to_string())
            ))
            .collect::<Vec<_>>()
    )
}

fn describe(kind: i8, resource: &str, keys: &[&str]) -> DescribeConfigsRequest {
    DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(s(resource))
                .with_configuration_keys(Some(keys.iter().map(|k| s(k)).collect())),
        ])
}

/// Names, values, sources, read-only flags, synonyms and whether documentation is null.
fn describe_summary(r: &DescribeConfigsResponse) -> String {
    let mut out = Vec::new();
    for res in &r.results {
        out.push(format!(
            "error {} {:?}",
            res.error_code,
            res.error_message.as_ref().map(|m| m.to_string())
        ));
        let mut configs: Vec<_> = res.configs.iter().collect();
        configs.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        for c in configs {
            let synonyms: Vec<_> = c
                .synonyms
                .iter()
                .map(|y| {
                    format!(
                        "{}={:?}/{}",
                        y.name.as_str(),
                        y.value.as_ref().map(|v| v.to_string()),
                        y.source
                    )
                })
                .collect();
            out.push(format!(
                "{}={:?} source {} read-only {} doc {:?} synonyms {:?}",
                c.name.as_str(),
                c.value.as_ref().map(|v| v.to_string()),
                c.config_source,
                c.read_only,
                c.documentation.as_ref().map(|d| d.len()),
                synonyms
            ));
        }
    }
    out.join("; ")
}

/// Config validation as Kafka 4.x does it, for topics and the broker.
pub async fn config_scenario(side: &mut Side, run: &str) -> Steps {
    let mut out: Steps = Vec::new();
    let t = format!("cfgdiff-{run}");
    macro_rules! step {
        ($label:expr, $key:expr, $v:expr, $req:expr, $resp:ty, $summary:expr) => {{
            let r: Option<$resp> = side.call($key, $v, &$req).await;
            let text = match &r {
                Some(r) => ($summary)(r),
                None => "connection closed".to_string(),
            };
            out.push(($label.to_string(), text));
        }};
    }

    // CreateTopics (validate_only) with values at and past Kafka's bounds: code and message.
    let cases: &[&[(&str, &str)]] = &[
        &[("segment.bytes", "200")],
        &[("segment.bytes", "1048575")],
        &[("segment.bytes", "1048576")],
        &[("segment.bytes", "+200")],
        &[("segment.bytes", "2147483648")],
        &[("segment.bytes", "x")],
        &[("segment.ms", "0")],
        &[("segment.index.bytes", "3")],
        &[("retention.ms", "-2")],
        &[("retention.bytes", "-5")],
        &[("cleanup.policy", "bogus")],
        &[("cleanup.policy", "compact,bogus")],
        &[("cleanup.policy", "Compact")],
        &[("cleanup.policy", "")],
        &[("compression.type", "bogus")],
        &[("compression.gzip.level", "0")],
        &[("compression.lz4.level", "18")],
        &[("compression.lz4.level", "0")],
        &[("compression.zstd.level", "23")],
        &[("compression.zstd.level", "-131073")],
        &[("min.cleanable.dirty.ratio", "2")],
        &[("min.cleanable.dirty.ratio", "-0.5")],
        &[("min.cleanable.dirty.ratio", "1e9")],
        &[("min.cleanable.dirty.ratio", "x")],
        &[("message.timestamp.type", "bogus")],
        &[("preallocate", "yes")],
        &[("max.message.bytes", "-1")],
        &[("flush.messages", "0")],
        &[("max.compaction.lag.ms", "0")],
        &[("min.insync.replicas", "0")],
        &[("local.retention.ms", "-3")],
        &[("leader.replication.throttled.replicas", "bad")],
        &[("follower.replication.throttled.replicas", "0:1,*")],
        &[("remote.storage.enable", "true")],
        &[
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "5"),
        ],
        &[("no.such.config", "1")],
    ];
    for configs in cases {
        step!(
            format!("configs: create validate_only {configs:?}"),
            ApiKey::CreateTopics,
            7,
            create(&format!("{t}-v"), configs, true),
            CreateTopicsResponse,
            create_summary
        );
    }
    step!(
        "configs: create segment.bytes=200",
        ApiKey::CreateTopics,
        7,
        create(&t, &[("segment.bytes", "200")], false),
        CreateTopicsResponse,
        create_summary
    );
    // A successful create's error_message is null.
    step!(
        "configs: create topic",
        ApiKey::CreateTopics,
        7,
        create(
            &t,
            &[("retention.ms", "3600000"), ("segment.ms", "7200000")],
            false
        ),
        CreateTopicsResponse,
        create_summary
    );

    // Topic alterations: incremental and legacy, validate_only and not.
    for validate_only in [true, false] {
        for (k, op, v) in [
            ("segment.bytes", 0, Some("200")),
            ("cleanup.policy", 0, Some("bogus")),
            ("cleanup.policy", 2, Some("bogus")),
            ("min.cleanable.dirty.ratio", 0, Some("1.5")),
            ("remote.storage.enable", 0, Some("true")),
            ("no.such.config", 0, Some("1")),
        ] {
            step!(
                format!(
                    "configs: topic incremental {k} op {op} {v:?} validate_only {validate_only}"
                ),
                ApiKey::IncrementalAlterConfigs,
                1,
                incremental(TOPIC, &t, &[(k, op, v)], validate_only),
                IncrementalAlterConfigsResponse,
                |r| incremental_summary(r, true)
            );
        }
        for (k, v) in [("segment.bytes", "200"), ("compression.type", "bogus")] {
            step!(
                format!("configs: topic legacy alter {k}={v} validate_only {validate_only}"),
                ApiKey::AlterConfigs,
                2,
                legacy(TOPIC, &t, &[(k, v)], validate_only),
                AlterConfigsResponse,
                legacy_summary
            );
        }
    }

    // Synonyms and null documentation of a topic with overrides.
    let topic_keys = [
        "retention.ms",
        "segment.ms",
        "segment.jitter.ms",
        "segment.bytes",
        "flush.ms",
        "flush.messages",
        "cleanup.policy",
        "max.message.bytes",
    ];
    step!(
        "configs: describe topic synonyms",
        ApiKey::DescribeConfigs,
        4,
        describe(TOPIC, &t, &topic_keys),
        DescribeConfigsResponse,
        describe_summary
    );

    // Broker alterations (validate_only): invalid values, read-only keys, keys Kafka accepts.
    for (resource, k, v, with_message) in [
        ("1", "log.cleanup.policy", "bogus", true),
        ("1", "compression.type", "bogus", true),
        ("1", "log.retention.ms", "0", true),
        ("1", "log.retention.ms", "-2", true),
        ("1", "log.roll.ms", "0", true),
        ("1", "log.roll.ms", "-5", true),
        ("1", "log.retention.bytes", "x", true),
        ("1", "log.segment.bytes", "100", true),
        ("1", "log.segment.bytes", "1048576", true),
        ("1", "message.max.bytes", "-1", true),
        ("1", "log.retention.hours", "5", true),
        ("1", "num.io.threads", "4", true),
        ("1", "num.io.threads", "0", true),
        ("1", "num.io.threads", "100", false),
        ("1", "num.network.threads", "2", true),
        ("1", "background.threads", "5", true),
        ("1", "background.threads", "0", true),
        ("1", "log.cleaner.threads", "2", true),
        ("1", "log.cleaner.threads", "-1", true),
        ("1", "max.connections", "500", true),
        ("1", "max.connections", "-1", true),
        ("1", "max.connections", "x", true),
        ("1", "max.connections.per.ip", "50", true),
        ("1", "no.such.key", "1", true),
        ("", "max.connections", "500", true),
        ("", "num.io.threads", "4", true),
        ("", "no.such.key", "1", true),
        ("", "log.cleanup.policy", "bogus", true),
        ("", "log.segment.bytes", "100", true),
    ] {
        step!(
            format!("configs: broker {resource:?} incremental {k}={v} validate_only"),
            ApiKey::IncrementalAlterConfigs,
            1,
            incremental(BROKER, resource, &[(k, 0, Some(v))], true),
            IncrementalAlterConfigsResponse,
            |r| incremental_summary(r, with_message)
        );
    }
    step!(
        "configs: broker legacy alter log.segment.bytes=100 validate_only",
        ApiKey::AlterConfigs,
        2,
        legacy(BROKER, "1", &[("log.segment.bytes", "100")], true),
        AlterConfigsResponse,
        legacy_summary
    );

    // Keys Kafka accepts at run time are described back with their source.
    let broker_keys = ["num.io.threads", "max.connections", "background.threads"];
    // max.connections' DEFAULT differs on purpose (Strata bounds it; docs/compatibility.md), so
    // only its value and source are compared.
    let described_keys = ["num.io.threads", "background.threads"];
    step!(
        "configs: broker set num.io.threads and max.connections",
        ApiKey::IncrementalAlterConfigs,
        1,
        incremental(
            BROKER,
            "1",
            &[
                ("num.io.threads", 0, Some("6")),
                ("max.connections", 0, Some("5000")),
            ],
            false
        ),
        IncrementalAlterConfigsResponse,
        |r| incremental_summary(r, true)
    );
    // Kafka applies broker changes through its metadata log; wait (bounded) until visible.
    for _ in 0..50 {
        let r: Option<DescribeConfigsResponse> = side
            .call(
                ApiKey::DescribeConfigs,
                4,
                &describe(BROKER, "1", &broker_keys),
            )
            .await;
        let visible = r.is_some_and(|r| {
            r.results.iter().any(|x| {
                x.configs.iter().any(|c| {
                    c.name.as_str() == "max.connections"
                        && c.value.as_ref().map(|v| v.as_str()) == Some("5000")
                })
            })
        });
        if visible {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    step!(
        "configs: describe broker keys after set",
        ApiKey::DescribeConfigs,
        4,
        describe(BROKER, "1", &described_keys),
        DescribeConfigsResponse,
        describe_summary
    );
    step!(
        "configs: describe max.connections after set",
        ApiKey::DescribeConfigs,
        4,
        describe(BROKER, "1", &["max.connections"]),
        DescribeConfigsResponse,
        |r: &DescribeConfigsResponse| format!(
            "{:?}",
            r.results
                .iter()
                .flat_map(|x| x.configs.iter())
                .map(|c| (
                    c.value.as_ref().map(|v| v.to_string()),
                    c.config_source,
                    c.read_only
                ))
                .collect::<Vec<_>>()
        )
    );
    step!(
        "configs: broker delete num.io.threads and max.connections",
        ApiKey::IncrementalAlterConfigs,
        1,
        incremental(
            BROKER,
            "1",
            &[("num.io.threads", 1, None), ("max.connections", 1, None)],
            false
        ),
        IncrementalAlterConfigsResponse,
        |r| incremental_summary(r, true)
    );

    step!(
        "configs: delete topic",
        ApiKey::DeleteTopics,
        6,
        DeleteTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![
                delete_topics_request::DeleteTopicState::default().with_name(Some(name(&t)))
            ]),
        DeleteTopicsResponse,
        |r: &DeleteTopicsResponse| format!(
            "{:?}",
            r.responses.iter().map(|x| x.error_code).collect::<Vec<_>>()
        )
    );
    out
}

fn metadata(topic: &str, auto_create: bool) -> MetadataRequest {
    MetadataRequest::default()
        .with_allow_auto_topic_creation(auto_create)
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
        )
        .with_name(Some(name(topic)))]))
}

fn metadata_summary(r: &MetadataResponse) -> String {
    format!(
        "{:?}",
        r.topics
            .iter()
            .map(|x| (
                x.error_code,
                x.partitions
                    .iter()
                    .map(|p| (p.partition_index, p.error_code))
                    .collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>()
    )
}

fn delete(topic: &str) -> DeleteTopicsRequest {
    DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            delete_topics_request::DeleteTopicState::default().with_name(Some(name(topic)))
        ])
}

/// Metadata with auto-creation sent the moment DeleteTopics has answered.
pub async fn metadata_after_delete_scenario(side: &mut Side, run: &str) -> Steps {
    let mut out: Steps = Vec::new();
    let t = format!("cfgdiff-md-{run}");
    let mut req = create(&t, &[], false);
    req.topics[0].num_partitions = 3;
    let r: Option<CreateTopicsResponse> = side.call(ApiKey::CreateTopics, 7, &req).await;
    out.push((
        "metadata after delete: create".into(),
        r.map_or("connection closed".into(), |r| create_summary(&r)),
    ));
    let r: Option<DeleteTopicsResponse> = side.call(ApiKey::DeleteTopics, 6, &delete(&t)).await;
    out.push((
        "metadata after delete: delete".into(),
        r.map_or("connection closed".into(), |r| {
            format!(
                "{:?}",
                r.responses.iter().map(|x| x.error_code).collect::<Vec<_>>()
            )
        }),
    ));
    // Kafka answers either the deleted topic still in its broker's metadata image (3
    // partitions) or UNKNOWN_TOPIC_OR_PARTITION while it asks its controller for the creation;
    // which one depends on timing. Never a new topic: that is what a client can rely on.
    let r: Option<MetadataResponse> = side.call(ApiKey::Metadata, 12, &metadata(&t, true)).await;
    out.push((
        "metadata after delete: auto-create at once".into(),
        r.map_or("connection closed".into(), |r| {
            let new_topic = r
                .topics
                .iter()
                .any(|x| x.error_code == 0 && x.partitions.len() == 1);
            format!("answers a new topic: {new_topic}")
        }),
    ));
    // The creation the Metadata request asked for takes effect: wait (bounded) until it does.
    let fresh = format!("{t}-fresh");
    let r: Option<MetadataResponse> = side
        .call(ApiKey::Metadata, 12, &metadata(&fresh, true))
        .await;
    out.push((
        "metadata auto-create of a new topic".into(),
        r.map_or("connection closed".into(), |r| metadata_summary(&r)),
    ));
    let _: Option<DeleteTopicsResponse> = side.call(ApiKey::DeleteTopics, 6, &delete(&t)).await;
    for _ in 0..50 {
        let r: Option<MetadataResponse> = side
            .call(ApiKey::Metadata, 12, &metadata(&fresh, false))
            .await;
        if r.is_some_and(|r| r.topics.iter().all(|x| x.error_code == 0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r: Option<MetadataResponse> = side
        .call(ApiKey::Metadata, 12, &metadata(&fresh, false))
        .await;
    out.push((
        "metadata auto-create: new topic later".into(),
        r.map_or("connection closed".into(), |r| metadata_summary(&r)),
    ));
    let _: Option<DeleteTopicsResponse> = side.call(ApiKey::DeleteTopics, 6, &delete(&fresh)).await;
    out
}
