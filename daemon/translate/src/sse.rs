//! Incremental Server-Sent Events parser: feed it bytes as they arrive, get whole events.
//!
//! Tolerant where providers are sloppy (CRLF, `data:` without a space, missing blank lines
//! between JSON events) and bounded where they are hostile (one line may not exceed
//! [`MAX_LINE`], so a 10 MB line cannot make us buffer without limit).

/// Longest line we buffer.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

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
    /// A line longer than [`MAX_LINE`].
    #[error("an upstream event line exceeded {MAX_LINE} bytes")]
    LineTooLong,
}

/// The parser state.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: String,
    event: String,
    has_data: bool,
}

impl SseParser {
    /// Feed bytes; `on_event` is called for every complete event.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        while !bytes.is_empty() {
            // memchr: a byte-at-a-time search was the parser's main cost.
            match memchr::memchr(b'\n', bytes) {
                Some(nl) => {
                    let (head, rest) = bytes.split_at(nl);
                    bytes = &rest[1..];
                    if self.line.is_empty() {
                        self.process_line(head, &mut on_event);
                    } else {
                        self.line.extend_from_slice(head);
                        let line = std::mem::take(&mut self.line);
                        self.process_line(&line, &mut on_event);
                        self.line = line;
                        self.line.clear();
                    }
                }
                None => {
                    if self.line.len() + bytes.len() > MAX_LINE {
                        self.line.clear();
                        return Err(SseError::LineTooLong);
                    }
                    self.line.extend_from_slice(bytes);
                    bytes = &[];
                }
            }
        }
        Ok(())
    }

    /// End of input: dispatch what is pending (a final event without its blank line).
    pub fn finish(&mut self, mut on_event: impl FnMut(SseEvent<'_>)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut on_event);
        }
        self.dispatch(&mut on_event);
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
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
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&value);
            }
            _ => {}
        }
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

    #[test]
    fn bounded_lines() {
        let mut p = SseParser::default();
        let big = vec![b'x'; MAX_LINE + 1];
        assert_eq!(p.feed(&big, |_| {}), Err(SseError::LineTooLong));
    }
}
