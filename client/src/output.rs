//! Everything codexctl prints: aligned tables, key/value blocks, JSON, colours.
//!
//! Writes go through `writeln!` on locked handles and ignore errors: a closed pipe
//! (`codexctl endpoint list | head -1`) must end the output quietly, where `println!` would
//! panic. Colours are used only when the stream is a terminal and `NO_COLOR` is unset
//! (<https://no-color.org>).

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::error::{CliError, Kind, Result};

/// A style for one stream.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    colour: bool,
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Style {
    /// Style for stdout.
    pub fn stdout() -> Style {
        Style {
            colour: std::io::stdout().is_terminal() && !no_color(),
        }
    }

    /// Style for stderr.
    pub fn stderr() -> Style {
        Style {
            colour: std::io::stderr().is_terminal() && !no_color(),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold (headers).
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Green (good).
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Yellow (warnings).
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Red (failures).
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Dim (skipped, secondary).
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Print a line on stdout.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// Print raw text on stdout (no newline added).
pub fn out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Print a line on stderr.
pub fn err(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Print a value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(Kind::Other, format!("cannot encode JSON: {e}")))?;
    out(&text);
    Ok(())
}

/// An aligned table with a header row; the last column is not padded.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (as many cells as columns).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines (no colour), for printing and tests.
    fn lines(&self, style: Style) -> Vec<String> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let render = |cells: &[String]| {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 < cells.len() {
                    let pad = widths.get(i).copied().unwrap_or(0);
                    line.push_str(&format!("{cell:<pad$}  "));
                } else {
                    line.push_str(cell);
                }
            }
            line.trim_end().to_owned()
        };
        let mut lines = vec![style.bold(&render(&self.header))];
        lines.extend(self.rows.iter().map(|r| render(r)));
        lines
    }

    /// Print on stdout.
    pub fn print(&self) {
        for line in self.lines(Style::stdout()) {
            out(&line);
        }
    }
}

/// Print `key  value` lines with the keys aligned.
pub fn key_values(pairs: &[(&str, String)]) {
    let style = Style::stdout();
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (key, value) in pairs {
        let padded = format!("{key:<width$}");
        out(&format!("{}  {value}", style.bold(&padded)));
    }
}

/// `-` for an empty string, so a table cell is never blank.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_do_not_pad_the_last_column() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["a".into(), "Alpha".into()]);
        t.row(vec!["longer-id".into(), "B".into()]);
        let lines = t.lines(Style { colour: false });
        assert_eq!(
            lines,
            ["ID         NAME", "a          Alpha", "longer-id  B"]
        );
    }
}
