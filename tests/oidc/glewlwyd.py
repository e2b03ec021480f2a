"""A private glewlwyd (Debian's OpenID provider) for the OIDC tests, run as a real server.

It listens on a free 127.0.0.1 port with TLS (a throw-away CA and server certificate), keeps its
state in a fresh SQLite file, and is configured through its own admin REST API the way an
administrator would: an ``openid``/``scheduler`` scope, OIDC plugins with the device and password
grants (``oidc``: 10-minute device codes; ``oidcshort``: 2-second codes, for expiry), confidential
clients ``console`` and ``other``, and users whose ``groups`` property is issued as a claim.

Notes from glewlwyd 2.7.5 (its source, ``src/plugin/protocol_oidc.c``, and trying it):
- a confidential client needs ``token_endpoint_auth_method`` or every token call is refused;
- ``allow-non-oidc`` must be true when the plugin is created, or the password grant is refused;
- a user property such as ``groups`` must be declared in the user module's ``data-format``;
- its device page (what a browser shows) has no "deny" button; a refused authorization is the
  state ``gpoda_status = 3`` of its store, which its token endpoint answers with
  ``access_denied``. :meth:`Glewlwyd.deny` writes that state, as glewlwyd would.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# The LDAP fixture's helpers: a free loopback port, and a CA with a server certificate for
# localhost/127.0.0.1 (plus an unrelated CA) written as ca.pem, server.pem, key.pem.
from tests.ldap_server import free_port, write_certificates
from tests.processes import stop_process
from tests.system_tools import missing_message

SCHEMA_SQL = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")
ADMIN = ("admin", "password")        # created by glewlwyd's schema script
SCOPE = "scheduler"
USERS = {
    "alice": {"password": "alice-password", "groups": ["scheduler-admins", "ops"],
              "email": "alice@example.test"},
    "bob": {"password": "bob-password", "groups": ["visitors"], "email": "bob@example.test"},
    "carol": {"password": "carol-password", "groups": ["ops"], "email": "carol@example.test"},
}
CLIENTS = {"console": "console-secret-1234", "other": "other-secret-5678"}
PLUGINS = {"oidc": 600, "oidcshort": 2}     # plugin name -> device code lifetime (s)

CONFIG = """\
port={port}
bind_address="127.0.0.1"
external_url="{base}"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
allow_origin="*"
log_mode="file"
log_level="{log_level}"
log_file="{log}"
cookie_domain="127.0.0.1"
cookie_secure=1
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
add_x_frame_option_header_deny=true
max_post_size=1048576
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
user_middleware_module_path="/usr/lib/glewlwyd/user_middleware"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
use_secure_connection=true
secure_connection_key_file="{key}"
secure_connection_pem_file="{cert}"
hash_algorithm="SHA512"
database =
{{
  type = "sqlite3"
  path = "{db}"
}};
"""


def signing_key() -> tuple[str, str]:
    """(private PKCS8 PEM, public SPKI PEM) of a fresh P-256 key for a plugin's tokens."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


@dataclass
class Glewlwyd:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.certificates = write_certificates(self.directory)

    @property
    def ca_file(self) -> Path:
        return self.certificates["ca"]

    @property
    def other_ca_file(self) -> Path:
        """A CA that issued nothing here: a client trusting only it refuses glewlwyd."""
        return self.certificates["other_ca"]

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    def issuer(self, plugin: str = "oidc") -> str:
        return f"{self.api}/{plugin}"

    @property
    def db(self) -> Path:
        return self.directory / "glewlwyd.db"

    @property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, verify=self.tls, timeout=10)

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        binary = shutil.which("glewlwyd")
        if binary is None or not SCHEMA_SQL.exists():
            pytest.fail(missing_message("glewlwyd"), pytrace=False)
        cert, key = self.directory / "server.pem", self.directory / "key.pem"
        with sqlite3.connect(self.db) as conn:
            conn.executescript(SCHEMA_SQL.read_text())
            row = conn.execute("SELECT gumi_parameters FROM g_user_module_instance "
                               "WHERE gumi_name = 'database'").fetchone()
            parameters = json.loads(row[0])
            parameters["data-format"]["groups"] = {"multiple": True, "read": True,
                                                   "write": True, "profile-read": True,
                                                   "profile-write": False}
            conn.execute("UPDATE g_user_module_instance SET gumi_parameters = ? "
                         "WHERE gumi_name = 'database'", (json.dumps(parameters),))
        config = self.directory / "glewlwyd.conf"
        config.write_text(CONFIG.format(
            port=self.port, base=self.base, log=self.directory / "glewlwyd.log",
            log_level=os.environ.get("GLEWLWYD_LOG_LEVEL", "WARNING"), key=key, cert=cert,
            db=self.db))
        out = (self.directory / "glewlwyd.out").open("wb")
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"glewlwyd exited ({self.process.returncode}); see "
                                   f"{self.directory}/glewlwyd.out")
            try:
                httpx.get(f"{self.base}/config", verify=self.tls, timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError("glewlwyd did not answer within 15 s")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)

    # -- configuration through the admin API ----------------------------------------------
    @contextmanager
    def admin(self) -> Iterator[httpx.Client]:
        with self.client() as client:
            client.post("/auth/", json={"username": ADMIN[0], "password": ADMIN[1]}
                        ).raise_for_status()
            yield client

    def configure(self) -> None:
        with self.admin() as admin:
            admin.post("/scope/", json={"name": SCOPE, "display_name": SCOPE,
                                        "description": "the scheduler console",
                                        "password_required": False, "scheme": {}}
                       ).raise_for_status()
            shared = signing_key()      # both issuers sign with one key: iss must tell them apart
            for plugin, lifetime in PLUGINS.items():
                self.keys[plugin] = shared
                self.add_plugin(admin, plugin, device_lifetime=lifetime)
            for name, user in USERS.items():
                admin.post("/user/", json={
                    "username": name, "name": name.title(), "email": user["email"],
                    "password": user["password"], "groups": user["groups"],
                    "scope": ["openid", SCOPE], "enabled": True}).raise_for_status()
            for client_id, secret in CLIENTS.items():
                admin.post("/client/", json={
                    "client_id": client_id, "name": client_id, "confidential": True,
                    "password": secret, "redirect_uri": ["https://127.0.0.1/unused"],
                    "authorization_type": ["password", "device_authorization", "refresh_token",
                                           "client_credentials"],
                    "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
                    "scope": [], "enabled": True}).raise_for_status()

    def add_plugin(self, admin: httpx.Client, plugin: str, *, device_lifetime: int = 600,
                   method: str = "POST") -> None:
        private, public = self.keys.setdefault(plugin, signing_key())
        body = {"module": "oidc", "name": plugin, "display_name": plugin, "enabled": True,
                "parameters": {
                    "iss": self.issuer(plugin), "jwt-type": "ecdsa", "jwt-key-size": "256",
                    "key": private, "cert": public, "access-token-duration": 3600,
                    "refresh-token-duration": 86400, "code-duration": 600,
                    "refresh-token-rolling": True, "allow-non-oidc": True,
                    "auth-type-code-enabled": True, "auth-type-password-enabled": True,
                    "auth-type-client-enabled": True, "auth-type-device-enabled": True,
                    "auth-type-refresh-enabled": True,
                    "device-authorization-expiration": device_lifetime,
                    "device-authorization-interval": 1,
                    "allowed-scope": ["openid", SCOPE], "subject-type": "public",
                    "name-claim": "mandatory", "email-claim": "mandatory",
                    "introspection-revocation-allowed": True,
                    "introspection-revocation-allow-target-client": True,
                    "claims": [
                        {"name": "preferred_username", "user-property": "username",
                         "type": "string", "mandatory": True, "on-demand": False, "scope": []},
                        {"name": "groups", "user-property": "groups", "type": "string",
                         "mandatory": True, "on-demand": False, "scope": []}]}}
        url = "/mod/plugin/" if method == "POST" else f"/mod/plugin/{plugin}"
        admin.request(method, url, json=body).raise_for_status()

    def rotate_key(self, plugin: str) -> None:
        """Give ``plugin`` a new signing key (new kid), as an administrator would: glewlwyd
        applies changed parameters when the instance is reset."""
        self.keys[plugin] = signing_key()
        with self.admin() as admin:
            self.add_plugin(admin, plugin, device_lifetime=PLUGINS.get(plugin, 600),
                            method="PUT")
            admin.put(f"/mod/plugin/{plugin}/reset").raise_for_status()

    # -- what a person does in the browser --------------------------------------------------
    def approve(self, user: str, user_code: str, *, plugin: str = "oidc",
                client_id: str = "console") -> None:
        """Log in at the provider's login API, consent, and enter the user code."""
        with self.client() as browser:
            browser.post("/auth/", json={"username": user, "password": USERS[user]["password"]}
                         ).raise_for_status()
            browser.put(f"/auth/grant/{client_id}", json={"scope": f"openid {SCOPE}"}
                        ).raise_for_status()
            answer = browser.get(f"/{plugin}/device",
                                 params={"code": user_code, "g_continue": ""})
        prompt = parse_qs(urlsplit(answer.headers.get("location", "")).query).get("prompt")
        if answer.status_code != 302 or prompt != ["deviceComplete"]:
            raise AssertionError(f"glewlwyd did not accept the user code: {answer.status_code} "
                                 f"{prompt}")

    def deny(self) -> None:
        """Refuse the newest pending device authorization (see the module's notes)."""
        with sqlite3.connect(self.db) as conn:
            conn.execute("UPDATE gpo_device_authorization SET gpoda_status = 3 WHERE gpoda_id "
                         "= (SELECT MAX(gpoda_id) FROM gpo_device_authorization "
                         "WHERE gpoda_status = 0)")

    def tokens(self, user: str, *, client_id: str = "console", plugin: str = "oidc",
               **extra: str) -> dict:
        """Tokens of ``user`` for ``client_id`` by the password grant (test material)."""
        answer = httpx.post(f"{self.issuer(plugin)}/token", verify=self.tls,
                            auth=(client_id, CLIENTS[client_id]),
                            data={"grant_type": "password", "username": user,
                                  "password": USERS[user]["password"],
                                  "scope": f"openid {SCOPE}", **extra})
        answer.raise_for_status()
        return answer.json()
