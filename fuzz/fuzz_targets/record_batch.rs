//! A produced partition payload: header and CRC checks, then record-level validation and
//! iteration with bounded decompression.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::record::batch;
use strata::record::validate::{records, validate_records, RecordLimits, RecordRules};

fuzz_target!(|data: &[u8]| {
    let _ = batch::split_batches(data);
    // Also try the payload with its CRC made valid, so the fuzzer reaches the record walk.
    let mut fixed = data.to_vec();
    if fixed.len() >= batch::HEADER_LEN {
        let crc = batch::compute_crc(&fixed);
        fixed[17..21].copy_from_slice(&crc.to_be_bytes());
    }
    for bytes in [data, fixed.as_slice()] {
        if let Ok(h) = batch::validate(bytes) {
            let limits = RecordLimits { max_uncompressed_bytes: 1 << 20 };
            let _ = validate_records(bytes, &h, &limits, &RecordRules { compacted: true, timestamp_window: Some((0, 10, 10)) });
            if let Ok(it) = records(bytes) {
                for _ in it.take(10_000) {}
            }
        }
    }
});
