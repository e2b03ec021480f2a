-- Inventory: folders, workflows and job resources (reference 4.3/4.4; issue 5).
-- Folders are rows of their own so that an empty folder exists and folder permissions can be
-- checked before any object is looked up. '/' always exists and can never be deleted.
CREATE TABLE inventory_folders (
    path    TEXT PRIMARY KEY,          -- '/', '/a', '/a/b' (normalised, no trailing slash)
    created TEXT NOT NULL
);
INSERT INTO inventory_folders (path, created) VALUES ('/', '1970-01-01T00:00:00.000000+00:00');

CREATE TRIGGER inventory_root_folder_kept
BEFORE DELETE ON inventory_folders WHEN OLD.path = '/'
BEGIN
    SELECT RAISE(ABORT, 'the root folder / cannot be deleted');
END;

-- One row per object. The engine sees names only, so a name is unique per object type across
-- all folders (as in JS7). ``content`` is the object's JSON without 'path' and 'versionId'
-- (the name is the path's last part; the version is set at deployment).
CREATE TABLE inventory_objects (
    id          INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL CHECK (object_type IN ('WORKFLOW', 'JOBRESOURCE')),
    name        TEXT NOT NULL,
    folder      TEXT NOT NULL REFERENCES inventory_folders(path)
                ON UPDATE CASCADE ON DELETE RESTRICT,
    content     TEXT NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    created     TEXT NOT NULL,
    modified    TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    UNIQUE (object_type, name)
);
CREATE INDEX inventory_objects_folder ON inventory_objects(folder, object_type, name);
