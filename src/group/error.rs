//! Error codes the coordinator answers with, and the errors of the record codec.

use thiserror::Error;

/// The Kafka error codes the group coordinator can return. Kept as a small enum so the
/// state machine cannot produce a code it does not mean; `code()` is the wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    None,
    OffsetMetadataTooLarge,
    CoordinatorNotAvailable,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidGroupId,
    UnknownMemberId,
    InvalidSessionTimeout,
    RebalanceInProgress,
    NonEmptyGroup,
    GroupIdNotFound,
    MemberIdRequired,
    GroupMaxSizeReached,
    FencedInstanceId,
    GroupSubscribedToTopic,
    InvalidRequest,
    UnsupportedVersion,
    FencedMemberEpoch,
    UnreleasedInstanceId,
    UnsupportedAssignor,
    StaleMemberEpoch,
    InvalidRegularExpression,
    UnstableOffsetCommit,
}

impl ErrorCode {
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::OffsetMetadataTooLarge => 12,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::InvalidGroupId => 24,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::InvalidSessionTimeout => 26,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::NonEmptyGroup => 68,
            ErrorCode::GroupIdNotFound => 69,
            ErrorCode::MemberIdRequired => 79,
            ErrorCode::GroupMaxSizeReached => 81,
            ErrorCode::FencedInstanceId => 82,
            ErrorCode::GroupSubscribedToTopic => 86,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::UnsupportedVersion => 35,
            ErrorCode::FencedMemberEpoch => 110,
            ErrorCode::UnreleasedInstanceId => 111,
            ErrorCode::UnsupportedAssignor => 112,
            ErrorCode::StaleMemberEpoch => 113,
            ErrorCode::InvalidRegularExpression => 128,
            ErrorCode::UnstableOffsetCommit => 88,
        }
    }

    pub fn is_ok(self) -> bool {
        self == ErrorCode::None
    }
}

/// Why a persisted group record could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GroupRecordError {
    #[error("record truncated: needed {needed} more bytes at offset {at}")]
    Truncated { at: usize, needed: usize },
    #[error("unknown record key kind {0}")]
    UnknownKind(u8),
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion { what: &'static str, version: u16 },
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    #[error("invalid length {len} for {what}")]
    InvalidLength { what: &'static str, len: i64 },
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;
    use kafka_protocol::error::ResponseError;

    /// Pins every code to the name Kafka gives it, so a typo in the table cannot ship.
    #[test]
    fn codes_match_kafka() {
        let pairs = [
            (
                ErrorCode::OffsetMetadataTooLarge,
                ResponseError::OffsetMetadataTooLarge,
            ),
            (
                ErrorCode::CoordinatorNotAvailable,
                ResponseError::CoordinatorNotAvailable,
            ),
            (
                ErrorCode::IllegalGeneration,
                ResponseError::IllegalGeneration,
            ),
            (
                ErrorCode::InconsistentGroupProtocol,
                ResponseError::InconsistentGroupProtocol,
            ),
            (ErrorCode::InvalidGroupId, ResponseError::InvalidGroupId),
            (ErrorCode::UnknownMemberId, ResponseError::UnknownMemberId),
            (
                ErrorCode::InvalidSessionTimeout,
                ResponseError::InvalidSessionTimeout,
            ),
            (
                ErrorCode::RebalanceInProgress,
                ResponseError::RebalanceInProgress,
            ),
            (ErrorCode::NonEmptyGroup, ResponseError::NonEmptyGroup),
            (ErrorCode::GroupIdNotFound, ResponseError::GroupIdNotFound),
            (ErrorCode::MemberIdRequired, ResponseError::MemberIdRequired),
            (ErrorCode::InvalidRequest, ResponseError::InvalidRequest),
            (
                ErrorCode::UnsupportedVersion,
                ResponseError::UnsupportedVersion,
            ),
            (
                ErrorCode::FencedMemberEpoch,
                ResponseError::FencedMemberEpoch,
            ),
            (
                ErrorCode::UnreleasedInstanceId,
                ResponseError::UnreleasedInstanceId,
            ),
            (
                ErrorCode::UnsupportedAssignor,
                ResponseError::UnsupportedAssignor,
            ),
            (ErrorCode::StaleMemberEpoch, ResponseError::StaleMemberEpoch),
            (
                ErrorCode::InvalidRegularExpression,
                ResponseError::InvalidRegularExpression,
            ),
            (
                ErrorCode::GroupMaxSizeReached,
                ResponseError::GroupMaxSizeReached,
            ),
            (ErrorCode::FencedInstanceId, ResponseError::FencedInstanceId),
            (
                ErrorCode::GroupSubscribedToTopic,
                ResponseError::GroupSubscribedToTopic,
            ),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(ours.code(), theirs.code(), "{ours:?}");
        }
        assert_eq!(ErrorCode::None.code(), 0);
    }
}
