//! Taking a person's identifiers out of free-form values that keep a copy of them: stored
//! live events (an `agenda.updated` carries the patient's name) and the participant lists
//! of teleconsultations. Names become the record's display name; contacts and the CPF
//! become a marker.

use serde_json::Value;

/// What replaces a contact or a CPF.
pub const REMOVED: &str = "[dado removido]";

/// The identifiers to look for, each with what replaces it.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    pairs: Vec<(String, String)>,
}

impl Identifiers {
    /// `names` are replaced by `display_name`, `contacts` by [`REMOVED`]. Blank values and
    /// values shorter than 4 characters (which would match too much) are left out.
    pub fn new(names: &[&str], contacts: &[&str], display_name: &str) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut add = |needle: &str, with: &str| {
            let needle = needle.trim();
            if needle.chars().count() >= 4 && !pairs.iter().any(|(n, _)| n == needle) {
                pairs.push((needle.to_string(), with.to_string()));
            }
        };
        for n in names {
            add(n, display_name);
        }
        for c in contacts {
            add(c, REMOVED);
        }
        // Longest first: a full name is replaced before a shorter name inside it.
        pairs.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        Self { pairs }
    }

    /// `text` with every identifier replaced, or `None` when it holds none.
    pub fn text(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for (needle, with) in &self.pairs {
            let current = out.as_deref().unwrap_or(text);
            if current.contains(needle.as_str()) {
                out = Some(current.replace(needle.as_str(), with));
            }
        }
        out
    }

    /// Replace the identifiers in every string of `value`; whether anything changed.
    pub fn json(&self, value: &mut Value) -> bool {
        match value {
            Value::String(s) => match self.text(s) {
                Some(new) => {
                    *s = new;
                    true
                }
                None => false,
            },
            // Every element is visited (no short circuit): each may hold an identifier.
            Value::Array(items) => items
                .iter_mut()
                .map(|v| self.json(v))
                .fold(false, |a, b| a | b),
            Value::Object(map) => map
                .values_mut()
                .map(|v| self.json(v))
                .fold(false, |a, b| a | b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_contacts_are_replaced_in_nested_strings_and_nothing_else_changes() {
        let ids = Identifiers::new(
            &["Irene Cifrada", "Irene"],
            &["irene@exemplo.com.br", "+5511987654321", ""],
            "Paciente anonimizado #0190abcd",
        );
        let mut v = json!({"appointment": {"patient_name": "Irene Cifrada", "notes": "ligar +5511987654321",
                           "n": 3, "list": ["Irene", "Outra pessoa"]}});
        assert!(ids.json(&mut v));
        assert_eq!(
            v["appointment"]["patient_name"],
            "Paciente anonimizado #0190abcd"
        );
        assert_eq!(v["appointment"]["notes"], format!("ligar {REMOVED}"));
        assert_eq!(
            v["appointment"]["list"][0],
            "Paciente anonimizado #0190abcd"
        );
        assert_eq!(v["appointment"]["list"][1], "Outra pessoa");
        let mut other = json!({"patient_name": "Outra pessoa"});
        assert!(!ids.json(&mut other));
    }
}
