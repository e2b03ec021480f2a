-- Reading one commit's items with each Agent's state (GET /api/item/state?versionId=, what a
-- deploy and reconciliation ask) by index, not by scanning every version and attachment.
CREATE INDEX item_versions_version ON item_versions(version_id);
CREATE INDEX attachments_item ON attachments(item_type, path, version_id);
