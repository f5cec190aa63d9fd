//! Responses API stream events (OpenAPI `ResponseStreamEvent`) and their SSE encoding.
//!
//! Every event carries `sequence_number`; the [`Emitter`] assigns them in order so a
//! translator cannot get them wrong.

use serde::Serialize;

use crate::responses::{OutputItem, Response, SummaryPart};

/// One streamed event.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type")]
pub enum ResponseEvent {
    /// Response started.
    #[serde(rename = "response.created")]
    Created {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Snapshot, status `in_progress`.
        response: Box<Response>,
    },
    /// Still working. Also our keep-alive while an upstream is silent.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Snapshot, status `in_progress`.
        response: Box<Response>,
    },
    /// An output item started.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Position in `output`.
        output_index: u32,
        /// The item, still empty.
        item: OutputItem,
    },
    /// An output item is complete. Codex acts on these.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Position in `output`.
        output_index: u32,
        /// The complete item.
        item: OutputItem,
    },
    /// A content part of a message started.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Message id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the message's content.
        content_index: u32,
        /// The part, empty.
        part: crate::responses::OutputContent,
    },
    /// A content part of a message is complete.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Message id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the message's content.
        content_index: u32,
        /// The complete part.
        part: crate::responses::OutputContent,
    },
    /// Text fragment.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Message id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the message's content.
        content_index: u32,
        /// The fragment.
        delta: String,
        /// Always empty.
        logprobs: [(); 0],
    },
    /// Text complete.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Message id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the message's content.
        content_index: u32,
        /// The whole text.
        text: String,
        /// Always empty.
        logprobs: [(); 0],
    },
    /// A reasoning summary part started.
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the summary.
        summary_index: u32,
        /// The part, empty.
        part: SummaryPart,
    },
    /// Summary fragment.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the summary.
        summary_index: u32,
        /// The fragment.
        delta: String,
    },
    /// Summary text complete.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the summary.
        summary_index: u32,
        /// The whole text.
        text: String,
    },
    /// Summary part complete.
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the summary.
        summary_index: u32,
        /// The complete part.
        part: SummaryPart,
    },
    /// Raw reasoning fragment.
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the item's content.
        content_index: u32,
        /// The fragment.
        delta: String,
    },
    /// Raw reasoning complete.
    #[serde(rename = "response.reasoning_text.done")]
    ReasoningTextDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Reasoning item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// Position in the item's content.
        content_index: u32,
        /// The whole text.
        text: String,
    },
    /// Function-call arguments fragment.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Call item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// The fragment.
        delta: String,
    },
    /// Function-call arguments complete.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Call item id.
        item_id: String,
        /// Function name.
        name: String,
        /// Position in `output`.
        output_index: u32,
        /// The whole JSON text.
        arguments: String,
    },
    /// Freeform tool input fragment.
    #[serde(rename = "response.custom_tool_call_input.delta")]
    CustomToolCallInputDelta {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Call item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// The fragment.
        delta: String,
    },
    /// Freeform tool input complete.
    #[serde(rename = "response.custom_tool_call_input.done")]
    CustomToolCallInputDone {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Call item id.
        item_id: String,
        /// Position in `output`.
        output_index: u32,
        /// The whole input.
        input: String,
    },
    /// Finished normally (terminal).
    #[serde(rename = "response.completed")]
    Completed {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Final response.
        response: Box<Response>,
    },
    /// Finished with an error (terminal); `response.error.code` tells Codex whether to retry.
    #[serde(rename = "response.failed")]
    Failed {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Final response with `error`.
        response: Box<Response>,
    },
    /// Cut short (terminal).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// Order of the event in the stream.
        sequence_number: u64,
        /// Final response with `incomplete_details`.
        response: Box<Response>,
    },
}

impl ResponseEvent {
    /// The event's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ResponseEvent::Created { .. } => "response.created",
            ResponseEvent::InProgress { .. } => "response.in_progress",
            ResponseEvent::OutputItemAdded { .. } => "response.output_item.added",
            ResponseEvent::OutputItemDone { .. } => "response.output_item.done",
            ResponseEvent::ContentPartAdded { .. } => "response.content_part.added",
            ResponseEvent::ContentPartDone { .. } => "response.content_part.done",
            ResponseEvent::OutputTextDelta { .. } => "response.output_text.delta",
            ResponseEvent::OutputTextDone { .. } => "response.output_text.done",
            ResponseEvent::ReasoningSummaryPartAdded { .. } => {
                "response.reasoning_summary_part.added"
            }
            ResponseEvent::ReasoningSummaryTextDelta { .. } => {
                "response.reasoning_summary_text.delta"
            }
            ResponseEvent::ReasoningSummaryTextDone { .. } => {
                "response.reasoning_summary_text.done"
            }
            ResponseEvent::ReasoningSummaryPartDone { .. } => {
                "response.reasoning_summary_part.done"
            }
            ResponseEvent::ReasoningTextDelta { .. } => "response.reasoning_text.delta",
            ResponseEvent::ReasoningTextDone { .. } => "response.reasoning_text.done",
            ResponseEvent::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            ResponseEvent::FunctionCallArgumentsDone { .. } => {
                "response.function_call_arguments.done"
            }
            ResponseEvent::CustomToolCallInputDelta { .. } => {
                "response.custom_tool_call_input.delta"
            }
            ResponseEvent::CustomToolCallInputDone { .. } => "response.custom_tool_call_input.done",
            ResponseEvent::Completed { .. } => "response.completed",
            ResponseEvent::Failed { .. } => "response.failed",
            ResponseEvent::Incomplete { .. } => "response.incomplete",
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ResponseEvent::Completed { .. }
                | ResponseEvent::Failed { .. }
                | ResponseEvent::Incomplete { .. }
        )
    }

    /// The response carried by a lifecycle event.
    pub fn response(&self) -> Option<&Response> {
        match self {
            ResponseEvent::Created { response, .. }
            | ResponseEvent::InProgress { response, .. }
            | ResponseEvent::Completed { response, .. }
            | ResponseEvent::Failed { response, .. }
            | ResponseEvent::Incomplete { response, .. } => Some(response),
            _ => None,
        }
    }

    /// Append the event as one SSE frame (`event:` + `data:` + blank line).
    pub fn write_sse(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(self.kind().as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Serializing these types cannot fail: every map key is a string and no custom
        // Serialize impl returns an error for values we build ourselves.
        if !self.write_delta_json(out) && serde_json::to_writer(&mut *out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\n\n");
    }

    /// The delta events — nearly every event of a stream — as JSON, byte for byte what serde
    /// writes (the golden streams and `delta_fast_path_matches_serde` compare), but with the
    /// constant keys written as they are instead of escaped one by one: this was the largest
    /// single cost of a proxied stream. `false` for every other event.
    fn write_delta_json(&self, out: &mut Vec<u8>) -> bool {
        let (sequence_number, item_id, output_index, index, delta, logprobs) = match self {
            ResponseEvent::OutputTextDelta {
                sequence_number,
                item_id,
                output_index,
                content_index,
                delta,
                logprobs: _,
            } => (
                sequence_number,
                item_id,
                output_index,
                Some((&b",\"content_index\":"[..], content_index)),
                delta,
                true,
            ),
            ResponseEvent::ReasoningSummaryTextDelta {
                sequence_number,
                item_id,
                output_index,
                summary_index,
                delta,
            } => (
                sequence_number,
                item_id,
                output_index,
                Some((&b",\"summary_index\":"[..], summary_index)),
                delta,
                false,
            ),
            ResponseEvent::ReasoningTextDelta {
                sequence_number,
                item_id,
                output_index,
                content_index,
                delta,
            } => (
                sequence_number,
                item_id,
                output_index,
                Some((&b",\"content_index\":"[..], content_index)),
                delta,
                false,
            ),
            ResponseEvent::FunctionCallArgumentsDelta {
                sequence_number,
                item_id,
                output_index,
                delta,
            }
            | ResponseEvent::CustomToolCallInputDelta {
                sequence_number,
                item_id,
                output_index,
                delta,
            } => (sequence_number, item_id, output_index, None, delta, false),
            _ => return false,
        };
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(self.kind().as_bytes());
        out.extend_from_slice(b"\",\"sequence_number\":");
        json_value(out, sequence_number);
        out.extend_from_slice(b",\"item_id\":");
        json_value(out, item_id.as_str());
        out.extend_from_slice(b",\"output_index\":");
        json_value(out, output_index);
        if let Some((key, value)) = index {
            out.extend_from_slice(key);
            json_value(out, value);
        }
        out.extend_from_slice(b",\"delta\":");
        json_value(out, delta.as_str());
        if logprobs {
            out.extend_from_slice(b",\"logprobs\":[]");
        }
        out.push(b'}');
        true
    }
}

/// One JSON scalar (a number, an escaped string). Writing these into a `Vec` cannot fail.
fn json_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Hands out sequence numbers and collects events.
#[derive(Debug, Default)]
pub struct Emitter {
    next: u64,
}

impl Emitter {
    /// The next sequence number.
    pub fn seq(&mut self) -> u64 {
        let n = self.next;
        self.next += 1;
        n
    }

    /// How many events were emitted so far.
    pub fn count(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_fast_path_matches_serde() {
        let tricky =
            "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 漢 🦀 </script>";
        let events = [
            ResponseEvent::OutputTextDelta {
                sequence_number: u64::MAX,
                item_id: "msg_\"1".into(),
                output_index: 7,
                content_index: u32::MAX,
                delta: tricky.into(),
                logprobs: [],
            },
            ResponseEvent::ReasoningSummaryTextDelta {
                sequence_number: 0,
                item_id: "rs_1".into(),
                output_index: 0,
                summary_index: 3,
                delta: String::new(),
            },
            ResponseEvent::ReasoningTextDelta {
                sequence_number: 12,
                item_id: "rs_2".into(),
                output_index: 1,
                content_index: 0,
                delta: tricky.into(),
            },
            ResponseEvent::FunctionCallArgumentsDelta {
                sequence_number: 5,
                item_id: "fc_1".into(),
                output_index: 2,
                delta: "{\"cmd\":\"ls\"".into(),
            },
            ResponseEvent::CustomToolCallInputDelta {
                sequence_number: 6,
                item_id: "ctc_1".into(),
                output_index: 3,
                delta: "*** Begin Patch\n".into(),
            },
        ];
        for e in events {
            let mut fast = Vec::new();
            assert!(e.write_delta_json(&mut fast), "{e:?} takes the fast path");
            let serde = serde_json::to_vec(&e).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }
}
