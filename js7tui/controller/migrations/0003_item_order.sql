-- Anti-rollback (issue 16): per item path the newest versionCreated ever accepted (kept when
-- the item is deleted or its versions pruned); a new version must be created later than this,
-- else it is refused (VersionNotNewer). A path accepted only without versionCreated (items
-- signed outside js7tui, at LOW or MEDIUM) has no row.
CREATE TABLE item_order (
    item_type  TEXT NOT NULL,
    path       TEXT NOT NULL,
    newest     TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (item_type, path)
);
CREATE TRIGGER item_order_never_older
BEFORE UPDATE OF newest ON item_order
WHEN NEW.newest <= OLD.newest
BEGIN
    SELECT RAISE(ABORT, 'an item version is never older than the newest accepted');
END;
