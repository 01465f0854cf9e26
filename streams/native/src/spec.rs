//! The event models and the events table's row map as data: built by `streams/ingest/spec.py`
//! from the pydantic models and `streams/store/layout.py`, never written here by hand.

use crate::json::{self, J};
use regex::Regex;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{Map, Value};

pub enum Ty {
    Str {
        min: usize,
        max: usize,
        pattern: Option<Regex>,
    },
    Uuid,     // canonical lowercase text, the only spelling this path reads
    DateTime, // strict RFC 3339, at most 6 fraction digits
    Int {
        ge: i64,
        le: i64,
    },
    Float {
        ge: f64,
        le: f64,
    },
    Bool,
    Lit(Vec<String>),
    List {
        item: Box<Ty>,
        min: usize,
        max: usize,
    },
    Dict {
        value: Box<Ty>,
        min: usize,
        max: usize,
    },
    Struct(usize),
    Opt(Box<Ty>),
    /// A type this path does not read: any event carrying a value of it steps aside.
    Unsupported,
}

pub struct Field {
    pub name: String,
    pub ty: Ty,
    /// None: required (or a default this reader cannot hold: events without the field step aside).
    pub default: Option<J<'static>>,
}

pub struct StructSpec {
    pub fields: Vec<Field>,
    pub index: HashMap<String, usize>,
}

/// What the columns read from one event type's properties.
pub struct EventSpec {
    pub st: usize,
    /// The properties' struct; None for a free-form dict (no property is read from it).
    pub props: Option<usize>,
    /// False when a column's source has a type the column cannot hold: every event of the type
    /// steps aside (the reference path decides what happens to it).
    pub native: bool,
}

pub struct Spec {
    pub structs: Vec<StructSpec>,
    pub events: HashMap<String, EventSpec>,
    pub columns: Vec<ColSpec>,
    pub max_bytes: usize,
    pub shared_kinds: Vec<String>,
}

fn num<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn parse_ty(v: &Value) -> Result<Ty, String> {
    let kind = v
        .get("k")
        .and_then(Value::as_str)
        .ok_or("type without a kind")?;
    let usize_of = |key: &str, dflt: usize| {
        num(v, key)
            .and_then(Value::as_u64)
            .map_or(dflt, |x| x as usize)
    };
    Ok(match kind {
        "str" => {
            let pattern = match num(v, "pattern").and_then(Value::as_str) {
                Some(p) => Some(Regex::new(p).map_err(|e| format!("pattern {p}: {e}"))?),
                None => None,
            };
            Ty::Str {
                min: usize_of("min", 0),
                max: usize_of("max", usize::MAX),
                pattern,
            }
        }
        "uuid" => Ty::Uuid,
        "datetime" => Ty::DateTime,
        "int" => Ty::Int {
            ge: num(v, "ge").and_then(Value::as_i64).unwrap_or(i64::MIN),
            le: num(v, "le").and_then(Value::as_i64).unwrap_or(i64::MAX),
        },
        "float" => Ty::Float {
            ge: num(v, "ge")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NEG_INFINITY),
            le: num(v, "le")
                .and_then(Value::as_f64)
                .unwrap_or(f64::INFINITY),
        },
        "bool" => Ty::Bool,
        "lit" => Ty::Lit(
            v.get("values")
                .and_then(Value::as_array)
                .ok_or("literal without values")?
                .iter()
                .map(|x| x.as_str().map(str::to_owned).ok_or("a non-text literal"))
                .collect::<Result<_, _>>()?,
        ),
        "list" => Ty::List {
            item: Box::new(parse_ty(v.get("item").ok_or("list without item")?)?),
            min: usize_of("min", 0),
            max: usize_of("max", usize::MAX),
        },
        "dict" => Ty::Dict {
            value: Box::new(parse_ty(v.get("value").ok_or("dict without value")?)?),
            min: usize_of("min", 0),
            max: usize_of("max", usize::MAX),
        },
        "struct" => Ty::Struct(
            v.get("i")
                .and_then(Value::as_u64)
                .ok_or("struct without index")? as usize,
        ),
        "opt" => Ty::Opt(Box::new(parse_ty(
            v.get("t").ok_or("optional without type")?,
        )?)),
        "unsupported" => Ty::Unsupported,
        other => return Err(format!("unknown kind {other}")),
    })
}

/// How a column read from events is held (``store.layout.Column.kind``).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ColKind {
    Str,
    F64,
    StrList,
}

/// A column of the row map read from the event: paths tried in order (``store.layout``).
pub struct ColSpec {
    pub name: String,
    pub kind: ColKind,
    pub sources: Vec<Vec<String>>,
    /// Sum the present values (else: the first present one).
    pub sum: bool,
    /// An identifier: empty without analytics consent.
    pub personal: bool,
    pub nullable: bool,
}

fn fits(ty: &Ty, kind: ColKind) -> bool {
    match (ty, kind) {
        (Ty::Opt(inner), _) => fits(inner, kind),
        (Ty::Str { .. } | Ty::Lit(_) | Ty::Uuid, ColKind::Str) => true,
        (Ty::Float { .. } | Ty::Int { .. }, ColKind::F64) => true,
        (Ty::List { item, .. }, ColKind::StrList) => matches!(**item, Ty::Str { .. } | Ty::Lit(_)),
        _ => false,
    }
}

/// The type at ``path`` in struct ``st``; None where the path leaves the structs (a free-form
/// dict: no value is read there, in either path).
fn type_at<'a>(structs: &'a [StructSpec], st: usize, path: &[String]) -> Option<&'a Ty> {
    let (last, inner) = path.split_last()?;
    let mut s = &structs[st];
    for name in inner {
        s = &structs[struct_of(&s.fields[*s.index.get(name)?].ty)?];
    }
    Some(&s.fields[*s.index.get(last)?].ty)
}

fn parse_columns(root: &Value) -> Result<Vec<ColSpec>, String> {
    let mut out = Vec::new();
    for c in root
        .get("columns")
        .and_then(Value::as_array)
        .ok_or("no columns")?
    {
        let text = |key: &str| c.get(key).and_then(Value::as_str);
        let flag = |key: &str| c.get(key).and_then(Value::as_bool).unwrap_or(false);
        let kind = match text("kind") {
            Some("str") => ColKind::Str,
            Some("f64") => ColKind::F64,
            Some("str_list") => ColKind::StrList,
            other => return Err(format!("column kind {other:?}")),
        };
        let sources = c
            .get("sources")
            .and_then(Value::as_array)
            .ok_or("column without sources")?
            .iter()
            .map(|p| {
                p.as_array()
                    .ok_or("a source is a list of names")?
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned).ok_or("a name is text"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(ColSpec {
            name: text("name").ok_or("column without name")?.to_owned(),
            kind,
            sources,
            sum: text("combine") == Some("sum"),
            personal: flag("personal"),
            nullable: flag("nullable"),
        });
    }
    Ok(out)
}

pub fn struct_of(ty: &Ty) -> Option<usize> {
    match ty {
        Ty::Struct(i) => Some(*i),
        Ty::Opt(inner) => struct_of(inner),
        _ => None,
    }
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut structs = Vec::new();
        for s in root
            .get("structs")
            .and_then(Value::as_array)
            .ok_or("no structs")?
        {
            let mut fields = Vec::new();
            let mut index = HashMap::default();
            for f in s.as_array().ok_or("a struct is a list of fields")? {
                let name = f
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("field without name")?
                    .to_owned();
                let ty = parse_ty(f.get("type").ok_or("field without type")?)?;
                // Defaults are read like payloads, from text that lives as long as the process: a
                // few hundred bytes per decoder, so that a default and a payload value are one type.
                let default = f
                    .get("default_json")
                    .and_then(Value::as_str)
                    .and_then(|text| {
                        json::parse(
                            Box::leak(text.to_owned().into_boxed_str()).as_bytes(),
                            false,
                        )
                    });
                index.insert(name.clone(), fields.len());
                fields.push(Field { name, ty, default });
            }
            structs.push(StructSpec { fields, index });
        }
        let columns = parse_columns(&root)?;
        let mut events = HashMap::default();
        let tags: &Map<String, Value> = root
            .get("events")
            .and_then(Value::as_object)
            .ok_or("no events")?;
        for (tag, idx) in tags {
            let st = idx.as_u64().ok_or("event struct index")? as usize;
            let sspec = structs.get(st).ok_or("event struct out of range")?;
            let props = sspec
                .index
                .get("properties")
                .and_then(|&i| struct_of(&sspec.fields[i].ty));
            // A column whose source has a type it cannot hold: the type's events step aside.
            let native = columns.iter().all(|c| {
                c.sources
                    .iter()
                    .all(|p| type_at(&structs, st, p).is_none_or(|ty| fits(ty, c.kind)))
            });
            events.insert(tag.clone(), EventSpec { st, props, native });
        }
        let max_bytes = root
            .get("max_bytes")
            .and_then(Value::as_u64)
            .ok_or("no max_bytes")? as usize;
        let shared_kinds = root
            .get("shared_kinds")
            .and_then(Value::as_array)
            .ok_or("no shared_kinds")?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect();
        Ok(Spec {
            structs,
            events,
            columns,
            max_bytes,
            shared_kinds,
        })
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A spec for one event type, "visit": the envelope's fields, an `x` integer property and a
    /// `y` context text, with the row map's ``columns`` as given.
    pub fn visit_spec(columns: &str) -> String {
        let opt = |k: &str| format!(r#"{{"k":"opt","t":{{"k":"{k}"}}}}"#);
        let field = |name: &str, ty: &str, default: Option<&str>| match default {
            Some(d) => {
                format!(r#"{{"name":"{name}","type":{ty},"required":false,"default_json":{d:?}}}"#)
            }
            None => format!(r#"{{"name":"{name}","type":{ty},"required":true}}"#),
        };
        let event = [
            field("event_id", r#"{"k":"uuid"}"#, None),
            field(
                "type",
                r#"{"k":"lit","values":["visit"]}"#,
                Some(r#""visit""#),
            ),
            field(
                "channel",
                r#"{"k":"lit","values":["web"]}"#,
                Some(r#""web""#),
            ),
            field("occurred_at", r#"{"k":"datetime"}"#, None),
            field("sent_at", &opt("datetime"), Some("null")),
            field("received_at", &opt("datetime"), Some("null")),
            field(
                "identities",
                r#"{"k":"struct","i":1}"#,
                Some(r#"{"anonymous_id":null}"#),
            ),
            field(
                "consent",
                r#"{"k":"struct","i":2}"#,
                Some(r#"{"analytics":true}"#),
            ),
            field("context", r#"{"k":"struct","i":3}"#, Some(r#"{"y":null}"#)),
            field(
                "properties",
                r#"{"k":"struct","i":4}"#,
                Some(r#"{"x":null}"#),
            ),
        ]
        .join(",");
        let identities = field("anonymous_id", &opt("str"), Some("null"));
        let consent = field("analytics", r#"{"k":"bool"}"#, Some("true"));
        let context = field("y", &opt("str"), Some("null"));
        let properties = field("x", r#"{"k":"opt","t":{"k":"int"}}"#, Some("null"));
        format!(
            r#"{{"structs":[[{event}],[{identities}],[{consent}],[{context}],[{properties}]],
                "events":{{"visit":0}},"columns":{columns},"max_bytes":65536,"shared_kinds":[]}}"#
        )
    }

    #[test]
    fn columns_are_read_with_their_sources_kind_and_flags() {
        let cols = r#"[{"name":"z","kind":"f64","sources":[["properties","x"],["context","y"]],
                        "combine":"first","personal":false,"nullable":true}]"#;
        let spec = Spec::parse(&visit_spec(cols)).unwrap();
        let c = &spec.columns[0];
        assert_eq!(
            (c.name.as_str(), c.kind, c.sum, c.nullable),
            ("z", ColKind::F64, false, true)
        );
        assert_eq!(c.sources[1], ["context", "y"]);
    }

    #[test]
    fn a_source_of_a_type_its_column_cannot_hold_sends_the_event_type_aside() {
        let fits = r#"[{"name":"z","kind":"f64","sources":[["properties","x"]]}]"#;
        assert!(Spec::parse(&visit_spec(fits)).unwrap().events["visit"].native);
        let text_from_int = r#"[{"name":"z","kind":"str","sources":[["properties","x"]]}]"#;
        assert!(!Spec::parse(&visit_spec(text_from_int)).unwrap().events["visit"].native);
    }

    #[test]
    fn a_bad_spec_is_an_error_not_a_panic() {
        assert!(Spec::parse("{}").is_err());
        let unknown_kind = r#"[{"name":"z","kind":"u128","sources":[]}]"#;
        assert!(Spec::parse(&visit_spec(unknown_kind)).is_err());
    }
}
