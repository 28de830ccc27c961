-- Retailer ownership (issue 8): the same column and index as the SQLite migration
-- 0013_retailer_organization.sql. An organization manages the stores and offers of the
-- retailers it owns over REST; a retailer name nobody has yet is created for the organization
-- that first writes it; retailers made by imports (and those of a deleted organization) belong
-- to none and cannot be managed over REST.
ALTER TABLE retailers ADD COLUMN organization_id BIGINT REFERENCES organizations(id) ON DELETE SET NULL;
CREATE INDEX retailers_organization ON retailers(organization_id);
