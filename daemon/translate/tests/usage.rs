//! Golden tests of the usage mapping: each provider's cache figures into the Responses usage
//! Codex shows (`input_tokens` the whole prompt, `input_tokens_details.cached_tokens` and
//! `cache_write_tokens` always present).
//!
//! `fixtures/usage/<name>.<wire>` is an upstream stream (`chat.sse`, `anthropic.sse`,
//! `command_code.ndjson`) as the provider reports usage; it runs through the real transducer and
//! the final response's `usage` is compared with `fixtures/usage/<name>.usage.json`.
//! `UPDATE_EXPECT=1 cargo test -p codex-launcher-translate --test usage` rewrites the goldens.
//!
//! Providers and their fields:
//! - Anthropic: `input_tokens` excludes cache reads (`cache_read_input_tokens`) and writes
//!   (`cache_creation_input_tokens`); Responses' `input_tokens` is the sum of the three.
//! - DeepSeek: `prompt_cache_hit_tokens` (+ `prompt_cache_miss_tokens` = `prompt_tokens`).
//! - OpenAI, Groq, Z.AI: `prompt_tokens_details.cached_tokens`.
//! - OpenRouter: `prompt_tokens_details.cached_tokens` and `.cache_write_tokens`.
//! - Kimi: `usage.cached_tokens`, inside the finishing choice.
//! - Command Code: AI SDK `totalUsage.inputTokenDetails.cacheReadTokens` /
//!   `cacheWriteTokens` (or `cachedInputTokens`); `inputTokens` includes both.

#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::command_code::CommandCodeStreamTranslator;
use codex_launcher_translate::tools::lower_tools;
use codex_launcher_translate::{ResponseContext, Transducer, parse_request};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/usage")
}

fn context() -> ResponseContext {
    let req = parse_request(json!({"model": "m", "input": "hi"}).to_string().as_bytes())
        .expect("request");
    let map = lower_tools(&req.tools).map;
    ResponseContext::new(&req, "resp_usage".into(), 0, map)
}

/// The final response's usage after feeding `body` in 5-byte pieces.
fn usage_of(wire: &str, body: &[u8]) -> Value {
    let mut t: Box<dyn Transducer> = match wire {
        "chat.sse" => Box::new(ChatStreamTranslator::new(context())),
        "anthropic.sse" => Box::new(AnthropicStreamTranslator::new(context())),
        "command_code.ndjson" => Box::new(CommandCodeStreamTranslator::new(context())),
        other => panic!("unknown wire {other}"),
    };
    let mut out = Vec::new();
    t.start(&mut out);
    for piece in body.chunks(5) {
        t.feed(piece, &mut out);
    }
    t.end_of_stream(&mut out);
    let resp = t.final_response().expect("a final response");
    serde_json::to_value(resp.usage.as_ref().expect("usage")).expect("json")
}

#[test]
fn usage_goldens() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut seen = 0;
    let mut entries: Vec<PathBuf> = fs::read_dir(dir())
        .expect("fixtures/usage")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some((stem, wire)) = name.split_once('.') else {
            continue;
        };
        if wire == "usage.json" {
            let has_fixture = ["chat.sse", "anthropic.sse", "command_code.ndjson"]
                .iter()
                .any(|w| dir().join(format!("{stem}.{w}")).exists());
            if !has_fixture {
                failures.push(format!("{name}: golden without a fixture"));
            }
            continue;
        }
        seen += 1;
        let usage = usage_of(wire, &fs::read(&path).expect("fixture"));
        // Invariants whatever the golden says: both details present, and the parts of the
        // prompt add up within it.
        let d = &usage["input_tokens_details"];
        let (input, cached, written) = (
            usage["input_tokens"].as_u64().expect("input_tokens"),
            d["cached_tokens"].as_u64().expect("cached_tokens"),
            d["cache_write_tokens"]
                .as_u64()
                .expect("cache_write_tokens"),
        );
        assert!(cached + written <= input, "{name}: {usage}");
        assert_eq!(
            usage["total_tokens"].as_u64(),
            Some(input + usage["output_tokens"].as_u64().expect("output_tokens")),
            "{name}"
        );
        let golden = dir().join(format!("{stem}.usage.json"));
        let actual = format!("{}\n", serde_json::to_string_pretty(&usage).expect("json"));
        let expected = fs::read_to_string(&golden).ok();
        if expected.as_deref() != Some(actual.as_str()) {
            if update {
                fs::write(&golden, &actual).expect("write golden");
            } else {
                failures.push(format!(
                    "{}: usage differs (UPDATE_EXPECT=1 rewrites it)\n--- golden\n{}\n--- actual\n{actual}",
                    golden.display(),
                    expected.unwrap_or_default()
                ));
            }
        }
    }
    assert!(seen >= 10, "fixtures/usage has {seen} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
