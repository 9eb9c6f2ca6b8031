//! Fetch (key 1): long polls with min_bytes / max_wait_ms, byte limits with KIP-74's "at least one
//! whole batch", incremental fetch sessions (KIP-227) and topic ids (v13+).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{Reply, RequestContext};
use crate::broker::fetch_sessions::{Session, SessionError, SessionPartition};
use crate::broker::{now_ms, Broker};
use crate::error::log_error;
use crate::log::Fetched;
use crate::types::{FileSlice, Offset, TopicPartition};

const READ_COMMITTED: i8 = 1;
/// Kafka's epochs for session control: 0 opens a session, -1 closes it.
const INITIAL_EPOCH: i32 = 0;
const FINAL_EPOCH: i32 = -1;
/// Upper bound on one long poll, whatever the client asks (Kafka does not bound it; a request
/// stuck for longer would only pin memory).
const MAX_WAIT_MS_CAP: i32 = 120_000;
/// Records of at least this size go to the socket with `sendfile` from the page cache; smaller
/// ones are cheaper to copy than to send as one more system call.
const MIN_SLICE_BYTES: usize = 64 * 1024;

/// One partition to answer about, resolved from the request or the session.
#[derive(Clone)]
struct Wanted {
    /// The topic as the client named it (by name before v13, by id from v13).
    topic: String,
    topic_id: Uuid,
    partition: i32,
    fetch: SessionPartition,
    /// Set when the topic id could not be resolved.
    unknown_id: bool,
}

enum Mode {
    NoSession,
    Full(Session),
    Incremental(Session),
}

pub async fn handle(ctx: RequestContext, req: FetchRequest) -> Reply {
    let v = ctx.version();
    let broker = ctx.broker.clone();
    let now = now_ms();
    let mode = if v < 7 || req.session_epoch == FINAL_EPOCH {
        if req.session_id != 0 {
            broker.fetch_sessions.remove(req.session_id);
        }
        Mode::NoSession
    } else if req.session_epoch == INITIAL_EPOCH {
        if req.session_id != 0 {
            broker.fetch_sessions.remove(req.session_id);
        }
        Mode::Full(broker.fetch_sessions.create(now))
    } else {
        match broker
            .fetch_sessions
            .take(req.session_id, req.session_epoch)
        {
            Ok(s) => Mode::Incremental(s),
            Err(e) => {
                let code = match e {
                    SessionError::NotFound => ResponseError::FetchSessionIdNotFound,
                    SessionError::InvalidEpoch => ResponseError::InvalidFetchSessionEpoch,
                };
                return ctx.reply(&FetchResponse::default().with_error_code(code.code()));
            }
        }
    };

    let by_id = v >= 13;
    let mut requested = Vec::new();
    for t in &req.topics {
        let (name, unknown_id) = if by_id {
            match broker.cluster().topic_by_id(t.topic_id) {
                Some(meta) => (meta.name.clone(), false),
                None => (String::new(), true),
            }
        } else {
            (t.topic.0.to_string(), false)
        };
        for p in &t.partitions {
            requested.push(Wanted {
                topic: name.clone(),
                topic_id: t.topic_id,
                partition: p.partition,
                fetch: SessionPartition {
                    fetch_offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes,
                    current_leader_epoch: p.current_leader_epoch,
                    last_high_watermark: -2,
                    last_log_start_offset: -2,
                },
                unknown_id,
            });
        }
    }

    let (session, wanted, incremental) = match mode {
        Mode::NoSession => (None, requested, false),
        Mode::Full(mut s) => {
            for w in &requested {
                if !w.unknown_id {
                    s.upsert(TopicPartition::new(w.topic.clone(), w.partition), w.fetch);
                }
            }
            (Some(s), requested, false)
        }
        Mode::Incremental(mut s) => {
            for f in &req.forgotten_topics_data {
                let name = if by_id {
                    broker
                        .cluster()
                        .topic_by_id(f.topic_id)
                        .map(|m| m.name.clone())
                        .unwrap_or_default()
                } else {
                    f.topic.0.to_string()
                };
                for p in &f.partitions {
                    s.remove(&TopicPartition::new(name.clone(), *p));
                }
            }
            for w in &requested {
                if !w.unknown_id {
                    s.upsert(TopicPartition::new(w.topic.clone(), w.partition), w.fetch);
                }
            }
            let mut wanted: Vec<Wanted> = s
                .iter()
                .map(|(tp, sp)| Wanted {
                    topic: tp.topic.clone(),
                    topic_id: broker.topic(&tp.topic).map(|m| m.id).unwrap_or_default(),
                    partition: tp.partition.0,
                    fetch: *sp,
                    unknown_id: false,
                })
                .collect();
            wanted.extend(requested.into_iter().filter(|w| w.unknown_id));
            (Some(s), wanted, true)
        }
    };

    let params = Params {
        max_bytes: req.max_bytes,
        min_bytes: req.min_bytes,
        max_wait_ms: req.max_wait_ms.clamp(0, MAX_WAIT_MS_CAP),
        read_committed: req.isolation_level == READ_COMMITTED,
        by_id,
        incremental,
        version: v,
    };
    Reply::Later(Box::pin(async move {
        let (resp, slices, session) = long_poll(&broker, params, wanted, session).await;
        let session_id = session.as_ref().map(|s| s.id).unwrap_or(0);
        if let Some(s) = session {
            broker.fetch_sessions.store(s, now_ms());
        }
        super::fetch_encode::encode(
            ctx.prefix.correlation_id,
            &resp.with_session_id(session_id),
            &slices,
            ctx.version(),
        )
    }))
}

#[derive(Clone, Copy)]
struct Params {
    max_bytes: i32,
    min_bytes: i32,
    max_wait_ms: i32,
    read_committed: bool,
    by_id: bool,
    incremental: bool,
    version: i16,
}

async fn long_poll(
    broker: &Arc<Broker>,
    params: Params,
    wanted: Vec<Wanted>,
    mut session: Option<Session>,
) -> (FetchResponse, Vec<Option<FileSlice>>, Option<Session>) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(params.max_wait_ms as u64);
    // Registered with every partition read before the first read, so an append between a read
    // and the wait is not missed (the wake-up leaves a permit).
    let woken = Arc::new(Notify::new());
    let mut registered = false;
    loop {
        let recheck = broker.recheck_fetches.notified();
        tokio::pin!(recheck);
        recheck.as_mut().enable();

        let (parts, bytes, errors) =
            read_all(broker, &params, &wanted, (!registered).then_some(&woken));
        registered = true;
        let done = bytes >= params.min_bytes.max(0) as usize
            || errors
            || tokio::time::Instant::now() >= deadline
            || broker.is_shutting_down();
        if done {
            let (resp, slices) = assemble(params, parts, session.as_mut());
            return (resp, slices, session);
        }
        tokio::select! {
            _ = woken.notified() => {}
            _ = &mut recheck => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

struct PartitionOut {
    wanted: Wanted,
    data: PartitionData,
    /// The records as a range of a segment file, when they are sent without a copy.
    slice: Option<FileSlice>,
    record_bytes: usize,
}

fn read_all(
    broker: &Broker,
    params: &Params,
    wanted: &[Wanted],
    register: Option<&Arc<Notify>>,
) -> (Vec<PartitionOut>, usize, bool) {
    let mut remaining = params.max_bytes.max(0) as usize;
    let mut total = 0usize;
    let mut errors = false;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let (data, slice) = read_one(broker, params, w, remaining, total == 0, register);
        let record_bytes = match &slice {
            Some(s) => s.len,
            None => data.records.as_ref().map(|r| r.len()).unwrap_or(0),
        };
        errors |= data.error_code != 0;
        remaining = remaining.saturating_sub(record_bytes);
        total += record_bytes;
        out.push(PartitionOut {
            wanted: w.clone(),
            data,
            slice,
            record_bytes,
        });
    }
    (out, total, errors)
}

fn read_one(
    broker: &Broker,
    params: &Params,
    w: &Wanted,
    remaining: usize,
    first: bool,
    register: Option<&Arc<Notify>>,
) -> (PartitionData, Option<FileSlice>) {
    let base = PartitionData::default()
        .with_partition_index(w.partition)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_records(Some(Bytes::new()));
    let fail = |e: ResponseError| (base.clone().with_error_code(e.code()), None);
    if w.unknown_id {
        return fail(ResponseError::UnknownTopicId);
    }
    let Some(partition) = broker.partition(&TopicPartition::new(w.topic.clone(), w.partition))
    else {
        return fail(ResponseError::UnknownTopicOrPartition);
    };
    if let Err(e) =
        crate::error::check_leader_epoch(w.fetch.current_leader_epoch, partition.leader_epoch())
    {
        return fail(e);
    }
    let log = &partition.log;
    if let Some(waiter) = register {
        log.register_reader(waiter);
    }
    let hw = log.high_watermark();
    let lso = log.last_stable_offset();
    let upper = if params.read_committed { lso } else { hw };
    // read_committed consumers drop the records of these transactions (KIP-98); the list
    // covers the range this read can return (one segment, up to the last stable offset).
    let aborted = params.read_committed.then(|| {
        let reach = log
            .read_upper_bound(Offset(w.fetch.fetch_offset))
            .min(upper);
        log.aborted_transactions(w.fetch.fetch_offset, reach.value())
            .into_iter()
            .map(|(producer_id, first_offset)| {
                kafka_protocol::messages::fetch_response::AbortedTransaction::default()
                    .with_producer_id(kafka_protocol::messages::ProducerId(producer_id))
                    .with_first_offset(first_offset)
            })
            .collect::<Vec<_>>()
    });
    let ok = base
        .clone()
        .with_high_watermark(hw.value())
        .with_last_stable_offset(lso.value())
        // log_start_offset exists from v5.
        .with_log_start_offset(if params.version >= 5 {
            log.log_start_offset().value()
        } else {
            -1
        })
        .with_aborted_transactions(aborted);
    let limit = (w.fetch.max_bytes.max(0) as usize).min(remaining);
    match log.read_for_fetch(Offset(w.fetch.fetch_offset), limit, upper, MIN_SLICE_BYTES) {
        // KIP-74: only the first partition with data may exceed the limits.
        Ok(records) if records.len() > limit && !first => (ok, None),
        Ok(Fetched::Bytes(records)) => (ok.with_records(Some(records)), None),
        Ok(Fetched::Slice(slice)) => (ok, Some(slice)),
        // Kafka leaves the watermarks unset (-1) on a partition error.
        Err(e) => (base.with_error_code(log_error(&e).code()), None),
    }
}

fn assemble(
    params: Params,
    parts: Vec<PartitionOut>,
    mut session: Option<&mut Session>,
) -> (FetchResponse, Vec<Option<FileSlice>>) {
    let mut topics: Vec<FetchableTopicResponse> = Vec::new();
    let mut slices = Vec::new();
    for p in parts {
        if let Some(s) = session.as_deref_mut() {
            let tp = TopicPartition::new(p.wanted.topic.clone(), p.wanted.partition);
            if let Some(sp) = s.get_mut(&tp) {
                let changed = p.record_bytes > 0
                    || p.data.error_code != 0
                    || sp.last_high_watermark != p.data.high_watermark
                    || sp.last_log_start_offset != p.data.log_start_offset;
                sp.last_high_watermark = p.data.high_watermark;
                sp.last_log_start_offset = p.data.log_start_offset;
                if params.incremental && p.record_bytes > 0 {
                    // Served: the next fetches give the others the first share of the budget.
                    // A full fetch keeps the order the client sent, as Kafka's does.
                    s.move_to_end(&tp);
                }
                if params.incremental && !changed {
                    continue;
                }
            }
        }
        let same_topic = topics.last().is_some_and(|t| {
            if params.by_id {
                t.topic_id == p.wanted.topic_id
            } else {
                t.topic.0.as_str() == p.wanted.topic
            }
        });
        if !same_topic {
            let mut t = FetchableTopicResponse::default();
            if params.by_id {
                t.topic_id = p.wanted.topic_id;
            } else {
                t.topic = TopicName(StrBytes::from_string(p.wanted.topic.clone()));
            }
            topics.push(t);
        }
        if let Some(t) = topics.last_mut() {
            t.partitions.push(p.data);
            slices.push(p.slice);
        }
    }
    (FetchResponse::default().with_responses(topics), slices)
}
