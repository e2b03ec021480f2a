"""The console's certificate authority (domain code: no Textual, aiohttp or CLI imports).

Entry points for other code:

* :class:`js7tui.pki.service.CertificateService` (``console.certificates``): session-taking,
  permission-checked, audited operations for administrators.
* :func:`js7tui.pki.issuing.issue` and friends: issuing inside another service's own audited
  transaction (e.g. deployment signing keys).
* :func:`js7tui.pki.material.client_material` / :func:`ssl_client_context` /
  :func:`ssl_server_context`: TLS contexts from the store or an imported bundle.
* :func:`js7tui.pki.bundle_import.import_bundle`: the target-side bundle import.
"""
