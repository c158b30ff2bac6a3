//! How an SMS is billed and cut (3GPP TS 23.038 and TS 23.040): a text made only of the
//! GSM-7 default alphabet goes as 7-bit septets — 160 in one message, 153 per part when it
//! needs several (the other 7 septets carry the concatenation header); a character of the
//! extension table (`^ { } \ [ ~ ] | €` and form feed) costs two septets (an escape and
//! itself), and the pair is never split across parts. Any other character makes the whole
//! text UCS-2 (UTF-16): 70 code units in one message, 67 per part, a surrogate pair never
//! split. Most Portuguese accents (á, ã, â, ê, í, ó, õ, ú, ç) are not GSM-7; é, à, É and Ç are.
//!
//! [`fit`] builds a text from pieces so that it fits a number of parts: it drops the least
//! needed pieces whole (a link is never cut), and only as a last resort shortens a text
//! piece at a word boundary.

/// How the text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// What a text costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Messages the network carries (and the provider bills); 1 for an empty text.
    pub count: u32,
}

/// The GSM-7 default alphabet, in table order (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table reached through the escape septet (two septets each).
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{0C}";

/// Septets of `c` in GSM-7, or None if GSM-7 cannot carry it.
fn gsm7_width(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text can go as GSM-7.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7_width(c).is_some())
}

/// The encoding and the number of parts of `text`.
pub fn segments(text: &str) -> Segments {
    let (encoding, widths, single, part): (_, Vec<usize>, usize, usize) = if is_gsm7(text) {
        let w = text.chars().filter_map(gsm7_width).collect();
        (Encoding::Gsm7, w, 160, 153)
    } else {
        let w = text.chars().map(char::len_utf16).collect();
        (Encoding::Ucs2, w, 70, 67)
    };
    let units: usize = widths.iter().sum();
    let count = if units <= single {
        1
    } else {
        // Fill each part greedily: an escape pair or a surrogate pair stays in one part.
        let mut parts = 1u32;
        let mut used = 0;
        for w in widths {
            if used + w > part {
                parts += 1;
                used = 0;
            }
            used += w;
        }
        parts
    };
    Segments {
        encoding,
        units,
        count,
    }
}

/// One piece of a message being fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    /// Pieces are dropped lowest first (the later one first among equals); pieces of
    /// [`Piece::REQUIRED`] are never dropped.
    pub keep: u8,
    /// A link (with its label) goes whole or not at all.
    pub link: bool,
}

impl Piece {
    /// Never dropped (the sender's name, the appointment's time); may be shortened.
    pub const REQUIRED: u8 = u8::MAX;

    pub fn text(text: impl Into<String>, keep: u8) -> Self {
        Self {
            text: text.into(),
            keep,
            link: false,
        }
    }

    pub fn link(text: impl Into<String>, keep: u8) -> Self {
        Self {
            text: text.into(),
            keep,
            link: true,
        }
    }
}

fn join(pieces: &[&Piece]) -> String {
    pieces
        .iter()
        .map(|p| p.text.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The pieces joined by spaces, within `max_segments` parts: the least needed pieces are
/// dropped whole until it fits; if the required ones alone do not, the longest required
/// text piece loses words from its end (marked `...`). Links are never cut.
pub fn fit(pieces: &[Piece], max_segments: u32) -> String {
    let max = max_segments.max(1);
    let mut kept: Vec<&Piece> = pieces.iter().collect();
    loop {
        let text = join(&kept);
        if segments(&text).count <= max {
            return text;
        }
        let lowest = kept
            .iter()
            .enumerate()
            .filter(|(_, p)| p.keep != Piece::REQUIRED)
            .min_by(|(i, a), (j, b)| a.keep.cmp(&b.keep).then(j.cmp(i)))
            .map(|(i, _)| i);
        match lowest {
            Some(i) => {
                kept.remove(i);
            }
            None => return shorten_required(&kept, max),
        }
    }
}

/// The required pieces with the longest text piece cut word by word until it fits.
fn shorten_required(kept: &[&Piece], max: u32) -> String {
    let mut owned: Vec<Piece> = kept.iter().map(|p| (*p).clone()).collect();
    let Some(longest) = owned
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.link)
        .max_by_key(|(_, p)| p.text.chars().count())
        .map(|(i, _)| i)
    else {
        return join(kept);
    };
    let words: Vec<String> = owned[longest]
        .text
        .split_whitespace()
        .map(str::to_string)
        .collect();
    for n in (0..words.len()).rev() {
        owned[longest].text = if n == 0 {
            String::new()
        } else {
            format!("{}...", words[..n].join(" "))
        };
        let text = join(&owned.iter().collect::<Vec<_>>());
        if segments(&text).count <= max {
            return text;
        }
    }
    join(&owned.iter().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_up_to_160_then_153_per_part() {
        let s = segments(&"a".repeat(160));
        assert_eq!((s.encoding, s.units, s.count), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"a".repeat(161)).count, 2);
        assert_eq!(segments(&"a".repeat(306)).count, 2);
        assert_eq!(segments(&"a".repeat(307)).count, 3);
        assert_eq!(segments("").count, 1);
    }

    #[test]
    fn the_extension_table_costs_two_septets_and_an_escape_pair_is_never_split() {
        let s = segments("Preço: R$ 10 [à vista] €");
        // "Preço" has ç: not GSM-7 (only Ç is), so this one is UCS-2.
        assert_eq!(s.encoding, Encoding::Ucs2);
        let s = segments("Valor: R$ 10 [a vista] 5€");
        assert_eq!(s.encoding, Encoding::Gsm7);
        assert_eq!(s.units, 22 + 2 + 2 + 2, "[, ] and € count two each");
        assert_eq!(segments(&"€".repeat(80)).count, 1, "160 septets");
        assert_eq!(segments(&"€".repeat(81)).count, 2);
        // 152 septets then an escape pair: the pair moves whole into the second part.
        let t = format!("{}{}", "a".repeat(152), "€".repeat(5));
        assert_eq!(segments(&t).units, 162);
        assert_eq!(segments(&t).count, 2);
        let t = format!("{}{}", "a".repeat(152), "€".repeat(77));
        assert_eq!(
            segments(&t).units,
            306,
            "two parts of 153 if pairs could split"
        );
        assert_eq!(segments(&t).count, 3, "they cannot: 152 + 152 + 2");
    }

    #[test]
    fn accented_portuguese_goes_as_ucs2_70_then_67_per_part() {
        // é, à, É and Ç are in the GSM-7 alphabet; ã, ç, ê, í, ó are not.
        assert!(is_gsm7("Até"));
        assert!(is_gsm7("É à é Ç"));
        for word in ["Clínica", "você", "não", "Conceição", "próxima", "ação"] {
            assert!(!is_gsm7(word), "{word}");
        }
        let lembrete = "Clínica Aurora: sua consulta é amanhã às 10:00.";
        let s = segments(lembrete);
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.units, lembrete.chars().count());
        assert_eq!(s.count, 1);
        assert_eq!(segments(&"ã".repeat(70)).count, 1);
        assert_eq!(segments(&"ã".repeat(71)).count, 2);
        assert_eq!(segments(&"ã".repeat(134)).count, 2);
        assert_eq!(segments(&"ã".repeat(135)).count, 3);
        // An emoji is a surrogate pair: two units, never split across parts.
        assert_eq!(segments("Até já 👍").units, 9);
        let t = format!("{}👍", "ã".repeat(66));
        assert_eq!((segments(&t).units, segments(&t).count), (68, 1));
        let t = format!("{}👍{}", "ã".repeat(66), "ã".repeat(3));
        assert_eq!((segments(&t).units, segments(&t).count), (71, 2));
    }

    #[test]
    fn fitting_drops_the_least_needed_pieces_whole_and_never_cuts_a_link() {
        let link = "https://clinica.example/#/link/confirm/eyJhbGciOiJIUzI1NiJ9.abc.def";
        let pieces = vec![
            Piece::text("Clínica São Lucas:", Piece::REQUIRED),
            Piece::text("João, sua consulta é em 08/12 às 10:00", Piece::REQUIRED),
            Piece::text("com Dra. Helena Conceição.", 3),
            Piece::text("Responda 1 para confirmar ou 2 para cancelar.", 8),
            Piece::link(format!("Confirmar: {link}"), 5),
            Piece::text("PARAR para não receber mais.", 2),
        ];
        let all = fit(&pieces, 10);
        assert!(all.starts_with("Clínica São Lucas: João"), "{all}");
        assert!(all.contains(link) && all.contains("PARAR"), "{all}");
        // 238 characters with accents: UCS-2, four parts of 67.
        assert_eq!(segments(&all).count, 4, "{all}");

        // Three parts: the opt-out hint then the professional go; the link stays whole.
        let three = fit(&pieces, 3);
        assert_eq!(segments(&three).count, 3, "{three}");
        assert!(
            !three.contains("PARAR") && !three.contains("Helena"),
            "{three}"
        );
        assert!(three.contains(&format!("Confirmar: {link}")), "{three}");

        // Two parts: the link goes whole (never cut); how to answer stays.
        let two = fit(&pieces, 2);
        assert!(segments(&two).count <= 2, "{two}");
        assert!(
            !two.contains("https") && !two.contains("Confirmar:"),
            "{two}"
        );
        assert!(two.contains("Responda 1 para confirmar"), "{two}");

        // One part: only the required pieces, the clinic and the time.
        let one = fit(&pieces, 1);
        assert_eq!(
            one,
            "Clínica São Lucas: João, sua consulta é em 08/12 às 10:00"
        );
    }

    #[test]
    fn when_the_required_pieces_alone_are_too_long_the_longest_text_loses_words() {
        let pieces = vec![
            Piece::text("Clínica Aurora:", Piece::REQUIRED),
            Piece::text(
                "lembrete da sua consulta de acompanhamento pré-natal com a equipe de \
                 enfermagem obstétrica na unidade do centro amanhã",
                Piece::REQUIRED,
            ),
            Piece::link("https://a.example/x", Piece::REQUIRED),
        ];
        let one = fit(&pieces, 1);
        assert_eq!(segments(&one).count, 1, "{one}");
        assert!(one.starts_with("Clínica Aurora: lembrete"), "{one}");
        assert!(one.contains("... https://a.example/x"), "{one}");
    }
}
