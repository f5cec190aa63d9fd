//! Incremental Server-Sent Events parser: feed it bytes as they arrive, get whole events.
//!
//! Tolerant where providers are sloppy (CRLF, `data:` without a space, missing blank lines
//! between JSON events) and bounded where they are hostile: one event (every line of it, so
//! `data` accumulated over many lines too) may not exceed the parser's `max_event_bytes`. Past
//! that the parser stops buffering at once, so its memory is about one bound however long the
//! upstream keeps sending (an event that never ends, a line without a newline).

use crate::error::{Failure, Limit};

/// Default bound on one upstream event (and one NDJSON line): far above any real event (a
/// streamed delta is a few hundred bytes; a whole tool call sent at once, a few hundred KiB),
/// far below what would hurt the daemon.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One event: its `event:` name (if any) and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// `event:` field.
    pub event: Option<&'a str>,
    /// `data:` lines joined by `\n`.
    pub data: &'a str,
}

/// The stream broke the framing rules beyond repair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// An event (or a line) longer than the bound.
    #[error("{}", event_message(.limit))]
    EventTooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
}

impl SseError {
    /// How the response fails.
    pub fn failure(&self) -> Failure {
        match self {
            SseError::EventTooLarge { limit } => Failure::over_limit(Limit::Event, *limit),
        }
    }
}

fn event_message(limit: &usize) -> String {
    Failure::over_limit(Limit::Event, *limit).message
}

/// The parser state.
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    data: String,
    event: String,
    has_data: bool,
    /// Bytes of the event so far: every line since the last dispatch, newlines included.
    event_bytes: usize,
    max_event_bytes: usize,
    /// A bound was passed: every later feed fails the same way, without buffering.
    failed: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser that refuses an event over `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            line: Vec::new(),
            data: String::new(),
            event: String::new(),
            has_data: false,
            event_bytes: 0,
            max_event_bytes,
            failed: false,
        }
    }

    /// Feed bytes; `on_event` is called for every complete event.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        if self.failed {
            return Err(self.too_large());
        }
        while !bytes.is_empty() {
            // memchr: a byte-at-a-time search was the parser's main cost.
            match memchr::memchr(b'\n', bytes) {
                Some(nl) => {
                    let (head, rest) = bytes.split_at(nl);
                    bytes = &rest[1..];
                    if self.line.is_empty() {
                        self.process_line(head, &mut on_event)?;
                    } else {
                        self.check_partial(head.len())?;
                        self.line.extend_from_slice(head);
                        let line = std::mem::take(&mut self.line);
                        let result = self.process_line(&line, &mut on_event);
                        self.line = line;
                        self.line.clear();
                        result?;
                    }
                }
                None => {
                    self.check_partial(bytes.len())?;
                    self.line.extend_from_slice(bytes);
                    bytes = &[];
                }
            }
        }
        Ok(())
    }

    /// End of input: dispatch what is pending (a final event without its blank line).
    pub fn finish(&mut self, mut on_event: impl FnMut(SseEvent<'_>)) {
        if self.failed {
            return;
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            if self.process_line(&line, &mut on_event).is_err() {
                return;
            }
        }
        self.dispatch(&mut on_event);
    }

    /// A line still without its newline grows by `more` bytes: refuse it before buffering
    /// when the event it belongs to would pass the bound.
    fn check_partial(&mut self, more: usize) -> Result<(), SseError> {
        let total = self
            .event_bytes
            .saturating_add(self.line.len())
            .saturating_add(more);
        if total > self.max_event_bytes {
            return Err(self.fail());
        }
        Ok(())
    }

    /// Stop for good, and give the memory back: the transducer fails the response and the
    /// proxy drops the connection, but the parser may live on until the client has read the
    /// failure.
    fn fail(&mut self) -> SseError {
        self.failed = true;
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.has_data = false;
        self.event_bytes = 0;
        self.too_large()
    }

    fn too_large(&self) -> SseError {
        SseError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }

    fn process_line(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        let raw_len = line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(on_event);
            return Ok(());
        }
        if line[0] == b':' {
            // A comment / keep-alive: nothing kept, but it is part of the event's bytes.
            return self.count(raw_len);
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        // Invalid UTF-8 cannot be JSON; replace rather than fail the whole stream. Valid
        // UTF-8 (every sane stream) is checked by `from_utf8`, which runs word-at-a-time over
        // ASCII; `from_utf8_lossy` walks byte by byte, a tenth of a stream's CPU.
        let value = match std::str::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        };
        match field {
            b"data" => {
                // Hosts that omit the blank line between JSON events: a new JSON object while
                // one is complete means a new event.
                if self.has_data && value.starts_with('{') && self.data.ends_with('}') {
                    self.dispatch(on_event);
                }
                self.count(raw_len)?;
                // Replacement characters can make the text longer than the bytes it came
                // from: the data itself is bounded too.
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    return Err(self.fail());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                self.count(raw_len)?;
                self.event.clear();
                self.event.push_str(&value);
            }
            _ => self.count(raw_len)?,
        }
        Ok(())
    }

    /// Count a line into the current event.
    fn count(&mut self, bytes: usize) -> Result<(), SseError> {
        self.event_bytes = self.event_bytes.saturating_add(bytes);
        if self.event_bytes > self.max_event_bytes {
            return Err(self.fail());
        }
        Ok(())
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(SseEvent<'_>)) {
        if self.has_data {
            let event = (!self.event.is_empty()).then_some(self.event.as_str());
            on_event(SseEvent {
                event,
                data: &self.data,
            });
        }
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        self.event_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| {
                out.push((e.event.map(str::to_owned), e.data.to_owned()))
            })
            .unwrap();
        }
        p.finish(|e| out.push((e.event.map(str::to_owned), e.data.to_owned())));
        out
    }

    #[test]
    fn splits_across_feeds_and_handles_crlf() {
        let got = collect(&[
            b"event: a\r\nda",
            b"ta: {\"x\":1}\r\n\r\n: ping\n\ndata:[DONE]\n\n",
        ]);
        assert_eq!(
            got,
            vec![
                (Some("a".into()), "{\"x\":1}".into()),
                (None, "[DONE]".into())
            ]
        );
    }

    #[test]
    fn missing_blank_lines_and_trailing_event() {
        let got = collect(&[b"data: {\"a\":1}\ndata: {\"b\":2}\ndata: {\"c\":3}"]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].1, "{\"c\":3}");
    }

    const TOO_LARGE: Result<(), SseError> = Err(SseError::EventTooLarge { limit: 4096 });

    #[test]
    fn bounded_lines() {
        let mut p = SseParser::new(4096);
        assert_eq!(p.feed(&[b'x'; 4000], |_| {}), Ok(()));
        assert_eq!(p.feed(&[b'x'; 97], |_| {}), TOO_LARGE);
        assert_eq!(p.line.capacity(), 0, "the partial line is released");
        // A line arriving whole (one feed, newline included) is bounded as well.
        let mut p = SseParser::new(4096);
        let mut line = vec![b'x'; 4097];
        line.push(b'\n');
        assert_eq!(p.feed(&line, |_| {}), TOO_LARGE);
    }

    /// Many `data:` lines make one event: under the bound it is delivered whole, over it the
    /// parser fails and stops buffering.
    #[test]
    fn data_accumulated_over_many_lines_is_bounded() {
        let line = format!("data: {}\n", "y".repeat(100));
        let mut ok = SseParser::new(4096);
        let mut got = Vec::new();
        for _ in 0..30 {
            ok.feed(line.as_bytes(), |_| unreachable!("no blank line yet"))
                .unwrap();
        }
        ok.feed(b"\n", |e| got.push(e.data.len())).unwrap();
        assert_eq!(got, vec![30 * 100 + 29]);

        let mut p = SseParser::new(4096);
        let mut result = Ok(());
        let mut fed = 0;
        while result.is_ok() {
            result = p.feed(line.as_bytes(), |_| unreachable!("the event never ends"));
            fed += 1;
            assert!(fed < 100, "the bound is never reached");
        }
        assert_eq!(result, TOO_LARGE);
        assert_eq!(fed, 4096 / line.len() + 1);
        assert_eq!(p.data.capacity(), 0, "the data is released");
        // It stays failed: nothing more is buffered, whatever comes.
        assert_eq!(p.feed(b"\ndata: {}\n\n", |_| unreachable!()), TOO_LARGE);
        p.finish(|_| unreachable!("a failed parser dispatches nothing"));
    }

    /// Comments and unknown fields count too: an event is bounded by its bytes, not its data.
    #[test]
    fn every_line_of_an_event_counts() {
        let mut p = SseParser::new(4096);
        let line = format!(": {}\n", "z".repeat(1000));
        let mut result = Ok(());
        for _ in 0..5 {
            result = result.and_then(|()| p.feed(line.as_bytes(), |_| {}));
        }
        assert_eq!(result, TOO_LARGE);
        // A blank line ends the event and its count: keep-alives forever are fine.
        let mut p = SseParser::new(4096);
        for _ in 0..100 {
            p.feed(b": ping\n\n", |_| {}).unwrap();
        }
    }
}
