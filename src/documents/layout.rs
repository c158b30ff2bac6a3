//! The printed page: A4, the clinic's header, the professional, the patient, the items, and on
//! every page the city, date and time, the QR code, the verification code and URL and the
//! "assinado digitalmente por …" line. Drawn with printpdf's op lists in the standard
//! Helvetica faces (WinAnsi text: the content rules refuse anything they cannot show);
//! long documents flow onto more pages, and special-control prescriptions repeat in two copies.

use printpdf::{
    Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, Rect, Rgb, TextItem,
};

pub(crate) use super::text_metrics::Face;
use super::text_metrics::{width, wrap};
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
    /// The patient's address on one line, when known; printed on the kinds that need it
    /// ([`crate::domain::document::DocumentKind::special_control_form`]).
    pub patient_address: Option<String>,
    /// A prescription with an antimicrobial: the last day it may be dispensed (its issue,
    /// in the clinic's time zone, plus 10 days; RDC ANVISA 471/2021).
    pub antimicrobial_valid_until: Option<chrono::NaiveDate>,
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
    let mut doc = PdfDocument::new(&input.title);
    doc.metadata.info.document_title = format!("{} – {}", input.title, input.patient_name);
    doc.metadata.info.author = input.professional_name.clone();
    doc.metadata.info.creator = "atende".into();
    doc.metadata.info.producer = "atende (printpdf)".into();
    // One QR code for every page of every copy: choosing its mask is most of a QR's cost.
    let qr = crate::qr::modules(&input.verify_url);
    let mut pages = Vec::new();
    for copy in input.content.copies() {
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
            if let Some(until) = input.antimicrobial_valid_until {
                w.gap(6.0);
                w.paragraph(
                    &format!(
                        "Receita de antimicrobiano (RDC ANVISA 471/2021): válida por 10 dias a \
                         contar da emissão, até {}.",
                        until.format("%d/%m/%Y")
                    ),
                    Face::Bold,
                    9.5,
                    0.0,
                );
            }
            if let Some(note) = &input.prescription_note {
                w.gap(6.0);
                w.paragraph(note, Face::Italic, 9.0, 0.0);
            }
            if input.content.kind().special_control_form() {
                w.pharmacy_blocks();
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
        if let (true, Some(address)) = (
            input.content.kind().special_control_form(),
            &input.patient_address,
        ) {
            for line in wrap(&format!("Endereço: {address}"), 10.0, Face::Regular, TEXT_W) {
                self.text(&line, Face::Regular, 10.0, MARGIN, self.y);
                self.y -= 13.0;
            }
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

    /// The blocks of Portaria 344's form that the pharmacy fills in when it dispenses, side
    /// by side at the bottom of the copy's last page, just above the signature band: the
    /// buyer (name, identity document and its issuer, address, city and UF, phone) and the
    /// supplier (the pharmacist's signature and the date).
    fn pharmacy_blocks(&mut self) {
        const HEIGHT: f32 = 118.0;
        const GUTTER: f32 = 12.0;
        const ROW: f32 = 18.0;
        if self.y - HEIGHT - 8.0 < MARGIN + FOOTER {
            self.new_page();
        }
        let top = MARGIN + FOOTER + HEIGHT;
        let buyer_w = (TEXT_W - GUTTER) * 0.62;
        let supplier_x = MARGIN + buyer_w + GUTTER;
        let supplier_w = TEXT_W - buyer_w - GUTTER;
        self.frame(MARGIN, top, buyer_w, HEIGHT);
        self.frame(supplier_x, top, supplier_w, HEIGHT);
        let (pad, size) = (6.0, 8.5);
        let heading_y = top - 13.0;
        self.text(
            "IDENTIFICAÇÃO DO COMPRADOR",
            Face::Bold,
            8.5,
            MARGIN + pad,
            heading_y,
        );
        self.text(
            "IDENTIFICAÇÃO DO FORNECEDOR",
            Face::Bold,
            8.5,
            supplier_x + pad,
            heading_y,
        );
        // Each row: labels with a line to write on after each, sharing the row's width.
        let buyer_rows: [&[(&str, f32)]; 5] = [
            &[("Nome:", 1.0)],
            &[("Ident.:", 0.55), ("Órg. Emissor:", 0.45)],
            &[("Endereço:", 1.0)],
            &[("Cidade:", 0.75), ("UF:", 0.25)],
            &[("Telefone:", 1.0)],
        ];
        let inner = buyer_w - 2.0 * pad;
        for (i, row) in buyer_rows.iter().enumerate() {
            let y = heading_y - ROW * (i as f32 + 1.0);
            let mut x = MARGIN + pad;
            for (label, share) in row.iter() {
                let span = inner * share;
                self.text(label, Face::Regular, size, x, y);
                let from = x + width(label, size, Face::Regular) + 3.0;
                self.line(from, x + span - 6.0, y - 1.5);
                x += span;
            }
        }
        let sx = supplier_x + pad;
        let line_end = supplier_x + supplier_w - pad;
        self.line(sx, line_end, heading_y - 3.0 * ROW);
        self.text(
            "Assinatura do Farmacêutico",
            Face::Regular,
            size,
            sx,
            heading_y - 3.0 * ROW - 10.0,
        );
        let date_y = heading_y - 5.0 * ROW;
        self.text("Data:", Face::Regular, size, sx, date_y);
        let from = sx + width("Data:", size, Face::Regular) + 3.0;
        self.line(from, line_end, date_y - 1.5);
        self.y = MARGIN + FOOTER;
    }

    /// A rectangle's outline, from its top-left corner.
    fn frame(&mut self, x: f32, top: f32, w: f32, h: f32) {
        let mut r = Rect::from_xywh(Pt(x), Pt(top - h), Pt(w), Pt(h));
        r.mode = Some(PaintMode::Stroke);
        self.ops.extend([
            Op::SetOutlineColor {
                col: rgb(0.35, 0.35, 0.35),
            },
            Op::SetOutlineThickness { pt: Pt(0.8) },
            Op::DrawRectangle { rectangle: r },
        ]);
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
        self.line(MARGIN, PAGE_W - MARGIN, y);
    }

    /// A thin grey horizontal line from `x1` to `x2`.
    fn line(&mut self, x1: f32, x2: f32, y: f32) {
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
                                x: Pt(x1),
                                y: Pt(y),
                            },
                            bezier: false,
                        },
                        LinePoint {
                            p: Point {
                                x: Pt(x2),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::document::Medication;

    fn special(address: Option<&str>, medicines: usize) -> RenderInput {
        let medication = |i: usize| Medication {
            name: format!("Clonazepam nº {i}"),
            concentration: "2 mg".into(),
            form: "comprimido".into(),
            quantity: "30 comprimidos (trinta)".into(),
            instructions: "1 comprimido à noite, ao deitar.".into(),
            list: None,
        };
        RenderInput {
            content: DocumentContent::SpecialPrescription {
                medications: (1..=medicines).map(medication).collect(),
                notes: None,
            },
            title: "Receituário de Controle Especial".into(),
            prescription_note: None,
            signature_notice: None,
            clinic_name: "Clínica Aurora".into(),
            clinic_address: "Rua da Aurora, 100 – Boa Vista, Recife/PE – CEP 50050-000".into(),
            clinic_cnpj: "11.222.333/0001-81".into(),
            clinic_city: "Recife".into(),
            professional_name: "Helena Duarte".into(),
            professional_council: "CRM 123456/SP".into(),
            professional_rqe: None,
            professional_specialty: None,
            patient_name: "João Pereira da Silva".into(),
            patient_cpf: "529.982.247-25".into(),
            patient_address: address.map(str::to_string),
            antimicrobial_valid_until: None,
            issued_at_text: "7 de dezembro de 2026, 14:05 (horário de Brasília)".into(),
            issued_at: chrono::DateTime::UNIX_EPOCH,
            verify_url: "https://clinica.example/v/x".into(),
            code: "ABCD-EFGH".into(),
            signer_name: "Helena Duarte".into(),
            preview: false,
        }
    }

    /// Each page's text, as drawn.
    fn pages_text(input: &RenderInput) -> Vec<String> {
        input
            .content
            .copies()
            .iter()
            .flat_map(|copy| render_copy(input, copy, None))
            .map(|page| {
                page.ops
                    .iter()
                    .filter_map(|op| match op {
                        Op::ShowText { items } => Some(items),
                        _ => None,
                    })
                    .flatten()
                    .filter_map(|item| match item {
                        TextItem::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }

    #[test]
    fn each_copy_of_a_special_prescription_has_the_address_and_the_pharmacy_blocks() {
        let address = "Rua Augusta, 1500 (apto 42) – Consolação, São Paulo/SP – CEP 01304-001";
        for medicines in [1, 9] {
            let pages = pages_text(&special(Some(address), medicines));
            let copies: Vec<&String> = pages
                .iter()
                .filter(|p| p.contains("Assinatura do Farmacêutico"))
                .collect();
            assert_eq!(copies.len(), 2, "{medicines} medicines: {pages:#?}");
            for (page, via) in copies.iter().zip(["1ª via", "2ª via"]) {
                assert!(page.contains(via), "{page}");
                assert!(page.contains(&format!("Endereço: {address}")), "{page}");
                for block in [
                    "IDENTIFICAÇÃO DO COMPRADOR",
                    "Ident.:",
                    "Órg. Emissor:",
                    "Telefone:",
                    "IDENTIFICAÇÃO DO FORNECEDOR",
                    "Data:",
                ] {
                    assert!(page.contains(block), "{block}: {page}");
                }
            }
            let last = format!("Clonazepam nº {medicines} — 2 mg");
            assert_eq!(pages.concat().matches(&last).count(), 2, "{pages:#?}");
            // Every page of a copy repeats the address under the patient.
            for page in &pages {
                assert!(page.contains("Endereço: Rua Augusta"), "{page}");
            }
        }
    }

    #[test]
    fn an_antimicrobial_prescription_has_two_copies_with_its_validity() {
        let mut input = special(None, 1);
        input.content = DocumentContent::Prescription {
            medications: vec![Medication {
                name: "Amoxicilina".into(),
                concentration: "500 mg".into(),
                form: "cápsula".into(),
                quantity: "21 cápsulas".into(),
                instructions: "1 cápsula de 8 em 8 horas por 7 dias".into(),
                list: Some(crate::domain::document::MedicineList::Antimicrobial),
            }],
            notes: None,
        };
        input.antimicrobial_valid_until = chrono::NaiveDate::from_ymd_opt(2026, 12, 17);
        let pages = pages_text(&input);
        assert_eq!(pages.len(), 2, "{pages:#?}");
        for (page, via) in pages.iter().zip(["1ª via – Retenção", "2ª via – Paciente"]) {
            assert!(page.contains(via), "{page}");
            assert!(page.contains("válida por 10 dias"), "{page}");
            assert!(page.contains("até 17/12/2026"), "{page}");
            assert!(!page.contains("COMPRADOR"), "{page}");
        }
    }

    #[test]
    fn other_kinds_print_neither_the_address_nor_the_blocks() {
        let mut input = special(Some("Rua Augusta, 1500"), 1);
        input.content = DocumentContent::Prescription {
            medications: vec![],
            notes: Some("Repouso.".into()),
        };
        let pages = pages_text(&input);
        assert_eq!(pages.len(), 1);
        assert!(!pages[0].contains("Rua Augusta"), "{}", pages[0]);
        assert!(!pages[0].contains("COMPRADOR"));
    }
}
