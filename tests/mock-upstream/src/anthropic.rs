//! The Anthropic Messages wire (`POST …/v1/messages`).
//!
//! Enforces the rules that break naive bridges: `x-api-key` and `anthropic-version` headers,
//! `max_tokens` required, `user`/`assistant` roles only and alternating, starting with `user`,
//! non-empty text blocks, every `tool_use` answered by a `tool_result` at the start of the next
//! user message, and — with thinking on — a tool loop's assistant message must begin with its
//! signed `thinking` (or `redacted_thinking`) block, unchanged: signatures are checked against
//! the thinking text they were issued for.
//!
//! Prompt caching is simulated by Anthropic's documented rules ([`PromptCache`]); requests
//! without any `cache_control` are answered as before.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::script::{Failure, Plain, ToolCall, Turn, Usage, cloudflare_page, fragments};
use crate::{RecordedRequest, StrictRules};

/// The signature the mock issues for a thinking text; a changed text fails the check.
pub(crate) fn sign(thinking: &str) -> String {
    // FNV-1a: deterministic, no dependency, good enough to notice an edited block.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("EqMockSig{h:016x}")
}

pub(crate) fn error(status: u16, kind: &str, message: &str) -> Plain {
    Plain::json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message},
               "request_id": "req_mock0000000000000000"}),
    )
}

/// Headers and body rules.
pub(crate) fn validate(
    api_key: Option<&str>,
    rules: &StrictRules,
    req: &RecordedRequest,
) -> Result<(), Plain> {
    if let Some(key) = api_key
        && req.header("x-api-key") != Some(key)
    {
        return Err(error(401, "authentication_error", "invalid x-api-key"));
    }
    if req.header("anthropic-version").is_none() {
        return Err(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    let bad = |m: String| Err(error(400, "invalid_request_error", &m));
    let body = &req.body;
    if body.get("model").and_then(Value::as_str).is_none() {
        return bad("model: Field required".into());
    }
    let Some(max_tokens) = body.get("max_tokens").and_then(Value::as_u64) else {
        return bad("max_tokens: Field required".into());
    };
    let thinking = body.pointer("/thinking/type").and_then(Value::as_str);
    if thinking == Some("enabled") {
        let budget = body
            .pointer("/thinking/budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if budget < 1024 {
            return bad(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                    .into(),
            );
        }
        if budget >= max_tokens {
            return bad("`max_tokens` must be greater than `thinking.budget_tokens`".into());
        }
    }
    let thinking_on =
        matches!(thinking, Some("enabled" | "adaptive")) || rules.require_reasoning_passback;
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("messages: Field required".into());
    };
    if messages.is_empty() {
        return bad("messages: at least one message is required".into());
    }
    let mut prev_role = "";
    let mut pending_uses: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "user" && role != "assistant" {
            return bad(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        if i == 0 && role != "user" {
            return bad("messages: first message must use the \"user\" role".into());
        }
        if role == prev_role {
            return bad(format!(
                "messages.{i}: roles must alternate between \"user\" and \"assistant\""
            ));
        }
        prev_role = role;
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => return bad(format!("messages.{i}.content: Field required")),
        };
        if blocks.is_empty() {
            return bad(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            ));
        }
        let mut results_done = false;
        let mut answered: Vec<String> = Vec::new();
        for (j, b) in blocks.iter().enumerate() {
            let ty = b.get("type").and_then(Value::as_str).unwrap_or_default();
            match (role, ty) {
                (_, "text") => {
                    if b.get("text")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return bad(format!(
                            "messages.{i}.content.{j}.text: text content blocks must be non-empty"
                        ));
                    }
                    results_done = true;
                }
                ("user", "image") => results_done = true,
                ("user", "tool_result") => {
                    if results_done {
                        return bad(format!(
                            "messages.{i}.content.{j}: tool_result blocks must come first in the user message, before any other content"
                        ));
                    }
                    let id = b
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !pending_uses.iter().any(|u| u == id) {
                        return bad(format!(
                            "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.push(id.to_owned());
                }
                ("assistant", "tool_use") => {
                    if !b.get("input").is_some_and(Value::is_object) {
                        return bad(format!(
                            "messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                        ));
                    }
                }
                ("assistant", "thinking") => {
                    let text = b
                        .get("thinking")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let sig = b
                        .get("signature")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if sig != sign(text) {
                        return bad(format!(
                            "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                        ));
                    }
                }
                ("assistant", "redacted_thinking") => {
                    if b.get("data")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return bad(format!("messages.{i}.content.{j}.data: Field required"));
                    }
                }
                _ => {
                    return bad(format!(
                        "messages.{i}.content.{j}: unexpected block type `{ty}` in a {role} message"
                    ));
                }
            }
        }
        if role == "user" {
            let missing: Vec<&String> = pending_uses
                .iter()
                .filter(|u| !answered.contains(u))
                .collect();
            if !missing.is_empty() {
                let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                return bad(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    list.join(", ")
                ));
            }
            pending_uses.clear();
        } else {
            pending_uses = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect();
        }
    }
    // A tool loop in progress (the last user message answers tools) is one assistant turn:
    // its assistant message must still begin with the thinking that produced the calls.
    if thinking_on && messages.len() >= 2 {
        let last_user = &messages[messages.len() - 1];
        let answers_tools = last_user
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            });
        let i = messages.len() - 2;
        let first = messages[i]
            .pointer("/content/0/type")
            .and_then(Value::as_str)
            .unwrap_or("text");
        if answers_tools && first != "thinking" && first != "redacted_thinking" {
            return bad(format!(
                "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns."
            ));
        }
    }
    breakpoints(body)
        .map(|_| ())
        .map_err(|m| error(400, "invalid_request_error", &m))
}

// ---------------------------------------------------------------------------------------------
// Prompt caching, by the rules of
// https://platform.claude.com/docs/en/build-with-claude/prompt-caching:
// - the prefix is `tools`, `system`, `messages` in that order, each tool, system block and
//   content block one block; a `cache_control` marks a breakpoint, a top-level
//   `cache_control` puts one on the last block that can take it (automatic caching);
// - at most 4 breakpoints (automatic caching uses one), else a 400;
// - longer TTLs before shorter ones; thinking blocks and empty text cannot carry a marker;
// - a breakpoint writes an entry for the prefix ending there, once that prefix reaches the
//   model's minimum cacheable length; a read looks back at most 20 blocks from each
//   breakpoint (the breakpoint itself first) for an entry an earlier request wrote, and the
//   request reads the longest prefix found;
// - changing `tool_choice`, the thinking settings, or adding or removing images invalidates the
//   message part of the cache (tools and system stay valid);
// - usage: `input_tokens` counts what follows the last read or written position,
//   `cache_read_input_tokens` the prefix read, `cache_creation_input_tokens` the tokens written
//   (split by TTL in `cache_creation`).
// Tokens are counted as the rest of the mock counts them: a block's JSON (without its marker)
// at four characters a token.

/// The lookback window: positions checked per breakpoint, the breakpoint included.
const LOOKBACK: usize = 20;
/// Breakpoints a request may carry.
const MAX_BREAKPOINTS: usize = 4;

/// The minimum cacheable prompt length for a model, in tokens (`#cache-limitations`).
pub(crate) fn min_cacheable_tokens(model: &str) -> u64 {
    let id = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    const TABLE: &[(&str, u64)] = &[
        ("claude-fable-5", 512),
        ("claude-mythos-5", 512),
        ("claude-mythos", 2_048),
        ("claude-opus-5", 512),
        ("claude-sonnet-5-5", 512),
        ("claude-haiku-5", 512),
        ("claude-sonnet-5", 1_024),
        ("claude-opus-4-8", 1_024),
        ("claude-opus-4-7", 2_048),
        ("claude-opus-4-6", 4_096),
        ("claude-opus-4-5", 4_096),
        ("claude-opus-4", 1_024),
        ("claude-sonnet-4", 1_024),
        ("claude-haiku-4-5", 4_096),
        ("claude-3-5-haiku", 2_048),
        ("claude-haiku-3-5", 2_048),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map(|(_, n)| *n)
        .unwrap_or(1_024)
}

/// A breakpoint's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CacheTtl {
    FiveMinutes,
    OneHour,
}

impl CacheTtl {
    fn of(control: &Value) -> Result<CacheTtl, String> {
        if control.get("type").and_then(Value::as_str) != Some("ephemeral") {
            return Err("cache_control.type: Input should be 'ephemeral'".into());
        }
        match control.get("ttl").and_then(Value::as_str) {
            None | Some("5m") => Ok(CacheTtl::FiveMinutes),
            Some("1h") => Ok(CacheTtl::OneHour),
            Some(other) => Err(format!(
                "cache_control.ttl: Input should be '5m' or '1h', got '{other}'"
            )),
        }
    }

    fn duration(self) -> Duration {
        match self {
            CacheTtl::FiveMinutes => Duration::from_secs(5 * 60),
            CacheTtl::OneHour => Duration::from_secs(60 * 60),
        }
    }
}

/// One block of the prefix.
struct Block {
    /// Tokens of this block.
    tokens: u64,
    /// Tokens of the prefix up to and including it.
    cumulative: u64,
    /// Hash of that prefix.
    hash: u64,
    /// Its breakpoint.
    breakpoint: Option<CacheTtl>,
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn without_marker(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("cache_control");
    }
    v
}

fn tokens_of(v: &Value) -> u64 {
    (v.to_string().chars().count() as u64).div_ceil(4).max(1)
}

/// The request's blocks in cache order with their breakpoints (automatic caching applied),
/// or the 400 message Anthropic answers a misplaced or excess marker with.
fn breakpoints(body: &Value) -> Result<Vec<Block>, String> {
    // (block, where it is, whether it can carry a marker)
    let mut raw: Vec<(Value, String, bool)> = Vec::new();
    for (i, t) in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        raw.push((t.clone(), format!("tools.{i}"), true));
    }
    match body.get("system") {
        Some(Value::String(s)) if !s.is_empty() => {
            raw.push((json!({"type": "text", "text": s}), "system".into(), true))
        }
        Some(Value::Array(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                raw.push((b.clone(), format!("system.{i}"), true));
            }
        }
        _ => {}
    }
    let messages_start = raw.len();
    let mut images = false;
    for (i, m) in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        for (j, b) in blocks.into_iter().enumerate() {
            let ty = b.get("type").and_then(Value::as_str).unwrap_or_default();
            images |= ty == "image"
                || b.get("content")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|x| x["type"] == "image"));
            let empty_text = ty == "text"
                && b.get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
            let cacheable = !matches!(ty, "thinking" | "redacted_thinking") && !empty_text;
            raw.push((b, format!("messages.{i}.content.{j}"), cacheable));
        }
    }

    let mut marks: Vec<Option<CacheTtl>> = Vec::with_capacity(raw.len());
    for (b, at, cacheable) in &raw {
        match b.get("cache_control") {
            None | Some(Value::Null) => marks.push(None),
            Some(_) if !cacheable => {
                return Err(format!("{at}.cache_control: this block cannot be cached"));
            }
            Some(c) => marks.push(Some(CacheTtl::of(c).map_err(|e| format!("{at}.{e}"))?)),
        }
    }
    let explicit = marks.iter().flatten().count();
    if let Some(auto) = body.get("cache_control").filter(|v| !v.is_null()) {
        let ttl = CacheTtl::of(auto)?;
        // Automatic caching marks the last block that can take a marker.
        if let Some(last) = raw.iter().rposition(|(_, _, cacheable)| *cacheable) {
            match marks[last] {
                Some(t) if t == ttl => {}
                Some(_) => {
                    return Err(
                        "cache_control: the last block already has a cache_control with a different ttl"
                            .into(),
                    );
                }
                None if explicit >= MAX_BREAKPOINTS => {
                    return Err(format!(
                        "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
                        explicit + 1
                    ));
                }
                None => marks[last] = Some(ttl),
            }
        }
    }
    let count = marks.iter().flatten().count();
    if count > MAX_BREAKPOINTS {
        return Err(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {count}."
        ));
    }
    // A 1-hour entry must come before every 5-minute one.
    let ttls: Vec<CacheTtl> = marks.iter().flatten().copied().collect();
    if ttls.windows(2).any(|w| w[0] < w[1]) {
        return Err(
            "cache_control: blocks with ttl '1h' must come before blocks with ttl '5m'".into(),
        );
    }

    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut h = fnv(0xcbf2_9ce4_8422_2325, model.as_bytes());
    let mut cumulative = 0u64;
    let mut out = Vec::with_capacity(raw.len());
    for (i, ((b, _, _), mark)) in raw.iter().zip(marks).enumerate() {
        if i == messages_start {
            // What invalidates the messages cache but not tools and system.
            let settings = json!({
                "tool_choice": body.get("tool_choice"),
                "thinking": body.get("thinking"),
                "images": images,
            });
            h = fnv(h, settings.to_string().as_bytes());
        }
        let b = without_marker(b);
        h = fnv(h, b.to_string().as_bytes());
        let tokens = tokens_of(&b);
        cumulative += tokens;
        out.push(Block {
            tokens,
            cumulative,
            hash: h,
            breakpoint: mark,
        });
    }
    Ok(out)
}

/// What one request read from and wrote to the simulated cache, in Anthropic's usage terms.
/// A request without breakpoints is accounted too (all of it uncached input, counted the same
/// way), so sessions with and without caching compare; its usage on the wire stays the mock's
/// usual one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheAccount {
    /// Breakpoints the request carried (automatic caching's included).
    pub breakpoints: usize,
    /// Input after the last position read or written (Anthropic's `input_tokens`).
    pub input_tokens: u64,
    /// The prefix read from the cache.
    pub cache_read_input_tokens: u64,
    /// Tokens written to the cache.
    pub cache_creation_input_tokens: u64,
    /// Of the written tokens, those with the one-hour TTL.
    pub cache_creation_1h_tokens: u64,
}

impl CacheAccount {
    /// The whole prompt.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens
    }
}

/// The cache entries earlier requests wrote: prefix hash → (expiry, TTL).
#[derive(Debug, Default)]
pub(crate) struct PromptCache {
    entries: HashMap<u64, (Instant, Duration)>,
}

impl PromptCache {
    /// Read and write for one request (`None` for a body [`validate`] refuses).
    pub(crate) fn account(&mut self, body: &Value, now: Instant) -> Option<CacheAccount> {
        let blocks = breakpoints(body).ok()?;
        self.entries.retain(|_, (expiry, _)| *expiry > now);
        let min = min_cacheable_tokens(body.get("model").and_then(Value::as_str).unwrap_or(""));
        // The longest prefix an earlier request wrote, within each breakpoint's lookback.
        let hit = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.breakpoint.is_some())
            .filter_map(|(i, _)| {
                (i.saturating_sub(LOOKBACK - 1)..=i)
                    .rev()
                    .find(|p| self.entries.contains_key(&blocks[*p].hash))
            })
            .max();
        let read = hit.map(|p| blocks[p].cumulative).unwrap_or(0);
        if let Some(p) = hit
            && let Some((expiry, ttl)) = self.entries.get_mut(&blocks[p].hash)
        {
            // A hit refreshes the entry for free.
            *expiry = now + *ttl;
        }
        // Writes at every later breakpoint whose prefix is long enough.
        let mut written_to = hit;
        let mut one_hour_to = hit;
        for (i, b) in blocks.iter().enumerate() {
            let Some(ttl) = b.breakpoint else { continue };
            if hit.is_some_and(|h| i <= h) || b.cumulative < min {
                continue;
            }
            self.entries
                .insert(b.hash, (now + ttl.duration(), ttl.duration()));
            written_to = Some(i);
            if ttl == CacheTtl::OneHour {
                one_hour_to = Some(i);
            }
        }
        let at = |p: Option<usize>| p.map(|p| blocks[p].cumulative).unwrap_or(0);
        let creation = at(written_to) - read;
        let total: u64 = blocks.iter().map(|b| b.tokens).sum();
        Some(CacheAccount {
            breakpoints: blocks.iter().filter(|b| b.breakpoint.is_some()).count(),
            input_tokens: total - read - creation,
            cache_read_input_tokens: read,
            cache_creation_input_tokens: creation,
            cache_creation_1h_tokens: at(one_hour_to).saturating_sub(read),
        })
    }
}

pub(crate) fn failure(f: &Failure) -> Plain {
    match f {
        Failure::RateLimited { retry_after_secs } => error(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        )
        .with_header("retry-after", retry_after_secs.to_string())
        .with_header("anthropic-ratelimit-requests-remaining", "0"),
        Failure::ServerError => error(500, "api_error", "Internal server error"),
        Failure::Overloaded => error(529, "overloaded_error", "Overloaded"),
        Failure::ContextOverflow(_) => error(
            400,
            "invalid_request_error",
            "prompt is too long: 212337 tokens > 200000 maximum",
        ),
        Failure::CloudflareBlock => cloudflare_page(),
    }
}

fn stop_reason(turn: &Turn) -> String {
    match &turn.finish_reason {
        Some(f) => f.clone(),
        None if turn.tool_calls.is_empty() => "end_turn".into(),
        None => "tool_use".into(),
    }
}

fn usage(u: Usage, cache: Option<CacheAccount>) -> Value {
    match cache {
        // Anthropic's input_tokens excludes cache reads and writes.
        None => json!({
            "input_tokens": u.input_tokens - u.cached_tokens.min(u.input_tokens),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": u.cached_tokens,
            "output_tokens": u.output_tokens,
        }),
        Some(c) => json!({
            "input_tokens": c.input_tokens,
            "cache_creation_input_tokens": c.cache_creation_input_tokens,
            "cache_read_input_tokens": c.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": c.cache_creation_input_tokens - c.cache_creation_1h_tokens,
                "ephemeral_1h_input_tokens": c.cache_creation_1h_tokens,
            },
            "output_tokens": u.output_tokens,
        }),
    }
}

fn call_input(c: &ToolCall) -> Value {
    serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}))
}

/// A non-streamed message.
pub(crate) fn message(
    model: &str,
    turn: &Turn,
    id: &str,
    prompt_chars: usize,
    cache: Option<CacheAccount>,
) -> Value {
    let mut content = Vec::new();
    if let Some(r) = &turn.reasoning {
        content.push(json!({"type": "thinking", "thinking": r, "signature": sign(r)}));
    }
    if let Some(d) = &turn.redacted_thinking {
        content.push(json!({"type": "redacted_thinking", "data": d}));
    }
    if let Some(t) = &turn.text {
        content.push(json!({"type": "text", "text": t}));
    }
    for c in &turn.tool_calls {
        content
            .push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": call_input(c)}));
    }
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason(turn), "stop_sequence": null,
        "usage": usage(turn.usage_or_derived(prompt_chars), cache),
    })
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The SSE events of a streamed message.
pub(crate) fn stream(
    model: &str,
    turn: &Turn,
    id: &str,
    prompt_chars: usize,
    cache: Option<CacheAccount>,
) -> Vec<String> {
    let u = turn.usage_or_derived(prompt_chars);
    let mut start_usage = usage(u, cache);
    start_usage["output_tokens"] = json!(1);
    let mut out = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
    )];
    out.push(event("ping", json!({"type": "ping"})));
    let size = turn.chunk();
    let mut index = 0u32;
    let mut block = |out: &mut Vec<String>, start: Value, deltas: Vec<Value>| {
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for d in deltas {
            out.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": d}),
            ));
        }
        out.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if let Some(r) = &turn.reasoning {
        let mut deltas: Vec<Value> = fragments(r, size)
            .into_iter()
            .map(|p| json!({"type": "thinking_delta", "thinking": p}))
            .collect();
        deltas.push(json!({"type": "signature_delta", "signature": sign(r)}));
        block(
            &mut out,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            deltas,
        );
    }
    if let Some(d) = &turn.redacted_thinking {
        block(
            &mut out,
            json!({"type": "redacted_thinking", "data": d}),
            Vec::new(),
        );
    }
    if let Some(t) = &turn.text {
        let deltas = fragments(t, size)
            .into_iter()
            .map(|p| json!({"type": "text_delta", "text": p}))
            .collect();
        block(&mut out, json!({"type": "text", "text": ""}), deltas);
    }
    for c in &turn.tool_calls {
        // The first input_json_delta is often empty, as the real stream does.
        let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
        deltas.extend(
            fragments(&c.arguments, size)
                .into_iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p})),
        );
        block(
            &mut out,
            json!({"type": "tool_use", "id": c.id, "name": c.name, "input": {}}),
            deltas,
        );
    }
    out.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(turn), "stop_sequence": null},
               "usage": usage(u, cache)}),
    ));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}

/// The mid-stream error event Anthropic sends when it is overloaded.
pub(crate) fn stream_error() -> String {
    event(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
}

/// `GET /v1/models` in Anthropic's shape.
pub(crate) fn models(models: &[String]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|m| json!({"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}))
        .collect();
    json!({"data": data, "has_more": false, "first_id": models.first(), "last_id": models.last()})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/messages".into(),
            headers: vec![
                ("x-api-key".into(), "k".into()),
                ("anthropic-version".into(), "2023-06-01".into()),
            ],
            body,
        }
    }

    #[test]
    fn lost_signed_thinking_is_refused() {
        let sig = sign("plan");
        let with = json!({"model": "claude", "max_tokens": 4096, "thinking": {"type": "adaptive"}, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "plan", "signature": sig},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
        ]});
        let rules = StrictRules::default();
        assert!(validate(Some("k"), &rules, &req(with.clone())).is_ok());
        let mut lost = with.clone();
        lost["messages"][1]["content"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        let err = validate(Some("k"), &rules, &req(lost)).unwrap_err();
        assert!(err.body.contains("Expected `thinking`"), "{}", err.body);
        let mut edited = with;
        edited["messages"][1]["content"][0]["thinking"] = json!("plan!");
        let err = validate(Some("k"), &rules, &req(edited)).unwrap_err();
        assert!(err.body.contains("signature"), "{}", err.body);
    }

    #[test]
    fn results_must_come_first_and_answer_every_use() {
        let body = json!({"model": "c", "max_tokens": 10, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
        ]});
        assert!(validate(Some("k"), &StrictRules::default(), &req(body)).is_err());
    }

    /// A system prompt of about `tokens` tokens and a conversation of `turns` user/assistant
    /// pairs plus a final user message, each a short text block.
    fn conversation(tokens: usize, turns: usize) -> Value {
        let mut messages = Vec::new();
        for i in 0..turns {
            messages.push(json!({"role": "user", "content": [{"type": "text", "text": format!("question {i}")}]}));
            messages.push(json!({"role": "assistant", "content": [{"type": "text", "text": format!("answer {i}")}]}));
        }
        messages.push(json!({"role": "user", "content": [{"type": "text", "text": "last"}]}));
        json!({
            "model": "claude-sonnet-4-6", "max_tokens": 100,
            "system": [{"type": "text", "text": "s".repeat(tokens * 4)}],
            "messages": messages,
        })
    }

    fn mark(body: &mut Value, pointer: &str, ttl: Option<&str>) {
        let control = match ttl {
            Some(t) => json!({"type": "ephemeral", "ttl": t}),
            None => json!({"type": "ephemeral"}),
        };
        body.pointer_mut(pointer).expect(pointer)["cache_control"] = control;
    }

    fn last_block(body: &Value) -> String {
        let n = body["messages"].as_array().map(Vec::len).unwrap_or(0);
        format!("/messages/{}/content/0", n - 1)
    }

    #[test]
    fn a_growing_conversation_reads_what_the_last_request_wrote() {
        let mut cache = PromptCache::default();
        let now = Instant::now();
        let mut first = conversation(2_000, 1);
        mark(&mut first, "/system/0", None);
        let p = last_block(&first);
        mark(&mut first, &p, None);
        let a = cache.account(&first, now).expect("markers: accounted");
        assert_eq!(a.cache_read_input_tokens, 0);
        assert!(a.cache_creation_input_tokens > 2_000, "{a:?}");
        assert_eq!(a.input_tokens, 0, "nothing after the last breakpoint");

        // The next request: the same messages, then an answer and a new question; the
        // breakpoint moves to the new last block.
        let mut second = conversation(2_000, 1);
        mark(&mut second, "/system/0", None);
        let messages = second["messages"].as_array_mut().expect("messages");
        messages.push(json!({"role": "assistant", "content": [{"type": "text", "text": "ok"}]}));
        messages.push(json!({"role": "user", "content": [{"type": "text", "text": "next"}]}));
        let p = last_block(&second);
        mark(&mut second, &p, None);
        let b = cache.account(&second, now).expect("accounted");
        assert_eq!(b.cache_read_input_tokens, a.total_input_tokens());
        assert_eq!(
            b.total_input_tokens(),
            b.cache_read_input_tokens + b.cache_creation_input_tokens
        );
        assert!(b.cache_creation_input_tokens > 0 && b.cache_creation_input_tokens < 50);
    }

    #[test]
    fn short_prefixes_are_not_cached_and_unmarked_requests_are_not_simulated() {
        let mut cache = PromptCache::default();
        let now = Instant::now();
        let mut body = conversation(100, 0);
        mark(&mut body, "/system/0", None);
        for _ in 0..2 {
            let a = cache.account(&body, now).expect("accounted");
            assert_eq!(
                (a.cache_read_input_tokens, a.cache_creation_input_tokens),
                (0, 0),
                "below claude-sonnet-4-6's 1,024 tokens"
            );
        }
        let unmarked = cache
            .account(&conversation(5_000, 1), now)
            .expect("accounted");
        assert_eq!(unmarked.breakpoints, 0);
        assert_eq!(unmarked.input_tokens, unmarked.total_input_tokens());
        assert_eq!(min_cacheable_tokens("claude-haiku-4-5-20251001"), 4_096);
        assert_eq!(min_cacheable_tokens("anthropic/claude-opus-5"), 512);
        assert_eq!(min_cacheable_tokens("claude-opus-4-7"), 2_048);
    }

    #[test]
    fn the_lookback_window_is_twenty_blocks() {
        let now = Instant::now();
        let mut first = conversation(2_000, 0);
        mark(&mut first, "/messages/0/content/0", None);
        // 11 more pairs: 22 blocks after the first request's breakpoint.
        let mut grown = conversation(2_000, 11);
        let p = last_block(&grown);
        mark(&mut grown, &p, None);
        let mut with_previous = grown.clone();
        // The first request's last block is `last`; here it is question 0's position only if
        // the texts match, so write the grown request's block 0 to match the first one's.
        with_previous["messages"][0]["content"][0]["text"] = json!("last");
        grown["messages"][0]["content"][0]["text"] = json!("last");
        mark(&mut with_previous, "/messages/0/content/0", None);

        let mut cache = PromptCache::default();
        let written = cache.account(&first, now).expect("accounted");
        let miss = cache.account(&grown, now).expect("accounted");
        assert_eq!(
            miss.cache_read_input_tokens, 0,
            "22 blocks back: out of the window"
        );
        let mut cache = PromptCache::default();
        cache.account(&first, now);
        let hit = cache.account(&with_previous, now).expect("accounted");
        assert_eq!(
            hit.cache_read_input_tokens,
            written.total_input_tokens(),
            "a breakpoint where the last write was finds it"
        );
    }

    #[test]
    fn tool_choice_thinking_and_images_invalidate_only_the_messages() {
        let now = Instant::now();
        let mut body = conversation(2_000, 1);
        mark(&mut body, "/system/0", None);
        let p = last_block(&body);
        mark(&mut body, &p, None);
        let system_tokens = {
            let mut cache = PromptCache::default();
            let mut system_only = body.clone();
            system_only["messages"] = json!([{"role": "user", "content": "x"}]);
            cache
                .account(&system_only, now)
                .expect("accounted")
                .cache_creation_input_tokens
        };
        for change in [
            ("tool_choice", json!({"type": "any"})),
            (
                "thinking",
                json!({"type": "enabled", "budget_tokens": 2048}),
            ),
        ] {
            let mut cache = PromptCache::default();
            let full = cache.account(&body, now).expect("accounted");
            let mut changed = body.clone();
            changed[change.0] = change.1;
            let again = cache.account(&changed, now).expect("accounted");
            assert_eq!(again.cache_read_input_tokens, system_tokens, "{}", change.0);
            assert!(again.cache_read_input_tokens < full.total_input_tokens());
        }
    }

    #[test]
    fn breakpoint_rules_are_refused_as_anthropic_refuses_them() {
        let rules = StrictRules::default();
        let mut body = conversation(10, 3);
        for p in [
            "/system/0",
            "/messages/0/content/0",
            "/messages/1/content/0",
            "/messages/2/content/0",
        ] {
            mark(&mut body, p, None);
        }
        assert!(validate(Some("k"), &rules, &req(body.clone())).is_ok());
        let mut five = body.clone();
        mark(&mut five, "/messages/3/content/0", None);
        let err = validate(Some("k"), &rules, &req(five)).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.body
                .contains("A maximum of 4 blocks with cache_control may be provided. Found 5."),
            "{}",
            err.body
        );
        assert!(err.body.contains("\"invalid_request_error\""));
        // Automatic caching needs a free slot.
        let mut auto = body.clone();
        auto["cache_control"] = json!({"type": "ephemeral"});
        assert!(validate(Some("k"), &rules, &req(auto)).is_err());
        // 1h after 5m.
        let mut order = conversation(10, 1);
        mark(&mut order, "/system/0", None);
        mark(&mut order, "/messages/0/content/0", Some("1h"));
        let err = validate(Some("k"), &rules, &req(order)).unwrap_err();
        assert!(err.body.contains("'1h' must come before"), "{}", err.body);
    }

    #[test]
    fn automatic_caching_marks_the_last_block() {
        let now = Instant::now();
        let mut body = conversation(2_000, 1);
        body["cache_control"] = json!({"type": "ephemeral", "ttl": "1h"});
        let mut cache = PromptCache::default();
        let a = cache.account(&body, now).expect("accounted");
        assert_eq!(a.input_tokens, 0);
        assert_eq!(a.cache_creation_1h_tokens, a.cache_creation_input_tokens);
        let b = cache.account(&body, now).expect("accounted");
        assert_eq!(b.cache_read_input_tokens, a.total_input_tokens());
        let usage = usage(Usage::default(), Some(b));
        assert_eq!(usage["cache_creation"]["ephemeral_1h_input_tokens"], 0);
    }

    #[test]
    fn stream_carries_signature_delta() {
        let turn = Turn {
            reasoning: Some("think".into()),
            text: Some("hi".into()),
            ..Turn::default()
        };
        let all = stream("c", &turn, "msg_1", 10, None).concat();
        assert!(all.contains("signature_delta") && all.contains(&sign("think")));
        assert!(all.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }
}
