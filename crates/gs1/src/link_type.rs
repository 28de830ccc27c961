//! GS1 Web Vocabulary link types, v1.16 (docs/spec.md §1 "Link types"; GS1-Conformant Resolver 1.2
//! clause 2.14; the list and spellings are the Web Vocabulary's).
//!
//! Owns [`LinkType`]: one variant per `gs1:linkType` sub-property of WebVoc 1.16, with the
//! `gs1:restricted` annotation. Accepted spellings (Resolver 2.14 treats them as the same):
//! the CURIE `gs1:pip`, the URIs `https://ref.gs1.org/voc/pip`, `https://gs1.org/voc/pip`,
//! `https://www.gs1.org/voc/pip` (also with `http://`), and the bare term `pip`. Terms match
//! case-insensitively and come back in canonical camelCase. The deprecated
//! `productSustainabilityInfo` is read as [`LinkType::SustainabilityInfo`] and never emitted.
//! Percent-decoding (`gs1%3Apip`) is the caller's job: query values arrive decoded from
//! [`crate::digital_link::ParsedDigitalLink::other_params`].
//!
//! Output: [`LinkType::curie`] (`gs1:pip`, also `Display` and serde) and [`LinkType::uri`]
//! (`https://ref.gs1.org/voc/pip`, the form linkset keys need).

use std::fmt;
use std::str::FromStr;

/// Namespace of the GS1 Web Vocabulary.
pub const GS1_VOC: &str = "https://ref.gs1.org/voc/";

/// Namespaces accepted on input, all equivalent to [`GS1_VOC`] (compared case-insensitively).
const NAMESPACES: [&str; 6] = [
    "https://ref.gs1.org/voc/",
    "http://ref.gs1.org/voc/",
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "http://www.gs1.org/voc/",
];

/// The CURIE prefix of the GS1 Web Vocabulary.
const PREFIX: &str = "gs1:";

/// Deprecated term accepted as an alias of `sustainabilityInfo`.
const DEPRECATED_SUSTAINABILITY: &str = "productSustainabilityInfo";

macro_rules! link_types {
    ($( $variant:ident => $term:literal, $restricted:literal, $desc:literal; )*) => {
        /// A GS1 Web Vocabulary (v1.16) link type. See the module docs for accepted spellings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum LinkType {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        impl LinkType {
            /// Every link type of WebVoc v1.16 (the deprecated alias excluded), in the
            /// vocabulary's order.
            pub const ALL: &'static [LinkType] = &[$(LinkType::$variant,)*];

            /// The canonical camelCase term, e.g. `"pip"`, `"defaultLink"`.
            pub const fn term(self) -> &'static str {
                match self { $(LinkType::$variant => $term,)* }
            }

            /// Whether WebVoc marks it `gs1:restricted` (resolver-internal types, and the
            /// healthcare types for validated content).
            pub const fn is_restricted(self) -> bool {
                match self { $(LinkType::$variant => $restricted,)* }
            }

            /// A one-line English description, for pages and tool output.
            pub const fn description(self) -> &'static str {
                match self { $(LinkType::$variant => $desc,)* }
            }
        }
    };
}

link_types! {
    // Resolver-restricted.
    DefaultLink => "defaultLink", true, "The single default target of a resolver entry.";
    DefaultLinkMulti => "defaultLinkMulti", true, "One of a set of default targets, chosen by the request's language, media type or context.";
    HandledBy => "handledBy", true, "Another resolver that handles requests for this pattern.";
    // Product and consumer.
    Pip => "pip", false, "Product information page, aimed at consumers.";
    ActivityIdeas => "activityIdeas", false, "Ideas for using the product or for activities, especially with children.";
    AllergenInfo => "allergenInfo", false, "Allergen information.";
    AppDownload => "appDownload", false, "A related mobile app.";
    BackgroundInfo => "backgroundInfo", false, "Creative, background or thought-leadership information from the owner.";
    CertificationInfo => "certificationInfo", false, "Certification information.";
    ConsumerHandlingStorageInfo => "consumerHandlingStorageInfo", false, "Safe handling and storage.";
    Dpp => "dpp", false, "Digital Product Passport.";
    Faqs => "faqs", false, "Frequently asked questions.";
    HasRetailers => "hasRetailers", false, "A list of retailers.";
    IngredientsInfo => "ingredientsInfo", false, "Ingredients.";
    Instructions => "instructions", false, "Assembly or usage instructions (not regulated healthcare content).";
    LeaveReview => "leaveReview", false, "A place to add a review.";
    LoyaltyProgram => "loyaltyProgram", false, "A loyalty programme or registration.";
    NutritionalInfo => "nutritionalInfo", false, "Nutrition facts.";
    Promotion => "promotion", false, "A promotion.";
    PurchaseSuppliesOrAccessories => "purchaseSuppliesOrAccessories", false, "Where to buy supplies or accessories.";
    QuickStartGuide => "quickStartGuide", false, "Key features for getting started.";
    RecallStatus => "recallStatus", false, "Whether the product is recalled (typically an API).";
    RecipeInfo => "recipeInfo", false, "A recipe website.";
    RegisterProduct => "registerProduct", false, "Register ownership or warranty.";
    RelatedImage => "relatedImage", false, "An image of or related to the entity.";
    RelatedVideo => "relatedVideo", false, "A video about or related to the entity.";
    ReportFound => "reportFound", false, "Report a found item.";
    Review => "review", false, "Reviews.";
    SafetyInfo => "safetyInfo", false, "Safety information.";
    ServiceInfo => "serviceInfo", false, "Service or maintenance instructions.";
    SmartLabel => "smartLabel", false, "A SmartLabel page.";
    SocialMedia => "socialMedia", false, "A social media channel.";
    Subscribe => "subscribe", false, "A subscription form.";
    Support => "support", false, "Helpdesk, chat or email support.";
    SustainabilityInfo => "sustainabilityInfo", false, "Sustainability and recycling information.";
    Traceability => "traceability", false, "Track and trace information.";
    Tutorial => "tutorial", false, "Tutorials, classes and how-to videos.";
    WhatsInTheBox => "whatsInTheBox", false, "The contents of a package.";
    // Healthcare, restricted to validated healthcare content.
    Epil => "epil", true, "Electronic patient information leaflet.";
    Smpc => "smpc", true, "Summary of Product Characteristics, for healthcare professionals.";
    Eifu => "eifu", true, "Electronic instructions for use (medical devices).";
    // Healthcare, not restricted.
    BrandHomepageClinical => "brandHomepageClinical", false, "Brand presence for clinicians.";
    BrandHomepagePatient => "brandHomepagePatient", false, "Brand presence for patients.";
    // B2B and data.
    Epcis => "epcis", false, "An EPCIS event repository.";
    Jws => "jws", false, "A JSON Web Signature.";
    MasterData => "masterData", false, "Structured master data (B2B).";
    VerificationService => "verificationService", false, "A GS1 Lightweight Messaging verification service.";
    RegistryEntry => "registryEntry", false, "An entry in a register, such as a business register.";
    // Organisation and location.
    Homepage => "homepage", false, "An organisation's or brand's homepage.";
    CareersInfo => "careersInfo", false, "Jobs and careers.";
    EventsInfo => "eventsInfo", false, "Events.";
    LocationInfo => "locationInfo", false, "Map and directions.";
    LogisticsInfo => "logisticsInfo", false, "B2B logistics information for a location.";
    MenuInfo => "menuInfo", false, "Menus and offerings.";
    OpeningHoursInfo => "openingHoursInfo", false, "Opening hours.";
    PaymentLink => "paymentLink", false, "Make a payment.";
    ScheduleTime => "scheduleTime", false, "Appointments and reservations.";
    StatisticInfo => "statisticInfo", false, "Statistics.";
    UserAgreement => "userAgreement", false, "A waiver or agreement.";
}

impl LinkType {
    /// `gs1:pip`, the usual default link type.
    pub const PIP: Self = Self::Pip;
    /// `gs1:defaultLink`.
    pub const DEFAULT_LINK: Self = Self::DefaultLink;
    /// `gs1:defaultLinkMulti`.
    pub const DEFAULT_LINK_MULTI: Self = Self::DefaultLinkMulti;

    /// Every link type of WebVoc v1.16 (same as [`LinkType::ALL`]).
    pub fn all() -> &'static [LinkType] {
        Self::ALL
    }

    /// Parses a link type: `gs1:term`, a GS1 vocabulary URI, or a bare term; see the module
    /// docs. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`LinkTypeError`] when empty, in another namespace, or not a v1.16 term.
    pub fn parse(input: &str) -> Result<Self, LinkTypeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(LinkTypeError::Empty);
        }
        let term = if let Some(term) = strip_prefix_ignore_case(s, PREFIX) {
            term
        } else if let Some(term) = NAMESPACES.iter().find_map(|ns| strip_prefix_ignore_case(s, ns))
        {
            term
        } else if s.contains(':') {
            return Err(LinkTypeError::NotGs1 { input: shorten(s) });
        } else {
            s
        };
        if term.eq_ignore_ascii_case(DEPRECATED_SUSTAINABILITY) {
            return Ok(Self::SustainabilityInfo);
        }
        Self::ALL
            .iter()
            .copied()
            .find(|lt| lt.term().eq_ignore_ascii_case(term))
            .ok_or_else(|| LinkTypeError::Unknown { input: shorten(s) })
    }

    /// The CURIE, e.g. `gs1:pip`.
    pub fn curie(self) -> String {
        format!("{PREFIX}{}", self.term())
    }

    /// The full URI, e.g. `https://ref.gs1.org/voc/pip` (linkset relation keys use it).
    pub fn uri(self) -> String {
        format!("{GS1_VOC}{}", self.term())
    }
}

/// `s` without `prefix`, compared ASCII-case-insensitively.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// Input echoed in an error, cut to a readable length.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

/// Why a string is not a GS1 link type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTypeError {
    /// Nothing but whitespace.
    Empty,
    /// A CURIE or URI outside the GS1 vocabulary (e.g. `schema:url`).
    NotGs1 {
        /// The input (shortened if long).
        input: String,
    },
    /// In the GS1 namespace (or bare) but not a v1.16 link type.
    Unknown {
        /// The input (shortened if long).
        input: String,
    },
}

impl fmt::Display for LinkTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => {
                f.write_str("link type is empty; expected a GS1 link type such as gs1:pip")
            }
            Self::NotGs1 { input } => write!(
                f,
                "link type {input:?} is not in the GS1 Web Vocabulary; use gs1:{{term}} or \
                 https://ref.gs1.org/voc/{{term}}, e.g. gs1:pip"
            ),
            Self::Unknown { input } => write!(
                f,
                "{input:?} is not a GS1 Web Vocabulary (v1.16) link type; examples: gs1:pip, \
                 gs1:ingredientsInfo, gs1:sustainabilityInfo"
            ),
        }
    }
}

impl std::error::Error for LinkTypeError {}

impl fmt::Display for LinkType {
    /// Writes the CURIE (`gs1:pip`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        f.write_str(self.term())
    }
}

impl FromStr for LinkType {
    type Err = LinkTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for LinkType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LinkType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = LinkType;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a GS1 link type such as \"gs1:pip\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LinkType, E> {
                LinkType::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    //! The WebVoc v1.16 list and spellings.

    use super::*;

    #[test]
    fn has_the_59_terms_of_webvoc_1_16() {
        // 60 sub-properties of gs1:linkType minus the deprecated productSustainabilityInfo.
        assert_eq!(LinkType::all().len(), 59);
        let mut terms: Vec<&str> = LinkType::all().iter().map(|l| l.term()).collect();
        terms.sort_unstable();
        terms.dedup();
        assert_eq!(terms.len(), 59, "terms are unique");
        let restricted: Vec<&str> =
            LinkType::all().iter().filter(|l| l.is_restricted()).map(|l| l.term()).collect();
        assert_eq!(
            restricted,
            ["defaultLink", "defaultLinkMulti", "handledBy", "epil", "smpc", "eifu"]
        );
        for lt in LinkType::all() {
            assert_eq!(LinkType::parse(lt.term()), Ok(*lt));
            assert_eq!(LinkType::parse(&lt.curie()), Ok(*lt));
            assert_eq!(LinkType::parse(&lt.uri()), Ok(*lt));
            assert!(!lt.description().is_empty());
        }
    }

    #[test]
    fn accepted_spellings() {
        for s in [
            "gs1:pip",
            "GS1:pip",
            "gs1:PIP",
            "pip",
            " gs1:pip ",
            "https://ref.gs1.org/voc/pip",
            "http://ref.gs1.org/voc/pip",
            "https://gs1.org/voc/pip",
            "http://gs1.org/voc/pip",
            "https://www.gs1.org/voc/pip",
            "http://www.gs1.org/voc/pip",
            "HTTPS://REF.GS1.ORG/voc/Pip",
        ] {
            assert_eq!(LinkType::parse(s), Ok(LinkType::PIP), "{s}");
        }
        assert_eq!(LinkType::parse("gs1:defaultlink"), Ok(LinkType::DEFAULT_LINK));
        assert_eq!(
            LinkType::parse("gs1:ingredientsinfo").map(LinkType::term),
            Ok("ingredientsInfo")
        );
        assert_eq!(LinkType::parse("gs1:epil").map(LinkType::is_restricted), Ok(true));
        assert_eq!(
            LinkType::parse("gs1:brandHomepageClinical").map(LinkType::is_restricted),
            Ok(false)
        );
    }

    #[test]
    fn deprecated_alias_reads_as_sustainability_info() {
        let lt = LinkType::parse("gs1:productSustainabilityInfo").unwrap();
        assert_eq!(lt, LinkType::SustainabilityInfo);
        assert_eq!(lt.curie(), "gs1:sustainabilityInfo");
        assert!(LinkType::all().iter().all(|l| l.term() != "productSustainabilityInfo"));
    }

    #[test]
    fn rejects() {
        assert_eq!(LinkType::parse("  "), Err(LinkTypeError::Empty));
        assert_eq!(
            LinkType::parse("gs1:nosuchlt"),
            Err(LinkTypeError::Unknown { input: "gs1:nosuchlt".into() })
        );
        assert!(matches!(LinkType::parse("schema:url"), Err(LinkTypeError::NotGs1 { .. })));
        assert!(matches!(
            LinkType::parse("https://example.com/voc/pip"),
            Err(LinkTypeError::NotGs1 { .. })
        ));
        // URL-encoded input is the caller's to decode.
        assert!(matches!(LinkType::parse("gs1%3Apip"), Err(LinkTypeError::Unknown { .. })));
        // Not in v1.16, although Resolver CE's sample lists them.
        for s in ["gs1:recyclingInfo", "gs1:productPassport", "gs1:linkset", "gs1:all"] {
            assert!(LinkType::parse(s).is_err(), "{s}");
        }
        assert!(LinkType::parse("https://ref.gs1.org/voc/pip/").is_err());
        assert!(LinkType::parse("gs1:").is_err());
        assert_eq!(
            LinkType::parse("gs1:nosuchlt").unwrap_err().to_string(),
            "\"gs1:nosuchlt\" is not a GS1 Web Vocabulary (v1.16) link type; examples: gs1:pip, \
             gs1:ingredientsInfo, gs1:sustainabilityInfo"
        );
        assert_eq!(
            LinkType::parse("schema:url").unwrap_err().to_string(),
            "link type \"schema:url\" is not in the GS1 Web Vocabulary; use gs1:{term} or \
             https://ref.gs1.org/voc/{term}, e.g. gs1:pip"
        );
        let long = format!("gs1:{}", "x".repeat(200));
        let LinkTypeError::Unknown { input } = LinkType::parse(&long).unwrap_err() else {
            panic!("expected Unknown");
        };
        assert_eq!(input.chars().count(), 81);
    }

    #[test]
    fn output_forms_and_serde() {
        assert_eq!(LinkType::PIP.curie(), "gs1:pip");
        assert_eq!(LinkType::PIP.uri(), "https://ref.gs1.org/voc/pip");
        assert_eq!(LinkType::DEFAULT_LINK.to_string(), "gs1:defaultLink");
        assert_eq!("gs1:faqs".parse::<LinkType>(), Ok(LinkType::Faqs));
        assert_eq!(
            serde_json::to_string(&LinkType::WhatsInTheBox).unwrap(),
            "\"gs1:whatsInTheBox\""
        );
        let lt: LinkType = serde_json::from_str("\"https://gs1.org/voc/allergenInfo\"").unwrap();
        assert_eq!(lt, LinkType::AllergenInfo);
        assert!(serde_json::from_str::<LinkType>("\"gs1:nope\"").is_err());
    }
}
