//! Background jobs the server runs beside its routes: the custom-URL health check
//! ([`url_health`]), which `prodlink serve` spawns when it is configured.

pub mod url_health;
