-- Anti-rollback (issue 16): each signed item carries versionCreated, inside the signed bytes;
-- the history keeps it per object, to rebuild the item's exact bytes (deployment status) and
-- to refuse an import-deploy of a version older than the one deployed ('' before this).
ALTER TABLE deployment_objects ADD COLUMN version_created TEXT NOT NULL DEFAULT '';
