//! Geographic math for availability and proximity: great-circle (haversine) distance on the
//! WGS 84 mean radius, and the bounding box that pre-filters candidates in the store.

/// Mean Earth radius in kilometres (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, −90..=90.
    pub lat: f64,
    /// Longitude, −180..=180.
    pub lng: f64,
}

impl Point {
    /// Validates the coordinate ranges; errors name the bad coordinate.
    pub fn new(lat: f64, lng: f64) -> Result<Self, (&'static str, String)> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(("lat", format!("latitude must be between -90 and 90, got {lat}")));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(("lng", format!("longitude must be between -180 and 180, got {lng}")));
        }
        Ok(Self { lat, lng })
    }
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: Point, b: Point) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A latitude/longitude box containing every point within a radius of a centre. Boxes that
/// cross the antimeridian are split into two longitude ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Longitude ranges (one, or two across the antimeridian).
    pub lng_ranges: [(f64, f64); 2],
}

impl BoundingBox {
    /// The smallest box containing the circle of `radius_km` around `center`.
    pub fn around(center: Point, radius_km: f64) -> Self {
        let dlat = (radius_km / EARTH_RADIUS_KM).to_degrees();
        let min_lat = (center.lat - dlat).max(-90.0);
        let max_lat = (center.lat + dlat).min(90.0);
        // Near a pole, or for huge radii, every longitude qualifies.
        let full = [(-180.0, 180.0), (-180.0, 180.0)];
        if max_lat >= 90.0 || min_lat <= -90.0 {
            return Self { min_lat, max_lat, lng_ranges: full };
        }
        let r = radius_km / EARTH_RADIUS_KM;
        let s = r.sin() / center.lat.to_radians().cos();
        if s >= 1.0 {
            return Self { min_lat, max_lat, lng_ranges: full };
        }
        let dlng = s.asin().to_degrees();
        let (lo, hi) = (center.lng - dlng, center.lng + dlng);
        let lng_ranges = if lo < -180.0 {
            [(lo + 360.0, 180.0), (-180.0, hi)]
        } else if hi > 180.0 {
            [(lo, 180.0), (-180.0, hi - 360.0)]
        } else {
            [(lo, hi), (lo, hi)]
        };
        Self { min_lat, max_lat, lng_ranges }
    }

    /// Whether the box contains a point.
    pub fn contains(&self, p: Point) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && self.lng_ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&p.lng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Bentonville AR → Rogers AR, about 15.4 km.
        let a = Point::new(36.350885, -94.239816).unwrap();
        let b = Point::new(36.342235, -94.07141).unwrap();
        let d = distance_km(a, b);
        assert!((d - 15.1).abs() < 0.5, "{d}");
        // New York → London ≈ 5570 km.
        let ny = Point::new(40.7128, -74.0060).unwrap();
        let ld = Point::new(51.5074, -0.1278).unwrap();
        assert!((distance_km(ny, ld) - 5570.0).abs() < 10.0);
        assert_eq!(distance_km(ny, ny), 0.0);
    }

    #[test]
    fn box_contains_every_point_of_the_circle() {
        for &(lat, lng) in &[(0.0, 0.0), (45.0, 179.9), (-60.0, -179.5), (89.0, 10.0)] {
            let c = Point::new(lat, lng).unwrap();
            let bb = BoundingBox::around(c, 50.0);
            for k in 0..360 {
                let bearing = f64::from(k).to_radians();
                // destination point 49.9 km away on that bearing
                let d = 49.9 / EARTH_RADIUS_KM;
                let la = c.lat.to_radians();
                let lat2 = (la.sin() * d.cos() + la.cos() * d.sin() * bearing.cos()).asin();
                let lng2 = c.lng.to_radians()
                    + (bearing.sin() * d.sin() * la.cos()).atan2(d.cos() - la.sin() * lat2.sin());
                let mut lng2 = lng2.to_degrees();
                if lng2 > 180.0 {
                    lng2 -= 360.0;
                } else if lng2 < -180.0 {
                    lng2 += 360.0;
                }
                let p = Point::new(lat2.to_degrees(), lng2).unwrap();
                assert!(bb.contains(p), "{c:?} {p:?} {bb:?}");
            }
        }
    }

    #[test]
    fn bad_coordinates_name_the_field() {
        assert_eq!(Point::new(91.0, 0.0).unwrap_err().0, "lat");
        assert_eq!(Point::new(0.0, f64::NAN).unwrap_err().0, "lng");
    }
}
