//! Admin APIs a single-node Kafka answers: ACLs without an authorizer, leader elections,
//! partition reassignments, client quotas and SCRAM credentials, SASL and delegation tokens on a
//! PLAINTEXT listener; plus OffsetDelete on topics the broker does not have and DescribeCluster's
//! authorized operations.

use super::{name, s, send_kind, Side};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

fn opt(v: &Option<StrBytes>) -> String {
    match v {
        Some(m) => format!("{:?}", m.as_str()),
        None => "null".into(),
    }
}

/// Quota entities as a client prints them, sorted so Kafka's hash order does not matter.
fn entity_text(types_names: Vec<(String, Option<String>)>) -> String {
    let mut v: Vec<String> = types_names
        .into_iter()
        .map(|(t, n)| format!("{t}={}", n.unwrap_or_else(|| "<default>".into())))
        .collect();
    v.sort();
    v.join(",")
}

/// Kafka's brokers apply admin changes from the controller's log a moment after answering; ask
/// again (bounded) until the last change is visible, so that describes compare settled states.
async fn settle<Req: Encodable, Resp: Decodable>(
    side: &mut Side,
    key: ApiKey,
    v: i16,
    req: &Req,
    done: impl Fn(&Resp) -> bool,
) {
    for _ in 0..200 {
        if let Some(r) = side.call::<Req, Resp>(key, v, req).await {
            if done(&r) {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub async fn admin_scenario(side: &mut Side, run: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let t = format!("adm-{run}");
    macro_rules! step {
        ($label:expr, $key:expr, $v:expr, $req:expr, $resp:ty, $summary:expr) => {{
            let r: Option<$resp> = side.call($key, $v, &$req).await;
            let text = match &r {
                Some(r) => ($summary)(r),
                None => "connection closed".to_string(),
            };
            out.push((format!("admin: {}", $label), text));
        }};
    }

    // ACLs: no authorizer is configured on either broker.
    for v in [1, 3] {
        step!(
            format!("describe acls v{v}"),
            ApiKey::DescribeAcls,
            v,
            DescribeAclsRequest::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1),
            DescribeAclsResponse,
            |r: &DescribeAclsResponse| format!(
                "{} {} {}",
                r.error_code,
                opt(&r.error_message),
                r.resources.len()
            )
        );
    }
    let creation = |topic: &str| {
        create_acls_request::AclCreation::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_resource_pattern_type(3)
            .with_principal(s("User:alice"))
            .with_host(s("*"))
            .with_operation(3)
            .with_permission_type(3)
    };
    step!(
        "create acls",
        ApiKey::CreateAcls,
        3,
        CreateAclsRequest::default().with_creations(vec![creation(&t), creation("other")]),
        CreateAclsResponse,
        |r: &CreateAclsResponse| format!(
            "{:?}",
            r.results
                .iter()
                .map(|x| format!("{} {}", x.error_code, opt(&x.error_message)))
                .collect::<Vec<_>>()
        )
    );
    step!(
        "create acls, none",
        ApiKey::CreateAcls,
        1,
        CreateAclsRequest::default(),
        CreateAclsResponse,
        |r: &CreateAclsResponse| format!("{} results", r.results.len())
    );
    let filter = || {
        delete_acls_request::DeleteAclsFilter::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1)
    };
    step!(
        "delete acls",
        ApiKey::DeleteAcls,
        3,
        DeleteAclsRequest::default().with_filters(vec![filter(), filter()]),
        DeleteAclsResponse,
        |r: &DeleteAclsResponse| format!(
            "{:?}",
            r.filter_results
                .iter()
                .map(|x| format!(
                    "{} {} {}",
                    x.error_code,
                    opt(&x.error_message),
                    x.matching_acls.len()
                ))
                .collect::<Vec<_>>()
        )
    );

    step!(
        "create acls with an unknown operation",
        ApiKey::CreateAcls,
        3,
        CreateAclsRequest::default().with_creations(vec![creation(&t).with_operation(0)]),
        CreateAclsResponse,
        |r: &CreateAclsResponse| format!("{} results", r.results.len())
    );
    step!(
        "delete acls with an unknown pattern type",
        ApiKey::DeleteAcls,
        3,
        DeleteAclsRequest::default().with_filters(vec![filter().with_pattern_type_filter(0)]),
        DeleteAclsResponse,
        |r: &DeleteAclsResponse| format!("{} results", r.filter_results.len())
    );

    // Leader elections on a topic this node leads.
    step!(
        "create topic",
        ApiKey::CreateTopics,
        7,
        CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![create_topics_request::CreatableTopic::default()
                .with_name(name(&t))
                .with_num_partitions(2)
                .with_replication_factor(1)]),
        CreateTopicsResponse,
        |r: &CreateTopicsResponse| format!(
            "{:?}",
            r.topics.iter().map(|x| x.error_code).collect::<Vec<_>>()
        )
    );
    let elect_summary = |r: &ElectLeadersResponse| {
        let mut results: Vec<String> = r
            .replica_election_results
            .iter()
            .flat_map(|t| {
                t.partition_result.iter().map(move |p| {
                    format!(
                        "{}-{} {} {}",
                        t.topic.0.as_str(),
                        p.partition_id,
                        p.error_code,
                        opt(&p.error_message)
                    )
                })
            })
            .collect();
        results.sort();
        format!("{} {:?}", r.error_code, results)
    };
    let partitions = |topic: &str, ps: Vec<i32>| {
        elect_leaders_request::TopicPartitions::default()
            .with_topic(name(topic))
            .with_partitions(ps)
    };
    for (v, election) in [(0, 0), (1, 0), (2, 0), (2, 1)] {
        step!(
            format!("elect leaders v{v} type {election}"),
            ApiKey::ElectLeaders,
            v,
            ElectLeadersRequest::default()
                .with_election_type(election)
                .with_timeout_ms(30_000)
                .with_topic_partitions(Some(vec![
                    partitions(&t, vec![0, 1, 7]),
                    partitions(&format!("{t}-missing"), vec![0]),
                ])),
            ElectLeadersResponse,
            elect_summary
        );
    }
    step!(
        "elect leaders of every partition",
        ApiKey::ElectLeaders,
        2,
        ElectLeadersRequest::default()
            .with_election_type(0)
            .with_timeout_ms(30_000)
            .with_topic_partitions(None),
        ElectLeadersResponse,
        elect_summary
    );
    step!(
        "elect leaders of no partition",
        ApiKey::ElectLeaders,
        2,
        ElectLeadersRequest::default()
            .with_election_type(0)
            .with_timeout_ms(30_000)
            .with_topic_partitions(Some(vec![])),
        ElectLeadersResponse,
        elect_summary
    );

    // Partition reassignments.
    let reassign = |topic: &str, parts: Vec<(i32, Option<Vec<i32>>)>| {
        alter_partition_reassignments_request::ReassignableTopic::default()
            .with_name(name(topic))
            .with_partitions(
                parts
                    .into_iter()
                    .map(|(p, replicas)| {
                        alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(p)
                            .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))
                    })
                    .collect(),
            )
    };
    let reassign_summary = |r: &AlterPartitionReassignmentsResponse| {
        let mut results: Vec<String> = r
            .responses
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    format!(
                        "{}-{} {} {}",
                        t.name.0.as_str(),
                        p.partition_index,
                        p.error_code,
                        opt(&p.error_message)
                    )
                })
            })
            .collect();
        results.sort();
        format!("{} {} {:?}", r.error_code, opt(&r.error_message), results)
    };
    for v in [0, 1] {
        step!(
            format!("alter partition reassignments v{v}"),
            ApiKey::AlterPartitionReassignments,
            v,
            AlterPartitionReassignmentsRequest::default()
                .with_timeout_ms(30_000)
                .with_allow_replication_factor_change(true)
                .with_topics(vec![
                    reassign(
                        &t,
                        vec![(0, Some(vec![1])), (1, Some(vec![2])), (5, Some(vec![1])),],
                    ),
                    reassign(&format!("{t}-missing"), vec![(0, Some(vec![1]))]),
                ]),
            AlterPartitionReassignmentsResponse,
            reassign_summary
        );
    }
    for (label, replicas) in [
        ("cancel of no reassignment", None),
        ("no replicas", Some(vec![])),
        ("a replica twice", Some(vec![1, 1])),
        ("a negative replica", Some(vec![-1])),
        ("two replicas, one unknown", Some(vec![1, 2])),
    ] {
        step!(
            format!("alter partition reassignments: {label}"),
            ApiKey::AlterPartitionReassignments,
            0,
            AlterPartitionReassignmentsRequest::default()
                .with_timeout_ms(30_000)
                .with_topics(vec![reassign(&t, vec![(0, replicas)])]),
            AlterPartitionReassignmentsResponse,
            reassign_summary
        );
    }
    let list_summary = |r: &ListPartitionReassignmentsResponse| {
        format!(
            "{} {} {:?}",
            r.error_code,
            opt(&r.error_message),
            r.topics
                .iter()
                .map(|t| (t.name.0.to_string(), t.partitions.len()))
                .collect::<Vec<_>>()
        )
    };
    step!(
        "list partition reassignments, all",
        ApiKey::ListPartitionReassignments,
        0,
        ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(None),
        ListPartitionReassignmentsResponse,
        list_summary
    );
    step!(
        "list partition reassignments, named",
        ApiKey::ListPartitionReassignments,
        0,
        ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(Some(vec![
                list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                    .with_name(name(&t))
                    .with_partition_indexes(vec![0, 1, 9]),
                list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                    .with_name(name(&format!("{t}-missing")))
                    .with_partition_indexes(vec![0]),
            ])),
        ListPartitionReassignmentsResponse,
        list_summary
    );

    // Client quotas.
    let user = format!("adm-u-{run}");
    let client = format!("adm-c-{run}");
    let entity = |parts: &[(&str, Option<&str>)]| {
        parts
            .iter()
            .map(|(t, n)| {
                alter_client_quotas_request::EntityData::default()
                    .with_entity_type(s(t))
                    .with_entity_name(n.map(s))
            })
            .collect::<Vec<_>>()
    };
    let op = |k: &str, v: f64, remove: bool| {
        alter_client_quotas_request::OpData::default()
            .with_key(s(k))
            .with_value(v)
            .with_remove(remove)
    };
    let alter_summary = |r: &AlterClientQuotasResponse| {
        let mut results: Vec<String> = r
            .entries
            .iter()
            .map(|e| {
                format!(
                    "[{}] {} {}",
                    entity_text(
                        e.entity
                            .iter()
                            .map(|x| (
                                x.entity_type.to_string(),
                                x.entity_name.as_ref().map(|n| n.to_string())
                            ))
                            .collect()
                    ),
                    e.error_code,
                    opt(&e.error_message)
                )
            })
            .collect();
        results.sort();
        format!("{results:?}")
    };
    #[allow(clippy::type_complexity)]
    let alter = |entries: Vec<(
        Vec<(&str, Option<&str>)>,
        Vec<alter_client_quotas_request::OpData>,
    )>,
                 validate_only: bool| {
        AlterClientQuotasRequest::default()
            .with_validate_only(validate_only)
            .with_entries(
                entries
                    .into_iter()
                    .map(|(e, ops)| {
                        alter_client_quotas_request::EntryData::default()
                            .with_entity(entity(&e))
                            .with_ops(ops)
                    })
                    .collect(),
            )
    };
    let quota_cases: Vec<(&str, AlterClientQuotasRequest)> = vec![
        (
            "set user, client-id, user+client-id and ip quotas",
            alter(
                vec![
                    (
                        vec![("user", Some(&user))],
                        vec![
                            op("producer_byte_rate", 1024.0, false),
                            op("consumer_byte_rate", 2048.0, false),
                        ],
                    ),
                    (
                        vec![("client-id", Some(&client))],
                        vec![op("request_percentage", 50.5, false)],
                    ),
                    (
                        vec![("user", Some(&user)), ("client-id", Some(&client))],
                        vec![op("controller_mutation_rate", 3.25, false)],
                    ),
                    (
                        vec![("ip", Some("127.0.0.7"))],
                        vec![op("connection_creation_rate", 10.0, false)],
                    ),
                ],
                false,
            ),
        ),
        (
            "set default entities",
            alter(
                vec![
                    (
                        vec![("user", None)],
                        vec![op("consumer_byte_rate", 1e6, false)],
                    ),
                    (
                        vec![("user", Some(&user)), ("client-id", None)],
                        vec![op("request_percentage", 12.0, false)],
                    ),
                ],
                false,
            ),
        ),
        (
            "validate only",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-v")))],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                true,
            ),
        ),
        (
            "unknown entity type",
            alter(
                vec![(
                    vec![("group", Some("g"))],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "empty entity",
            alter(
                vec![(vec![], vec![op("producer_byte_rate", 1.0, false)])],
                false,
            ),
        ),
        (
            "unknown key",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x")))],
                    vec![op("fetch_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "fractional byte rate",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x")))],
                    vec![op("producer_byte_rate", 1.5, false)],
                )],
                false,
            ),
        ),
        (
            "ip with a user key",
            alter(
                vec![(
                    vec![("ip", Some("127.0.0.8"))],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "user with an ip key",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x")))],
                    vec![op("connection_creation_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "user and ip together",
            alter(
                vec![(
                    vec![
                        ("user", Some(&format!("{user}-x"))),
                        ("ip", Some("127.0.0.9")),
                    ],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "empty user name",
            alter(
                vec![(
                    vec![("user", Some(""))],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "a key twice",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x")))],
                    vec![
                        op("producer_byte_rate", 1.0, false),
                        op("producer_byte_rate", 2.0, false),
                    ],
                )],
                false,
            ),
        ),
        (
            "an entity type twice",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x"))), ("user", Some("y"))],
                    vec![op("producer_byte_rate", 1.0, false)],
                )],
                false,
            ),
        ),
        (
            "remove a key never set",
            alter(
                vec![(
                    vec![("user", Some(&format!("{user}-x")))],
                    vec![op("producer_byte_rate", 0.0, true)],
                )],
                false,
            ),
        ),
    ];
    for (label, req) in quota_cases {
        step!(
            format!("alter client quotas: {label}"),
            ApiKey::AlterClientQuotas,
            1,
            req,
            AlterClientQuotasResponse,
            alter_summary
        );
    }
    let exact = |t: &str, n: &str| {
        DescribeClientQuotasRequest::default()
            .with_strict(true)
            .with_components(vec![
                describe_client_quotas_request::ComponentData::default()
                    .with_entity_type(s(t))
                    .with_match_type(0)
                    .with_match(Some(s(n))),
            ])
    };
    // The last change above set user "y".
    settle(
        side,
        ApiKey::DescribeClientQuotas,
        1,
        &exact("user", "y"),
        |r: &DescribeClientQuotasResponse| r.entries.as_ref().is_some_and(|e| !e.is_empty()),
    )
    .await;
    let component = |t: &str, match_type: i8, m: Option<&str>| {
        describe_client_quotas_request::ComponentData::default()
            .with_entity_type(s(t))
            .with_match_type(match_type)
            .with_match(m.map(s))
    };
    // Only this run's entities: a reference broker kept between runs holds older ones.
    let describe_summary = {
        let run = run.to_string();
        move |r: &DescribeClientQuotasResponse| {
            let entries = r.entries.as_ref().map(|entries| {
                let mut v: Vec<String> = entries
                    .iter()
                    .filter(|e| {
                        e.entity.iter().all(|x| {
                            x.entity_type.as_str() == "ip"
                                || x.entity_name
                                    .as_ref()
                                    .is_none_or(|n| n.contains(run.as_str()))
                        })
                    })
                    .map(|e| {
                        let mut values: Vec<String> = e
                            .values
                            .iter()
                            .map(|v| format!("{}={}", v.key.as_str(), v.value))
                            .collect();
                        values.sort();
                        format!(
                            "[{}] {:?}",
                            entity_text(
                                e.entity
                                    .iter()
                                    .map(|x| (
                                        x.entity_type.to_string(),
                                        x.entity_name.as_ref().map(|n| n.to_string())
                                    ))
                                    .collect()
                            ),
                            values
                        )
                    })
                    .collect();
                v.sort();
                v
            });
            format!("{} {} {:?}", r.error_code, opt(&r.error_message), entries)
        }
    };
    let describe_cases: Vec<(
        &str,
        Vec<describe_client_quotas_request::ComponentData>,
        bool,
    )> = vec![
        ("exact user", vec![component("user", 0, Some(&user))], false),
        (
            "exact user, strict",
            vec![component("user", 0, Some(&user))],
            true,
        ),
        (
            "exact user and client-id",
            vec![
                component("user", 0, Some(&user)),
                component("client-id", 0, Some(&client)),
            ],
            false,
        ),
        (
            "any client-id",
            vec![component("client-id", 2, None)],
            false,
        ),
        ("any ip, strict", vec![component("ip", 2, None)], true),
        ("default user", vec![component("user", 1, None)], false),
        (
            "exact user, default client-id",
            vec![
                component("user", 0, Some(&user)),
                component("client-id", 1, None),
            ],
            true,
        ),
        ("everything", vec![], false),
        (
            "unknown entity type",
            vec![component("group", 2, None)],
            false,
        ),
        ("empty entity type", vec![component("", 2, None)], false),
        (
            "exact without a name",
            vec![component("user", 0, None)],
            false,
        ),
        (
            "default with a name",
            vec![component("user", 1, Some("x"))],
            false,
        ),
        (
            "specified with a name",
            vec![component("user", 2, Some("x"))],
            false,
        ),
        (
            "unknown match type",
            vec![component("user", 5, None)],
            false,
        ),
        (
            "a type twice",
            vec![component("user", 2, None), component("user", 0, Some("x"))],
            false,
        ),
        (
            "ip with user",
            vec![component("ip", 2, None), component("user", 2, None)],
            false,
        ),
    ];
    for (label, components, strict) in describe_cases {
        step!(
            format!("describe client quotas: {label}"),
            ApiKey::DescribeClientQuotas,
            1,
            DescribeClientQuotasRequest::default()
                .with_components(components)
                .with_strict(strict),
            DescribeClientQuotasResponse,
            describe_summary.clone()
        );
    }
    step!(
        "alter client quotas: remove one key and every key",
        ApiKey::AlterClientQuotas,
        0,
        alter(
            vec![
                (
                    vec![("user", Some(&user))],
                    vec![op("producer_byte_rate", 0.0, true)],
                ),
                (
                    vec![("client-id", Some(&client))],
                    vec![op("request_percentage", 0.0, true)],
                ),
                (
                    vec![("ip", Some("127.0.0.7"))],
                    vec![op("connection_creation_rate", 0.0, true)],
                ),
            ],
            false,
        ),
        AlterClientQuotasResponse,
        alter_summary
    );
    settle(
        side,
        ApiKey::DescribeClientQuotas,
        1,
        &exact("client-id", &client),
        |r: &DescribeClientQuotasResponse| r.entries.as_ref().is_some_and(|e| e.is_empty()),
    )
    .await;
    step!(
        "describe client quotas after removal",
        ApiKey::DescribeClientQuotas,
        0,
        DescribeClientQuotasRequest::default(),
        DescribeClientQuotasResponse,
        describe_summary.clone()
    );

    // SCRAM credentials.
    let su = format!("adm-s-{run}");
    let upsert = |user: &str, mechanism: i8, iterations: i32| {
        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
            .with_name(s(user))
            .with_mechanism(mechanism)
            .with_iterations(iterations)
            .with_salt(bytes::Bytes::from_static(b"0123456789abcdef"))
            .with_salted_password(bytes::Bytes::from(vec![7u8; 32]))
    };
    let delete = |user: &str, mechanism: i8| {
        alter_user_scram_credentials_request::ScramCredentialDeletion::default()
            .with_name(s(user))
            .with_mechanism(mechanism)
    };
    let scram_summary = |r: &AlterUserScramCredentialsResponse| {
        let mut v: Vec<String> = r
            .results
            .iter()
            .map(|x| {
                format!(
                    "{} {} {}",
                    x.user.as_str(),
                    x.error_code,
                    opt(&x.error_message)
                )
            })
            .collect();
        v.sort();
        format!("{v:?}")
    };
    let scram_cases: Vec<(&str, AlterUserScramCredentialsRequest)> = vec![
        (
            "upsert two users",
            AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                upsert(&su, 1, 4096),
                upsert(&format!("{su}-b"), 2, 16384),
            ]),
        ),
        (
            "upsert the other mechanism",
            AlterUserScramCredentialsRequest::default().with_upsertions(vec![upsert(&su, 2, 8192)]),
        ),
        (
            "unknown mechanism, bounds, empty name",
            AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                upsert(&format!("{su}-m"), 0, 4096),
                upsert(&format!("{su}-m3"), 3, 4096),
                upsert(&format!("{su}-low"), 1, 4095),
                upsert(&format!("{su}-high"), 2, 16385),
                upsert("", 1, 4096),
            ]),
        ),
        (
            "one user twice",
            AlterUserScramCredentialsRequest::default()
                .with_upsertions(vec![
                    upsert(&format!("{su}-d"), 1, 4096),
                    upsert(&format!("{su}-d"), 2, 4096),
                ])
                .with_deletions(vec![
                    delete(&format!("{su}-e"), 1),
                    delete(&format!("{su}-e"), 1),
                ]),
        ),
        (
            "deletion and upsertion of one user",
            AlterUserScramCredentialsRequest::default()
                .with_upsertions(vec![upsert(&su, 1, 5000)])
                .with_deletions(vec![delete(&su, 2)]),
        ),
        (
            "delete unknown credentials",
            AlterUserScramCredentialsRequest::default().with_deletions(vec![
                delete(&format!("{su}-none"), 1),
                delete(&format!("{su}-b"), 1),
                delete("", 1),
                delete(&format!("{su}-none2"), 9),
            ]),
        ),
    ];
    for (label, req) in scram_cases {
        step!(
            format!("alter scram credentials: {label}"),
            ApiKey::AlterUserScramCredentials,
            0,
            req,
            AlterUserScramCredentialsResponse,
            scram_summary
        );
    }
    let describe_scram_summary = {
        let run = run.to_string();
        move |r: &DescribeUserScramCredentialsResponse| {
            let mut v: Vec<String> = r
                .results
                .iter()
                .filter(|x| x.user.contains(run.as_str()))
                .map(|x| {
                    let mut infos: Vec<(i8, i32)> = x
                        .credential_infos
                        .iter()
                        .map(|c| (c.mechanism, c.iterations))
                        .collect();
                    infos.sort();
                    format!(
                        "{} {} {} {:?}",
                        x.user.as_str(),
                        x.error_code,
                        opt(&x.error_message),
                        infos
                    )
                })
                .collect();
            v.sort();
            format!("{} {} {:?}", r.error_code, opt(&r.error_message), v)
        }
    };
    // The last change above gave the first user its second mechanism.
    settle(
        side,
        ApiKey::DescribeUserScramCredentials,
        0,
        &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
            describe_user_scram_credentials_request::UserName::default().with_name(s(&su)),
        ])),
        |r: &DescribeUserScramCredentialsResponse| {
            r.results
                .first()
                .is_some_and(|x| x.credential_infos.len() == 2)
        },
    )
    .await;
    let users = |names: Vec<String>| {
        Some(
            names
                .into_iter()
                .map(|n| {
                    describe_user_scram_credentials_request::UserName::default().with_name(s(&n))
                })
                .collect(),
        )
    };
    for (label, req) in [
        (
            "named, unknown and twice",
            DescribeUserScramCredentialsRequest::default().with_users(users(vec![
                su.clone(),
                format!("{su}-b"),
                format!("{su}-none"),
                format!("{su}-twice"),
                format!("{su}-twice"),
            ])),
        ),
        (
            "all",
            DescribeUserScramCredentialsRequest::default().with_users(None),
        ),
        (
            "empty list",
            DescribeUserScramCredentialsRequest::default().with_users(Some(vec![])),
        ),
    ] {
        step!(
            format!("describe scram credentials: {label}"),
            ApiKey::DescribeUserScramCredentials,
            0,
            req,
            DescribeUserScramCredentialsResponse,
            describe_scram_summary.clone()
        );
    }

    // OffsetDelete names topics and partitions the broker does not have, for a group that
    // exists (a simple commit creates it).
    let g = format!("adm-g-{run}");
    step!(
        "commit for a group without members",
        ApiKey::OffsetCommit,
        8,
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s(&g)))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(name(&t))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(0),
                    ])
            ]),
        OffsetCommitResponse,
        |r: &OffsetCommitResponse| format!(
            "{:?}",
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                .collect::<Vec<_>>()
        )
    );
    step!(
        "offset delete of unknown topics and partitions",
        ApiKey::OffsetDelete,
        0,
        OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(&g)))
            .with_topics(vec![
                offset_delete_request::OffsetDeleteRequestTopic::default()
                    .with_name(name(&format!("{t}-missing")))
                    .with_partitions(vec![
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(0),
                    ]),
                offset_delete_request::OffsetDeleteRequestTopic::default()
                    .with_name(name(&t))
                    .with_partitions(vec![
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(0),
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(1),
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(2),
                    ]),
            ]),
        OffsetDeleteResponse,
        |r: &OffsetDeleteResponse| {
            let mut v: Vec<(String, i32, i16)> = r
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (t.name.0.to_string(), p.partition_index, p.error_code))
                })
                .collect();
            v.sort();
            format!("{} {v:?}", r.error_code)
        }
    );

    // SASL and delegation tokens on a PLAINTEXT listener.
    for v in [0, 1] {
        step!(
            format!("sasl handshake v{v}"),
            ApiKey::SaslHandshake,
            v,
            SaslHandshakeRequest::default().with_mechanism(s("SCRAM-SHA-256")),
            SaslHandshakeResponse,
            |r: &SaslHandshakeResponse| format!("{} {:?}", r.error_code, r.mechanisms)
        );
    }
    for v in [0, 2] {
        step!(
            format!("sasl authenticate v{v}"),
            ApiKey::SaslAuthenticate,
            v,
            SaslAuthenticateRequest::default()
                .with_auth_bytes(bytes::Bytes::from_static(b"n,,n=u,r=x")),
            SaslAuthenticateResponse,
            |r: &SaslAuthenticateResponse| format!(
                "{} {} {:?} {}",
                r.error_code,
                opt(&r.error_message),
                r.auth_bytes,
                r.session_lifetime_ms
            )
        );
    }
    for v in [1, 3] {
        step!(
            format!("create delegation token v{v}"),
            ApiKey::CreateDelegationToken,
            v,
            CreateDelegationTokenRequest::default().with_max_lifetime_ms(-1),
            CreateDelegationTokenResponse,
            |r: &CreateDelegationTokenResponse| format!(
                "{} {:?} {:?} {:?} {:?} {} {} {} {:?} {:?}",
                r.error_code,
                r.principal_type,
                r.principal_name,
                r.token_requester_principal_type,
                r.token_requester_principal_name,
                r.issue_timestamp_ms,
                r.expiry_timestamp_ms,
                r.max_timestamp_ms,
                r.token_id,
                r.hmac
            )
        );
    }
    step!(
        "renew delegation token",
        ApiKey::RenewDelegationToken,
        2,
        RenewDelegationTokenRequest::default().with_renew_period_ms(-1),
        RenewDelegationTokenResponse,
        |r: &RenewDelegationTokenResponse| format!("{} {}", r.error_code, r.expiry_timestamp_ms)
    );
    step!(
        "expire delegation token",
        ApiKey::ExpireDelegationToken,
        2,
        ExpireDelegationTokenRequest::default().with_expiry_time_period_ms(-1),
        ExpireDelegationTokenResponse,
        |r: &ExpireDelegationTokenResponse| format!("{} {}", r.error_code, r.expiry_timestamp_ms)
    );
    for v in [1, 3] {
        step!(
            format!("describe delegation token v{v}"),
            ApiKey::DescribeDelegationToken,
            v,
            DescribeDelegationTokenRequest::default().with_owners(None),
            DescribeDelegationTokenResponse,
            |r: &DescribeDelegationTokenResponse| format!("{} {}", r.error_code, r.tokens.len())
        );
    }

    // DescribeCluster with and without the cluster's authorized operations.
    for (v, include) in [(0, true), (0, false), (2, true)] {
        step!(
            format!("describe cluster v{v} operations {include}"),
            ApiKey::DescribeCluster,
            v,
            DescribeClusterRequest::default()
                .with_include_cluster_authorized_operations(include)
                .with_endpoint_type(1),
            DescribeClusterResponse,
            |r: &DescribeClusterResponse| format!(
                "{} {:#x}",
                r.error_code, r.cluster_authorized_operations
            )
        );
    }
    out
}

/// Each admin key at the lowest and highest version both brokers advertise, every field at its
/// default.
pub async fn admin_default_requests(
    addr: std::net::SocketAddr,
    mine: &std::collections::BTreeMap<i16, (i16, i16)>,
    theirs: &std::collections::BTreeMap<i16, (i16, i16)>,
) -> Vec<(String, String)> {
    let kinds: Vec<(ApiKey, RequestKind)> = vec![
        (
            ApiKey::DescribeAcls,
            RequestKind::DescribeAcls(Default::default()),
        ),
        (
            ApiKey::CreateAcls,
            RequestKind::CreateAcls(Default::default()),
        ),
        (
            ApiKey::DeleteAcls,
            RequestKind::DeleteAcls(Default::default()),
        ),
        (
            ApiKey::ElectLeaders,
            RequestKind::ElectLeaders(Default::default()),
        ),
        (
            ApiKey::AlterPartitionReassignments,
            RequestKind::AlterPartitionReassignments(Default::default()),
        ),
        (
            ApiKey::ListPartitionReassignments,
            RequestKind::ListPartitionReassignments(Default::default()),
        ),
        (
            ApiKey::DescribeClientQuotas,
            RequestKind::DescribeClientQuotas(Default::default()),
        ),
        (
            ApiKey::AlterClientQuotas,
            RequestKind::AlterClientQuotas(Default::default()),
        ),
        (
            ApiKey::DescribeUserScramCredentials,
            RequestKind::DescribeUserScramCredentials(Default::default()),
        ),
        (
            ApiKey::AlterUserScramCredentials,
            RequestKind::AlterUserScramCredentials(Default::default()),
        ),
        (
            ApiKey::SaslHandshake,
            RequestKind::SaslHandshake(Default::default()),
        ),
        (
            ApiKey::SaslAuthenticate,
            RequestKind::SaslAuthenticate(Default::default()),
        ),
        (
            ApiKey::CreateDelegationToken,
            RequestKind::CreateDelegationToken(Default::default()),
        ),
        (
            ApiKey::RenewDelegationToken,
            RequestKind::RenewDelegationToken(Default::default()),
        ),
        (
            ApiKey::ExpireDelegationToken,
            RequestKind::ExpireDelegationToken(Default::default()),
        ),
        (
            ApiKey::DescribeDelegationToken,
            RequestKind::DescribeDelegationToken(Default::default()),
        ),
    ];
    let mut out = Vec::new();
    for (key, kind) in kinds {
        let k = key as i16;
        let (Some(a), Some(b)) = (mine.get(&k), theirs.get(&k)) else {
            out.push((
                format!("admin: {key:?} advertised"),
                format!("{:?}", mine.get(&k)),
            ));
            continue;
        };
        out.push((format!("admin: {key:?} advertised range"), format!("{a:?}")));
        let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
        for v in [lo, hi] {
            out.push((
                format!("admin: {key:?} v{v} with default fields"),
                send_kind(addr, key, v, &kind).await,
            ));
        }
    }
    out
}
