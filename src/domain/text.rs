//! Text as people search it: Portuguese words compared without case or accents
//! ("Infecção" = "infeccao"), for the CID-10 search, the allergy warning and the patient
//! name index.

use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Lowercase `s` and drop the accents of Latin letters (`ç` → `c`, `ã` → `a`, `ü` → `u`).
/// Other characters are kept (lowercased).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.extend(c.to_lowercase().map(unaccented));
    }
    out
}

/// A Latin letter without its accent, its case kept (`Ç` → `C`, `ã` → `a`; the ordinal
/// indicators `ª` and `º` → `a` and `o`). Any other character as it is.
pub fn unaccented(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => 'a',
        'Á' | 'À' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'º' => 'o',
        'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
        'ç' => 'c',
        'Ç' => 'C',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        other => other,
    }
}

/// The folded words of `s`: runs of letters and digits (hyphens, brackets, commas and
/// spaces separate words).
pub fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `needle` (words) appears in `haystack` (words) as consecutive whole words.
pub fn contains_phrase(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The shortest word prefix the patient name index holds (and a name search looks for).
pub const NAME_PREFIX_MIN: usize = 2;
/// The longest: a longer word of a search is cut to it.
pub const NAME_PREFIX_MAX: usize = 20;

/// The words of a name as its index sees them: folded runs of letters (anything else,
/// digits included, separates words).
fn name_words(s: &str) -> Vec<Vec<char>> {
    fold(s)
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().collect())
        .collect()
}

/// What the blind index of a patient's names holds: every prefix of
/// [`NAME_PREFIX_MIN`]..=[`NAME_PREFIX_MAX`] letters of every word of each name
/// ("Maria da Silva": `ma`, `mar`, `mari`, `maria`, `da`, `si`, `sil`, `silv`, `silva`).
pub fn name_prefixes<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for name in names {
        for w in name_words(name) {
            for n in NAME_PREFIX_MIN..=w.len().min(NAME_PREFIX_MAX) {
                out.insert(w[..n].iter().collect());
            }
        }
    }
    out
}

/// What a name search looks for: each word of the query of at least [`NAME_PREFIX_MIN`]
/// letters, cut to [`NAME_PREFIX_MAX`]; a patient matches when their index holds them all.
/// Empty when the query has no such word.
pub fn name_query(q: &str) -> BTreeSet<String> {
    name_words(q)
        .into_iter()
        .filter(|w| w.len() >= NAME_PREFIX_MIN)
        .map(|w| w[..w.len().min(NAME_PREFIX_MAX)].iter().collect())
        .collect()
}

/// The order of names in a list, as people read it: without regard to case or accents
/// ("Álvaro" before "Beatriz" before "bruno"), ties broken by the text itself.
pub fn name_order(a: &str, b: &str) -> Ordering {
    fold(a).cmp(&fold(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_indexed_by_the_prefixes_of_its_folded_words() {
        let p = name_prefixes(["João da Silva-Souza", "Jô"]);
        for t in ["jo", "joa", "joao", "da", "si", "silva", "so", "souza"] {
            assert!(p.contains(t), "{t}");
        }
        assert!(!p.contains("j") && !p.contains("d"));
        assert_eq!(p.len(), 3 + 1 + 4 + 4);
        let long = name_prefixes(["Abcdefghijklmnopqrstuvwxyz"]);
        assert_eq!(long.iter().map(String::len).max(), Some(NAME_PREFIX_MAX));
    }

    #[test]
    fn a_name_query_keeps_words_of_two_letters_or_more() {
        let q = name_query("MAR  d sil");
        assert_eq!(q.into_iter().collect::<Vec<_>>(), ["mar", "sil"]);
        assert!(name_query("a b 1").is_empty());
        assert_eq!(
            name_query("abcdefghijklmnopqrstuvwxyz")
                .first()
                .map(String::len),
            Some(NAME_PREFIX_MAX)
        );
    }

    #[test]
    fn names_sort_without_regard_to_case_or_accents() {
        let mut names = vec!["bruno", "Beatriz", "Álvaro", "Ana", "Élio"];
        names.sort_by(|a, b| name_order(a, b));
        assert_eq!(names, ["Álvaro", "Ana", "Beatriz", "bruno", "Élio"]);
    }

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Infecção AGUDA"), "infeccao aguda");
        assert_eq!(fold("Miocárdio, Ênfase"), "miocardio, enfase");
        assert_eq!(
            words("não-insulino-dependente [gripe]"),
            ["nao", "insulino", "dependente", "gripe"]
        );
    }

    #[test]
    fn phrases_match_whole_consecutive_words() {
        let h = words("Dipirona sódica 500 mg");
        assert!(contains_phrase(&h, &words("dipirona")));
        assert!(contains_phrase(&h, &words("DIPIRONA SODICA")));
        assert!(!contains_phrase(&h, &words("dipi")));
        assert!(!contains_phrase(&h, &words("sodica dipirona")));
        assert!(!contains_phrase(&h, &[]));
    }
}
