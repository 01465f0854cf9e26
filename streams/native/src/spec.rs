//! The event models as data: built by `streams/native.py` from the same generated structs
//! the msgspec path uses (themselves derived from the pydantic models), never written here by hand.

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
    /// The properties' struct; None for a free-form dict (no property columns).
    pub props: Option<usize>,
    /// False when a property column's field has a type the column cannot hold: every event of
    /// the type steps aside (the reference path decides what happens to it).
    pub native: bool,
}

pub struct Spec {
    pub structs: Vec<StructSpec>,
    pub events: HashMap<String, EventSpec>,
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

/// The property columns' kinds, as the events table holds them.
#[derive(Clone, Copy, PartialEq)]
pub enum PropKind {
    Str,
    Float,
    StrList,
}

pub const PROP_COLUMNS: [(&str, PropKind); 16] = [
    ("revenue", PropKind::Float),
    ("cost", PropKind::Float),
    ("spend", PropKind::Float),
    ("currency", PropKind::Str),
    ("order_id", PropKind::Str),
    ("session_id", PropKind::Str),
    ("sku", PropKind::Str),
    ("skus", PropKind::StrList),
    ("post_id", PropKind::Str),
    ("reply_to_id", PropKind::Str),
    ("question_id", PropKind::Str),
    ("network", PropKind::Str),
    ("spot_id", PropKind::Str),
    ("tv_channel", PropKind::Str),
    ("programme", PropKind::Str),
    ("campaign", PropKind::Str),
];

fn fits(ty: &Ty, kind: PropKind) -> bool {
    match (ty, kind) {
        (Ty::Opt(inner), _) => fits(inner, kind),
        (Ty::Str { .. } | Ty::Lit(_), PropKind::Str) => true,
        (Ty::Float { .. } | Ty::Int { .. }, PropKind::Float) => true,
        (Ty::List { item, .. }, PropKind::StrList) => matches!(**item, Ty::Str { .. } | Ty::Lit(_)),
        _ => false,
    }
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
        let mut events = HashMap::default();
        let tags: &Map<String, Value> = root
            .get("events")
            .and_then(Value::as_object)
            .ok_or("no events")?;
        for (tag, idx) in tags {
            let st = idx.as_u64().ok_or("event struct index")? as usize;
            let sspec = structs.get(st).ok_or("event struct out of range")?;
            let props_field = sspec.index.get("properties").map(|&i| &sspec.fields[i].ty);
            let (props, native) = match props_field {
                Some(Ty::Dict { .. }) => (None, true),
                Some(ty) => match struct_of(ty) {
                    Some(p) => {
                        let ps = &structs[p];
                        let ok = PROP_COLUMNS.iter().all(|(name, kind)| {
                            ps.index
                                .get(*name)
                                .is_none_or(|&i| fits(&ps.fields[i].ty, *kind))
                        });
                        (Some(p), ok)
                    }
                    None => (None, false),
                },
                None => (None, false),
            };
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
            max_bytes,
            shared_kinds,
        })
    }
}
