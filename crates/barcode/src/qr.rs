//! QR code images of Digital Link URLs: SVG (vector, for print) and PNG (greyscale, for
//! screens and chat clients), with a chosen error-correction level and the 4-module quiet zone
//! the QR standard asks for.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::BarcodeError;

/// Quiet zone around the symbol, in modules (ISO/IEC 18004).
pub const QUIET_ZONE: usize = 4;
/// Largest PNG side accepted, in pixels.
pub const MAX_PNG_PIXELS: u32 = 4096;

/// Error-correction level: how much of the symbol may be damaged and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCorrection {
    /// About 7 %.
    L,
    /// About 15 % (the default; GS1 recommends M or higher on packaging).
    M,
    /// About 25 %.
    Q,
    /// About 30 %.
    H,
}

impl ErrorCorrection {
    /// Parses `L`, `M`, `Q` or `H` (any case).
    pub fn parse(s: &str) -> Result<Self, BarcodeError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "L" => Ok(Self::L),
            "M" => Ok(Self::M),
            "Q" => Ok(Self::Q),
            "H" => Ok(Self::H),
            other => Err(BarcodeError::invalid(
                "error_correction",
                format!("{other:?} is not one of L, M, Q, H"),
            )),
        }
    }

    fn level(self) -> EcLevel {
        match self {
            Self::L => EcLevel::L,
            Self::M => EcLevel::M,
            Self::Q => EcLevel::Q,
            Self::H => EcLevel::H,
        }
    }
}

fn code(text: &str, ec: ErrorCorrection) -> Result<QrCode, BarcodeError> {
    QrCode::with_error_correction_level(text.as_bytes(), ec.level())
        .map_err(|e| BarcodeError::invalid("url", format!("cannot be encoded as a QR code: {e}")))
}

/// The QR code as an SVG document (`min_size` pixels wide at least, quiet zone included).
pub fn svg(text: &str, ec: ErrorCorrection, min_size: u32) -> Result<String, BarcodeError> {
    Ok(code(text, ec)?
        .render::<svg::Color<'_>>()
        .min_dimensions(min_size, min_size)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The QR code as a greyscale PNG of `module_px` pixels per module (quiet zone included).
pub fn png(text: &str, ec: ErrorCorrection, module_px: u32) -> Result<Vec<u8>, BarcodeError> {
    let qr = code(text, ec)?;
    let dark: Vec<bool> = qr.to_colors().iter().map(|c| *c == Color::Dark).collect();
    modules_png(&dark, qr.width(), QUIET_ZONE, module_px)
}

/// A 2-D barcode as a square greyscale PNG: `dark` holds `width`×`width` modules row by row,
/// drawn `module_px` pixels each inside a light quiet zone of `quiet` modules. Refuses images
/// wider than [`MAX_PNG_PIXELS`] (a field error on `size`).
pub(crate) fn modules_png(
    dark: &[bool],
    width: usize,
    quiet: usize,
    module_px: u32,
) -> Result<Vec<u8>, BarcodeError> {
    let scale = module_px.max(1) as usize;
    let side = (width + 2 * quiet) * scale;
    if side > MAX_PNG_PIXELS as usize {
        return Err(BarcodeError::invalid(
            "size",
            format!("the image would be {side} pixels wide; at most {MAX_PNG_PIXELS}"),
        ));
    }
    let mut pixels = vec![255u8; side * side];
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (mx, my) = (i % width + quiet, i / width + quiet);
        for y in my * scale..(my + 1) * scale {
            pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
        }
    }
    encode_greyscale_png(&pixels, side)
}

/// A square 8-bit greyscale PNG of `side`×`side` pixels, row by row.
fn encode_greyscale_png(pixels: &[u8], side: usize) -> Result<Vec<u8>, BarcodeError> {
    let mut out = Vec::with_capacity(side * side / 8 + 128);
    let side32 = u32::try_from(side).map_err(|e| BarcodeError::Png(e.to_string()))?;
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| BarcodeError::Png(e.to_string()))?;
    w.write_image_data(pixels).map_err(|e| BarcodeError::Png(e.to_string()))?;
    w.finish().map_err(|e| BarcodeError::Png(e.to_string()))?;
    Ok(out)
}

/// The side of the PNG [`png`] makes, in pixels.
pub fn png_side(text: &str, ec: ErrorCorrection, module_px: u32) -> Result<u32, BarcodeError> {
    let modules = code(text, ec)?.width();
    Ok(((modules + 2 * QUIET_ZONE) * module_px.max(1) as usize) as u32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn decode_png(bytes: &[u8]) -> String {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn png_decodes_to_the_url_at_every_level() {
        let url = "https://prodlink.example/01/09506000134352/10/ABC%2F1/21/SN-9?17=261231";
        for ec in [ErrorCorrection::L, ErrorCorrection::M, ErrorCorrection::Q, ErrorCorrection::H] {
            let bytes = png(url, ec, 4).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            assert_eq!(decode_png(&bytes), url);
        }
    }

    #[test]
    fn svg_is_a_square_document_with_a_quiet_zone() {
        let s = svg("https://prodlink.example/01/09506000134352", ErrorCorrection::M, 256).unwrap();
        assert!(s.starts_with("<?xml") && s.contains("<svg") && s.ends_with("</svg>"), "{s}");
        let modules = QrCode::with_error_correction_level(
            b"https://prodlink.example/01/09506000134352",
            EcLevel::M,
        )
        .unwrap()
        .width();
        assert!(modules >= 21);
    }

    #[test]
    fn bad_options_are_field_errors() {
        assert_eq!(ErrorCorrection::parse("x").unwrap_err().field(), Some("error_correction"));
        assert_eq!(ErrorCorrection::parse("h").unwrap(), ErrorCorrection::H);
        let e =
            png("https://prodlink.example/01/09506000134352", ErrorCorrection::H, 200).unwrap_err();
        assert_eq!(e.field(), Some("size"));
    }
}
