//! MCP protocol revisions prodlink speaks, and what each allows. prodlink targets 2025-11-25
//! and negotiates down to the older revisions a client asks for (lifecycle, "Version
//! negotiation"); 2026-07-28 (the stateless redesign) is not offered yet.

use std::fmt;

/// A supported MCP protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05.
    V2024_11_05,
    /// 2025-03-26 (assumed when an HTTP request carries no `MCP-Protocol-Version`).
    V2025_03_26,
    /// 2025-06-18 (structured tool output, `title`).
    V2025_06_18,
    /// 2025-11-25, the newest revision with the initialize handshake.
    V2025_11_25,
}

impl ProtocolVersion {
    /// Newest first.
    pub const ALL: [Self; 4] =
        [Self::V2025_11_25, Self::V2025_06_18, Self::V2025_03_26, Self::V2024_11_05];
    /// What prodlink prefers.
    pub const LATEST: Self = Self::V2025_11_25;
    /// What an HTTP request without `MCP-Protocol-Version` is assumed to speak.
    pub const HTTP_DEFAULT: Self = Self::V2025_03_26;

    /// The date string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
        }
    }

    /// Parses a supported revision.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The revision to answer an `initialize` that asks for `requested`: the same one when
    /// supported, else the newest prodlink speaks (the client decides whether to continue).
    pub fn negotiate(requested: Option<&str>) -> Self {
        requested.and_then(Self::parse).unwrap_or(Self::LATEST)
    }

    /// `structuredContent`, `outputSchema` and tool `title` exist from 2025-06-18.
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }

    /// Tool `annotations` exist from 2025-03-26.
    pub fn has_annotations(self) -> bool {
        self >= Self::V2025_03_26
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(ProtocolVersion::negotiate(Some("2025-06-18")), ProtocolVersion::V2025_06_18);
        assert_eq!(ProtocolVersion::negotiate(Some("2026-07-28")), ProtocolVersion::V2025_11_25);
        assert_eq!(ProtocolVersion::negotiate(Some("1999-01-01")), ProtocolVersion::V2025_11_25);
        assert_eq!(ProtocolVersion::negotiate(None), ProtocolVersion::V2025_11_25);
        assert!(!ProtocolVersion::V2025_03_26.has_structured_output());
    }
}
