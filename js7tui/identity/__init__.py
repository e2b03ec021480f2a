"""Identity: services, accounts, roles, passwords, sessions, and the login chain."""
