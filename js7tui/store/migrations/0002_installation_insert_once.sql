-- The installation row is inserted once. INSERT OR REPLACE deletes the old row without firing
-- the DELETE trigger (recursive_triggers is off), so a second INSERT is refused outright: the
-- security level cannot be lowered by replacing the row.
CREATE TRIGGER installation_inserted_once
BEFORE INSERT ON installation
WHEN EXISTS (SELECT 1 FROM installation)
BEGIN
    SELECT RAISE(ABORT, 'the installation record (security level) is written once, at init');
END;
