-- Sessions that an external provider backs (OIDC tokens, a Vault token) keep that provider's
-- state with them, sealed with the home's secret key, and end when the provider's token does
-- unless it is refreshed first.
ALTER TABLE sessions ADD COLUMN provider_state TEXT NOT NULL DEFAULT '{}';  -- {service: sealed}
ALTER TABLE sessions ADD COLUMN valid_until TEXT;                          -- NULL: no limit
