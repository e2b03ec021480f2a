-- Refused security events are about 1% of the audit log and the entries most often looked for
-- ('js7tui audit list --refused', the viewer's 'refused' filter). Like the other filter indexes
-- it ends in created, so a page newest first walks it in order without sorting.
CREATE INDEX IF NOT EXISTS audit_outcome ON audit_log(outcome, created);
