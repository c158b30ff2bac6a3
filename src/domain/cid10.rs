//! The CID-10 (ICD-10 in Brazilian Portuguese) as DATASUS publishes it: every category
//! (`J11`) and subcategory (`J11.1`) with its description, bundled in the binary
//! (`src/domain/cid10.tsv`, provenance and licence in `docs/cid10.md`) and indexed in memory
//! once, on first use (the server touches it at start).
//!
//! Search ([`Cid10Table::search`]) is what a professional typing in a diagnosis field
//! expects: a code prefix with or without the dot and in any case (`j11`, `J11.`, `j111`),
//! or words without regard to case or accents, every word required, the last one matched
//! as a prefix because it is still being typed (`infeccao urin` finds "Infecção do trato
//! urinário…"). Results come ranked: the exact code, then other codes under the prefix,
//! then word matches; within each, categories before their subcategories, descriptions that
//! start with the first word typed before the others, shorter descriptions first.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::ValidationError;
use super::text::words;

/// A CID-10 code of the right shape: a letter, two digits, optionally a subcategory digit
/// (`J11`, `J11.1`, `J111` → `J11.1`). Whether the code exists in the table is [`Cid10::known`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Cid10(String);

impl Cid10 {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("invalid_cid10", format!("código CID-10 inválido: {s}"));
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| *c != '.')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = compact.as_bytes();
        let shape = (b.len() == 3 || b.len() == 4)
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_digit()
            && (b.len() == 3 || b[3].is_ascii_digit());
        if !shape || s.trim().matches('.').count() > 1 {
            return Err(bad());
        }
        Ok(Self(if b.len() == 4 {
            format!("{}.{}", &compact[..3], &compact[3..])
        } else {
            compact
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code's description in the bundled CID-10 table, or 422 `unknown_cid10`.
    pub fn known(&self) -> Result<&'static str, ValidationError> {
        table().description(self).ok_or_else(|| {
            ValidationError::new(
                "unknown_cid10",
                format!("código CID-10 inexistente: {}", self.0),
            )
        })
    }
}

impl<'de> Deserialize<'de> for Cid10 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cid10::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The bundled table: one `code<TAB>description` line per code, in code order.
const TABLE: &str = include_str!("cid10.tsv");

/// Words ignored in a query of several words ("infarto do miocardio" finds "Infarto agudo
/// do miocárdio" and so does "infarto de miocardio").
const STOP_WORDS: &[&str] = &[
    "a", "as", "o", "os", "e", "de", "da", "das", "do", "dos", "em", "na", "nas", "no", "nos",
    "por", "com", "para", "ou",
];

/// Most results a search returns.
pub const MAX_RESULTS: usize = 50;

/// One code of the table.
#[derive(Debug)]
struct Entry {
    /// As displayed: `J11` or `J11.1`.
    code: &'static str,
    description: &'static str,
    /// Upper case, without the dot: `J111`.
    compact: String,
    /// The description's folded words.
    words: Vec<String>,
}

/// A code found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cid10Hit {
    #[schema(example = "J11.1")]
    pub code: &'static str,
    pub description: &'static str,
    /// `category` (three characters) or `subcategory` (with the fourth digit).
    pub kind: &'static str,
}

/// The CID-10 table with its indexes.
#[derive(Debug)]
pub struct Cid10Table {
    entries: Vec<Entry>,
    by_code: HashMap<&'static str, usize>,
}

static INDEX: LazyLock<Cid10Table> = LazyLock::new(|| Cid10Table::parse(TABLE));

/// The bundled table (indexed on first call).
pub fn table() -> &'static Cid10Table {
    &INDEX
}

/// What one term of a query asks for.
#[derive(Debug)]
enum Term {
    /// A code prefix, upper case without the dot (`J11`, `J111`).
    Code(String),
    /// A whole word (folded).
    Word(String),
    /// The beginning of a word: the last word typed.
    Prefix(String),
}

/// A code-like token: a letter and one to three digits, the dot (if any) after the second
/// digit (`j1`, `J11`, `j11.`, `J11.1`, `j111`). Returns it compact and upper case.
fn as_code(token: &str) -> Option<String> {
    let t = token.trim();
    let dot = t.find('.');
    if t.matches('.').count() > 1 || dot.is_some_and(|i| i != 3) {
        return None;
    }
    let compact: String = t
        .chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = compact.as_bytes();
    let ok = (2..=4).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1..].iter().all(u8::is_ascii_digit);
    ok.then_some(compact)
}

/// The terms of a query, in order.
fn terms(q: &str) -> Vec<Term> {
    let mut out = Vec::new();
    for raw in q.split_whitespace() {
        match as_code(raw) {
            Some(code) => out.push(Term::Code(code)),
            None => out.extend(words(raw).into_iter().map(Term::Word)),
        }
    }
    // The last word is being typed: a prefix.
    if let Some(Term::Word(w)) = out.last_mut() {
        let w = std::mem::take(w);
        if let Some(last) = out.last_mut() {
            *last = Term::Prefix(w);
        }
    }
    if out.len() > 1 {
        out.retain(|t| match t {
            Term::Word(w) | Term::Prefix(w) => !STOP_WORDS.contains(&w.as_str()),
            Term::Code(_) => true,
        });
    }
    out
}

impl Cid10Table {
    fn parse(tsv: &'static str) -> Self {
        let entries: Vec<Entry> = tsv
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(code, description)| Entry {
                code,
                description,
                compact: code.replace('.', ""),
                words: words(description),
            })
            .collect();
        let by_code = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code, i))
            .collect();
        Self { entries, by_code }
    }

    /// How many codes the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The description of a code, if the code exists.
    pub fn description(&self, code: &Cid10) -> Option<&'static str> {
        self.by_code
            .get(code.as_str())
            .map(|&i| self.entries[i].description)
    }

    /// The codes matching `q`, best first, at most `limit` (and at most
    /// [`MAX_RESULTS`]), with how many matched in all.
    pub fn search(&self, q: &str, limit: usize) -> (Vec<Cid10Hit>, usize) {
        let terms = terms(q);
        if terms.is_empty() {
            return (Vec::new(), 0);
        }
        let first_word = terms.iter().find_map(|t| match t {
            Term::Word(w) | Term::Prefix(w) => Some(w.as_str()),
            Term::Code(_) => None,
        });
        let only_code = match terms.as_slice() {
            [Term::Code(c)] => Some(c.as_str()),
            _ => None,
        };
        let mut found: Vec<((u8, bool, bool, usize), usize)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let matches = terms.iter().all(|t| match t {
                Term::Code(c) => e.compact.starts_with(c.as_str()),
                Term::Word(w) => e.words.iter().any(|x| x == w),
                Term::Prefix(p) => e.words.iter().any(|x| x.starts_with(p.as_str())),
            });
            if !matches {
                continue;
            }
            let tier = match only_code {
                Some(c) if e.compact == c => 0,
                Some(_) => 1,
                None => 2,
            };
            let starts = first_word.is_some_and(|w| {
                e.words
                    .first()
                    .is_some_and(|x| x == w || (terms.len() == 1 && x.starts_with(w)))
            });
            let subcategory = e.compact.len() == 4;
            found.push(((tier, subcategory, !starts, e.words.len()), i));
        }
        let total = found.len();
        // Entries are in code order, so equal keys keep it (a stable sort).
        found.sort_by_key(|(key, _)| *key);
        let hits = found
            .into_iter()
            .take(limit.min(MAX_RESULTS))
            .map(|(_, i)| {
                let e = &self.entries[i];
                Cid10Hit {
                    code: e.code,
                    description: e.description,
                    kind: if e.compact.len() == 4 {
                        "subcategory"
                    } else {
                        "category"
                    },
                }
            })
            .collect();
        (hits, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid10_codes_of_the_right_shape_are_accepted_and_normalised() {
        assert_eq!(Cid10::parse("J11").map(|c| c.0), Ok("J11".into()));
        assert_eq!(Cid10::parse("j11.1").map(|c| c.0), Ok("J11.1".into()));
        assert_eq!(Cid10::parse(" J111 ").map(|c| c.0), Ok("J11.1".into()));
        for bad in ["", "J1", "11J", "J11.12", "JJ1", "J1.1.1", "J11X"] {
            assert!(Cid10::parse(bad).is_err(), "{bad}");
        }
    }

    fn codes(q: &str) -> Vec<&'static str> {
        table()
            .search(q, 50)
            .0
            .into_iter()
            .map(|h| h.code)
            .collect()
    }

    #[test]
    fn the_bundled_table_holds_every_category_and_subcategory() {
        let t = table();
        assert_eq!(t.len(), 14_233);
        let count = |n| t.entries.iter().filter(|e| e.compact.len() == n).count();
        assert_eq!(count(3), 2_045);
        assert_eq!(count(4), 12_188);
        let j111 = Cid10::parse("j11.1").expect("shape");
        assert_eq!(
            t.description(&j111),
            Some(
                "Influenza [gripe] com outras manifestações respiratórias, devida a vírus não identificado"
            )
        );
        assert_eq!(t.description(&Cid10::parse("J11.7").expect("shape")), None);
    }

    #[test]
    fn a_code_is_found_with_or_without_the_dot_in_any_case_exact_first() {
        for q in ["J11.1", "j111", " j11.1 "] {
            assert_eq!(codes(q), ["J11.1"], "{q}");
        }
        let j11 = codes("j11");
        assert_eq!(j11[0], "J11");
        assert_eq!(j11.len(), 4);
        assert_eq!(codes("J11.")[0], "J11");
        // A two-character prefix: the categories first.
        let e1 = codes("e1");
        assert!(e1.iter().take(7).all(|c| c.len() == 3), "{e1:?}");
    }

    #[test]
    fn words_match_without_accents_or_case_every_word_required() {
        let with = codes("Infarto agudo do miocárdio");
        let without = codes("INFARTO AGUDO MIOCARDIO");
        assert_eq!(with, without);
        assert_eq!(with[0], "I21");
        assert!(with.contains(&"I21.9"));
        // The last word is a prefix while it is typed; the others are whole words.
        assert_eq!(codes("infarto agudo mioc"), with);
        assert!(codes("infart agudo miocardio").is_empty());
        assert!(codes("infarto xyzzy").is_empty());
    }

    #[test]
    fn categories_come_before_their_subcategories() {
        let (hits, total) = table().search("diabetes mellitus", 10);
        assert!(total > 40, "{total}");
        assert_eq!(hits.len(), 10);
        assert!(hits[0].kind == "category", "{hits:?}");
        let first_sub = hits.iter().position(|h| h.kind == "subcategory");
        if let Some(p) = first_sub {
            assert!(hits[p..].iter().all(|h| h.kind == "subcategory"));
        }
    }

    #[test]
    fn blank_or_silly_queries_find_nothing_and_do_not_fail() {
        assert!(codes("").is_empty());
        assert!(codes("   ").is_empty());
        assert!(codes("!!! ???").is_empty());
        assert!(codes(&"x".repeat(500)).is_empty());
        assert!(!codes("J11 gripe").is_empty());
    }
}
