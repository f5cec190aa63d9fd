//! Arbitrary upstream bytes, cut at data-driven boundaries, through the Anthropic Messages stream
//! transducer: it must never panic and its events must keep the stream invariants
//! (see `harness::run_stream` for the input layout and the checks).

#![no_main]

use codex_launcher_translate_fuzz::harness::{StreamBackend, run_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    run_stream(StreamBackend::Anthropic, data);
});
