//! The route table: which API keys and versions this broker implements.
//!
//! Versions are the Kafka 4.x ranges clients use, capped where a newer version's semantics are not
//! implemented yet (noted per entry). ApiVersions is derived from this table and nothing else.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};

use super::{
    acls, api_versions, client_quotas, cluster, configs, decode, delegation_tokens, delete_records,
    fetch, groups, list_offsets, metadata, offset_for_leader_epoch, partition_admin, produce,
    producer_id, producers, sasl, scram, topics, transactions, txn_markers, Reply, RequestContext,
};

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
}

impl Route {
    pub fn supports(&self, version: i16) -> bool {
        (self.min..=self.max).contains(&version)
    }
}

const fn r(key: ApiKey, min: i16, max: i16) -> Route {
    Route { key, min, max }
}

pub const ROUTES: &[Route] = &[
    // Advertised from v0 because librdkafka enables compression only when Produce v0..2 appear in
    // the range (KAFKA-18659); v0-v2 requests themselves get UNSUPPORTED_VERSION. v12+ implies
    // transactions V2 (KIP-890) and v13 topic ids: not advertised until implemented.
    r(ApiKey::Produce, 0, 11),
    // v4 is Kafka 4.x's floor. v17 and v18 add only fields followers use (a replica directory
    // id, KIP-853; the follower's high watermark, tagged): nothing changes for consumers.
    r(ApiKey::Fetch, 4, 18),
    r(ApiKey::ListOffsets, 1, 10),
    r(ApiKey::Metadata, 0, 13),
    r(ApiKey::ApiVersions, 0, 4),
    r(ApiKey::CreateTopics, 2, 7),
    r(ApiKey::DeleteTopics, 1, 6),
    r(ApiKey::DeleteRecords, 0, 2),
    // v6 adds 2PC (KIP-939), not implemented.
    r(ApiKey::InitProducerId, 0, 5),
    r(ApiKey::OffsetForLeaderEpoch, 2, 4),
    r(ApiKey::DescribeConfigs, 1, 4),
    r(ApiKey::AlterConfigs, 0, 2),
    r(ApiKey::CreatePartitions, 0, 3),
    r(ApiKey::IncrementalAlterConfigs, 0, 1),
    r(ApiKey::DescribeCluster, 0, 2),
    r(ApiKey::DescribeLogDirs, 1, 4),
    // Group coordinator, at Kafka 4.1's ranges (KIP-896 removed OffsetCommit v0-1 and OffsetFetch
    // v0).
    r(ApiKey::FindCoordinator, 0, 6),
    r(ApiKey::JoinGroup, 0, 9),
    r(ApiKey::SyncGroup, 0, 5),
    r(ApiKey::Heartbeat, 0, 4),
    r(ApiKey::LeaveGroup, 0, 5),
    r(ApiKey::OffsetCommit, 2, 9),
    r(ApiKey::OffsetFetch, 1, 9),
    r(ApiKey::DescribeGroups, 0, 6),
    r(ApiKey::ListGroups, 0, 5),
    r(ApiKey::DeleteGroups, 0, 2),
    r(ApiKey::OffsetDelete, 0, 0),
    // KIP-848 consumer groups (v1: members choose their own id, KIP-1082).
    r(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    r(ApiKey::ConsumerGroupDescribe, 0, 1),
    // Transactions. EndTxn v5 and TxnOffsetCommit v5 mean Transactions V2 (KIP-890 part 2, with
    // Produce v12): not advertised until the transaction.version feature is. AddPartitionsToTxn
    // v4-5 are the batched, verify-only broker forms.
    r(ApiKey::AddPartitionsToTxn, 0, 5),
    r(ApiKey::AddOffsetsToTxn, 0, 4),
    r(ApiKey::EndTxn, 0, 4),
    r(ApiKey::WriteTxnMarkers, 1, 1),
    r(ApiKey::TxnOffsetCommit, 0, 4),
    r(ApiKey::DescribeProducers, 0, 0),
    r(ApiKey::DescribeTransactions, 0, 0),
    r(ApiKey::ListTransactions, 0, 2),
    // Admin APIs at Kafka 4.1's ranges. No authorizer: ACL requests get SECURITY_DISABLED.
    r(ApiKey::DescribeAcls, 1, 3),
    r(ApiKey::CreateAcls, 1, 3),
    r(ApiKey::DeleteAcls, 1, 3),
    r(ApiKey::ElectLeaders, 0, 2),
    r(ApiKey::AlterPartitionReassignments, 0, 1),
    r(ApiKey::ListPartitionReassignments, 0, 0),
    r(ApiKey::DescribeClientQuotas, 0, 1),
    r(ApiKey::AlterClientQuotas, 0, 1),
    r(ApiKey::DescribeUserScramCredentials, 0, 0),
    r(ApiKey::AlterUserScramCredentials, 0, 0),
    // PLAINTEXT only: answered as Kafka answers them on a PLAINTEXT listener (ILLEGAL_SASL_STATE,
    // DELEGATION_TOKEN_REQUEST_NOT_ALLOWED) rather than by closing the connection.
    r(ApiKey::SaslHandshake, 0, 1),
    r(ApiKey::SaslAuthenticate, 0, 2),
    r(ApiKey::CreateDelegationToken, 1, 3),
    r(ApiKey::RenewDelegationToken, 1, 2),
    r(ApiKey::ExpireDelegationToken, 1, 2),
    r(ApiKey::DescribeDelegationToken, 1, 3),
];

pub fn find(api_key: i16) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.key as i16 == api_key)
}

/// Decodes the body for the route's key and runs its handler. Every key in [`ROUTES`] has an arm
/// here; a test checks that none falls through.
pub async fn run(ctx: RequestContext, header: RequestHeader, mut body: Bytes) -> Reply {
    super::header_unused(&header);
    let v = ctx.version();
    macro_rules! with {
        ($handler:path) => {
            match decode(&mut body, v) {
                Some(req) => $handler(ctx, req).await,
                None => Reply::Close,
            }
        };
    }
    match ctx.key {
        ApiKey::Produce => with!(produce::handle),
        ApiKey::Fetch => with!(fetch::handle),
        ApiKey::ListOffsets => with!(list_offsets::handle),
        ApiKey::Metadata => with!(metadata::handle),
        ApiKey::ApiVersions => with!(api_versions::handle),
        ApiKey::CreateTopics => with!(topics::create_topics),
        ApiKey::DeleteTopics => with!(topics::delete_topics),
        ApiKey::CreatePartitions => with!(topics::create_partitions),
        ApiKey::DeleteRecords => with!(delete_records::handle),
        ApiKey::InitProducerId => with!(producer_id::handle),
        ApiKey::OffsetForLeaderEpoch => with!(offset_for_leader_epoch::handle),
        ApiKey::DescribeConfigs => with!(configs::describe_configs),
        ApiKey::AlterConfigs => with!(configs::alter_configs),
        ApiKey::IncrementalAlterConfigs => with!(configs::incremental_alter_configs),
        ApiKey::DescribeCluster => with!(cluster::describe_cluster),
        ApiKey::DescribeLogDirs => with!(cluster::describe_log_dirs),
        ApiKey::FindCoordinator => with!(groups::find_coordinator::handle),
        ApiKey::JoinGroup => with!(groups::membership::join),
        ApiKey::SyncGroup => with!(groups::membership::sync),
        ApiKey::Heartbeat => with!(groups::membership::heartbeat),
        ApiKey::LeaveGroup => with!(groups::membership::leave),
        ApiKey::OffsetCommit => with!(groups::offsets::commit),
        ApiKey::OffsetFetch => with!(groups::offsets::fetch),
        ApiKey::OffsetDelete => with!(groups::offsets::delete),
        ApiKey::DescribeGroups => with!(groups::admin::describe),
        ApiKey::ListGroups => with!(groups::admin::list),
        ApiKey::DeleteGroups => with!(groups::admin::delete),
        ApiKey::ConsumerGroupHeartbeat => with!(groups::consumer::heartbeat),
        ApiKey::ConsumerGroupDescribe => with!(groups::consumer::describe),
        ApiKey::AddPartitionsToTxn => with!(transactions::add_partitions),
        ApiKey::AddOffsetsToTxn => with!(transactions::add_offsets),
        ApiKey::EndTxn => with!(transactions::end_txn),
        ApiKey::TxnOffsetCommit => with!(transactions::txn_offset_commit),
        ApiKey::DescribeTransactions => with!(transactions::describe),
        ApiKey::ListTransactions => with!(transactions::list),
        ApiKey::WriteTxnMarkers => with!(txn_markers::handle),
        ApiKey::DescribeProducers => with!(producers::handle),
        ApiKey::DescribeAcls => with!(acls::describe),
        ApiKey::CreateAcls => with!(acls::create),
        ApiKey::DeleteAcls => with!(acls::delete),
        ApiKey::ElectLeaders => with!(partition_admin::elect_leaders),
        ApiKey::AlterPartitionReassignments => with!(partition_admin::alter_reassignments),
        ApiKey::ListPartitionReassignments => with!(partition_admin::list_reassignments),
        ApiKey::DescribeClientQuotas => with!(client_quotas::describe),
        ApiKey::AlterClientQuotas => with!(client_quotas::alter),
        ApiKey::DescribeUserScramCredentials => with!(scram::describe),
        ApiKey::AlterUserScramCredentials => with!(scram::alter),
        ApiKey::SaslHandshake => with!(sasl::handshake),
        ApiKey::SaslAuthenticate => with!(sasl::authenticate),
        ApiKey::CreateDelegationToken => with!(delegation_tokens::create),
        ApiKey::RenewDelegationToken => with!(delegation_tokens::renew),
        ApiKey::ExpireDelegationToken => with!(delegation_tokens::expire),
        ApiKey::DescribeDelegationToken => with!(delegation_tokens::describe),
        _ => Reply::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_and_within_the_protocol_crate_ranges() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[i + 1..].iter().all(|b| b.key != a.key),
                "{:?} twice",
                a.key
            );
            let valid = a.key.valid_versions();
            // Produce v0-2 are advertised but answered by hand (see produce::legacy).
            let min = if a.key == ApiKey::Produce {
                valid.min
            } else {
                a.min
            };
            assert!(min >= valid.min && a.max <= valid.max, "{:?}", a.key);
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use super::ROUTES;

    /// docs/compatibility.md lists exactly the advertised keys and versions.
    #[test]
    fn compatibility_doc_matches_route_table() {
        let doc = include_str!("../../docs/compatibility.md");
        let start = doc
            .find("<!-- api-table:start -->")
            .expect("table start marker");
        let end = doc
            .find("<!-- api-table:end -->")
            .expect("table end marker");
        let mut documented: Vec<(i16, i16, i16)> = doc[start..end]
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let key = cells.get(1)?.parse::<i16>().ok()?;
                let (min, max) = cells.get(3)?.split_once('-')?;
                Some((key, min.parse().ok()?, max.parse().ok()?))
            })
            .collect();
        let mut routed: Vec<(i16, i16, i16)> = ROUTES
            .iter()
            .map(|r| (r.key as i16, r.min, r.max))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
