"""Signed items: the one verification (exact bytes, four algorithms, signer chain, codeSigning,
validity, trust reload) and signing; signatures made by the openssl CLI verify too."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from js7tui.signing import (
    Algorithm,
    SignatureRefused,
    SignedItem,
    TrustedKeys,
    sign_bytes,
    sign_item,
    verify_signed_item,
)
from tests.pki_fixture import NOW, TestPki, key_pem, pem

ITEM = json.dumps({"TYPE": "Workflow", "path": "w", "versionId": "1",
                   "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
                   "jobs": {"j": {"agentPath": "a", "executable": {
                       "TYPE": "ShellScriptExecutable", "script": "echo grüße"}}}},
                  ensure_ascii=False)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture
def trusted(pki: TestPki, tmp_path: Path) -> TrustedKeys:
    keys = tmp_path / "trusted-x509-keys"
    keys.mkdir()
    (keys / "root.pem").write_bytes(pem(pki.root.cert))
    return TrustedKeys(keys)


def refused(item: SignedItem, trusted: TrustedKeys, when: dt.datetime = NOW) -> SignatureRefused:
    with pytest.raises(SignatureRefused) as info:
        verify_signed_item(item, trusted, now=when)
    return info.value


@pytest.mark.parametrize(("kind", "algorithm"), [
    ("rsa", Algorithm.SHA256_RSA), ("ec", Algorithm.SHA256_ECDSA),
    ("ec", Algorithm.SHA512_ECDSA), ("ed25519", Algorithm.ED25519)])
def test_each_algorithm_verifies_and_detects_one_changed_byte(
        pki: TestPki, trusted: TrustedKeys, kind: str, algorithm: Algorithm) -> None:
    signer = pki.issue(f"signer-{kind}", "signing", key_kind=kind)
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain,
                     algorithm=algorithm)
    verified = verify_signed_item(item, trusted, now=NOW)
    assert verified.algorithm is algorithm
    assert verified.document["jobs"]["j"]["executable"]["script"] == "echo grüße"
    assert verified.signer == signer.dn
    assert verified.signed.string == ITEM  # kept exactly, never re-serialised
    tampered = SignedItem(ITEM.replace("grüße", "grüsse"), item.signature)
    problem = refused(tampered, trusted)
    assert problem.code == "TamperedWithSignedMessage"
    assert "does not match its signature" in str(problem)


def test_same_json_other_bytes_is_tampering(pki: TestPki, trusted: TrustedKeys) -> None:
    """Re-serialising (other spacing, same meaning) breaks the signature: bytes count."""
    signer = pki.issue("signer", "signing")
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    respaced = json.dumps(json.loads(ITEM), indent=1, ensure_ascii=False)
    assert refused(SignedItem(respaced, item.signature), trusted).code == (
        "TamperedWithSignedMessage")


def test_unknown_key_expired_and_not_yet_valid(pki: TestPki, trusted: TrustedKeys) -> None:
    foreign = TestPki(org="Elsewhere").issue("intruder", "signing")
    item = sign_item(ITEM, foreign.key, certificate=foreign.cert, chain=foreign.chain)
    problem = refused(item, trusted)
    assert problem.code == "MessageSignedByUnknown"
    assert "signed with an unknown key" in str(problem) and "CN=intruder" in str(problem)

    old = pki.issue("old-signer", "signing", not_before=NOW - dt.timedelta(days=10),
                    not_after=NOW - dt.timedelta(days=1))
    problem = refused(sign_item(ITEM, old.key, certificate=old.cert, chain=old.chain), trusted)
    assert problem.code == "CertificateExpired"
    assert "certificate expired" in str(problem)

    signer = pki.issue("signer", "signing")
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    verify_signed_item(item, trusted, now=NOW)
    # The chain is remembered, its validity is not: a later check sees the expiry.
    later = refused(item, trusted, NOW + dt.timedelta(days=400))
    assert later.code == "CertificateExpired"
    assert refused(item, trusted, NOW - dt.timedelta(days=1)).code == "CertificateNotYetValid"


def test_signer_must_be_for_code_signing(pki: TestPki, trusted: TrustedKeys) -> None:
    client = pki.issue("not-a-signer", "client")
    item = sign_item(ITEM, client.key, certificate=client.cert, chain=client.chain)
    problem = refused(item, trusted)
    assert problem.code == "SignerNotForCodeSigning"
    assert "codeSigning" in str(problem)


def test_intermediate_is_needed_unless_trusted(pki: TestPki, tmp_path: Path) -> None:
    signer = pki.issue("signer", "signing")
    leaf_only = sign_item(ITEM, signer.key, certificate=signer.cert)
    root_only = tmp_path / "root-only"
    root_only.mkdir()
    (root_only / "root.pem").write_bytes(pem(pki.root.cert))
    assert refused(leaf_only, TrustedKeys(root_only)).code == "MessageSignedByUnknown"
    with_intermediate = tmp_path / "intermediate"
    with_intermediate.mkdir()
    (with_intermediate / "issuing.pem").write_bytes(pem(pki.intermediate.cert))
    verify_signed_item(leaf_only, TrustedKeys(with_intermediate), now=NOW)


def test_signer_id_names_a_trusted_certificate(pki: TestPki, tmp_path: Path) -> None:
    signer = pki.issue("named-signer", "signing", key_kind="ed25519")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "signer.pem").write_bytes(pem(signer.cert))
    trusted = TrustedKeys(keys)
    signature = sign_bytes(ITEM.encode(), signer.key, signer_id=signer.dn)
    assert "signerCertificate" not in signature
    verify_signed_item(SignedItem(ITEM, signature), trusted, now=NOW)
    spaced = signer.dn.replace(",", ", ")  # DNs compare as names, not as text
    verify_signed_item(SignedItem(ITEM, {**signature, "signerId": spaced}), trusted, now=NOW)
    unknown = refused(SignedItem(ITEM, {**signature, "signerId": "CN=nobody"}), trusted)
    assert unknown.code == "MessageSignedByUnknown" and "CN=nobody" in str(unknown)


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"TYPE": "PGP"}, "UnknownSignatureType", "unknown signature type 'PGP'"),
    ({"algorithm": "SHA1withRSA"}, "UnknownSignatureAlgorithm", "unknown algorithm"),
    ({"algorithm": "SHA256withRSA"}, "SignatureAlgorithmMismatch", "does not fit"),
    ({"signatureString": "not base64!"}, "InvalidSignature", "not valid Base64"),
    ({"signerCertificate": "garbage"}, "InvalidSignerCertificate", "not a PEM"),
])
def test_malformed_signatures_are_refused_with_reasons(
        pki: TestPki, trusted: TrustedKeys, change: dict[str, str], code: str,
        words: str) -> None:
    signer = pki.issue("signer", "signing")
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    problem = refused(SignedItem(ITEM, {**item.signature, **change}), trusted)
    assert problem.code == code
    assert words in str(problem)


def test_mime_base64_with_line_breaks_is_accepted(pki: TestPki, trusted: TrustedKeys) -> None:
    signer = pki.issue("signer", "signing", key_kind="rsa")
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    text = item.signature["signatureString"]
    mime = "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    verify_signed_item(SignedItem(ITEM, {**item.signature, "signatureString": mime}), trusted,
                       now=NOW)


def test_trust_directory_is_reread_when_it_changes(pki: TestPki, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / ".hidden.pem").write_bytes(pem(pki.root.cert))  # dot files are ignored (JS7)
    trusted = TrustedKeys(keys)
    signer = pki.issue("signer", "signing")
    item = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    assert refused(item, trusted).code == "MessageSignedByUnknown"
    (keys / "root.pem").write_bytes(pem(pki.root.cert))
    assert trusted.refresh()
    verify_signed_item(item, trusted, now=NOW)
    (keys / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nhalf")
    assert not trusted.refresh()  # a broken file keeps the previous anchors
    verify_signed_item(item, trusted, now=NOW)
    (keys / "broken.pem").unlink()
    (keys / "root.pem").unlink()
    assert trusted.refresh()
    assert refused(item, trusted).code == "MessageSignedByUnknown"


def test_missing_trust_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no trusted signature keys"):
        TrustedKeys(tmp_path / "absent")


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_signatures_made_with_the_openssl_cli_verify(pki: TestPki, trusted: TrustedKeys,
                                                     tmp_path: Path, kind: str) -> None:
    """A HIGH-level administrator signs outside js7tui, e.g. with openssl."""
    signer = pki.issue(f"openssl-{kind}", "signing", key_kind=kind)
    key, data = tmp_path / "signer.key", tmp_path / "item.json"
    key.write_bytes(key_pem(signer.key))
    data.write_bytes(ITEM.encode("utf-8"))
    if kind == "ed25519":
        command = ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(key), "-in",
                   str(data)]
        algorithm = "Ed25519"
    else:
        command = ["openssl", "dgst", "-sha256", "-sign", str(key), str(data)]
        algorithm = "SHA256withRSA" if kind == "rsa" else "SHA256withECDSA"
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    signature = {"TYPE": "X509", "algorithm": algorithm,
                 "signatureString": base64.encodebytes(raw).decode(),  # MIME, with newlines
                 "signerCertificate": pem(signer.cert, *signer.chain).decode()}
    verify_signed_item(SignedItem(ITEM, signature), trusted, now=NOW)


def test_chain_checks_are_remembered_per_signer(pki: TestPki, trusted: TrustedKeys) -> None:
    signer = pki.issue("signer", "signing")
    for index in range(50):
        text = ITEM.replace('"1"', f'"{index}"')
        verify_signed_item(sign_item(text, signer.key, certificate=signer.cert,
                                     chain=signer.chain), trusted, now=NOW)
    assert len(trusted._cache) == 1


# -- revocation ---------------------------------------------------------------------------------
def test_a_revoked_signer_is_refused_with_the_crl_set(tmp_path: Path) -> None:
    from cryptography import x509

    from js7tui.signing import CrlSet

    keys = tmp_path / "trusted-x509-keys"
    keys.mkdir()
    fresh = TestPki()
    victim = fresh.issue("victim", "signing")
    (keys / "root.pem").write_bytes(pem(fresh.root.cert))
    signed = sign_item(ITEM, victim.key, certificate=victim.cert, chain=victim.chain)
    crl_file = tmp_path / "crl.pem"
    crl_file.write_bytes(fresh.crl_pem())
    crls = CrlSet(files=[crl_file])
    trusted = TrustedKeys(keys, revocations=crls)
    assert verify_signed_item(signed, trusted, now=NOW).signer == victim.dn
    fresh.revoke(victim)
    crl_file.write_bytes(fresh.crl_pem())
    trusted.refresh()
    problem = refused(signed, trusted)
    assert problem.code == "SignerRevoked"
    assert f"the signing certificate {victim.dn} (serial {victim.cert.serial_number:x}) was " \
           "revoked on " in str(problem)
    # The optional CRL set of verify_signed_item (the console's import) does the same.
    bare = TrustedKeys.of([fresh.root.cert])
    assert verify_signed_item(signed, bare, now=NOW)
    memory = CrlSet.of([x509.load_pem_x509_crl(fresh.crl_pem())])
    with pytest.raises(SignatureRefused) as info:
        verify_signed_item(signed, bare, now=NOW, crls=memory)
    assert info.value.code == "SignerRevoked"
    # A CRL nobody can verify (another CA's key under the same issuer name) revokes nothing.
    forged = TestPki()
    forged.intermediate = type(fresh.intermediate)(fresh.intermediate.cert,
                                                   forged.intermediate.key, [])
    forged.revoke(victim)
    assert verify_signed_item(signed, bare, now=NOW,
                              crls=CrlSet.of([x509.load_pem_x509_crl(forged.crl_pem())]))


def test_a_revoked_intermediate_revokes_its_signers() -> None:
    import datetime as _dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from js7tui.signing import CrlSet

    fresh = TestPki()
    signer = fresh.issue("under-revoked-ca", "signing")
    signed = sign_item(ITEM, signer.key, certificate=signer.cert, chain=signer.chain)
    root_crl = (x509.CertificateRevocationListBuilder().issuer_name(fresh.root.cert.subject)
                .last_update(NOW - _dt.timedelta(minutes=1))
                .next_update(NOW + _dt.timedelta(days=1))
                .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                         .serial_number(fresh.intermediate.cert.serial_number)
                                         .revocation_date(NOW - _dt.timedelta(minutes=1))
                                         .build())
                .sign(fresh.root.key, hashes.SHA256()))
    trusted = TrustedKeys.of([fresh.root.cert], CrlSet.of([root_crl]))
    problem = refused(signed, trusted)
    assert problem.code == "SignerRevoked"
    assert "the CA certificate in the signer's chain" in str(problem)
