//! QR codes as a module grid (for PDFs) and as SVG (for screens), without image crates.

use qrcode::{Color, EcLevel, QrCode};

/// The modules of `text`'s QR code, row by row; `true` is dark. Error correction M.
pub fn modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Some((width, dark))
}

/// An SVG of `text`'s QR code with a four-module quiet zone, one path of unit squares.
pub fn svg(text: &str) -> Option<String> {
    let (width, dark) = modules(text)?;
    let size = width + 8;
    let mut path = String::with_capacity(dark.len() * 4);
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (i % width + 4, i / width + 4);
        path.push_str(&format!("M{x} {y}h1v1h-1z"));
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_makes_a_square_grid_with_finder_patterns() {
        let (w, dark) = super::modules("https://clinica.example/#/checkin/abc").expect("fits");
        assert_eq!(dark.len(), w * w);
        // Finder pattern corners are dark; the separator next to them is light.
        assert!(dark[0] && dark[w - 1] && dark[(w - 1) * w]);
        assert!(!dark[7]);
        let svg = super::svg("x").expect("fits");
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M4 4h1v1h-1z"));
    }
}
