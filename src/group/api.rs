//! Plain request and response types of the coordinator. Field names follow Kafka's JSON schemas;
//! the request handlers translate to and from the wire structs, so the state machine does not
//! depend on any one protocol version.

use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::consumer::TopicImage;
use super::error::ErrorCode;

/// Chosen by the driver; echoed on the response so it can be routed back to its connection.
pub use crate::coordinator::RequestId;

#[derive(Debug, Clone)]
pub enum GroupRequest {
    Join(JoinGroup),
    Sync(SyncGroup),
    Heartbeat(Heartbeat),
    Leave(LeaveGroup),
    OffsetCommit(OffsetCommit),
    /// Offsets committed inside a transaction: pending until the transaction's marker.
    TxnOffsetCommit(TxnOffsetCommit),
    /// A transaction's COMMIT or ABORT marker reached the group log: its pending offsets are
    /// applied or dropped.
    TxnMarker(TxnMarker),
    OffsetFetch(OffsetFetch),
    OffsetDelete(OffsetDelete),
    Describe(DescribeGroups),
    List(ListGroups),
    Delete(DeleteGroups),
    ConsumerHeartbeat(ConsumerGroupHeartbeat),
    ConsumerDescribe(ConsumerGroupDescribe),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GroupResponse {
    Join(JoinGroupResponse),
    Sync(SyncGroupResponse),
    Heartbeat(HeartbeatResponse),
    Leave(LeaveGroupResponse),
    OffsetCommit(OffsetCommitResponse),
    TxnOffsetCommit(OffsetCommitResponse),
    TxnMarker,
    OffsetFetch(OffsetFetchResponse),
    OffsetDelete(OffsetDeleteResponse),
    Describe(DescribeGroupsResponse),
    List(ListGroupsResponse),
    Delete(DeleteGroupsResponse),
    ConsumerHeartbeat(ConsumerGroupHeartbeatResponse),
    ConsumerDescribe(ConsumerGroupDescribeResponse),
}

#[derive(Debug, Clone, Default)]
pub struct JoinGroup {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub protocol_type: String,
    /// (protocol name, member metadata), most preferred first.
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    /// JoinGroup v0 has no rebalance timeout: the handler passes the session timeout, as Kafka does.
    pub rebalance_timeout_ms: i32,
    /// True from JoinGroup v4 (KIP-394).
    pub require_known_member_id: bool,
    pub reason: Option<String>,
    /// The topics that exist: a classic member joining a consumer group is assigned from them.
    pub topics: Arc<TopicImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinGroupResponse {
    pub error: ErrorCode,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    /// KIP-814: a static leader that rejoined without a rebalance must not compute a new assignment.
    pub skip_assignment: bool,
    pub member_id: String,
    /// Filled for the leader only.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    pub(crate) fn error(member_id: &str, error: ErrorCode) -> Self {
        JoinGroupResponse {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SyncGroup {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+; checked against the group's when present.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// (member id, assignment); only the leader sends them.
    pub assignments: Vec<(String, Bytes)>,
    /// The topics that exist: a classic member of a consumer group gets its assignment by name.
    pub topics: Arc<TopicImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncGroupResponse {
    pub error: ErrorCode,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncGroupResponse {
    pub(crate) fn error(error: ErrorCode) -> Self {
        SyncGroupResponse {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatResponse {
    pub error: ErrorCode,
}

#[derive(Debug, Clone, Default)]
pub struct LeavingMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub reason: Option<String>,
}

/// v0-2 carry one member id; the handler passes it as a one-element list and answers with the
/// member's error at the top level.
#[derive(Debug, Clone, Default)]
pub struct LeaveGroup {
    pub group_id: String,
    pub members: Vec<LeavingMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeftMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error: ErrorCode,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeaveGroupResponse {
    pub error: ErrorCode,
    pub members: Vec<LeftMember>,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetCommitPartition {
    pub partition: i32,
    pub committed_offset: i64,
    pub committed_leader_epoch: i32,
    pub committed_metadata: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetCommitTopic {
    pub name: String,
    pub partitions: Vec<OffsetCommitPartition>,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetCommit {
    pub group_id: String,
    /// -1 with an empty member id: a commit from outside group management ("simple" consumer).
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<OffsetCommitTopic>,
    /// Members of consumer (KIP-848) groups must commit with v9 or later.
    pub api_version: i16,
}

#[derive(Debug, Clone, Default)]
pub struct TxnOffsetCommit {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The commit proper: group, generation (-1 without one, KIP-447), member, offsets.
    pub commit: OffsetCommit,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub commit: bool,
}

/// Per topic, (partition, error).
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetCommitResponse {
    pub topics: Vec<(String, Vec<(i32, ErrorCode)>)>,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetFetch {
    pub group_id: String,
    /// v9+: a consumer-group member fetching its group's offsets (checked against its epoch);
    /// None or -1 from anyone else.
    pub member_id: Option<String>,
    pub member_epoch: i32,
    /// None: every committed partition of the group.
    pub topics: Option<Vec<(String, Vec<i32>)>>,
    /// KIP-447: partitions with offsets pending in an open transaction answer
    /// UNSTABLE_OFFSET_COMMIT instead of the committed offset.
    pub require_stable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchPartition {
    pub partition: i32,
    pub committed_offset: i64,
    pub committed_leader_epoch: i32,
    pub metadata: Option<String>,
    pub error: ErrorCode,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchResponse {
    pub error: ErrorCode,
    pub topics: Vec<(String, Vec<OffsetFetchPartition>)>,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetDelete {
    pub group_id: String,
    pub topics: Vec<(String, Vec<i32>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetDeleteResponse {
    pub error: ErrorCode,
    pub topics: Vec<(String, Vec<(i32, ErrorCode)>)>,
}

#[derive(Debug, Clone, Default)]
pub struct DescribeGroups {
    pub group_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_metadata: Bytes,
    pub member_assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedGroup {
    pub error: ErrorCode,
    pub group_id: String,
    pub group_state: String,
    pub protocol_type: String,
    /// The chosen protocol name; empty unless the group is Stable (as Kafka).
    pub protocol_data: String,
    pub members: Vec<DescribedMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeGroupsResponse {
    pub groups: Vec<DescribedGroup>,
}

#[derive(Debug, Clone, Default)]
pub struct ListGroups {
    /// v4+: state names ("Stable", ...), matched without regard to case; empty means all.
    pub states_filter: Vec<String>,
    /// v5+: group types ("classic", "consumer"); empty means all.
    pub types_filter: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub group_state: String,
    pub group_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListGroupsResponse {
    pub error: ErrorCode,
    pub groups: Vec<ListedGroup>,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteGroups {
    pub group_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteGroupsResponse {
    pub results: Vec<(String, ErrorCode)>,
}

/// KIP-848 heartbeat. Optional fields are None when the member did not change them.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1 when unchanged.
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns now; None when unchanged since its last heartbeat.
    pub owned: Option<Vec<(Uuid, Vec<i32>)>>,
    pub client_id: String,
    pub client_host: String,
    /// v1+ members choose their own id (KIP-1082).
    pub api_version: i16,
    pub topics: Arc<TopicImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroupHeartbeatResponse {
    pub error: ErrorCode,
    pub error_message: Option<String>,
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when it changed or the request was a full one.
    pub assignment: Option<Vec<(Uuid, Vec<i32>)>>,
}

impl GroupResponse {
    /// Keeps the member id on an error answer, so the member can retry under it.
    pub(crate) fn with_member(self, member_id: Option<String>) -> Self {
        match self {
            GroupResponse::ConsumerHeartbeat(mut r) => {
                r.member_id = member_id;
                GroupResponse::ConsumerHeartbeat(r)
            }
            other => other,
        }
    }
}

impl ConsumerGroupHeartbeatResponse {
    pub(crate) fn error(error: ErrorCode, message: impl Into<String>) -> Self {
        ConsumerGroupHeartbeatResponse {
            error,
            error_message: Some(message.into()),
            member_id: None,
            member_epoch: 0,
            heartbeat_interval_ms: 0,
            assignment: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupDescribe {
    pub group_ids: Vec<String>,
    pub topics: Arc<TopicImage>,
}

/// (topic id, topic name, partitions); the name is empty for a topic that no longer exists.
pub type NamedPartitions = Vec<(Uuid, String, Vec<i32>)>;

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: NamedPartitions,
    pub target_assignment: NamedPartitions,
    /// A member that uses the classic protocol (ConsumerGroupDescribe v1 MemberType 0).
    pub classic: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedConsumerGroup {
    pub error: ErrorCode,
    pub error_message: Option<String>,
    pub group_id: String,
    pub group_state: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor_name: String,
    pub members: Vec<DescribedConsumerMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroupDescribeResponse {
    pub groups: Vec<DescribedConsumerGroup>,
}
