//! Text metrics for the standard Helvetica faces: how wide a line is, and word wrap to a
//! width. Shared by the document layout and the LGPD summary.

use printpdf::BuiltinFont;

/// The Helvetica face a line is set in.
#[derive(Clone, Copy)]
pub(crate) enum Face {
    Regular,
    Bold,
    Italic,
}

impl Face {
    pub(crate) fn font(self) -> BuiltinFont {
        match self {
            Face::Regular => BuiltinFont::Helvetica,
            Face::Bold => BuiltinFont::HelveticaBold,
            Face::Italic => BuiltinFont::HelveticaOblique,
        }
    }
}

/// Helvetica's advance widths (thousandths of an em) for ASCII 32–126, from its AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Width of `text` in points. Accented letters are measured as their base letter; bold is
/// taken as 7 % wider — close enough to wrap lines, which is all this is for.
pub(crate) fn width(text: &str, size: f32, face: Face) -> f32 {
    let em: u32 = text
        .chars()
        .map(|c| {
            let base = fold_accent(c);
            match base as u32 {
                32..=126 => u32::from(HELVETICA[base as usize - 32]),
                _ => 600,
            }
        })
        .sum();
    let factor = if matches!(face, Face::Bold) {
        1.07
    } else {
        1.0
    };
    em as f32 / 1000.0 * size * factor
}

fn fold_accent(c: char) -> char {
    match c {
        '–' => '-',
        '—' => 'M',
        '·' | '‘' | '’' => '\'',
        '“' | '”' => '"',
        other => crate::domain::text::unaccented(other),
    }
}

/// Greedy word wrap to `max` points; a word longer than a line is cut.
pub(crate) fn wrap(text: &str, size: f32, face: Face, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, size, face) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_string();
        while width(&rest, size, face) > max {
            let mut cut = rest.chars().count();
            while cut > 1 && width(&rest.chars().take(cut).collect::<String>(), size, face) > max {
                cut -= 1;
            }
            lines.push(rest.chars().take(cut).collect());
            rest = rest.chars().skip(cut).collect();
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_keeps_words() {
        let text = "Amoxicilina tri-hidratada 500 mg, tomar uma cápsula de oito em oito horas por sete dias, mesmo que os sintomas desapareçam antes.";
        let lines = wrap(text, 10.0, Face::Regular, 200.0);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(width(l, 10.0, Face::Regular) <= 200.0, "{l}");
        }
        assert_eq!(lines.join(" "), text);
        let long = "x".repeat(500);
        assert!(wrap(&long, 10.0, Face::Regular, 100.0).len() > 5);
    }
}
