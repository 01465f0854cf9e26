//! The identity graph (``streams.identity.graph``, the reference) with identifiers interned as
//! integers: the single-writer identity stage's ceiling is this graph's speed on one core.
//! Same decisions, same canonical person ids, same guards; ``tests/identity/test_native_graph.py``
//! replays random operations on both and compares every answer.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::PySet;
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};

const NONE: u32 = u32::MAX;
const MERGED: &str = "merged";
const REFUSED_CRM: &str = "refused_crm_conflict";
const REFUSED_CAP: &str = "refused_cap";

struct Comp {
    members: Vec<u32>,
    verified: Vec<u32>, // sorted: compared as sets
    kinds: Vec<(u32, u32)>,
    least: u32, // the member whose singleton id is the component's
}

impl Comp {
    fn count(&self, kind: u32) -> u32 {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
    fn add_kind(&mut self, kind: u32, n: u32) {
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += n,
            None => self.kinds.push((kind, n)),
        }
    }
    fn verify(&mut self, node: u32) -> bool {
        match self.verified.binary_search(&node) {
            Ok(_) => false,
            Err(at) => {
                self.verified.insert(at, node);
                true
            }
        }
    }
}

/// "p" and the first 16 hex digits of the identifier's SHA-256 (``identifiers.singleton_person``).
fn singleton(identifier: &str) -> Box<str> {
    let digest = Sha256::digest(identifier.as_bytes());
    let mut s = String::with_capacity(17);
    s.push('p');
    for b in &digest[..8] {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    s.into_boxed_str()
}

type Decision = (String, String, &'static str, String);

fn missing(pid: &str) -> PyErr {
    PyKeyError::new_err(pid.to_string())
}

#[pyclass]
pub struct Graph {
    cap: u32,
    node_of: HashMap<Box<str>, u32>,
    name: Vec<Box<str>>,
    kind: Vec<u32>,
    kind_of: HashMap<Box<str>, u32>,
    pid_of: HashMap<Box<str>, u32>,
    pids: Vec<Box<str>>,
    person: Vec<u32>,          // node → person id (interned; NONE: not in the graph)
    comps: HashMap<u32, Comp>, // person id → component
    dirty_order: Vec<u32>,
    dirty: HashMap<u32, (u32, bool)>, // node → (person id, verified) since the last drain
}

impl Graph {
    fn node(&mut self, identifier: &str) -> u32 {
        if let Some(&n) = self.node_of.get(identifier) {
            return n;
        }
        let kind_name = identifier.split(':').next().unwrap_or("");
        let next_kind = self.kind_of.len() as u32;
        let kind = *self.kind_of.entry(kind_name.into()).or_insert(next_kind);
        let n = self.name.len() as u32;
        self.node_of.insert(identifier.into(), n);
        self.name.push(identifier.into());
        self.kind.push(kind);
        self.person.push(NONE);
        n
    }

    fn pid(&mut self, pid: &str) -> u32 {
        if let Some(&p) = self.pid_of.get(pid) {
            return p;
        }
        let p = self.pids.len() as u32;
        self.pid_of.insert(pid.into(), p);
        self.pids.push(pid.into());
        p
    }

    fn mark(&mut self, node: u32, pid: u32, verified: bool) {
        if self.dirty.insert(node, (pid, verified)).is_none() {
            self.dirty_order.push(node);
        }
    }

    fn ensure(&mut self, n: u32, verified: bool) -> PyResult<()> {
        let p = self.person[n as usize];
        if p == NONE {
            let single = singleton(&self.name[n as usize]);
            let p = self.pid(&single);
            self.person[n as usize] = p;
            let comp = Comp {
                members: vec![n],
                verified: if verified { vec![n] } else { vec![] },
                kinds: vec![(self.kind[n as usize], 1)],
                least: n,
            };
            self.comps.insert(p, comp); // replaces, as the reference's dict assignment does
            self.mark(n, p, verified);
        } else if verified {
            let comp = self
                .comps
                .get_mut(&p)
                .ok_or_else(|| missing(&self.pids[p as usize]))?;
            if comp.verify(n) {
                self.mark(n, p, true);
            }
        }
        Ok(())
    }

    fn union(&mut self, a: u32, b: u32) -> PyResult<Decision> {
        let (pa, pb) = (self.person[a as usize], self.person[b as usize]);
        let ca = self
            .comps
            .get(&pa)
            .ok_or_else(|| missing(&self.pids[pa as usize]))?;
        let cb = self
            .comps
            .get(&pb)
            .ok_or_else(|| missing(&self.pids[pb as usize]))?;
        let (na, nb) = (
            self.name[a as usize].to_string(),
            self.name[b as usize].to_string(),
        );
        if !ca.verified.is_empty() && !cb.verified.is_empty() && ca.verified != cb.verified {
            return Ok((na, nb, REFUSED_CRM, self.pids[pa as usize].to_string()));
        }
        if cb.kinds.iter().any(|&(k, n)| ca.count(k) + n > self.cap) {
            return Ok((na, nb, REFUSED_CAP, self.pids[pa as usize].to_string()));
        }
        let (keep, gone) = if self.name[ca.least as usize] < self.name[cb.least as usize] {
            (pa, pb)
        } else {
            (pb, pa)
        };
        let cg = self.comps.remove(&gone).ok_or_else(|| missing("gone"))?;
        let names = &self.name;
        let ck = self.comps.get_mut(&keep).ok_or_else(|| missing("kept"))?;
        if names[cg.least as usize] < names[ck.least as usize] {
            ck.least = cg.least;
        }
        for &m in &cg.members {
            // Disjoint but after a reload that moved an identifier (a set union in the reference).
            if !ck.members.contains(&m) {
                ck.members.push(m);
            }
        }
        for &v in &cg.verified {
            ck.verify(v);
        }
        for &(k, n) in &cg.kinds {
            ck.add_kind(k, n);
        }
        let flags: Vec<bool> = cg
            .members
            .iter()
            .map(|m| ck.verified.binary_search(m).is_ok())
            .collect();
        for (&m, v) in cg.members.iter().zip(flags) {
            self.person[m as usize] = keep;
            self.mark(m, keep, v);
        }
        Ok((na, nb, MERGED, self.pids[keep as usize].to_string()))
    }

    fn comp_of(&self, person_id: &str) -> Option<&Comp> {
        self.pid_of.get(person_id).and_then(|p| self.comps.get(p))
    }
}

#[pymethods]
impl Graph {
    #[new]
    #[pyo3(signature = (*, max_ids_per_type = 10))]
    fn new(max_ids_per_type: u32) -> Self {
        Graph {
            cap: max_ids_per_type,
            node_of: HashMap::default(),
            name: Vec::new(),
            kind: Vec::new(),
            kind_of: HashMap::default(),
            pid_of: HashMap::default(),
            pids: Vec::new(),
            person: Vec::new(),
            comps: HashMap::default(),
            dirty_order: Vec::new(),
            dirty: HashMap::default(),
        }
    }

    fn person_of(&self, identifier: &str) -> String {
        match self.node_of.get(identifier) {
            Some(&n) if self.person[n as usize] != NONE => {
                self.pids[self.person[n as usize] as usize].to_string()
            }
            _ => singleton(identifier).into_string(),
        }
    }

    fn members<'py>(&self, py: Python<'py>, person_id: &str) -> PyResult<Bound<'py, PySet>> {
        let names: Vec<&str> = self.comp_of(person_id).map_or(Vec::new(), |c| {
            c.members.iter().map(|&m| &*self.name[m as usize]).collect()
        });
        PySet::new(py, names)
    }

    fn size(&self, person_id: &str) -> usize {
        self.comp_of(person_id).map_or(1, |c| c.members.len())
    }

    fn __len__(&self) -> usize {
        self.comps.len()
    }

    fn load(&mut self, identifier: &str, person_id: &str, verified: bool) {
        let n = self.node(identifier);
        let p = self.pid(person_id);
        self.person[n as usize] = p;
        let kind = self.kind[n as usize];
        let names = &self.name;
        let comp = self.comps.entry(p).or_insert_with(|| Comp {
            members: Vec::new(),
            verified: Vec::new(),
            kinds: Vec::new(),
            least: n,
        });
        if !comp.members.contains(&n) {
            if names[n as usize] < names[comp.least as usize] {
                comp.least = n;
            }
            comp.members.push(n);
            comp.add_kind(kind, 1);
        }
        if verified {
            comp.verify(n);
        }
    }

    /// A verified CRM id already inside a person that holds another verified one: the refusal
    /// (``graph.py`` states the rule).
    fn verification_conflict(&self, verified_crm: Option<&str>) -> Option<Decision> {
        let crm = verified_crm?;
        let &n = self.node_of.get(crm)?;
        let p = self.person[n as usize];
        if p == NONE {
            return None;
        }
        let comp = self.comps.get(&p)?;
        let other = comp
            .verified
            .iter()
            .filter(|&&v| v != n)
            .min_by(|&&a, &&b| self.name[a as usize].cmp(&self.name[b as usize]))?;
        Some((
            crm.to_string(),
            self.name[*other as usize].to_string(),
            REFUSED_CRM,
            self.pids[p as usize].to_string(),
        ))
    }

    /// Link the identifiers of one event; the decisions that merged or refused a pair.
    #[pyo3(signature = (identifiers, verified_crm = None))]
    fn link(
        &mut self,
        identifiers: Vec<String>,
        verified_crm: Option<&str>,
    ) -> PyResult<Vec<Decision>> {
        let mut decisions = Vec::new();
        let Some(anchor_name) = identifiers.first() else {
            return Ok(decisions);
        };
        if let Some(refused) = self.verification_conflict(verified_crm) {
            return Ok(vec![refused]);
        }
        let anchor = self.node(anchor_name);
        let is_crm = |s: &str| verified_crm == Some(s);
        if self.person[anchor as usize] == NONE || is_crm(anchor_name) {
            self.ensure(anchor, is_crm(anchor_name))?;
        }
        for other_name in &identifiers[1..] {
            let other = self.node(other_name);
            if self.person[other as usize] == NONE || is_crm(other_name) {
                self.ensure(other, is_crm(other_name))?;
            }
            if self.person[anchor as usize] != self.person[other as usize] {
                decisions.push(self.union(anchor, other)?);
            }
        }
        Ok(decisions)
    }

    /// (identifier, person id, verified) changed since the last drain, in first-changed order.
    fn drain(&mut self) -> Vec<(String, String, bool)> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for n in std::mem::take(&mut self.dirty_order) {
            if let Some((p, verified)) = self.dirty.remove(&n) {
                out.push((
                    self.name[n as usize].to_string(),
                    self.pids[p as usize].to_string(),
                    verified,
                ));
            }
        }
        self.dirty.clear();
        out
    }

    /// Remove a person (erasure); the identifiers it held.
    fn forget<'py>(&mut self, py: Python<'py>, person_id: &str) -> PyResult<Bound<'py, PySet>> {
        let Some(comp) = self
            .pid_of
            .get(person_id)
            .copied()
            .and_then(|p| self.comps.remove(&p))
        else {
            return PySet::empty(py);
        };
        for &m in &comp.members {
            self.person[m as usize] = NONE;
            self.dirty.remove(&m);
        }
        PySet::new(py, comp.members.iter().map(|&m| &*self.name[m as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn identifiers_seen_together_become_one_person_named_by_its_least_identifier() {
        let mut g = Graph::new(10);
        g.link(ids(&["anon:b", "email:x"]), None).unwrap();
        let made = g.link(ids(&["anon:a", "anon:b"]), None).unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].2, MERGED);
        let p = g.person_of("email:x");
        assert_eq!(p, g.person_of("anon:a"));
        assert_eq!(p, singleton("anon:a").to_string());
        assert_eq!(g.drain().len(), 3);
        assert!(g.drain().is_empty(), "drained once");
    }

    #[test]
    fn two_verified_crm_ids_never_merge() {
        let mut g = Graph::new(10);
        g.link(ids(&["crm:a", "anon:a"]), Some("crm:a")).unwrap();
        g.link(ids(&["crm:b", "anon:b"]), Some("crm:b")).unwrap();
        let made = g.link(ids(&["anon:a", "anon:b"]), None).unwrap();
        assert_eq!(made[0].2, REFUSED_CRM);
        assert_ne!(g.person_of("crm:a"), g.person_of("crm:b"));
    }

    #[test]
    fn a_person_holds_at_most_the_cap_of_one_kind() {
        let mut g = Graph::new(2);
        g.link(ids(&["anon:1", "email:a"]), None).unwrap();
        g.link(ids(&["anon:1", "email:b"]), None).unwrap();
        let made = g.link(ids(&["anon:1", "email:c"]), None).unwrap();
        assert_eq!(made[0].2, REFUSED_CAP);
        assert_ne!(g.person_of("email:c"), g.person_of("anon:1"));
    }
}
