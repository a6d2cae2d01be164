//! Text people read: what a stored string may hold, its normal form and length, and how to
//! show a string that came from elsewhere (an older mirror, an import) without letting it
//! drive the terminal.
//!
//! A title, a name or a reason is refused when it holds a control character (C0, DEL, C1:
//! NUL, ESC sequences, CR/LF), a bidirectional control (U+202A–U+202E, U+2066–U+2069 and the
//! direction marks) or another invisible format character (general category Cf, and the line
//! and paragraph separators). ZWJ and ZWNJ stay allowed: Persian and Indic names need them,
//! as do emoji sequences. Accepted text is stored in NFC, so "José" typed with a combining
//! accent and with a precomposed é are the same string to search, matching and merges.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfc_quick};

/// The longest text member of an entity (a title, a name, a join phrase), in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Why a string cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("character {at} is {what} ({}): people read this text, and it would be hidden from them or act on their terminal", codepoint(*ch))]
    Forbidden {
        /// 1-based, in characters.
        at: usize,
        ch: char,
        what: &'static str,
    },
    #[error("{chars} characters is longer than the {max} this field holds")]
    TooLong { chars: usize, max: usize },
    #[error("there is no visible text in it")]
    Invisible,
}

fn codepoint(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// What kind of character `c` is, when it has no place in text people read.
pub fn forbidden(c: char) -> Option<&'static str> {
    let u = u32::from(c);
    Some(match u {
        0x00..=0x1F | 0x7F => "a control character",
        0x80..=0x9F => "a C1 control character",
        0x202A..=0x202E | 0x2066..=0x2069 => "a bidirectional override",
        0x200E | 0x200F | 0x061C => "a bidirectional mark",
        0x2028 | 0x2029 => "a line or paragraph separator",
        // Joiners are what some scripts are written with.
        0x200C | 0x200D => return None,
        0x00AD
        | 0x0600..=0x0605
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B
        | 0x2060..=0x2064
        | 0x206A..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F => "an invisible format character",
        _ => return None,
    })
}

/// `text` as it is stored: checked, then in NFC, at most `max` characters.
pub fn clean(text: &str, max: usize) -> Result<Cow<'_, str>, TextError> {
    if let Some((i, ch)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| forbidden(*c).is_some())
    {
        return Err(TextError::Forbidden {
            at: i + 1,
            ch,
            what: forbidden(ch).unwrap_or("forbidden"),
        });
    }
    let text = match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect::<String>()),
    };
    let chars = text.chars().count();
    if chars > max {
        return Err(TextError::TooLong { chars, max });
    }
    Ok(text)
}

/// A reason as it is stored: [`clean`], trimmed, and with something to read in it.
pub fn clean_reason(reason: &str) -> Result<String, TextError> {
    let text = clean(reason.trim(), MAX_REASON_CHARS)?;
    if !text
        .chars()
        .any(|c| !c.is_whitespace() && c != '\u{200C}' && c != '\u{200D}')
    {
        return Err(TextError::Invisible);
    }
    Ok(text.into_owned())
}

/// `text` safe to print on a terminal: every character [`forbidden`] refuses shown as its
/// code point in brackets (`⟨U+202E⟩`), everything else as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    escaped(text, |c| forbidden(c).is_some())
}

/// Like [`printable`] for several lines: line feeds stay.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c != '\n' && forbidden(c).is_some())
}

fn escaped(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escape(c) {
            out.push('⟨');
            out.push_str(&codepoint(c));
            out.push('⟩');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn controls_overrides_and_invisible_characters_are_refused_where_they_are() {
        for (text, at) in [
            ("A\0B", 2),
            ("Title\u{1b}]52;c;aGk=\u{7}", 6),
            ("Line\r\nbreak", 5),
            ("\u{202E}olleH", 1),
            ("abc\u{2066}d", 4),
            ("x\u{200B}", 2),
            ("x\u{FEFF}", 2),
            ("C1\u{85}", 3),
            ("para\u{2029}", 5),
        ] {
            match clean(text, MAX_TEXT_CHARS) {
                Err(TextError::Forbidden { at: got, .. }) => assert_eq!(got, at, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn joiners_and_every_script_stay() {
        for text in [
            "می\u{200C}خواهم",
            "क्\u{200D}ष",
            "👩\u{200D}🎤",
            "Björk Guðmundsdóttir",
            "坂本龍一",
            "Beyoncé",
        ] {
            assert_eq!(clean(text, MAX_TEXT_CHARS).as_deref(), Ok(text), "{text:?}");
        }
    }

    #[test]
    fn text_is_stored_in_nfc_and_its_length_is_capped() {
        assert_eq!(clean("Jose\u{301}", 100).as_deref(), Ok("José"));
        assert_eq!(
            clean(&"a".repeat(1_001), MAX_TEXT_CHARS),
            Err(TextError::TooLong {
                chars: 1_001,
                max: 1_000
            })
        );
        assert!(clean(&"é".repeat(1_000), MAX_TEXT_CHARS).is_ok());
    }

    #[test]
    fn a_reason_needs_something_to_read() {
        assert_eq!(clean_reason("  typo  ").as_deref(), Ok("typo"));
        assert_eq!(clean_reason(" \u{200D} "), Err(TextError::Invisible));
        assert!(matches!(
            clean_reason("\u{200B}"),
            Err(TextError::Forbidden { .. })
        ));
    }

    proptest! {
        /// Whatever is accepted, and whatever is printed, holds no character that can act on
        /// a terminal or hide from its reader.
        #[test]
        fn nothing_accepted_or_printed_holds_a_forbidden_character(s in any::<String>()) {
            if let Ok(stored) = clean(&s, usize::MAX) {
                prop_assert!(stored.chars().all(|c| forbidden(c).is_none()));
                prop_assert!(!stored.chars().any(char::is_control));
            }
            let shown = printable(&s);
            prop_assert!(shown.chars().all(|c| forbidden(c).is_none()));
            prop_assert!(!shown.chars().any(char::is_control));
            let lines = printable_lines(&s);
            prop_assert!(lines.lines().all(|l| l.chars().all(|c| forbidden(c).is_none())));
            prop_assert_eq!(lines.matches('\n').count(), s.matches('\n').count());
        }
    }
}
