//! Codex's item list as a conversation of turns, the shape every upstream wants:
//! system prompt, user turns, assistant turns (reasoning, text and tool calls in order) and
//! the tool results answering them.
//!
//! Upstreams are strict about tool pairing (Anthropic, Command Code, DeepSeek all answer 400),
//! Codex histories are not always tidy (an interrupted turn leaves a call without output, a
//! retried one an output without its call). [`Conversation::from_items`] repairs that here,
//! once, for every backend:
//! - a call left unanswered gets a synthetic result saying it did not complete;
//! - an output whose call is not in the preceding assistant turn becomes user text, so no
//!   information is lost and no orphan reaches the upstream.

use crate::reasoning_codec::ReasoningPayload;
use crate::responses::{ContentPart, InputItem, MessageContent, ReasoningItem, join_texts};
use crate::tools::{ToolMap, custom_arguments};

/// Result text for a call that never got one.
pub const MISSING_RESULT: &str = "No result: the tool call did not complete.";

/// A conversation ready to be rendered for an upstream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// `instructions` and the leading system/developer messages, joined.
    pub system: Option<String>,
    /// The turns after it.
    pub turns: Vec<Turn>,
    /// Item kinds we dropped (hosted-tool calls, compaction, ...), for a debug log.
    pub dropped: Vec<String>,
}

/// One turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// A system or developer message after the conversation started.
    System(String),
    /// A user message.
    User(Vec<UserPart>),
    /// What the model said and did in one response.
    Assistant(Vec<AssistantBlock>),
    /// Results answering the preceding assistant turn's calls, in call order.
    ToolResults(Vec<ToolResult>),
}

/// Part of a user message.
#[derive(Debug, Clone, PartialEq)]
pub enum UserPart {
    /// Text.
    Text(String),
    /// Image (`data:` URL or URL).
    Image(Image),
}

/// An image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `data:` URL or URL.
    pub url: String,
    /// `low`, `high`, `auto` (others dropped).
    pub detail: Option<String>,
}

/// Part of an assistant turn, in the order the model produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum AssistantBlock {
    /// Reasoning: our decoded payload when we produced it, else the visible text.
    Reasoning {
        /// Provider-native payload, when the item came from us.
        payload: Option<ReasoningPayload>,
        /// Visible text (summary or content).
        text: String,
    },
    /// Text.
    Text(String),
    /// A tool call.
    Call(ToolCall),
}

/// A tool call in history.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Pairs the call with its result.
    pub call_id: String,
    /// Name on the wire (flattened namespace).
    pub wire_name: String,
    /// JSON arguments (custom tools: `{"input": "..."}`).
    pub arguments: String,
}

/// A tool result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The call it answers.
    pub call_id: String,
    /// Wire name of that call (Command Code wants it on results).
    pub wire_name: String,
    /// Text output.
    pub text: String,
    /// Images in the output.
    pub images: Vec<Image>,
    /// Added by us because the call had no result.
    pub synthetic: bool,
}

impl Turn {
    /// The calls of an assistant turn.
    pub fn calls(&self) -> impl Iterator<Item = &ToolCall> {
        let blocks: &[AssistantBlock] = match self {
            Turn::Assistant(blocks) => blocks,
            _ => &[],
        };
        blocks.iter().filter_map(|b| match b {
            AssistantBlock::Call(c) => Some(c),
            _ => None,
        })
    }
}

impl Conversation {
    /// Build from `instructions` and the input items.
    pub fn from_items(instructions: Option<&str>, items: &[InputItem]) -> Conversation {
        let mut conv = Conversation::default();
        let mut system: Vec<String> = instructions
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect();
        let mut started = false;
        for item in items {
            match item {
                InputItem::Message(m) => match m.role.as_str() {
                    "system" | "developer" => {
                        let text = m.content.text();
                        if !started {
                            system.push(text);
                        } else {
                            conv.turns.push(Turn::System(text));
                        }
                    }
                    "assistant" => {
                        started = true;
                        let text = m.content.text();
                        if !text.is_empty() {
                            conv.push_assistant(AssistantBlock::Text(text));
                        }
                    }
                    _ => {
                        started = true;
                        conv.turns.push(Turn::User(user_parts(&m.content)));
                    }
                },
                InputItem::Reasoning(r) => {
                    started = true;
                    conv.push_assistant(reasoning_block(r));
                }
                InputItem::FunctionCall(c) => {
                    started = true;
                    let wire_name = ToolMap::wire_name(c.namespace.as_deref(), &c.name);
                    let arguments = if c.arguments.trim().is_empty() {
                        "{}".to_owned()
                    } else {
                        c.arguments.clone()
                    };
                    conv.push_assistant(AssistantBlock::Call(ToolCall {
                        call_id: c.call_id.clone(),
                        wire_name,
                        arguments,
                    }));
                }
                InputItem::CustomToolCall(c) => {
                    started = true;
                    let wire_name = ToolMap::wire_name(c.namespace.as_deref(), &c.name);
                    conv.push_assistant(AssistantBlock::Call(ToolCall {
                        call_id: c.call_id.clone(),
                        wire_name,
                        arguments: custom_arguments(&c.input),
                    }));
                }
                InputItem::FunctionCallOutput(o) | InputItem::CustomToolCallOutput(o) => {
                    started = true;
                    conv.push_result(ToolResult {
                        call_id: o.call_id.clone(),
                        wire_name: String::new(),
                        text: o.output.text(),
                        images: o.output.images().into_iter().filter_map(image).collect(),
                        synthetic: false,
                    });
                }
                InputItem::Other { kind, .. } => conv.dropped.push(kind.clone()),
            }
        }
        conv.system = (!system.is_empty()).then(|| join_texts(system.iter().map(String::as_str)));
        conv.repair();
        conv
    }

    /// Add a block to the assistant turn being built (the last turn, or a new one).
    fn push_assistant(&mut self, block: AssistantBlock) {
        match self.turns.last_mut() {
            Some(Turn::Assistant(blocks)) => blocks.push(block),
            _ => self.turns.push(Turn::Assistant(vec![block])),
        }
    }

    fn push_result(&mut self, result: ToolResult) {
        if let Some(Turn::ToolResults(results)) = self.turns.last_mut() {
            results.push(result);
        } else {
            self.turns.push(Turn::ToolResults(vec![result]));
        }
    }

    /// Enforce strict pairing (see the module docs) and drop assistant turns that hold only
    /// reasoning (a cut stream's leftovers: nothing to attach them to).
    fn repair(&mut self) {
        let turns = std::mem::take(&mut self.turns);
        let mut out: Vec<Turn> = Vec::with_capacity(turns.len() + 2);
        let mut iter = turns.into_iter().peekable();
        while let Some(turn) = iter.next() {
            match turn {
                Turn::Assistant(blocks) => {
                    let only_reasoning = blocks
                        .iter()
                        .all(|b| matches!(b, AssistantBlock::Reasoning { .. }));
                    if only_reasoning && !matches!(iter.peek(), Some(Turn::ToolResults(_))) {
                        continue;
                    }
                    let turn = Turn::Assistant(blocks);
                    let calls: Vec<ToolCall> = turn.calls().cloned().collect();
                    out.push(turn);
                    if calls.is_empty() {
                        continue;
                    }
                    let given = match iter.peek() {
                        Some(Turn::ToolResults(_)) => match iter.next() {
                            Some(Turn::ToolResults(r)) => r,
                            _ => Vec::new(),
                        },
                        _ => Vec::new(),
                    };
                    let (results, orphans) = pair_results(&calls, given);
                    out.push(Turn::ToolResults(results));
                    if !orphans.is_empty() {
                        out.push(Turn::User(orphans));
                    }
                }
                Turn::ToolResults(results) => {
                    // Results with no assistant turn before them: every one is an orphan.
                    let (_, orphans) = pair_results(&[], results);
                    out.push(Turn::User(orphans));
                }
                other => out.push(other),
            }
        }
        self.turns = out;
    }
}

/// Match results to calls in call order; synthesize missing ones; return leftovers as text.
fn pair_results(calls: &[ToolCall], given: Vec<ToolResult>) -> (Vec<ToolResult>, Vec<UserPart>) {
    let mut given: Vec<Option<ToolResult>> = given.into_iter().map(Some).collect();
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        let found = given
            .iter_mut()
            .find(|r| r.as_ref().is_some_and(|r| r.call_id == call.call_id))
            .and_then(Option::take);
        let mut result = found.unwrap_or_else(|| ToolResult {
            call_id: call.call_id.clone(),
            wire_name: String::new(),
            text: MISSING_RESULT.to_owned(),
            images: Vec::new(),
            synthetic: true,
        });
        result.wire_name = call.wire_name.clone();
        results.push(result);
    }
    let mut orphans = Vec::new();
    for r in given.into_iter().flatten() {
        orphans.push(UserPart::Text(format!(
            "Output of an earlier tool call ({}):\n{}",
            r.call_id, r.text
        )));
        orphans.extend(r.images.into_iter().map(UserPart::Image));
    }
    (results, orphans)
}

fn user_parts(content: &MessageContent) -> Vec<UserPart> {
    match content {
        MessageContent::Text(t) => vec![UserPart::Text(t.clone())],
        MessageContent::Parts(parts) => parts
            .iter()
            .filter_map(|p| {
                if let Some(img) = image(p) {
                    Some(UserPart::Image(img))
                } else {
                    p.text().map(|t| UserPart::Text(t.to_owned()))
                }
            })
            .collect(),
    }
}

fn image(part: &ContentPart) -> Option<Image> {
    if !part.is_image() {
        return None;
    }
    let detail = part
        .detail
        .clone()
        .filter(|d| matches!(d.as_str(), "low" | "high" | "auto"));
    part.image_url.clone().map(|url| Image { url, detail })
}

fn reasoning_block(r: &ReasoningItem) -> AssistantBlock {
    let payload = r
        .encrypted_content
        .as_deref()
        .and_then(ReasoningPayload::decode);
    AssistantBlock::Reasoning {
        payload,
        text: r.visible_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(items: serde_json::Value) -> Conversation {
        let items: Vec<InputItem> = serde_json::from_value(items).unwrap();
        Conversation::from_items(Some("be brief"), &items)
    }

    #[test]
    fn groups_parallel_calls_and_results() {
        let c = conv(json!([
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}], "encrypted_content": null},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "doing"}]},
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "b", "output": "B"},
            {"type": "function_call_output", "call_id": "a", "output": "A"},
        ]));
        assert_eq!(c.system.as_deref(), Some("be brief\n\ndev"));
        assert_eq!(c.turns.len(), 3);
        let Turn::Assistant(blocks) = &c.turns[1] else {
            panic!()
        };
        assert_eq!(blocks.len(), 4);
        let Turn::ToolResults(r) = &c.turns[2] else {
            panic!()
        };
        assert_eq!((r[0].call_id.as_str(), r[0].text.as_str()), ("a", "A"));
        assert_eq!(r[1].wire_name, "f");
    }

    #[test]
    fn repairs_missing_and_orphan_results() {
        let c = conv(json!([
            {"type": "message", "role": "user", "content": "go"},
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": ""},
            {"type": "message", "role": "user", "content": "interrupted"},
            {"type": "function_call_output", "call_id": "zzz", "output": "late"},
            {"type": "reasoning", "summary": [], "encrypted_content": null},
        ]));
        let kinds: Vec<_> = c
            .turns
            .iter()
            .map(|t| match t {
                Turn::System(_) => "system",
                Turn::User(_) => "user",
                Turn::Assistant(_) => "assistant",
                Turn::ToolResults(_) => "results",
            })
            .collect();
        assert_eq!(kinds, ["user", "assistant", "results", "user", "user"]);
        let Turn::ToolResults(r) = &c.turns[2] else {
            panic!()
        };
        assert!(r[0].synthetic);
        let Turn::User(parts) = &c.turns[4] else {
            panic!()
        };
        assert!(matches!(&parts[0], UserPart::Text(t) if t.contains("late")));
    }
}
