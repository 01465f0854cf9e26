//! The PII screen (``normalize._SCREEN``) as a single pass over the bytes, for the pattern Python
//! sends today; any other pattern is compiled as a regex. The pattern flags, anywhere in a payload:
//! `@`, a backslash, a byte ≥ 0x80, a quote beside a space, and `"email"` or `"phone"` followed by
//! optional whitespace and a colon. A payload that passes is therefore ASCII without backslashes,
//! which lets the JSON reader skip its own check of the same (`Screen::implies_plain`).
//!
//! Why by hand: one table lookup a byte costs less than the regex's lazy DFA, and a quote needs only
//! its neighbours (docs/decisions/native-decoder.md). The hypothesis test in
//! tests/ingest/test_native.py compares both against pyarrow's RE2 on random bytes.

/// The pattern this module implements, exactly as ``streams.ingest.normalize._SCREEN`` spells it.
pub const KNOWN: &str = r#"@|"(?:email|phone)"[\t\n\v\f\r ]*:|" | "|\\|[^\x00-\x7f]"#;

pub enum Screen {
    Known,
    Other(regex::bytes::Regex),
}

const FLAG: u8 = 1;
const QUOTE: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0x80;
    while c < 256 {
        t[c] = FLAG;
        c += 1;
    }
    t[b'@' as usize] = FLAG;
    t[b'\\' as usize] = FLAG;
    t[b'"' as usize] = QUOTE;
    t
};

impl Screen {
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern == KNOWN {
            return Ok(Screen::Known);
        }
        regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .map(Screen::Other)
            .map_err(|e| e.to_string())
    }

    /// Whatever passes is ASCII without backslashes.
    pub fn implies_plain(&self) -> bool {
        matches!(self, Screen::Known)
    }

    pub fn is_match(&self, b: &[u8]) -> bool {
        match self {
            Screen::Known => flags(b),
            Screen::Other(r) => r.is_match(b),
        }
    }
}

fn flags(b: &[u8]) -> bool {
    for (i, &c) in b.iter().enumerate() {
        match CLASS[c as usize] {
            0 => {}
            FLAG => return true,
            _ => {
                if (i > 0 && b[i - 1] == b' ') || b.get(i + 1) == Some(&b' ') {
                    return true;
                }
                let rest = &b[i + 1..];
                if rest.starts_with(b"email\"") || rest.starts_with(b"phone\"") {
                    let after = rest[6..]
                        .iter()
                        .find(|&&c| !matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '));
                    if after == Some(&b':') {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_pattern_and_its_regex_agree() {
        let re = Screen::Other(
            regex::bytes::RegexBuilder::new(KNOWN)
                .unicode(false)
                .build()
                .unwrap(),
        );
        let known = Screen::new(KNOWN).unwrap();
        for s in [
            &b"{\"a\":\"b\"}"[..],
            b"x@y",
            b"\"email\" \x0b\t:",
            b"\"email\"x:",
            b"\"phone\":",
            b"\"phone\"",
            b"\"email",
            b"a \"",
            b"\" a",
            b"\\",
            b"\xc3\xa9",
            b"\x7f",
            b"",
            b"\"",
        ] {
            assert_eq!(known.is_match(s), re.is_match(s), "{s:?}");
        }
    }
}
