//! Arbitrary bytes as a Responses request body: parsing must fail cleanly or the request must
//! translate, for every backend and Chat provider row, into a body that serializes.

#![no_main]

use codex_launcher_translate_fuzz::harness::run_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    run_request(data);
});
