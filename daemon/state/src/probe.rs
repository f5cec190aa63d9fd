//! `ProbeEndpoint`: real round trips to a provider, made the way Codex makes them — Responses
//! requests to our own proxy, which translates them for the provider — so what the probe
//! sees is what a session would see. Five checks: a text turn, a tool call, parallel tool
//! calls, a reasoning turn whose reasoning goes back with the tool result, and a tool whose
//! schema is written the way MCP servers write them (`$ref`/`$defs`, nullable types).
//!
//! A failure that names a Chat Completions quirk the proxy knows how to handle (the
//! `parallel_tool_calls` field refused; `reasoning_content` required on tool-call turns) is
//! recorded into the endpoint's quirk overrides and the check retried: verdict `quirk`. A
//! model that answers one call when asked for two gets `parallel_tool_calls = false` on its
//! model entry, so Codex's catalog stops offering parallel calls. A refused tool schema
//! records the schema rule set the refusal names (`tool_schema`: Moonshot's validator,
//! Gemini's subset), or the strictest one that is then accepted.
//!
//! Every exchange is marked as a probe's (the turn recorder's origin header, with a ticket):
//! a failed one is recorded like a failed Codex turn, and the check's detail names the
//! record, so a failing probe can be shown and replayed (`codexctl turns show N`).
//!
//! The probe runs off the owner's loop (it waits on the network); each recording is a
//! command to the owner, merged into the endpoint as it is at that moment, so an edit made
//! meanwhile is not overwritten. The whole probe is bounded by [`PROBE_TIMEOUT`], each
//! exchange by [`EXCHANGE_TIMEOUT`].

use std::net::SocketAddr;
use std::time::Duration;

use codex_launcher_types::ProbeVerdict;
use serde_json::{Map, Value, json};

use crate::command::Handle;
use crate::error::StateError;
use crate::views::ProbeCheck;

const TOOL: &str = "probe_weather";
/// The whole probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(300);
/// One exchange (a reasoning model may think for a while).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a failed exchange waits for its record to be written.
const RECORD_WAIT: Duration = Duration::from_secs(5);

/// What a probe needs.
pub(crate) struct Probe {
    pub handle: Handle,
    pub client: reqwest::Client,
    pub proxy: SocketAddr,
    pub token: String,
    pub id: String,
    pub model: String,
    /// A Chat Completions endpoint (the quirks the probe can record are Chat's).
    pub chat: bool,
}

impl Probe {
    /// Run the checks, bounded by [`PROBE_TIMEOUT`].
    pub async fn run(self) -> Result<Vec<ProbeCheck>, StateError> {
        let span = tracing::info_span!("probe", endpoint = %self.id, model = %self.model);
        let checks = tokio::time::timeout(
            PROBE_TIMEOUT,
            tracing::Instrument::instrument(self.checks(), span),
        )
        .await
        .map_err(|_| {
            StateError::Upstream(format!(
                "the probe did not finish within {} s",
                PROBE_TIMEOUT.as_secs()
            ))
        })??;
        Ok(checks)
    }

    async fn checks(&self) -> Result<Vec<ProbeCheck>, StateError> {
        let chat = self.chat;
        let (probe, model) = (self, &self.model);
        let mut checks = Vec::new();

        checks.push(match probe.exchange(text_request(model)).await {
            Ok(out) if !output_text(&out).is_empty() => check("text", ProbeVerdict::Ok, "answered"),
            Ok(_) => check("text", ProbeVerdict::Failed, "the answer had no text"),
            Err(e) => check("text", ProbeVerdict::Failed, &e),
        });

        let (result, adapted) = probe
            .adaptive(tool_request(model, false, None), chat)
            .await?;
        checks.push(match result {
            Ok(out) => match calls(&out).len() {
                0 => check("tool-call", ProbeVerdict::Failed, "the model answered without calling the tool"),
                _ if !calls(&out).iter().all(|c| args_ok(c)) => {
                    check("tool-call", ProbeVerdict::Failed, "the tool arguments are not valid JSON")
                }
                _ if adapted => check(
                    "tool-call",
                    ProbeVerdict::Quirk,
                    "the provider refuses the `parallel_tool_calls` field: no longer sent; then called the tool",
                ),
                _ => check("tool-call", ProbeVerdict::Ok, "called the tool with valid JSON arguments"),
            },
            Err(e) => check("tool-call", ProbeVerdict::Failed, &e),
        });
        checks.push(probe.parallel(chat).await?);
        checks.push(probe.reasoning(chat).await?);
        checks.push(probe.tool_schema(chat).await?);
        for c in &checks {
            tracing::info!(check = %c.name, verdict = %c.verdict, detail = %c.detail, "probe check");
        }
        Ok(checks)
    }

    /// One Responses request through the proxy: the output items, or what went wrong.
    async fn exchange(&self, body: Value) -> Result<Vec<Value>, String> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange_once(body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", EXCHANGE_TIMEOUT.as_secs())))
    }

    async fn exchange_once(&self, body: Value) -> Result<Vec<Value>, String> {
        let ticket = crate::owner::random_hex(8).ok();
        // Subscribed before sending, so the record's announcement cannot be missed.
        let mut events = self.handle.subscribe();
        let result = self.exchange_marked(body, ticket.clone()).await;
        match (result, ticket) {
            (Err(e), Some(ticket)) => {
                match crate::turns::await_ticket(&mut events, &ticket, RECORD_WAIT).await {
                    Some(n) => Err(format!(
                        "{e} (recorded as turn {n}: `codexctl turns show {n}`)"
                    )),
                    None => Err(e),
                }
            }
            (result, _) => result,
        }
    }

    async fn exchange_marked(
        &self,
        body: Value,
        ticket: Option<String>,
    ) -> Result<Vec<Value>, String> {
        let url = format!("http://{}/e/{}/v1/responses", self.proxy, self.id);
        let origin = codex_launcher_proxy::record::Origin::Probe { ticket };
        let mut req = self.client.post(&url).bearer_auth(&self.token).json(&body);
        if let Some(value) = origin.header_value() {
            req = req.header(codex_launcher_proxy::record::ORIGIN_HEADER, value);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("the proxy could not be reached: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("the answer broke off: {e}"))?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(format!("HTTP {}: {message}", status.as_u16()));
        }
        terminal_output(&text)
    }

    /// [`Probe::exchange`]; if a Chat provider refuses the `parallel_tool_calls` field,
    /// record that and try once more. Whether it did.
    async fn adaptive(
        &self,
        body: Value,
        chat: bool,
    ) -> Result<(Result<Vec<Value>, String>, bool), StateError> {
        match self.exchange(body.clone()).await {
            Err(e) if chat && mentions(&e, "parallel_tool_calls") => {
                self.record(json!({"parallel_tool_calls": false}), None)
                    .await?;
                Ok((self.exchange(body).await, true))
            }
            other => Ok((other, false)),
        }
    }

    async fn parallel(&self, chat: bool) -> Result<ProbeCheck, StateError> {
        let name = "parallel-tool-calls";
        let (result, refused) = self
            .adaptive(tool_request(&self.model, true, None), chat)
            .await?;
        let out = match result {
            Ok(out) => out,
            Err(e) => return Ok(check(name, ProbeVerdict::Failed, &e)),
        };
        let n = calls(&out).len();
        Ok(match (n, refused) {
            (0, _) => check(
                name,
                ProbeVerdict::Failed,
                "the model answered without calling the tool",
            ),
            (1, refused) => {
                self.record(json!({}), Some(false)).await?;
                let field = if refused {
                    "the provider refuses the `parallel_tool_calls` field (no longer sent); "
                } else {
                    ""
                };
                check(
                    name,
                    ProbeVerdict::Quirk,
                    &format!(
                        "{field}asked for two calls, made one: parallel tool calls turned off for this model"
                    ),
                )
            }
            (_, true) => check(
                name,
                ProbeVerdict::Quirk,
                "the provider refuses the `parallel_tool_calls` field: no longer sent; it still made several calls",
            ),
            (n, false) => check(name, ProbeVerdict::Ok, &format!("{n} calls in one turn")),
        })
    }

    async fn reasoning(&self, chat: bool) -> Result<ProbeCheck, StateError> {
        let name = "reasoning-pass-back";
        let mut recorded = false;
        for attempt in 0..2 {
            let first = match self
                .exchange(tool_request(&self.model, false, Some("medium")))
                .await
            {
                Ok(out) => out,
                Err(e) => return Ok(check(name, ProbeVerdict::Failed, &e)),
            };
            let reasoned = first.iter().any(|i| i["type"] == "reasoning");
            if calls(&first).is_empty() {
                return Ok(check(name, ProbeVerdict::Failed, "no tool call to answer"));
            }
            match self.exchange(follow_up(&self.model, &first)).await {
                Ok(_) if recorded => {
                    return Ok(check(
                        name,
                        ProbeVerdict::Quirk,
                        "the provider wants `reasoning_content` back on tool-call turns: now sent",
                    ));
                }
                Ok(_) if reasoned => {
                    return Ok(check(
                        name,
                        ProbeVerdict::Ok,
                        "reasoning came back with the tool result and was accepted",
                    ));
                }
                Ok(_) => {
                    return Ok(check(
                        name,
                        ProbeVerdict::Ok,
                        "the model returned no reasoning; the tool-result turn was accepted",
                    ));
                }
                Err(e) if chat && attempt == 0 && mentions(&e, "reasoning_content") => {
                    self.record(
                        json!({"reasoning_echo": "reasoning_content", "reasoning_required_on_tool_calls": true}),
                        None,
                    )
                    .await?;
                    recorded = true;
                }
                Err(e) => return Ok(check(name, ProbeVerdict::Failed, &e)),
            }
        }
        Ok(check(
            name,
            ProbeVerdict::Failed,
            "still refused after the quirk was recorded",
        ))
    }

    /// An MCP-style schema. When the host refuses it, the rule sets to try: the one the
    /// refusal names, else the strictest first; the first one accepted is kept, and when
    /// none is, the endpoint's setting is put back.
    async fn tool_schema(&self, chat: bool) -> Result<ProbeCheck, StateError> {
        let name = "tool-schema";
        let body = schema_request(&self.model);
        let refusal = match self.exchange(body.clone()).await {
            Ok(_) => {
                return Ok(check(
                    name,
                    ProbeVerdict::Ok,
                    "a tool schema with $ref/$defs and nullable types was accepted",
                ));
            }
            Err(e) => e,
        };
        let candidates = schema_dialects_for(&refusal);
        if !chat || candidates.is_empty() {
            return Ok(check(name, ProbeVerdict::Failed, &refusal));
        }
        let before = self.handle.endpoint(&self.id).await?.endpoint.quirks;
        let before = before.as_ref().and_then(|q| q.get("tool_schema")).cloned();
        for dialect in candidates {
            self.record(json!({ "tool_schema": dialect }), None).await?;
            if self.exchange(body.clone()).await.is_ok() {
                return Ok(check(
                    name,
                    ProbeVerdict::Quirk,
                    &format!(
                        "the provider refused an MCP-style tool schema; adapted to the `{dialect}` rules, it was accepted"
                    ),
                ));
            }
        }
        // Nothing helped: the endpoint keeps what it had (null removes the override).
        self.record(
            json!({ "tool_schema": before.unwrap_or(Value::Null) }),
            None,
        )
        .await?;
        Ok(check(
            name,
            ProbeVerdict::Failed,
            &format!("{refusal} (still refused with every schema rule set)"),
        ))
    }

    /// Merge `quirks` into the endpoint's overrides and set the model's parallel flag.
    async fn record(&self, quirks: Value, parallel: Option<bool>) -> Result<(), StateError> {
        let quirks = match quirks {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let recorded = Value::Object(quirks.clone()).to_string();
        tracing::info!(quirks = %recorded, ?parallel, "probe recorded a quirk");
        self.handle
            .record_quirks(&self.id, &self.model, quirks, parallel)
            .await
    }
}

fn check(name: &'static str, verdict: ProbeVerdict, detail: &str) -> ProbeCheck {
    ProbeCheck {
        name,
        verdict,
        detail: detail.to_owned(),
    }
}

fn mentions(error: &str, field: &str) -> bool {
    error.contains(field)
}

/// The schema rule sets (`ToolSchemaDialect` names) worth trying after `refusal`: the one
/// whose validator's wording it carries, else, for a refusal about a schema, the strictest
/// subsets; nothing for a refusal about something else.
fn schema_dialects_for(refusal: &str) -> Vec<&'static str> {
    let lower = refusal.to_ascii_lowercase();
    if lower.contains("moonshot flavored json schema") {
        // Moonshot's validator ("… is not a valid moonshot flavored json schema").
        vec!["kimi"]
    } else if lower.contains("function_declarations") || lower.contains("generatecontentrequest") {
        // Gemini's field paths, also when a gateway passes its error on.
        vec!["gemini"]
    } else if ["schema", "$ref", "$defs", "anyof", "parameters"]
        .iter()
        .any(|w| lower.contains(w))
    {
        vec!["gemini", "kimi"]
    } else {
        Vec::new()
    }
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn base(model: &str, input: Vec<Value>) -> Value {
    json!({
        "model": model,
        "instructions": "You are a connectivity probe. Follow the user's instruction exactly.",
        "input": input,
        "stream": true,
        "store": false,
    })
}

fn text_request(model: &str) -> Value {
    base(model, vec![user("Reply with the single word OK.")])
}

fn tool_request(model: &str, parallel: bool, effort: Option<&str>) -> Value {
    let ask = if parallel {
        "Call probe_weather twice in this one turn, in parallel: once for Paris and once for Tokyo."
    } else {
        "Call probe_weather for Paris."
    };
    let mut body = base(model, vec![user(ask)]);
    body["tools"] = json!([{
        "type": "function",
        "name": TOOL,
        "description": "The weather in a city.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": false
        }
    }]);
    body["tool_choice"] = json!("auto");
    body["parallel_tool_calls"] = json!(parallel);
    if let Some(effort) = effort {
        body["reasoning"] = json!({"effort": effort, "summary": "auto"});
        body["include"] = json!(["reasoning.encrypted_content"]);
    }
    body
}

/// A tool declared the way MCP servers (pydantic, zod) write schemas.
fn schema_request(model: &str) -> Value {
    let mut body = tool_request(model, false, None);
    body["tools"][0]["parameters"] = json!({
        "type": "object",
        "properties": {
            "city": {"$ref": "#/$defs/City"},
            "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null]}
        },
        "required": ["city"],
        "additionalProperties": false,
        "$defs": {"City": {"type": "string", "minLength": 1, "title": "City"}}
    });
    body
}

/// Turn two: what the model said, as Codex replays it (reasoning included), and the results.
fn follow_up(model: &str, first: &[Value]) -> Value {
    let mut input = vec![user("Call probe_weather for Paris.")];
    input.extend(
        first
            .iter()
            .filter(|i| matches!(i["type"].as_str(), Some("reasoning" | "function_call")))
            .cloned(),
    );
    for c in calls(first) {
        input.push(json!({
            "type": "function_call_output",
            "call_id": c["call_id"],
            "output": "sunny, 21 °C",
        }));
    }
    let mut body = base(model, input);
    body["reasoning"] = json!({"effort": "medium", "summary": "auto"});
    body["include"] = json!(["reasoning.encrypted_content"]);
    body
}

fn calls(out: &[Value]) -> Vec<&Value> {
    out.iter()
        .filter(|i| i["type"] == "function_call")
        .collect()
}

fn args_ok(call: &Value) -> bool {
    call["arguments"]
        .as_str()
        .is_some_and(|a| serde_json::from_str::<Value>(a).is_ok_and(|v| v.is_object()))
}

fn output_text(out: &[Value]) -> String {
    out.iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["text"].as_str().map(str::to_owned))
        .collect()
}

/// The output of the terminal event of a Responses SSE stream, or its error.
fn terminal_output(sse: &str) -> Result<Vec<Value>, String> {
    for block in sse.split("\n\n") {
        let data: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        match event["type"].as_str() {
            Some("response.completed" | "response.incomplete") => {
                return Ok(event["response"]["output"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default());
            }
            Some("response.failed") => {
                let e = &event["response"]["error"];
                return Err(format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or("failed"),
                    e["message"].as_str().unwrap_or("the response failed")
                ));
            }
            Some("error") => {
                return Err(event["message"]
                    .as_str()
                    .unwrap_or("stream error")
                    .to_owned());
            }
            _ => {}
        }
    }
    Err("the stream ended without a final event".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_terminal_event() {
        let ok = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n\
                  event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"arguments\":\"{}\"}]}}\n\n";
        let out = terminal_output(ok).unwrap_or_default();
        assert_eq!(calls(&out).len(), 1);
        assert!(args_ok(calls(&out)[0]));
        let failed = "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"invalid_prompt\",\"message\":\"Missing `reasoning_content`\"}}}\n\n";
        assert!(terminal_output(failed).is_err_and(|e| mentions(&e, "reasoning_content")));
        assert!(terminal_output("").is_err());
    }

    #[test]
    fn a_schema_refusal_names_the_rules_to_try() {
        let kimi = "HTTP 400: Invalid request: tools.function.parameters is not a valid moonshot \
                    flavored json schema, details: <At path 'root.properties.city.$ref': $ref is not supported>";
        assert_eq!(schema_dialects_for(kimi), ["kimi"]);
        let gemini = "Provider returned error: * GenerateContentRequest.tools[0].function_declarations[0].parameters";
        assert_eq!(schema_dialects_for(gemini), ["gemini"]);
        assert_eq!(
            schema_dialects_for("HTTP 400: Invalid schema for function 'probe_weather'"),
            ["gemini", "kimi"]
        );
        assert!(schema_dialects_for("HTTP 401: invalid api key").is_empty());
        // Every name is a rule set the capability row takes.
        for d in ["kimi", "gemini"] {
            let v = serde_json::Value::from(d);
            assert!(
                serde_json::from_value::<codex_launcher_translate::schema::ToolSchemaDialect>(v)
                    .is_ok()
            );
        }
    }
}
