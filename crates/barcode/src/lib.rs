//! 2-D barcode images of product links, no I/O: QR codes of Digital Link URLs ([`qr`]) and
//! Data Matrix symbols of a URI or a GS1 element string ([`datamatrix`]), as SVG or greyscale
//! PNG. Used by the MCP `generate_qr_url` tool and the REST image endpoint.

pub mod datamatrix;
pub mod qr;

/// Why an image could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BarcodeError {
    /// A request value is not acceptable: `field` names it (`error_correction`, `content`,
    /// `size`, `url`, `element_string`).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// An element string value of Application Identifier `ai` cannot be carried.
    #[error("AI ({ai}): {message}")]
    Element { ai: String, message: String },
    /// The PNG encoder failed (not the caller's fault).
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

impl BarcodeError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }

    /// The request field at fault (`None` for an element or encoder error).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::Element { .. } | Self::Png(_) => None,
        }
    }
}
