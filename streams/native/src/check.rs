//! Validation against the spec, and properties re-encoded as the reference path writes them.
//!
//! Every check may refuse more than pydantic, never less: a refusal here only means "step aside",
//! and the reference path (pydantic) decides, names the reason and keeps the payload.

use std::fmt::Write;

use crate::json::{lookup, J};
use crate::spec::{struct_of, Spec, Ty};

/// Text this path copies as it is: ASCII without anything JSON escapes and without a space at
/// either end (pydantic strips those before checking lengths). Anything else steps aside.
pub fn plain(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    b.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
}

impl Spec {
    pub fn valid(&self, v: &J, ty: &Ty) -> bool {
        match ty {
            Ty::Str { min, max, pattern } => match v.as_str() {
                // ASCII only (plain): the length in bytes is the length in characters.
                Some(s) => {
                    plain(s)
                        && s.len() >= *min
                        && s.len() <= *max
                        && pattern.as_ref().is_none_or(|p| p.is_match(s))
                }
                None => false,
            },
            Ty::Uuid => v.as_str().is_some_and(|s| uuid_key(s).is_some()),
            Ty::DateTime => v.as_str().is_some_and(|s| parse_datetime(s).is_some()),
            Ty::Int { ge, le } => v.as_i64().is_some_and(|x| x >= *ge && x <= *le),
            Ty::Float { ge, le } => float_of(v).is_some_and(|x| x >= *ge && x <= *le),
            Ty::Bool => v.as_bool().is_some(),
            Ty::Lit(values) => v.as_str().is_some_and(|s| values.iter().any(|x| x == s)),
            Ty::List { item, min, max } => v.as_array().is_some_and(|a| {
                a.len() >= *min && a.len() <= *max && a.iter().all(|x| self.valid(x, item))
            }),
            Ty::Dict { value, min, max } => v.as_object().is_some_and(|o| {
                o.len() >= *min
                    && o.len() <= *max
                    && o.iter().all(|(k, x)| plain(k) && self.valid(x, value))
            }),
            Ty::Struct(i) => v.as_object().is_some_and(|o| self.valid_struct(o, *i)),
            Ty::Opt(inner) => v.is_null() || self.valid(v, inner),
            Ty::Unsupported => false,
        }
    }

    pub fn valid_struct(&self, o: &[(&str, J)], st: usize) -> bool {
        self.structs[st]
            .fields
            .iter()
            .all(|f| match lookup(o, &f.name) {
                Some(v) => self.valid(v, &f.ty),
                None => f.default.is_some(),
            })
    }

    /// The field's value, its default when absent; None for null, and for a name the struct does
    /// not declare (the models ignore unknown fields: a payload's extra "network" is no network).
    pub fn get<'a>(
        &'a self,
        o: &'a [(&'a str, J<'a>)],
        st: usize,
        name: &str,
    ) -> Option<&'a J<'a>> {
        let s = &self.structs[st];
        let f = &s.fields[*s.index.get(name)?];
        let v = lookup(o, name).or(f.default.as_ref())?;
        (!v.is_null()).then_some(v)
    }

    /// The value at ``path`` (field names from struct ``st`` down), defaults filled; None where it
    /// is absent or null, or where the path leaves the structs (a free-form dict is not read).
    pub fn at<'a>(
        &'a self,
        o: &'a [(&'a str, J<'a>)],
        st: usize,
        path: &[String],
    ) -> Option<&'a J<'a>> {
        let (last, inner) = path.split_last()?;
        let (mut o, mut st) = (o, st);
        for name in inner {
            let s = &self.structs[st];
            let next = struct_of(&s.fields[*s.index.get(name.as_str())?].ty)?;
            o = self.get(o, st, name)?.as_object()?;
            st = next;
        }
        self.get(o, st, last)
    }

    /// ``model_dump_json`` of a validated value: fields in the model's order, defaults filled,
    /// nulls kept. False when a number would be spelled differently (it steps aside).
    pub fn encode(&self, v: Option<&J>, ty: &Ty, out: &mut String) -> bool {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            out.push_str("null");
            return true;
        };
        match ty {
            Ty::Opt(inner) => self.encode(Some(v), inner, out),
            Ty::Float { .. } => float_of(v).is_some_and(|x| push_float(x, out)),
            Ty::Struct(i) => {
                let (Some(o), s) = (v.as_object(), &self.structs[*i]) else {
                    return false;
                };
                out.push('{');
                for (n, f) in s.fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(&f.name);
                    out.push_str("\":");
                    let fv = lookup(o, &f.name).or(f.default.as_ref());
                    if !self.encode(fv, &f.ty, out) {
                        return false;
                    }
                }
                out.push('}');
                true
            }
            Ty::List { item, .. } => {
                out.push('[');
                for (n, x) in v.as_array().unwrap_or(&[]).iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    if !self.encode(Some(x), item, out) {
                        return false;
                    }
                }
                out.push(']');
                true
            }
            Ty::Dict { value, .. } => {
                out.push('{');
                for (n, (k, x)) in v.as_object().unwrap_or(&[]).iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(k);
                    out.push_str("\":");
                    if !self.encode(Some(x), value, out) {
                        return false;
                    }
                }
                out.push('}');
                true
            }
            _ => encode_plain(v, out),
        }
    }
}

/// A default or an untyped value: text (plain), integers, booleans, floats, nested as given.
fn encode_plain(v: &J, out: &mut String) -> bool {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // An i64 token is already spelled as Python writes the int, except "-0".
        J::Int(s) => match v.as_i64() {
            Some(_) => out.push_str(if *s == "-0" { "0" } else { s }),
            None => return false,
        },
        J::Float(_) => return float_of(v).is_some_and(|x| push_float(x, out)),
        J::Str(s) => {
            if !plain(s) {
                return false;
            }
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        J::Arr(a) => {
            out.push('[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                if !encode_plain(x, out) {
                    return false;
                }
            }
            out.push(']');
        }
        J::Obj(o) => {
            out.push('{');
            for (n, (k, x)) in o.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(k);
                out.push_str("\":");
                if !encode_plain(x, out) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    true
}

/// A JSON number read as pydantic reads a float field. Integers past 2^53 would round, and
/// non-finite values are refused or kept depending on the field: both step aside.
pub fn float_of(v: &J) -> Option<f64> {
    match v {
        J::Int(_) => v
            .as_i64()
            .filter(|i| i.unsigned_abs() <= 1 << 53)
            .map(|i| i as f64),
        J::Float(s) => s.parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// Shortest round-trip digits, as Python's repr writes them. Where those two switch
/// to exponents and Rust does not (below 1e-4, from 1e15) the event steps aside.
fn push_float(x: f64, out: &mut String) -> bool {
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e15).contains(&a) {
        return false;
    }
    write!(out, "{x:?}").is_ok()
}

/// The UUID's 128 bits from its canonical lowercase text (what ``str(UUID)`` gives), else None.
pub fn uuid_key(s: &str) -> Option<u128> {
    // The uuid crate parses the hyphenated form faster than a loop here (docs/decisions/
    // native-decoder.md); it also reads upper case, which pydantic would lower: not ours to read.
    if s.len() != 36 || s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    uuid::Uuid::try_parse(s).ok().map(|u| u.as_u128())
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub const US_PER_S: i64 = 1_000_000;
/// datetime.min and datetime.max in UTC: a value outside them overflows in Python.
pub const MIN_US: i64 = -62_135_596_800 * US_PER_S;
pub const MAX_US: i64 = 253_402_300_800 * US_PER_S - 1;

/// Microseconds since the epoch, UTC, for ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`` that
/// ``datetime.fromisoformat`` reads; None for anything else.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = b.get(from..from + n)?;
        part.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64)
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (y, mo, d) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (h, mi, sec) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let mut i = 19;
    let mut frac = 0i64;
    if at(i, b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        let n = end - start;
        if n == 0 || n > 6 {
            return None;
        }
        frac = digits(start, n)? * 10i64.pow((6 - n) as u32);
        i = end;
    }
    let offset = match b.get(i) {
        Some(b'Z') if b.len() == i + 1 => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && at(i + 3, b':') => {
            let (oh, om) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if y < 1
        || !(1..=12).contains(&mo)
        || d < 1
        || d > dim[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    let us = (local - offset) * US_PER_S + frac;
    (MIN_US..=MAX_US).contains(&us).then_some(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_datetime("1970-01-01T01:00:00.5+01:00"), Some(500_000));
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00.000001-00:30"),
            Some(1_709_209_800_000_001)
        );
        assert_eq!(parse_datetime("2023-02-29T12:00:00Z"), None);
        assert_eq!(parse_datetime("2024-01-01T12:00Z"), None);
        assert_eq!(parse_datetime("2024-01-01T12:00:00.1234567Z"), None);
        assert_eq!(parse_datetime("2024-01-01T24:00:00Z"), None);
        assert_eq!(parse_datetime("2024-01-01T12:00:00+24:00"), None);
        assert_eq!(parse_datetime("2024-01-01t12:00:00Z"), None);
        assert_eq!(parse_datetime("0000-01-01T00:00:00Z"), None);
    }

    #[test]
    fn uuids() {
        assert_eq!(uuid_key("00000000-0000-0000-0000-00000000000a"), Some(10));
        assert_eq!(uuid_key("00000000-0000-0000-0000-00000000000A"), None);
        assert_eq!(uuid_key("000000000000-0000-0000-0000-00000000"), None);
    }
}
