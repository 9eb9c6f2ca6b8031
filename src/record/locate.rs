//! Finding a record inside a stored batch, for ListOffsets by timestamp.

use crate::record::batch::{BatchHeader, TimestampType};
use crate::record::validate::records;

/// (offset, timestamp) of the first record at or after `min_offset` (the log start: a batch may
/// straddle it after DeleteRecords) whose timestamp is >= `ts`.
pub fn first_at_or_after(batch: &[u8], ts: i64, min_offset: i64) -> Option<(i64, i64)> {
    each_record(batch).find(|(o, t)| *t >= ts && *o >= min_offset)
}

/// (offset, timestamp) of the record with the largest timestamp at or after `min_offset`; the
/// earliest one on ties, as Kafka reports.
pub fn max_timestamp(batch: &[u8], min_offset: i64) -> Option<(i64, i64)> {
    each_record(batch).filter(|(o, _)| *o >= min_offset).fold(
        None,
        |best: Option<(i64, i64)>, (o, t)| match best {
            Some((_, bt)) if bt >= t => best,
            _ => Some((o, t)),
        },
    )
}

fn each_record(batch: &[u8]) -> impl Iterator<Item = (i64, i64)> + '_ {
    let header = BatchHeader::parse(batch).ok();
    let iter = header.and_then(|_| records(batch).ok());
    iter.into_iter()
        .flatten()
        .map_while(Result::ok)
        .filter_map(move |r| {
            let h = header?;
            let ts = match h.timestamp_type() {
                TimestampType::LogAppendTime => h.max_timestamp,
                TimestampType::CreateTime => h.base_timestamp + r.timestamp_delta,
            };
            Some((h.base_offset + r.offset_delta as i64, ts))
        })
}
