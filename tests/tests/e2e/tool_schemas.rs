//! Tool schemas per host, end to end: the standalone proxy (`codex-launcherd proxy
//! --backend openai-compat --provider <row>`) in front of a mock in "strict schema host" mode,
//! which refuses tool declarations the way the host's validator does (Moonshot's for Kimi,
//! Gemini's behind OpenRouter). A Responses request carrying MCP-style tools (`$ref`/`$defs`,
//! an `anyOf` root, a 100-character name with dots and slashes, a name starting with a digit)
//! must be accepted once adapted, and a tool call the model makes under the host's name must
//! reach the client under the name and namespace Codex declared. The same request through the
//! `generic` row (no adaptation beyond the root) is refused: the mock really checks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use codex_launcher_e2e::StandaloneProxy;
use codex_launcher_mock_upstream::{
    Flavor, MockConfig, MockUpstream, Reply, StrictRules, ToolCall,
};
use serde_json::{Value, json};

const LONG_NAMESPACE: &str = "mcp__github.com/acme/very.long.server.name/with/slashes__";
const LONG_NAME: &str = "tools.search/repositories.by.owner/and.topic";

fn request() -> Value {
    json!({
        "model": "gpt-5-codex",
        "stream": false,
        "instructions": "You are Codex.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Find the repo."}]}],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command.", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
            {"type": "namespace", "name": "mcp__docs__", "description": "Docs MCP server.", "tools": [
                {"type": "function", "name": "search", "description": "Search the documentation.", "strict": false,
                 "parameters": {"type": "object",
                    "properties": {"query": {"$ref": "#/$defs/Query", "description": "What to look for."},
                                   "filters": {"$ref": "#/$defs/Filters"}},
                    "required": ["query"],
                    "$defs": {"Query": {"type": "string", "minLength": 2},
                              "Filters": {"type": "object", "properties": {"lang": {"type": ["string", "null"]}}, "additionalProperties": false}}}},
                {"type": "function", "name": "create_page", "description": "Create a page from a title or a template.", "strict": false,
                 "parameters": {"type": "object", "anyOf": [
                    {"properties": {"title": {"type": "string"}}, "required": ["title"]},
                    {"properties": {"template_id": {"type": "string", "format": "uuid"}}, "required": ["template_id"]}]}}
            ]},
            {"type": "namespace", "name": LONG_NAMESPACE, "tools": [
                {"type": "function", "name": LONG_NAME, "description": "Search repositories by owner.", "strict": false,
                 "parameters": {"type": "object", "properties": {"owner": {"type": "string"}}, "required": ["owner"]}}
            ]},
            {"type": "namespace", "name": "1password__", "tools": [
                {"type": "function", "name": "get_item", "description": "Read a vault item.", "strict": false,
                 "parameters": {"type": "object", "properties": {"item": {"type": "string"}}, "required": ["item"]}}
            ]}
        ]
    })
}

/// POST the request over HTTP/1.0 (no chunked body to undo); (status, body).
fn post(addr: SocketAddr, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).expect("connect to the proxy");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        s,
        "POST /v1/responses HTTP/1.0\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

async fn post_async(addr: SocketAddr, body: Value) -> (u16, String) {
    tokio::task::spawn_blocking(move || post(addr, &body))
        .await
        .expect("the request thread")
}

async fn strict_mock(flavor: Flavor) -> MockUpstream {
    MockUpstream::start(MockConfig {
        flavor,
        rules: StrictRules {
            reject_tool_schemas: true,
            ..StrictRules::default()
        },
        ..MockConfig::default()
    })
    .await
    .expect("mock upstream")
}

fn proxy(mock: &MockUpstream, provider: &str, model: &str) -> StandaloneProxy {
    StandaloneProxy::start(json!({
        "backend": "openai-compat",
        "target_url": mock.base_url(),
        "provider": provider,
        "model_map": {"gpt-5-codex": model},
    }))
}

/// The name the host received for the tool whose description starts with `description`.
fn host_name(upstream_body: &Value, description: &str) -> String {
    upstream_body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["function"]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(description))
        })
        .and_then(|t| t["function"]["name"].as_str())
        .unwrap_or_else(|| panic!("no tool described {description:?} in {upstream_body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_schema_hosts_take_adapted_tools_and_calls_map_back() {
    for (flavor, provider, model) in [
        (Flavor::Kimi, "kimi", "kimi-k3"),
        (Flavor::OpenRouter, "openrouter", "google/gemini-2.5-pro"),
    ] {
        let mock = strict_mock(flavor).await;
        let proxy = proxy(&mock, provider, model);

        // Turn 1: the model answers in text; the host saw the adapted declarations.
        mock.push(Reply::text("ready"));
        let (status, body) = post_async(proxy.addr(), request()).await;
        assert_eq!(
            status,
            200,
            "{provider}: {body}\nmock: {:?}",
            mock.rejections()
        );
        assert!(mock.rejections().is_empty(), "{:?}", mock.rejections());
        let sent = mock.requests()[0].body.clone();
        let long = host_name(&sent, "Search repositories");
        let vault = host_name(&sent, "Read a vault item");
        assert!(long.len() <= 64 && !long.contains(['.', '/']), "{long}");
        if flavor == Flavor::OpenRouter {
            // Gemini: names start with a letter or `_`.
            assert_eq!(vault, "_1password__get_item");
        }
        let text = sent.to_string();
        assert!(!text.contains("$ref") && !text.contains("$defs"), "{text}");

        // Turn 2: the model calls both tools under the host's names.
        mock.push(Reply::tool_calls(vec![
            ToolCall {
                id: "call_long".into(),
                name: long.clone(),
                arguments: json!({"owner": "acme"}).to_string(),
            },
            ToolCall {
                id: "call_vault".into(),
                name: vault.clone(),
                arguments: json!({"item": "deploy key"}).to_string(),
            },
        ]));
        let (status, body) = post_async(proxy.addr(), request()).await;
        assert_eq!(
            status,
            200,
            "{provider}: {body}\nmock: {:?}",
            mock.rejections()
        );
        assert!(mock.rejections().is_empty(), "{:?}", mock.rejections());
        let response: Value = serde_json::from_str(&body).expect("a Response object");
        let calls: Vec<(&str, &str, &str)> = response["output"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["type"] == "function_call")
            .map(|i| {
                (
                    i["call_id"].as_str().unwrap_or_default(),
                    i["namespace"].as_str().unwrap_or_default(),
                    i["name"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("call_long", LONG_NAMESPACE, LONG_NAME),
                ("call_vault", "1password__", "get_item")
            ],
            "{provider}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_schema_hosts_refuse_unadapted_tools() {
    for (flavor, model, words) in [
        (Flavor::Kimi, "kimi-k3", "moonshot flavored json schema"),
        (Flavor::OpenRouter, "google/gemini-2.5-pro", "Unknown name"),
    ] {
        let mock = strict_mock(flavor).await;
        // The generic row only guarantees an object root.
        let proxy = proxy(&mock, "generic", model);
        let (status, body) = post_async(proxy.addr(), request()).await;
        assert_eq!(status, 400, "{body}");
        let rejections = mock.rejections();
        assert_eq!(rejections.len(), 1, "{rejections:?}");
        assert!(rejections[0].contains(words), "{rejections:?}");
    }
}
