//! The `java.util.Properties` text format, as Kafka reads `server.properties`.
//!
//! Comments start with `#` or `!`; a key ends at the first unescaped `=`, `:` or whitespace; a
//! line ending in an odd number of backslashes continues on the next line, whose leading
//! whitespace is dropped; `\t \n \r \f \uXXXX` are escapes and a backslash before any other
//! character keeps that character. The last occurrence of a key wins.

use super::error::ConfigError;

/// One `key=value` pair with the 1-based line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses properties text. `origin` names the source in error messages.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Property>, ConfigError> {
    let mut out = Vec::new();
    for (line, logical) in logical_lines(text) {
        let (raw_key, raw_value) = split_key_value(&logical);
        let syntax = |reason: String| ConfigError::Syntax {
            origin: origin.to_string(),
            line,
            reason,
        };
        let key = unescape(raw_key).map_err(syntax)?;
        let value = unescape(raw_value).map_err(syntax)?;
        out.push(Property { key, value, line });
    }
    Ok(out)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Joins continued lines and drops blank and comment lines.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    // `\r\n`, `\r` and `\n` all end a line, as in Java.
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    for (index, natural) in normalised.split('\n').enumerate() {
        let trimmed = natural.trim_start_matches(is_space);
        let (start, mut buf) = match pending.take() {
            Some(p) => p,
            None => {
                if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
                    continue;
                }
                (index + 1, String::new())
            }
        };
        let trailing = trimmed.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            // An odd count means the last backslash escapes the line break itself.
            buf.push_str(&trimmed[..trimmed.len() - 1]);
            pending = Some((start, buf));
        } else {
            buf.push_str(trimmed);
            out.push((start, buf));
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

/// Splits a logical line into the still-escaped key and value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut separator = None;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' {
            key_end = i;
            separator = Some((i, true));
            break;
        } else if is_space(c) {
            key_end = i;
            separator = Some((i, false));
            break;
        }
    }
    let key = &line[..key_end];
    let Some((at, hard)) = separator else {
        return (key, "");
    };
    let after = &line[at + 1..];
    let mut rest = after.trim_start_matches(is_space);
    if !hard {
        // Whitespace may be followed by one `=` or `:` that still belongs to the separator.
        if let Some(stripped) = rest.strip_prefix(['=', ':']) {
            rest = stripped.trim_start_matches(is_space);
        }
    }
    (key, rest)
}

/// Resolves backslash escapes.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    let mut high_surrogate: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_surrogate(&mut out, &mut high_surrogate);
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            // A lone trailing backslash (end of input inside a continuation) is dropped.
            break;
        };
        if next != 'u' {
            flush_surrogate(&mut out, &mut high_surrogate);
            out.push(match next {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                'f' => '\x0c',
                other => other,
            });
            continue;
        }
        let mut unit = 0u32;
        for _ in 0..4 {
            let digit = chars
                .next()
                .and_then(|h| h.to_digit(16))
                .ok_or_else(|| "Malformed \\uxxxx encoding.".to_string())?;
            unit = unit * 16 + digit;
        }
        // Java strings are UTF-16, so characters outside the BMP arrive as two escapes.
        match (high_surrogate.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => {
                let code = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (previous, 0xD800..=0xDBFF) => {
                if previous.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                high_surrogate = Some(unit);
            }
            (previous, _) => {
                if previous.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    flush_surrogate(&mut out, &mut high_surrogate);
    Ok(out)
}

fn flush_surrogate(out: &mut String, high: &mut Option<u32>) {
    if high.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

/// Escapes a key or value so that [`parse`] reads it back unchanged.
pub fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text, "test")
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn separators_and_whitespace() {
        let text = "a=1\nb: 2\nc 3\n  d  =  4  \ne\t:\t5\nf\ng = \nh  = = x";
        assert_eq!(
            pairs(text),
            vec![
                kv("a", "1"),
                kv("b", "2"),
                kv("c", "3"),
                kv("d", "4  "),
                kv("e", "5"),
                kv("f", ""),
                kv("g", ""),
                kv("h", "= x"),
            ]
        );
    }

    #[test]
    fn comments_and_blank_lines() {
        let text = "# comment\n! also\n   # indented\n\n\t\nkey=v # not a comment\n";
        assert_eq!(pairs(text), vec![kv("key", "v # not a comment")]);
    }

    #[test]
    fn continuation_lines() {
        let text = "listeners=PLAINTEXT://a:1,\\\n    PLAINTEXT://b:2\nnext=1";
        assert_eq!(
            pairs(text),
            vec![
                kv("listeners", "PLAINTEXT://a:1,PLAINTEXT://b:2"),
                kv("next", "1")
            ]
        );
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(pairs("a=x\\\\\nb=y"), vec![kv("a", "x\\"), kv("b", "y")]);
        // A continued line that looks like a comment is still content.
        assert_eq!(pairs("a=1\\\n# 2"), vec![kv("a", "1# 2")]);
        // End of input inside a continuation keeps what was read.
        assert_eq!(pairs("a=1\\"), vec![kv("a", "1")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            pairs("k\\=ey\\ x=a\\tb\\nc\\u0041\\q\\\\"),
            vec![kv("k=ey x", "a\tb\ncAq\\")]
        );
        assert_eq!(pairs("e=\\uD83D\\uDE00"), vec![kv("e", "\u{1F600}")]);
        assert_eq!(pairs("e=\\uD83D"), vec![kv("e", "\u{FFFD}")]);
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        let err = parse("a=1\nb=\\u12g4", "server.properties").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse("b=\\u12", "x").is_err());
    }

    #[test]
    fn line_endings() {
        assert_eq!(
            pairs("a=1\r\nb=2\rc=3"),
            vec![kv("a", "1"), kv("b", "2"), kv("c", "3")]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse(&text, "p");
        }

        #[test]
        fn arbitrary_bytes_never_panic(text in proptest::collection::vec(any::<char>(), 0..200)) {
            let s: String = text.into_iter().collect();
            let _ = parse(&s, "p");
        }

        #[test]
        fn escape_round_trips(key in "\\PC{1,20}", value in "\\PC{0,40}") {
            let line = format!("{}={}", escape(&key, true), escape(&value, false));
            let parsed = parse(&line, "p").unwrap();
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(&parsed[0].key, &key);
            prop_assert_eq!(&parsed[0].value, &value);
        }
    }
}
