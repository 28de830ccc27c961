-- Retailer ownership (issue 8): an organization manages the stores and offers of the retailers
-- it owns over REST (`POST /api/v1/stores/batch`, `POST /api/v1/offers/batch`, …). A retailer
-- name nobody has yet is created for the organization that first writes it; retailers made by
-- imports (and those of a deleted organization) belong to none and cannot be managed over REST.
ALTER TABLE retailers ADD COLUMN organization_id INTEGER REFERENCES organizations(id) ON DELETE SET NULL;
CREATE INDEX retailers_organization ON retailers(organization_id);
