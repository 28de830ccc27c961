//! Data Matrix (ECC 200) images of a product's GS1 data: SVG (vector, for print) and PNG
//! (greyscale, for screens), square symbols with a 2-module quiet zone. Two contents, both GS1
//! usage: the Digital Link URI as plain data ([`Content::Uri`]), or the AI element string after
//! FNC1 in first position, a "GS1 DataMatrix" ([`Content::ElementString`]).

use datamatrix::{DataMatrix, DataMatrixBuilder, SymbolList};
use gs1::DigitalLink;

use crate::BarcodeError;
pub use crate::qr::MAX_PNG_PIXELS;

/// Quiet zone around the symbol, in modules (ISO/IEC 16022 asks for one at least).
pub const QUIET_ZONE: usize = 2;

/// The ASCII group separator that ends a variable-length element string followed by another.
pub const GS: u8 = 0x1D;

/// What the symbol carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Content {
    /// The GS1 Digital Link URI as plain data with no leading FNC1, as the GS1 General
    /// Specifications ask for a URI (scanners report `]d1` and the URL as it is).
    #[default]
    Uri,
    /// FNC1 in first position, then `01{gtin14}` and the qualifiers (`10{batch}`,
    /// `21{serial}`, …), a GS after each variable-length one that is not last.
    ElementString,
}

impl Content {
    /// Parses `uri` or `element_string` (any case).
    pub fn parse(s: &str) -> Result<Self, BarcodeError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "uri" => Ok(Self::Uri),
            "element_string" => Ok(Self::ElementString),
            other => Err(BarcodeError::invalid(
                "content",
                format!("{other:?} is not uri or element_string"),
            )),
        }
    }

    /// `uri` or `element_string`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uri => "uri",
            Self::ElementString => "element_string",
        }
    }
}

/// The data of one symbol: bytes, and whether FNC1 comes first (a GS1 DataMatrix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    bytes: Vec<u8>,
    gs1: bool,
}

impl Payload {
    /// A URI (or any printable ASCII text) as plain data.
    pub fn uri(uri: &str) -> Result<Self, BarcodeError> {
        if !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BarcodeError::invalid("url", "must be printable ASCII without spaces"));
        }
        Ok(Self { bytes: uri.as_bytes().to_vec(), gs1: false })
    }

    /// The GS1 element string of `link`: `01` and the GTIN-14, then its path qualifiers and
    /// data attributes in order, with a GS after each variable-length element that is not last.
    /// The `datamatrix` crate writes FNC1 only in first position, so a separator is the GS data
    /// character (codeword 30) rather than FNC1 (232); scanners transmit both as GS (`]d2`).
    pub fn element_string(link: &DigitalLink) -> Result<Self, BarcodeError> {
        let gtin = link.gtin();
        let mut elements: Vec<(&str, &str)> = vec![("01", gtin.as_str())];
        // Pushed one by one: the iterators' items differ in lifetimes.
        for (ai, value) in link.qualifiers() {
            elements.push((ai, value));
        }
        for (ai, value) in link.attributes() {
            elements.push((ai, value));
        }
        let mut bytes = Vec::with_capacity(64);
        for (i, (ai, value)) in elements.iter().enumerate() {
            if !value.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(BarcodeError::Element {
                    ai: (*ai).to_owned(),
                    message: "must be printable ASCII without spaces in an element string".into(),
                });
            }
            bytes.extend_from_slice(ai.as_bytes());
            bytes.extend_from_slice(value.as_bytes());
            if i + 1 < elements.len() && !predefined_length(ai) {
                bytes.push(GS);
            }
        }
        Ok(Self { bytes, gs1: true })
    }

    /// The data after the optional leading FNC1 (GS separators included).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the symbol starts with FNC1 (a GS1 DataMatrix of an element string).
    pub fn is_gs1(&self) -> bool {
        self.gs1
    }
}

/// The first two digits of the AIs whose element strings have a predefined length, so need no
/// separator after them (the GS1 General Specifications' table of predefined-length AIs).
const PREDEFINED_LENGTH: [&str; 22] = [
    "00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "31",
    "32", "33", "34", "35", "36", "41",
];

/// Whether an AI's element string has a predefined length.
fn predefined_length(ai: &str) -> bool {
    ai.get(..2).is_some_and(|p| PREDEFINED_LENGTH.contains(&p))
}

/// The symbol: the smallest square ECC 200 size that holds the payload.
fn code(payload: &Payload) -> Result<DataMatrix, BarcodeError> {
    DataMatrixBuilder::new()
        .with_symbol_list(SymbolList::default().enforce_square())
        .with_fnc1_start(payload.gs1)
        .with_macros(false)
        .encode(&payload.bytes)
        .map_err(|_| {
            // The one error for data that the square symbols list can hold (any byte can be
            // encoded, in Base 256 mode): too much of it.
            BarcodeError::invalid(
                if payload.gs1 { "element_string" } else { "url" },
                "is too long for a Data Matrix (the largest square symbol is 144×144 modules)",
            )
        })
}

/// The modules, row by row (`true` is dark), and the symbol's side in modules.
fn modules(payload: &Payload) -> Result<(Vec<bool>, usize), BarcodeError> {
    let bitmap = code(payload)?.bitmap();
    let side = bitmap.width();
    let mut bits = vec![false; side * bitmap.height()];
    for (x, y) in bitmap.pixels() {
        bits[y * side + x] = true;
    }
    Ok((bits, side))
}

/// The Data Matrix as an SVG document (`min_size` pixels wide at least, quiet zone included).
pub fn svg(payload: &Payload, min_size: u32) -> Result<String, BarcodeError> {
    use std::fmt::Write as _;
    let (bits, width) = modules(payload)?;
    let side = width + 2 * QUIET_ZONE;
    let side32 = u32::try_from(side).map_err(|e| BarcodeError::Png(e.to_string()))?;
    let px = min_size.div_ceil(side32).max(1) * side32;
    let mut out = format!(
        concat!(
            r#"<?xml version="1.0" standalone="yes"?>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{px}" height="{px}""#,
            r#" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
            r##"<rect x="0" y="0" width="{side}" height="{side}" fill="#ffffff"/>"##,
            r##"<path fill="#000000" d=""##,
        ),
        px = px,
        side = side,
    );
    // One rectangle per horizontal run of dark modules.
    for (y, row) in bits.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let run = row[x..].iter().take_while(|b| **b).count();
            let _ = write!(out, "M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
            x += run;
        }
    }
    out.push_str(r#""/></svg>"#);
    Ok(out)
}

/// The Data Matrix as a greyscale PNG of `module_px` pixels per module (quiet zone included).
pub fn png(payload: &Payload, module_px: u32) -> Result<Vec<u8>, BarcodeError> {
    let (bits, width) = modules(payload)?;
    crate::qr::modules_png(&bits, width, QUIET_ZONE, module_px)
}

/// The side of the PNG [`png`] makes, in pixels.
pub fn png_side(payload: &Payload, module_px: u32) -> Result<u32, BarcodeError> {
    let modules = code(payload)?.bitmap().width();
    let side = (modules + 2 * QUIET_ZONE) * module_px.max(1) as usize;
    u32::try_from(side).map_err(|e| BarcodeError::Png(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gs1::Gtin14;
    use rxing::common::HybridBinarizer;
    use rxing::{
        BinaryBitmap, Luma8LuminanceSource, RXingResultMetadataType, RXingResultMetadataValue,
        Reader as _,
    };

    /// Decodes a greyscale image with rxing's Data Matrix reader (the zxing port):
    /// the text and the symbology identifier (`]d1` plain, `]d2` FNC1 first).
    fn decode_pixels(pixels: Vec<u8>, w: u32, h: u32) -> (String, String) {
        let source = Luma8LuminanceSource::new(pixels, w, h).unwrap();
        let mut image = BinaryBitmap::new(HybridBinarizer::new(source));
        let result = rxing::datamatrix::DataMatrixReader.decode(&mut image).unwrap();
        let id = match result
            .getRXingResultMetadata()
            .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
        {
            Some(RXingResultMetadataValue::SymbologyIdentifier(id)) => id.clone(),
            other => panic!("no symbology identifier: {other:?}"),
        };
        (result.getText().to_owned(), id)
    }

    fn decode_png(bytes: &[u8]) -> (String, String) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        decode_pixels(buf, info.width, info.height)
    }

    fn link(batch: Option<&str>, serial: Option<&str>) -> DigitalLink {
        let mut b = DigitalLink::builder(Gtin14::parse("09506000134352").unwrap());
        if let Some(batch) = batch {
            b = b.batch(batch);
        }
        if let Some(serial) = serial {
            b = b.serial(serial);
        }
        b.build().unwrap()
    }

    #[test]
    fn uri_png_decodes_to_the_digital_link_without_fnc1() {
        let l = link(Some("ABC/1"), Some("SN-9"));
        let url = l.to_uri("https://prodlink.example");
        assert_eq!(url, "https://prodlink.example/01/09506000134352/10/ABC%2F1/21/SN-9");
        let p = Payload::uri(&url).unwrap();
        assert_eq!(p.bytes(), url.as_bytes());
        for module_px in [3, 8] {
            let bytes = png(&p, module_px).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            assert_eq!(decode_png(&bytes), (url.clone(), "]d1".to_owned()));
        }
    }

    #[test]
    fn element_string_png_decodes_with_fnc1_first_and_gs_separators() {
        for (batch, serial, want) in [
            (None, None, "0109506000134352"),
            (Some("ABC/1"), None, "010950600013435210ABC/1"),
            (None, Some("SN-9"), "010950600013435221SN-9"),
            (Some("ABC/1"), Some("SN-9"), "010950600013435210ABC/1\u{1d}21SN-9"),
        ] {
            let p = Payload::element_string(&link(batch, serial)).unwrap();
            assert!(p.is_gs1());
            assert_eq!(p.bytes(), want.as_bytes());
            let (text, id) = decode_png(&png(&p, 5).unwrap());
            assert_eq!(id, "]d2", "FNC1 in first position marks a GS1 DataMatrix");
            assert_eq!(text, want);
        }
    }

    #[test]
    fn fixed_length_elements_need_no_separator() {
        let l = DigitalLink::builder(Gtin14::parse("09506000134352").unwrap())
            .serial("7")
            .expiry("261231")
            .batch("B")
            .build()
            .unwrap();
        let p = Payload::element_string(&l).unwrap();
        assert_eq!(p.bytes(), b"010950600013435210B\x1d217\x1d17261231");
        assert!(predefined_length("01") && predefined_length("17") && predefined_length("3103"));
        assert!(!predefined_length("10") && !predefined_length("21") && !predefined_length("235"));
    }

    /// Reads the SVG back: its viewBox (symbol plus quiet zone) and the dark modules its path
    /// draws, rasterised at one pixel per module for the decoder.
    fn svg_modules(s: &str) -> (usize, Vec<u8>) {
        let view_box = s.split("viewBox=\"0 0 ").nth(1).unwrap().split('"').next().unwrap();
        let side: usize = view_box.split(' ').next().unwrap().parse().unwrap();
        let d = s.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut pixels = vec![255u8; side * side];
        for rect in d.split('M').filter(|r| !r.is_empty()) {
            // "{x} {y}h{run}v1h-{run}z"
            let (xy, rest) = rect.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let run: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            assert_eq!(rest, format!("{run}v1h-{run}z"));
            pixels[y * side + x..y * side + x + run].fill(0);
        }
        (side, pixels)
    }

    #[test]
    fn svg_is_a_square_document_with_the_symbol_and_a_quiet_zone() {
        let url = "https://prodlink.example/01/09506000134352";
        let p = Payload::uri(url).unwrap();
        let s = svg(&p, 256).unwrap();
        assert!(s.starts_with("<?xml") && s.ends_with("</svg>"), "{s}");
        assert_eq!(s.matches("<svg ").count(), 1);
        assert_eq!(s.matches('<').count(), 5, "xml declaration, svg, rect, path, /svg: {s}");
        assert_eq!(s.matches("/>").count(), 2, "{s}");
        // The viewBox is the symbol plus the quiet zone on each side.
        let symbol = code(&p).unwrap().bitmap().width();
        let (side, pixels) = svg_modules(&s);
        assert_eq!(side, symbol + 2 * QUIET_ZONE);
        assert!(s.contains(&format!("width=\"{}\"", 256usize.div_ceil(side) * side)), "{s}");
        // The quiet zone is blank.
        for i in 0..side {
            for (x, y) in [(i, 0), (i, 1), (0, i), (1, i), (i, side - 1), (side - 1, i)] {
                assert_eq!(pixels[y * side + x], 255, "({x}, {y})");
            }
        }
        // Scaled up 4× (decoders want more than one pixel per module), it decodes.
        let scale = 4;
        let big = side * scale;
        let mut up = vec![0u8; big * big];
        for (i, px) in up.iter_mut().enumerate() {
            *px = pixels[(i / big / scale) * side + (i % big) / scale];
        }
        let (text, id) = decode_pixels(up, big as u32, big as u32);
        assert_eq!((text.as_str(), id.as_str()), (url, "]d1"));
    }

    #[test]
    fn bad_options_are_field_errors() {
        assert_eq!(Content::parse("x").unwrap_err().field(), Some("content"));
        assert_eq!(Content::parse(" Element_String").unwrap(), Content::ElementString);
        assert_eq!(Content::parse("URI").unwrap(), Content::Uri);
        let p = Payload::uri("https://prodlink.example/01/09506000134352").unwrap();
        let e = png(&p, 200).unwrap_err();
        assert_eq!(e.field(), Some("size"));
        assert_eq!(Payload::uri("a b").unwrap_err().field(), Some("url"));
        let e = code(&Payload::uri(&"9".repeat(4000)).unwrap()).unwrap_err();
        assert_eq!(e.field(), Some("url"));
        assert!(e.to_string().contains("Data Matrix"), "{e}");
    }
}
