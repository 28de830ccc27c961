//! `generate_qr_url` (docs/spec.md §3): the GS1 Digital Link URI for a GTIN with optional batch/lot
//! (AI 10) and serial (AI 21) on this site, validated by the `gs1` crate so an invalid qualifier
//! is an error naming the field, never a mangled URL. Authorization and quota are the
//! caller's business (the surfaces check them before calling).

use gs1::DigitalLink;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ServiceError;
use crate::service::{Catalog, parse_gtin_field};

/// `generate_qr_url` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct QrUrlOutput {
    /// The GS1 Digital Link URI to encode in a QR code or Data Matrix.
    pub qr_url: String,
    /// The GTIN-14 in the URI.
    pub gtin14: String,
    /// Host (and port) of the URI, from the site URL.
    pub host: String,
}

/// The host (with port) of an absolute http(s) URL.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

pub use crate::error::field_of_ai;

/// The Digital Link of a GTIN with optional batch/lot and serial, each checked by the `gs1`
/// crate; an invalid one is an error naming its field.
pub fn digital_link(
    gtin: &str,
    batch: Option<&str>,
    serial: Option<&str>,
) -> Result<DigitalLink, ServiceError> {
    let gtin = parse_gtin_field("gtin", gtin)?;
    let mut b = DigitalLink::builder(gtin);
    if let Some(batch) = batch {
        b = b.batch(batch);
    }
    if let Some(serial) = serial {
        b = b.serial(serial);
    }
    b.build().map_err(|e| ServiceError::invalid(field_of_ai(e.ai()), e.to_string()))
}

impl Catalog {
    /// Builds the Digital Link URI.
    pub fn generate_qr_url(
        &self,
        gtin: &str,
        batch: Option<&str>,
        serial: Option<&str>,
    ) -> Result<QrUrlOutput, ServiceError> {
        let link = digital_link(gtin, batch, serial)?;
        Ok(self.qr_url_output(&link))
    }

    /// The [`QrUrlOutput`] of a link on this site.
    pub fn qr_url_output(&self, link: &DigitalLink) -> QrUrlOutput {
        QrUrlOutput {
            host: url_host(self.site_url()).to_owned(),
            gtin14: link.gtin().as_str().to_owned(),
            qr_url: link.to_uri(self.site_url()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(url_host("https://www.closient.com"), "www.closient.com");
        assert_eq!(url_host("http://localhost:8080/stem"), "localhost:8080");
    }
}
