"""Settings of FIDO services (reference 3.4 "FIDO"), importable without ``fido2``."""

from __future__ import annotations

from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema

UV_CHOICES = ("DISCOURAGED", "PREFERRED", "REQUIRED")

FIDO_SCHEMA = SettingsSchema((
    SettingSpec("iamFidoRpId", Kind.TEXT, "the relying party id credentials are bound to "
                "(localhost: the key at the keyboard and the forwarded page share it)",
                default="localhost"),
    SettingSpec("iamFidoRpName", Kind.TEXT, "the name an authenticator shows", default="js7tui"),
    SettingSpec("iamFidoUserVerification", Kind.CHOICE, "user verification (PIN, biometrics)",
                default="PREFERRED", choices=UV_CHOICES),
    SettingSpec("iamFidoTimeout", Kind.DURATION, "how long a challenge may be answered",
                default=60, example="60s"),
    SettingSpec("iamFidoOrigins", Kind.LIST, "further origins allowed besides https://RPID and "
                "http://localhost[:port] (when the RP id is localhost)", default=[]),
))
