//! ElectLeaders (43), AlterPartitionReassignments (45), ListPartitionReassignments (46).
//!
//! This node leads every partition and is its only replica, so there is never an election to
//! hold and never a reassignment in flight: a reassignment onto this node alone completes at
//! once. The answers are Kafka's for the same situation, messages included.

use indexmap::IndexMap;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ElectLeadersRequest, ElectLeadersResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};

fn text(s: String) -> Option<StrBytes> {
    Some(StrBytes::from_string(s))
}

/// Preferred and unclean elections alike: the leader is the only replica. A null topic list
/// asks for every partition, and Kafka then leaves out those needing no election: all of them.
pub async fn elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> Reply {
    // A topic may be named more than once; its partitions are answered together.
    let mut results: IndexMap<String, ReplicaElectionResult> = IndexMap::new();
    for t in req.topic_partitions.unwrap_or_default() {
        let name = t.topic.0.to_string();
        let count = ctx.broker.partition_count(&name);
        let partition_result: Vec<PartitionResult> = t
            .partitions
            .iter()
            .map(|&p| {
                let (error, message) = match count {
                    None => (
                        ResponseError::UnknownTopicOrPartition,
                        format!("No such topic as {name}"),
                    ),
                    Some(n) if !(0..n).contains(&p) => (
                        ResponseError::UnknownTopicOrPartition,
                        format!("No such partition as {name}-{p}"),
                    ),
                    Some(_) => (
                        ResponseError::ElectionNotNeeded,
                        "Leader election not needed for topic partition.".to_string(),
                    ),
                };
                PartitionResult::default()
                    .with_partition_id(p)
                    .with_error_code(error.code())
                    .with_error_message(text(message))
            })
            .collect();
        results
            .entry(name)
            .or_insert_with(|| ReplicaElectionResult::default().with_topic(t.topic))
            .partition_result
            .extend(partition_result);
    }
    ctx.reply(
        &ElectLeadersResponse::default()
            .with_replica_election_results(results.into_values().collect()),
    )
}

pub async fn alter_reassignments(
    ctx: RequestContext,
    req: AlterPartitionReassignmentsRequest,
) -> Reply {
    let node = ctx.broker.node_id();
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let count = ctx.broker.partition_count(&name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let i = p.partition_index;
                    let outcome = match count {
                        None => Err((
                            ResponseError::UnknownTopicOrPartition,
                            text(format!("Unable to find a topic named {name}.")),
                        )),
                        Some(n) if !(0..n).contains(&i) => Err((
                            ResponseError::UnknownTopicOrPartition,
                            text(format!("Unable to find partition {name}:{i}.")),
                        )),
                        // A cancellation: nothing is ever in progress.
                        Some(_) => match p.replicas {
                            None => Err((ResponseError::NoReassignmentInProgress, None)),
                            Some(replicas) => check_replicas(&replicas, node),
                        },
                    };
                    let (code, message) = match outcome {
                        Ok(()) => (0, None),
                        Err((e, m)) => (e.code(), m),
                    };
                    ReassignablePartitionResponse::default()
                        .with_partition_index(i)
                        .with_error_code(code)
                        .with_error_message(message)
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ctx.reply(
        &AlterPartitionReassignmentsResponse::default()
            .with_error_message(None)
            .with_allow_replication_factor_change(req.allow_replication_factor_change)
            .with_responses(responses),
    )
}

/// Kafka's checks of a manual assignment, in its order: not empty, then over the sorted ids each
/// must be a registered broker (only this node is) and appear once.
fn check_replicas(
    replicas: &[BrokerId],
    node: i32,
) -> Result<(), (ResponseError, Option<StrBytes>)> {
    let invalid = |m: String| (ResponseError::InvalidReplicaAssignment, text(m));
    if replicas.is_empty() {
        return Err(invalid(
            "The manual partition assignment includes an empty replica list.".into(),
        ));
    }
    let mut sorted: Vec<i32> = replicas.iter().map(|b| b.0).collect();
    sorted.sort_unstable();
    let mut previous = None;
    for id in sorted {
        if id != node {
            return Err(invalid(format!(
                "The manual partition assignment includes broker {id}, but no such broker is registered."
            )));
        }
        if previous == Some(id) {
            return Err(invalid(format!(
                "The manual partition assignment includes the broker {id} more than once."
            )));
        }
        previous = Some(id);
    }
    Ok(())
}

pub async fn list_reassignments(
    ctx: RequestContext,
    _req: ListPartitionReassignmentsRequest,
) -> Reply {
    ctx.reply(&ListPartitionReassignmentsResponse::default().with_error_message(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[i32]) -> Option<String> {
        let ids: Vec<BrokerId> = ids.iter().map(|&i| BrokerId(i)).collect();
        check_replicas(&ids, 1)
            .err()
            .map(|(_, m)| m.map(|m| m.to_string()).unwrap_or_default())
    }

    #[test]
    fn replica_checks_in_kafkas_order() {
        assert_eq!(check(&[1]), None);
        assert!(check(&[]).unwrap().contains("empty replica list"));
        assert!(check(&[1, 1]).unwrap().contains("broker 1 more than once"));
        assert!(check(&[2, 1])
            .unwrap()
            .contains("broker 2, but no such broker"));
        assert!(check(&[3, 3])
            .unwrap()
            .contains("broker 3, but no such broker"));
    }
}
