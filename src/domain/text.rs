//! Text as people search it: Portuguese words compared without case or accents
//! ("Infecção" = "infeccao"), for the CID-10 search and the allergy warning.

/// Lowercase `s` and drop the accents of Latin letters (`ç` → `c`, `ã` → `a`, `ü` → `u`).
/// Other characters are kept (lowercased).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        for l in c.to_lowercase() {
            out.push(match l {
                'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'º' => 'o',
                'ú' | 'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                'ñ' => 'n',
                'ý' | 'ÿ' => 'y',
                other => other,
            });
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

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
