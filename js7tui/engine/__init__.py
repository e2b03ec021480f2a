"""What the Controller and the Agent share: configuration, TLS, hop authentication, journal,
wire shapes and the aiohttp application base (only ``app`` imports aiohttp)."""
