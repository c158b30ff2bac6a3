//! A plain report PDF: a title, a few lines under it, and sections of lines, flowing over as
//! many A4 pages as needed with "página N de M" at the foot. What the LGPD export prints
//! as its readable summary. Text the standard fonts cannot show (outside WinAnsi) prints
//! as `?`.

use printpdf::{Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem};

use super::layout::{MARGIN, PAGE_H, PAGE_W, TEXT_W, rgb, set_dates};
use super::text_metrics::{Face, width, wrap};
use crate::domain::document::is_winansi;

/// One section: a heading and its lines (each wrapped to the page).
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: String,
    pub lines: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Summary {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
    pub at: chrono::DateTime<chrono::Utc>,
}

const BOTTOM: f32 = MARGIN + 20.0;

struct Pages {
    done: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Self {
            done: Vec::new(),
            ops: Vec::new(),
            y: PAGE_H - MARGIN,
        }
    }

    fn room(&mut self, needed: f32) {
        if self.y - needed < BOTTOM {
            self.done.push(std::mem::take(&mut self.ops));
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text(&mut self, text: &str, face: Face, size: f32, x: f32, y: f32) {
        let shown: String = text
            .chars()
            .map(|c| {
                if is_winansi(c) && !c.is_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(face.font()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(shown)],
            },
            Op::EndTextSection,
        ]);
    }

    /// A paragraph, wrapped, indented by `indent`.
    fn paragraph(&mut self, text: &str, face: Face, size: f32, indent: f32) {
        let leading = size * 1.3;
        for line in wrap(text, size, face, TEXT_W - indent) {
            self.room(leading);
            self.text(&line, face, size, MARGIN + indent, self.y);
            self.y -= leading;
        }
    }
}

/// The report as PDF bytes.
pub fn render_summary(s: &Summary) -> Vec<u8> {
    let mut p = Pages::new();
    p.paragraph(&s.title, Face::Bold, 16.0, 0.0);
    p.y -= 4.0;
    for line in &s.intro {
        p.paragraph(line, Face::Regular, 9.5, 0.0);
    }
    for section in &s.sections {
        p.y -= 10.0;
        p.room(40.0);
        p.paragraph(&section.heading, Face::Bold, 12.0, 0.0);
        if section.lines.is_empty() {
            p.paragraph("Nenhum registro.", Face::Italic, 9.5, 10.0);
        }
        for line in &section.lines {
            p.paragraph(line, Face::Regular, 9.5, 10.0);
        }
    }
    p.done.push(std::mem::take(&mut p.ops));
    let total = p.done.len();
    let pages: Vec<PdfPage> = p
        .done
        .into_iter()
        .enumerate()
        .map(|(i, mut ops)| {
            let foot = format!("página {} de {}", i + 1, total);
            let w = width(&foot, 8.0, Face::Regular);
            ops.push(Op::SetFillColor {
                col: rgb(0.35, 0.35, 0.35),
            });
            let mut f = Pages::new();
            f.text(&foot, Face::Regular, 8.0, PAGE_W - MARGIN - w, MARGIN);
            ops.extend(f.ops);
            PdfPage::new(Mm(210.0), Mm(297.0), ops)
        })
        .collect();
    let mut doc = PdfDocument::new(&s.title);
    doc.metadata.info.document_title = s.title.clone();
    doc.metadata.info.creator = "atende".into();
    doc.metadata.info.producer = "atende (printpdf)".into();
    doc.with_pages(pages);
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut out = doc.to_lopdf_document(&opts, &mut warnings);
    out.compress();
    set_dates(&mut out, s.at);
    let mut bytes = Vec::new();
    if out.save_to(&mut bytes).is_err() {
        bytes.clear();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_report_flows_over_pages_and_is_a_pdf() {
        let s = Summary {
            title: "Relatório de dados pessoais".into(),
            intro: vec!["Gerado para teste — São Paulo".into()],
            sections: vec![Section {
                heading: "Consultas".into(),
                lines: (0..200)
                    .map(|i| format!("Consulta {i} com Dra. Helena"))
                    .collect(),
            }],
            at: chrono::Utc::now(),
        };
        let pdf = render_summary(&s);
        assert!(pdf.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&pdf).expect("a PDF");
        assert!(doc.get_pages().len() > 1);
    }
}
