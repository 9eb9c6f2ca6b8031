//! The one place where internal errors become Kafka error codes.

use kafka_protocol::error::ResponseError;

use crate::broker::TopicError;
use crate::config::ConfigError;
use crate::log::LogError;
use crate::metadata::client_quotas::QuotaError;
use crate::metadata::scram::ScramError;
use crate::producer::ProducerStateError;

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

pub fn topic_error(e: &TopicError) -> ResponseError {
    match e {
        TopicError::InvalidName(_) => ResponseError::InvalidTopicException,
        TopicError::AlreadyExists(_) => ResponseError::TopicAlreadyExists,
        TopicError::UnknownTopic => ResponseError::UnknownTopicOrPartition,
        TopicError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        TopicError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
        TopicError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        TopicError::InvalidConfig(_) => ResponseError::InvalidConfig,
        TopicError::Broker(_) => ResponseError::KafkaStorageError,
    }
}

pub fn config_error(e: &ConfigError) -> ResponseError {
    ResponseError::try_from_code(e.error_code()).unwrap_or(ResponseError::InvalidConfig)
}

/// Kafka wraps every refused broker-config change (a bad value as much as a read-only key or
/// another broker's id) in an InvalidRequestException.
pub fn broker_config_error(_e: &ConfigError) -> ResponseError {
    ResponseError::InvalidRequest
}

pub fn producer_error(e: &ProducerStateError) -> ResponseError {
    match e {
        ProducerStateError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        ProducerStateError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        ProducerStateError::UnknownProducerId { .. } => ResponseError::UnknownProducerId,
        ProducerStateError::CoordinatorFenced { .. } => ResponseError::TransactionCoordinatorFenced,
        ProducerStateError::Io(_) | ProducerStateError::Corrupt(_) => {
            ResponseError::KafkaStorageError
        }
    }
}

pub fn log_error(e: &LogError) -> ResponseError {
    match e {
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::Producer(p) => producer_error(p),
        _ => ResponseError::KafkaStorageError,
    }
}

/// KIP-320 fencing: a client naming the leader epoch it knows (-1: none) gets FENCED_LEADER_EPOCH
/// when it is behind and UNKNOWN_LEADER_EPOCH when it is ahead of this partition's epoch.
pub fn check_leader_epoch(requested: i32, current: i32) -> Result<(), ResponseError> {
    if requested >= 0 && requested < current {
        return Err(ResponseError::FencedLeaderEpoch);
    }
    if requested > current {
        return Err(ResponseError::UnknownLeaderEpoch);
    }
    Ok(())
}

pub fn quota_error(e: &QuotaError) -> ResponseError {
    match e {
        QuotaError::Invalid(_) => ResponseError::InvalidRequest,
        QuotaError::UnsupportedEntityType(_) => ResponseError::UnsupportedVersion,
    }
}

pub fn scram_error(e: &ScramError) -> ResponseError {
    match e {
        ScramError::EmptyUser | ScramError::TooFewIterations | ScramError::TooManyIterations => {
            ResponseError::UnacceptableCredential
        }
        ScramError::UnknownMechanism => ResponseError::UnsupportedSaslMechanism,
        ScramError::AlteredTwice | ScramError::DescribedTwice(_) => {
            ResponseError::DuplicateResource
        }
        ScramError::DeleteUnknown | ScramError::DescribeUnknown(_) => {
            ResponseError::ResourceNotFound
        }
    }
}
