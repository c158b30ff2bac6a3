//! The printed page: A4, the clinic's header, the professional, the patient, the items, and on
//! every page the city, date and time, the QR code, the verification code and URL and the
//! "assinado digitalmente por …" line. Drawn with printpdf's op lists in the standard
//! Helvetica faces (WinAnsi text: the content rules refuse anything they cannot show);
//! long documents flow onto more pages, and special-control prescriptions repeat in two copies.

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
};

use crate::domain::document::DocumentContent;

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN: f32 = 50.0;
/// The band at the bottom of every page kept for the signature block and QR code.
const FOOTER: f32 = 150.0;
pub(crate) const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;

/// Everything printed on a document, already formatted for people.
#[derive(Debug, Clone)]
pub struct RenderInput {
    pub content: DocumentContent,
    /// The title printed, after the kind and the issuer's council ("Atestado Odontológico").
    pub title: String,
    /// A restriction the law puts on the issuer's prescriptions ("Uso odontológico …").
    pub prescription_note: Option<String>,
    /// Printed in the signature block when the certificate does not chain to ICP-Brasil.
    pub signature_notice: Option<String>,
    pub clinic_name: String,
    /// Street, number, district, city/UF, CEP.
    pub clinic_address: String,
    pub clinic_cnpj: String,
    pub clinic_city: String,
    pub professional_name: String,
    /// e.g. "CRM 123456/SP".
    pub professional_council: String,
    pub professional_rqe: Option<String>,
    pub professional_specialty: Option<String>,
    pub patient_name: String,
    /// Formatted CPF (000.000.000-00).
    pub patient_cpf: String,
    /// e.g. "23 de novembro de 2026, 14:05 (horário de Brasília)".
    pub issued_at_text: String,
    /// When it was issued: the file's creation and modification dates.
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub verify_url: String,
    pub code: String,
    /// The certificate holder's name, for "assinado digitalmente por …".
    pub signer_name: String,
    /// An unsigned preview carries a "sem validade" banner.
    pub preview: bool,
}

/// The rendered document before its signature: printpdf's object graph as lopdf sees it.
pub fn render(input: &RenderInput) -> lopdf::Document {
    let kind = input.content.kind();
    let mut doc = PdfDocument::new(&input.title);
    doc.metadata.info.document_title = format!("{} – {}", input.title, input.patient_name);
    doc.metadata.info.author = input.professional_name.clone();
    doc.metadata.info.creator = "atende".into();
    doc.metadata.info.producer = "atende (printpdf)".into();
    // One QR code for every page of every copy: choosing its mask is most of a QR's cost.
    let qr = crate::qr::modules(&input.verify_url);
    let mut pages = Vec::new();
    for copy in kind.copies() {
        pages.extend(render_copy(input, copy, qr.as_ref()));
    }
    doc.with_pages(pages);
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut out = doc.to_lopdf_document(&opts, &mut warnings);
    // printpdf compresses only when it writes the file itself; this object graph is written
    // by the signer, so its page streams are Flate-compressed here.
    compress_streams(&mut out);
    set_dates(&mut out, input.issued_at);
    out
}

/// Flate-compress every stream not compressed yet, at zlib's default level. lopdf's own
/// `compress` uses the best level, which gives these small text streams no smaller a file
/// (a prescription is 13.1 KB either way) for more work.
fn compress_streams(doc: &mut lopdf::Document) {
    use std::io::Write as _;
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        if encoder.write_all(&stream.content).is_ok()
            && let Ok(packed) = encoder.finish()
            && packed.len() + 19 < stream.content.len()
        {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
}

/// printpdf writes 1970-01-01 as the Info dictionary's dates unless told otherwise: the
/// document's own time goes there instead (UTC, as PDF date strings).
pub(crate) fn set_dates(doc: &mut lopdf::Document, at: chrono::DateTime<chrono::Utc>) {
    let stamp = at.format("D:%Y%m%d%H%M%S+00'00'").to_string();
    if let Ok(info_id) = doc
        .trailer
        .get(b"Info")
        .and_then(lopdf::Object::as_reference)
        && let Ok(info) = doc
            .get_object_mut(info_id)
            .and_then(lopdf::Object::as_dict_mut)
    {
        for key in ["CreationDate", "ModDate"] {
            info.set(
                key,
                lopdf::Object::String(stamp.clone().into_bytes(), lopdf::StringFormat::Literal),
            );
        }
    }
}

/// One copy (one or more pages) of the document.
fn render_copy(input: &RenderInput, copy: &str, qr: Option<&(usize, Vec<bool>)>) -> Vec<PdfPage> {
    let mut w = Writer::new(input, copy, qr);
    match &input.content {
        DocumentContent::Prescription { medications, notes }
        | DocumentContent::SpecialPrescription { medications, notes } => {
            for (i, m) in medications.iter().enumerate() {
                let mut head = format!("{}. {}", i + 1, m.name);
                for part in [&m.concentration, &m.form] {
                    if !part.is_empty() {
                        head.push_str(" — ");
                        head.push_str(part);
                    }
                }
                w.keep_together(3);
                w.paragraph(&head, Face::Bold, 11.0, 0.0);
                w.paragraph(
                    &format!("Quantidade: {}", m.quantity),
                    Face::Regular,
                    10.0,
                    14.0,
                );
                w.paragraph(&m.instructions, Face::Regular, 10.0, 14.0);
                w.gap(8.0);
            }
            if let Some(n) = notes {
                w.gap(4.0);
                w.paragraph("Observações", Face::Bold, 10.0, 0.0);
                w.paragraph(n, Face::Regular, 10.0, 0.0);
            }
            if let Some(note) = &input.prescription_note {
                w.gap(6.0);
                w.paragraph(note, Face::Italic, 9.0, 0.0);
            }
        }
        DocumentContent::AttendanceDeclaration {
            date,
            from,
            until,
            notes,
        } => {
            let period = match (from, until) {
                (Some(f), Some(u)) => {
                    format!(", das {} às {}", f.format("%H:%M"), u.format("%H:%M"))
                }
                (Some(f), None) => format!(", a partir das {}", f.format("%H:%M")),
                (None, Some(u)) => format!(", até as {}", u.format("%H:%M")),
                (None, None) => String::new(),
            };
            let text = format!(
                "Declaro, para os devidos fins, que {}, CPF {}, compareceu a atendimento \
                 profissional neste serviço em {}{period}.",
                input.patient_name,
                input.patient_cpf,
                date.format("%d/%m/%Y")
            );
            w.paragraph(&text, Face::Regular, 11.0, 0.0);
            if let Some(n) = notes {
                w.gap(8.0);
                w.paragraph(n, Face::Regular, 10.0, 0.0);
            }
        }
        DocumentContent::PsychologicalReport {
            demand,
            procedure,
            analysis,
            conclusion,
        } => {
            let sections = [
                ("Descrição da demanda", Some(demand)),
                ("Procedimento", procedure.as_ref()),
                ("Análise", Some(analysis)),
                ("Conclusão", Some(conclusion)),
            ];
            for (heading, text) in sections {
                if let Some(t) = text {
                    w.keep_together(3);
                    w.paragraph(heading, Face::Bold, 11.0, 0.0);
                    w.paragraph(t, Face::Regular, 10.5, 0.0);
                    w.gap(8.0);
                }
            }
        }
        DocumentContent::Certificate {
            days_off,
            start_date,
            cid,
            cid_consent,
            notes,
        } => {
            let days = if *days_off == 1 {
                "1 (um) dia".to_string()
            } else {
                format!("{days_off} dias")
            };
            let text = format!(
                "Atesto, para os devidos fins, que {}, CPF {}, esteve sob meus cuidados \
                 profissionais nesta data e necessita de afastamento de suas atividades por \
                 {days}, a partir de {}.",
                input.patient_name,
                input.patient_cpf,
                start_date.format("%d/%m/%Y")
            );
            w.paragraph(&text, Face::Regular, 11.0, 0.0);
            if let (Some(c), true) = (cid, cid_consent) {
                w.gap(8.0);
                w.paragraph(&format!("CID-10: {c}"), Face::Bold, 11.0, 0.0);
                w.paragraph(
                    "O diagnóstico (CID) consta deste atestado por solicitação e com o \
                     consentimento expresso do(a) paciente.",
                    Face::Italic,
                    9.0,
                    0.0,
                );
            }
            if let Some(n) = notes {
                w.gap(8.0);
                w.paragraph(n, Face::Regular, 10.0, 0.0);
            }
        }
        DocumentContent::ExamRequest {
            exams,
            clinical_indication,
        } => {
            w.paragraph("Solicito:", Face::Bold, 11.0, 0.0);
            w.gap(4.0);
            for (i, e) in exams.iter().enumerate() {
                let mut line = format!("{}. {}", i + 1, e.name);
                if let Some(c) = e.code.as_deref().filter(|c| !c.is_empty()) {
                    line.push_str(&format!(" (TUSS {c})"));
                }
                w.keep_together(2);
                w.paragraph(&line, Face::Regular, 11.0, 0.0);
                if let Some(n) = &e.notes {
                    w.paragraph(n, Face::Italic, 9.5, 14.0);
                }
                w.gap(3.0);
            }
            if let Some(ci) = clinical_indication {
                w.gap(6.0);
                w.paragraph("Indicação clínica", Face::Bold, 10.0, 0.0);
                w.paragraph(ci, Face::Regular, 10.0, 0.0);
            }
        }
    }
    w.finish()
}

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

/// Lays text out top to bottom, starting a new page (with header and footer) when full.
struct Writer<'a> {
    input: &'a RenderInput,
    copy: &'a str,
    /// The verification URL's QR code (size, dark modules), drawn in every footer.
    qr: Option<&'a (usize, Vec<bool>)>,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
}

impl<'a> Writer<'a> {
    fn new(input: &'a RenderInput, copy: &'a str, qr: Option<&'a (usize, Vec<bool>)>) -> Self {
        let mut w = Writer {
            input,
            copy,
            qr,
            pages: Vec::new(),
            ops: Vec::new(),
            y: 0.0,
        };
        w.start_page();
        w
    }

    fn start_page(&mut self) {
        let input = self.input;
        self.y = PAGE_H - MARGIN;
        let first = self.pages.is_empty();
        self.text(&input.clinic_name, Face::Bold, 15.0, MARGIN, self.y);
        self.y -= 14.0;
        let address = format!("{} · CNPJ {}", input.clinic_address, input.clinic_cnpj);
        for line in wrap(&address, 8.5, Face::Regular, TEXT_W) {
            self.text(&line, Face::Regular, 8.5, MARGIN, self.y);
            self.y -= 11.0;
        }
        self.rule(self.y);
        self.y -= 22.0;
        self.text(&input.title, Face::Bold, 16.0, MARGIN, self.y);
        if !self.copy.is_empty() {
            let cw = width(self.copy, 9.0, Face::Bold);
            self.text(
                self.copy,
                Face::Bold,
                9.0,
                PAGE_W - MARGIN - cw,
                self.y + 3.0,
            );
        }
        self.y -= 20.0;
        if input.preview {
            self.ops.push(Op::SetFillColor {
                col: rgb(0.75, 0.1, 0.1),
            });
            self.text(
                "PRÉ-VISUALIZAÇÃO — SEM ASSINATURA E SEM VALIDADE",
                Face::Bold,
                10.0,
                MARGIN,
                self.y,
            );
            self.ops.push(Op::SetFillColor {
                col: rgb(0.0, 0.0, 0.0),
            });
            self.y -= 16.0;
        }
        let mut prof = format!(
            "Profissional: {} — {}",
            input.professional_name, input.professional_council
        );
        // A specialty is announced only with its registration (RQE): CFM Res. 2.336/2023
        // forbids announcing one without it.
        if let Some(r) = &input.professional_rqe {
            prof.push_str(&format!(" — RQE {r}"));
            if let Some(s) = &input.professional_specialty {
                prof.push_str(&format!(" ({s})"));
            }
        }
        for line in wrap(&prof, 10.0, Face::Regular, TEXT_W) {
            self.text(&line, Face::Regular, 10.0, MARGIN, self.y);
            self.y -= 13.0;
        }
        let patient = format!(
            "Paciente: {} — CPF {}",
            input.patient_name, input.patient_cpf
        );
        for line in wrap(&patient, 10.0, Face::Bold, TEXT_W) {
            self.text(&line, Face::Bold, 10.0, MARGIN, self.y);
            self.y -= 13.0;
        }
        if !first {
            self.text("(continuação)", Face::Italic, 9.0, MARGIN, self.y);
            self.y -= 12.0;
        }
        self.y -= 6.0;
        self.rule(self.y + 4.0);
        self.y -= 14.0;
    }

    fn finish(mut self) -> Vec<PdfPage> {
        self.pages.push(std::mem::take(&mut self.ops));
        let total = self.pages.len();
        let footers: Vec<Vec<Op>> = (0..total).map(|i| self.footer(i + 1, total)).collect();
        self.pages
            .into_iter()
            .zip(footers)
            .map(|(mut ops, footer)| {
                ops.extend(footer);
                PdfPage::new(Mm(210.0), Mm(297.0), ops)
            })
            .collect()
    }

    fn footer(&self, page: usize, total: usize) -> Vec<Op> {
        let input = self.input;
        let mut w = Writer {
            input,
            copy: self.copy,
            qr: self.qr,
            pages: Vec::new(),
            ops: Vec::new(),
            y: 0.0,
        };
        let qr_size = 92.0;
        let top = MARGIN + FOOTER - 30.0;
        w.rule(top + 12.0);
        let place = format!("{}, {}", input.clinic_city, input.issued_at_text);
        w.text(&place, Face::Regular, 10.0, MARGIN, top - 4.0);
        let x = MARGIN + qr_size + 14.0;
        let text_w = PAGE_W - MARGIN - x;
        let mut y = top - 26.0;
        let signed = if input.preview {
            "Pré-visualização: documento ainda não assinado.".to_string()
        } else {
            format!(
                "Documento assinado digitalmente por {} ({}).",
                input.signer_name, input.professional_council
            )
        };
        for line in wrap(&signed, 9.5, Face::Bold, text_w) {
            w.text(&line, Face::Bold, 9.5, x, y);
            y -= 12.0;
        }
        if let (Some(notice), false) = (&input.signature_notice, input.preview) {
            w.ops.push(Op::SetFillColor {
                col: rgb(0.75, 0.1, 0.1),
            });
            for line in wrap(notice, 9.0, Face::Bold, text_w) {
                w.text(&line, Face::Bold, 9.0, x, y);
                y -= 11.0;
            }
            w.ops.push(Op::SetFillColor {
                col: rgb(0.0, 0.0, 0.0),
            });
        }
        let verify = format!(
            "Verifique a autenticidade em {} com o código de verificação abaixo, ou leia o QR code.",
            input.verify_url
        );
        for line in wrap(&verify, 8.5, Face::Regular, text_w) {
            w.text(&line, Face::Regular, 8.5, x, y);
            y -= 11.0;
        }
        y -= 4.0;
        w.text(
            &format!("Código de verificação: {}", input.code),
            Face::Bold,
            11.0,
            x,
            y,
        );
        let page_text = format!("Página {page} de {total}");
        let pw = width(&page_text, 8.0, Face::Regular);
        w.text(
            &page_text,
            Face::Regular,
            8.0,
            PAGE_W - MARGIN - pw,
            MARGIN - 20.0,
        );
        if let Some((n, dark)) = self.qr {
            w.qr(*n, dark, MARGIN, top - 14.0 - qr_size, qr_size);
        }
        w.ops
    }

    /// Start a new page unless `lines` more lines fit on this one.
    fn keep_together(&mut self, lines: usize) {
        if self.y - lines as f32 * 14.0 < MARGIN + FOOTER {
            self.new_page();
        }
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.start_page();
    }

    fn gap(&mut self, pt: f32) {
        self.y -= pt;
    }

    fn paragraph(&mut self, text: &str, face: Face, size: f32, indent: f32) {
        let leading = size * 1.35;
        for raw in text.split('\n') {
            for line in wrap(raw, size, face, TEXT_W - indent) {
                if self.y - leading < MARGIN + FOOTER {
                    self.new_page();
                }
                self.text(&line, face, size, MARGIN + indent, self.y);
                self.y -= leading;
            }
        }
    }

    fn text(&mut self, text: &str, face: Face, size: f32, x: f32, y: f32) {
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
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    fn rule(&mut self, y: f32) {
        self.ops.extend([
            Op::SetOutlineColor {
                col: rgb(0.55, 0.55, 0.55),
            },
            Op::SetOutlineThickness { pt: Pt(0.6) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: Point {
                                x: Pt(MARGIN),
                                y: Pt(y),
                            },
                            bezier: false,
                        },
                        LinePoint {
                            p: Point {
                                x: Pt(PAGE_W - MARGIN),
                                y: Pt(y),
                            },
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            },
        ]);
    }

    /// The QR code as filled rectangles, one per horizontal run of dark modules.
    fn qr(&mut self, n: usize, dark: &[bool], x: f32, y: f32, size: f32) {
        let m = size / n as f32;
        self.ops.push(Op::SetFillColor {
            col: rgb(0.0, 0.0, 0.0),
        });
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if dark[row * n + col] {
                    let start = col;
                    while col < n && dark[row * n + col] {
                        col += 1;
                    }
                    let mut r = Rect::from_xywh(
                        Pt(x + start as f32 * m),
                        Pt(y + size - (row + 1) as f32 * m),
                        Pt((col - start) as f32 * m),
                        Pt(m),
                    );
                    r.mode = Some(PaintMode::Fill);
                    self.ops.push(Op::DrawRectangle { rectangle: r });
                } else {
                    col += 1;
                }
            }
        }
    }
}

pub(crate) fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
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
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'ª' => 'a',
        'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
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
        '–' => '-',
        '—' => 'M',
        '·' | '‘' | '’' => '\'',
        '“' | '”' => '"',
        other => other,
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
