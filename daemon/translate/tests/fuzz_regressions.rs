//! Replays every input in `fixtures/fuzz-regressions/<target>/` through the fuzz harness the
//! target runs (`fuzz/src/harness.rs`, included as a module, so this is the same code path and
//! the same invariant checks, minus libFuzzer). A crash the fuzzer found stays fixed.

// An integration-test crate: tests only, so the test allowances (unwrap, print) apply to its
// helpers too.
#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/harness.rs"]
mod harness;

use harness::StreamBackend;

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn fuzz_regressions_replay_cleanly() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for dir in sorted_entries(&regressions()) {
        if !dir.is_dir() {
            continue; // README.md
        }
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let backend = StreamBackend::from_target(&target);
        assert!(
            backend.is_some() || target == "request_translation",
            "{}: not a fuzz target name",
            dir.display()
        );
        for file in sorted_entries(&dir) {
            let data = fs::read(&file).unwrap();
            // One panicking input must not hide the others: collect them all.
            let result = std::panic::catch_unwind(|| match backend {
                Some(b) => drop(harness::run_stream(b, &data)),
                None => harness::run_request(&data),
            });
            if result.is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs in {}", regressions().display());
    assert!(
        failures.is_empty(),
        "fuzz regressions panicked again (messages above):\n{}",
        failures.join("\n")
    );
}

/// The seeds of the bounds (`fuzz/seeds/<target>/`) do what their names say, so the fuzzer
/// starts from both sides of each bound: an event of many `data:` lines (or a long NDJSON
/// line) under the default bound completes, the same input under a small bound fails past it,
/// and an event (a line) that never ends fails past it.
#[test]
fn bound_seeds_reach_both_sides_of_the_bound() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let cases = [
        ("many_data_lines_in_one_event", "response.completed"),
        ("long_line_in_bound", "response.completed"),
        ("many_data_lines_over_the_bound", "response.failed"),
        ("long_line_over_the_bound", "response.failed"),
        ("endless_event", "response.failed"),
        ("endless_line", "response.failed"),
    ];
    let mut seen = 0;
    for backend in [
        StreamBackend::Chat,
        StreamBackend::Anthropic,
        StreamBackend::CommandCode,
    ] {
        for (name, ending) in cases {
            let path = seeds.join(backend.target()).join(name);
            let Ok(data) = fs::read(&path) else {
                continue;
            };
            seen += 1;
            let events = harness::run_stream(backend, &data);
            let last = events.last().expect("events");
            assert_eq!(last.kind(), ending, "{}", path.display());
            if ending == "response.failed" {
                let error = last
                    .response()
                    .and_then(|r| r.error.as_ref())
                    .expect("error");
                assert!(
                    error.message.starts_with("the upstream sent an event over"),
                    "{}: {}",
                    path.display(),
                    error.message
                );
            }
        }
    }
    assert_eq!(seen, 9, "three seeds per stream target");
}
