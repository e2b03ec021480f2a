"""House widgets: the list every section uses, modals, the session header."""
