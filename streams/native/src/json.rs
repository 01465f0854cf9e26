//! A strict JSON reader for the payloads this path takes: ASCII without backslashes (anything else
//! steps aside before parsing), so every string is a slice of the input and nothing is copied.
//!
//! Strict means RFC 8259: no trailing commas, no leading zeros, no NaN, no control bytes in strings.
//! It never accepts a document the reference parsers refuse; it refuses (steps aside on) a few they
//! accept: a repeated key (they keep the last one; here it is simpler not to guess), nesting
//! deeper than `MAX_DEPTH` and objects of more than `MAX_KEYS` keys (keys are found by scanning,
//! which is fastest for the dozen an event object has, and quadratic for a hostile thousand).

pub enum J<'a> {
    Null,
    Bool(bool),
    /// The number as written; `Int` when it has neither fraction nor exponent.
    Int(&'a str),
    Float(&'a str),
    Str(&'a str),
    Arr(Vec<J<'a>>),
    Obj(Vec<(&'a str, J<'a>)>),
}

const MAX_DEPTH: usize = 32;
const MAX_KEYS: usize = 64;

impl<'a> J<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, J::Null)
    }
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            J::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// An integer that fits i64 (a JSON integer token).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            J::Int(s) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[J<'a>]> {
        match self {
            J::Arr(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&[(&'a str, J<'a>)]> {
        match self {
            J::Obj(o) => Some(o),
            _ => None,
        }
    }
}

pub fn lookup<'b, 'a>(o: &'b [(&'a str, J<'a>)], name: &str) -> Option<&'b J<'a>> {
    o.iter().find(|(k, _)| same(k, name)).map(|(_, v)| v)
}

/// Key equality, with the length and the first byte compared inline: most keys differ there, and a
/// call to memcmp for each of them showed in profiles (docs/decisions/native-decoder.md).
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// An object's canonical bytes, appended to ``out``: members sorted by key at every depth, no
/// whitespace, scalars as written (strings need no escaping: this path reads none). ``skip``: keys
/// of this object left out. ``streams/ingest/fingerprint.py`` writes the same bytes for any event.
pub fn canonical_object<S: AsRef<str>>(members: &[(&str, J)], skip: &[S], out: &mut Vec<u8>) {
    let mut sorted: Vec<&(&str, J)> = members
        .iter()
        .filter(|(k, _)| !skip.iter().any(|s| s.as_ref() == *k))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        canonical(v, out);
    }
    out.push(b'}');
}

fn canonical(v: &J, out: &mut Vec<u8>) {
    match v {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        J::Int(s) | J::Float(s) => out.extend_from_slice(s.as_bytes()),
        J::Str(s) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        J::Arr(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        J::Obj(o) => canonical_object::<&str>(o, &[], out),
    }
}

/// The document, or None when it is not one this path reads. ``plain``: the caller has checked
/// that every byte is ASCII and none a backslash (the screen does); else it is checked here.
pub fn parse(b: &[u8], plain: bool) -> Option<J<'_>> {
    if !plain && b.iter().any(|&c| c >= 0x80 || c == b'\\') {
        return None;
    }
    let mut p = Parser { b, i: 0 };
    let v = p.value(0)?;
    p.ws();
    (p.i == b.len()).then_some(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn text(&self, from: usize, to: usize) -> &'a str {
        // SAFETY: every byte is ASCII (checked by `parse` or its caller), so any slice is UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.b[from..to]) }
    }

    fn literal(&mut self, word: &[u8], v: J<'a>) -> Option<J<'a>> {
        self.b[self.i..].starts_with(word).then(|| {
            self.i += word.len();
            v
        })
    }

    fn string(&mut self) -> Option<&'a str> {
        // At the opening quote; no backslashes anywhere, so the next quote closes it.
        let start = self.i + 1;
        let len = self.b[start..].iter().position(|&c| c == b'"')?;
        let s = &self.b[start..start + len];
        if s.iter().any(|&c| c < 0x20) {
            return None;
        }
        self.i = start + len + 1;
        Some(self.text(start, start + len))
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Option<J<'a>> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let first = *self.b.get(self.i)?;
        let n = self.digits();
        if n == 0 || (first == b'0' && n > 1) {
            return None;
        }
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
            float = true;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
            float = true;
        }
        let s = self.text(start, self.i);
        Some(if float { J::Float(s) } else { J::Int(s) })
    }

    fn value(&mut self, depth: usize) -> Option<J<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                // One allocation for an event's objects (the largest has ~12 keys).
                let mut fields: Vec<(&'a str, J<'a>)> = Vec::with_capacity(16);
                if self.eat(b'}') {
                    return Some(J::Obj(fields));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return None;
                    }
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let v = self.value(depth + 1)?;
                    if fields.len() == MAX_KEYS || fields.iter().any(|(k, _)| same(k, key)) {
                        return None;
                    }
                    fields.push((key, v));
                    if self.eat(b'}') {
                        return Some(J::Obj(fields));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(J::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Some(J::Arr(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'"' => self.string().map(J::Str),
            b't' => self.literal(b"true", J::Bool(true)),
            b'f' => self.literal(b"false", J::Bool(false)),
            b'n' => self.literal(b"null", J::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        parse(s.as_bytes(), false).is_some()
    }

    #[test]
    fn canonical_bytes_ignore_key_order_whitespace_and_skipped_keys() {
        let write = |s: &str| {
            let Some(J::Obj(o)) = parse(s.as_bytes(), false) else {
                panic!("{s}")
            };
            let mut out = Vec::new();
            canonical_object(&o, &["sent_at"], &mut out);
            String::from_utf8(out).unwrap()
        };
        let a = write(
            r#"{"b": {"y": [1, 2.50, {"q": null, "p": true}], "x": "s"}, "a": 1, "sent_at": "t"}"#,
        );
        assert_eq!(
            a,
            r#"{"a":1,"b":{"x":"s","y":[1,2.50,{"p":true,"q":null}]}}"#
        );
        assert_eq!(
            a,
            write(r#"{"a":1,"b":{"x":"s","y":[1,2.50,{"p":true,"q":null}]}}"#)
        );
        assert_ne!(
            a,
            write(r#"{"a":1,"b":{"x":"s","y":[2.50,1,{"p":true,"q":null}]}}"#)
        );
    }

    #[test]
    fn strict() {
        assert!(ok(r#"{"a": [1, -2.5e3, true, null, "x"], "b": {}}"#));
        for bad in [
            "{\"a\":1,}",
            "[1,]",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "NaN",
            "{\"a\":1,\"a\":2}",
            "\"a\nb\"",
            "{} x",
            "tru",
            "{\"a\" 1}",
            "\"\\n\"",
            "\"é\"",
        ] {
            assert!(!ok(bad), "{bad}");
        }
        assert!(ok(" [ ] "));
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(!ok(&deep));
        let keys = |n: usize| {
            format!(
                "{{{}}}",
                (0..n)
                    .map(|i| format!("\"k{i}\":1"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        assert!(ok(&keys(MAX_KEYS)));
        assert!(!ok(&keys(MAX_KEYS + 1)));
    }
}
