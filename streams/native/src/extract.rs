//! An event's identifiers with their guards, as ``streams.identity.identifiers.extract_values``
//! (the reference) decides them, once per distinct identity group of a batch. The junk lists come
//! from Python (``JUNK_VALUES``, the peppered junk hashes), so only the rules are restated here;
//! the native and reference paths are compared on the corpus, on refusals and by fuzzing
//! (tests/ingest/test_native.py). Payloads reach here as ASCII without escapes and without spaces
//! at either end of a string, so Python's ``strip`` and ``lower`` are their ASCII forms.

use rustc_hash::FxHashSet as HashSet;

pub const SHARED: &str = "refused_shared_device";
pub const JUNK: &str = "refused_junk";

/// (identifiers, strongest first; refused (identifier, reason); the verified CRM identifier)
pub type Extracted = (Vec<String>, Vec<(String, &'static str)>, Option<String>);

pub struct Junk {
    pub values: HashSet<String>,
    pub hashes: HashSet<String>,
}

impl Junk {
    fn is_junk(&self, value: &str) -> bool {
        let v = value
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_ascii_lowercase();
        let mut chars = v.chars();
        let first = chars.next();
        v.chars().count() < 3 || self.values.contains(&v) || chars.all(|c| Some(c) == first)
    }

    /// ``ids``: (user_id, loyalty_id, email_hash, phone_hash, device_id, anonymous_id);
    /// ``social``: (network, handle).
    pub fn extract(
        &self,
        ids: [Option<&str>; 6],
        social: Option<(&str, &str)>,
        crm_verified: bool,
        device_shared: bool,
    ) -> Extracted {
        let [user, loyalty, email, phone, device, anon] = ids.map(|v| v.filter(|s| !s.is_empty()));
        let social = social.map(|(network, handle)| {
            format!(
                "{network}:{}",
                handle.to_ascii_lowercase().trim_start_matches('@')
            )
        });
        let raw = [
            ("crm", user),
            ("loyalty", loyalty),
            ("email", email),
            ("phone", phone),
            ("social", social.as_deref()),
            ("device", device),
            ("anon", anon),
        ];
        let (mut kept, mut refused) = (Vec::new(), Vec::new());
        for (kind, value) in raw {
            let Some(value) = value else { continue };
            let ident = format!("{kind}:{value}");
            let handle = if kind == "social" {
                value.split_once(':').map_or("", |(_, h)| h)
            } else {
                value
            };
            if kind == "device" && device_shared {
                refused.push((ident, SHARED));
            } else if self.is_junk(handle) || self.hashes.contains(value) {
                refused.push((ident, JUNK));
            } else {
                kept.push(ident);
            }
        }
        let verified = user
            .filter(|_| crm_verified)
            .map(|u| format!("crm:{u}"))
            .filter(|v| kept.contains(v));
        (kept, refused, verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn junk() -> Junk {
        Junk {
            values: ["n/a".to_owned()].into_iter().collect(),
            hashes: ["deadbeef".to_owned()].into_iter().collect(),
        }
    }

    #[test]
    fn identifiers_come_in_merge_key_order_with_social_handles_folded() {
        let (kept, refused, verified) = junk().extract(
            [Some("c-1"), Some("L-9"), None, None, None, Some("ck-1")],
            Some(("instagram", "@Ana")),
            true,
            false,
        );
        assert_eq!(
            kept,
            [
                "crm:c-1",
                "loyalty:L-9",
                "social:instagram:ana",
                "anon:ck-1"
            ]
        );
        assert!(refused.is_empty());
        assert_eq!(verified.as_deref(), Some("crm:c-1"));
    }

    #[test]
    fn junk_values_hashes_and_shared_devices_are_refused_not_kept() {
        let (kept, refused, verified) = junk().extract(
            [
                Some("N/A"),
                None,
                Some("deadbeef"),
                Some("aaaa"),
                Some("till-3"),
                Some("ck-2"),
            ],
            None,
            true,
            true,
        );
        assert_eq!(kept, ["anon:ck-2"]);
        let reasons: Vec<_> = refused.iter().map(|(i, r)| (i.as_str(), *r)).collect();
        assert_eq!(
            reasons,
            [
                ("crm:N/A", JUNK),
                ("email:deadbeef", JUNK),
                ("phone:aaaa", JUNK),
                ("device:till-3", SHARED)
            ]
        );
        assert_eq!(verified, None, "a refused CRM id is never verified");
    }
}
