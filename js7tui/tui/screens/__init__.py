"""One module per section screen, plus the login and password screens."""
