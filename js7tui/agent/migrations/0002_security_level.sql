-- The highest security level this Agent ever ran with (issue 16): a configuration whose
-- bundle names a lower one is refused at start, so a console store lowered by hand cannot
-- lower what the Agent enforces.
CREATE TABLE trust_level (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    highest TEXT NOT NULL CHECK (highest IN ('LOW', 'MEDIUM', 'HIGH')),
    updated TEXT NOT NULL
);
CREATE TRIGGER trust_level_never_lowered
BEFORE UPDATE OF highest ON trust_level
WHEN (CASE NEW.highest WHEN 'LOW' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END)
   < (CASE OLD.highest WHEN 'LOW' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END)
BEGIN
    SELECT RAISE(ABORT, 'the security level is never lowered');
END;
CREATE TRIGGER trust_level_kept
BEFORE DELETE ON trust_level
BEGIN
    SELECT RAISE(ABORT, 'the security level is never lowered');
END;
