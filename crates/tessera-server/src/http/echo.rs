//! Error messages may quote what the client sent (serde's `unknown variant \`…\``, `invalid type:
//! string "…"`, a domain rule naming the bad value): [`bounded`] keeps of each quoted piece a
//! printable prefix of at most [`QUOTE_LIMIT`] characters, and of the whole message at most
//! [`MESSAGE_LIMIT`], with `…` where it cut. Every error body goes through it on its way out
//! (see [`super::request_id`]), so no message can echo a 64 KiB body back or put a control
//! character in a client's terminal or log.

/// Characters kept of each quoted piece of input.
pub(super) const QUOTE_LIMIT: usize = 64;
/// Characters kept of a whole message.
pub(super) const MESSAGE_LIMIT: usize = 384;

/// `message`, with each quoted piece (in backticks or double quotes) cut to [`QUOTE_LIMIT`]
/// characters, control characters replaced by `�`, and the whole cut to [`MESSAGE_LIMIT`].
pub(super) fn bounded(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MESSAGE_LIMIT * 2));
    let mut kept = 0;
    // In a quoted piece: its quote character, how many characters of it were kept, whether
    // some were cut, and whether the previous character was a backslash (`"a\"b"` is one
    // piece, as serde's `Debug` quoting writes it).
    let mut quote: Option<(char, usize, bool, bool)> = None;
    for c in message.chars() {
        if kept == MESSAGE_LIMIT {
            out.push('…');
            return out;
        }
        let c = if c.is_control() { char::REPLACEMENT_CHARACTER } else { c };
        match &mut quote {
            Some((open, _, cut, escaped)) if c == *open && !*escaped => {
                if *cut {
                    out.push('…');
                }
                quote = None;
            }
            Some((open, length, cut, escaped)) => {
                *escaped = *open == '"' && c == '\\' && !*escaped;
                if *length == QUOTE_LIMIT {
                    *cut = true;
                    continue;
                }
                *length += 1;
            }
            None if c == '`' || c == '"' => quote = Some((c, 0, false, false)),
            None => {}
        }
        out.push(c);
        kept += 1;
    }
    if quote.is_some_and(|(_, _, cut, _)| cut) {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_unchanged() {
        for message in [
            "Expected a JSON body with `Content-Type: application/json`.",
            "unknown variant `SOMETIMES`, expected `OPTIONAL` or `REQUIRED_FOR_ALL`",
            r#"invalid type: string "a\"b", expected u32"#,
            "",
        ] {
            assert_eq!(bounded(message), message);
        }
    }

    #[test]
    fn long_quotes_keep_a_prefix() {
        let huge = "x".repeat(10_000);
        let message = format!("unknown variant `{huge}`, expected `A` or `B`");
        let kept = bounded(&message);
        assert_eq!(kept, format!("unknown variant `{}…`, expected `A` or `B`", "x".repeat(64)));
        let message = format!(r#"invalid type: string "{huge}\"{huge}", expected u32"#);
        assert_eq!(
            bounded(&message),
            format!(r#"invalid type: string "{}…", expected u32"#, "x".repeat(64))
        );
        let unterminated = format!("bad `{huge}");
        assert_eq!(bounded(&unterminated), format!("bad `{}…", "x".repeat(64)));
    }

    #[test]
    fn the_whole_message_is_bounded_and_printable() {
        let many = "`a` ".repeat(1000);
        let kept = bounded(&many);
        assert_eq!(kept.chars().count(), MESSAGE_LIMIT + 1);
        assert!(kept.ends_with('…'));
        let kept = bounded("bell \u{7} escape \u{1b}[31m `\u{0}`");
        assert!(!kept.chars().any(char::is_control), "{kept:?}");
        assert_eq!(kept, "bell \u{fffd} escape \u{fffd}[31m `\u{fffd}`");
    }
}
