"""The certificate issuer: chains verify in a real (strict) TLS handshake, SANs, expiry, key files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from spyops.common.certs import CertificateAuthority, KeyPair, write_rsa_key_pair


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> ssl.SSLObject:
    """A complete TLS handshake in memory (no sockets); returns the server side."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    client_side = client.wrap_bio(to_client, to_server, server_hostname=hostname)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done.values()):
            return server_side
    raise AssertionError("the handshake did not finish")


def client_context(ca: Path, pair: KeyPair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # the default from Python 3.13 on: the sim's clients
    if pair is not None:
        context.load_cert_chain(str(pair.cert), str(pair.key))
    return context


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_server_certificate_verifies_for_each_dns_name_and_ip(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "test CA")
    server = ca.issue("server", "svc", hosts=("localhost", "svc.ns.svc", "127.0.0.1", "::1"))
    for hostname in ("localhost", "svc.ns.svc", "127.0.0.1", "::1"):
        handshake(server.server_context(), client_context(ca.ca.cert), hostname)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server.server_context(), client_context(ca.ca.cert), "other.example")


def test_a_certificate_from_another_ca_is_refused(tmp_path: Path) -> None:
    ours = CertificateAuthority(tmp_path / "ours", "ours")
    theirs = CertificateAuthority(tmp_path / "theirs", "theirs")
    server = theirs.issue("server", "localhost", hosts=("localhost",))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(server.server_context(), client_context(ours.ca.cert), "localhost")


def test_client_certificate_verifies_and_carries_its_identity(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "cluster CA")
    server = ca.issue("apiserver", "kube-apiserver", hosts=("127.0.0.1",))
    admin = ca.issue("admin", "spyops-admin", organization="system:masters", client=True)
    requiring = server.server_context()
    requiring.verify_mode = ssl.CERT_REQUIRED
    requiring.load_verify_locations(str(ca.ca.cert))
    session = handshake(requiring, client_context(ca.ca.cert, admin), "127.0.0.1")
    peer = session.getpeercert()
    assert peer is not None
    assert (("commonName", "spyops-admin"),) in peer["subject"]
    assert (("organizationName", "system:masters"),) in peer["subject"]
    usages = load(admin.cert).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]


def test_subject_alternative_names_split_dns_and_ip(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "CA")
    pair = ca.issue("server", "kube-apiserver", hosts=("10.96.0.1", "kubernetes.default", "::1"))
    names = load(pair.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kubernetes.default"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.96.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_every_certificate_expires_with_the_ca(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    ca = CertificateAuthority(tmp_path, "CA", validity=dt.timedelta(days=30))
    leaf = load(ca.issue("leaf", "leaf", client=True).cert)
    root = load(ca.ca.cert)
    assert leaf.not_valid_after_utc == root.not_valid_after_utc
    assert dt.timedelta(days=29) < root.not_valid_after_utc - before <= dt.timedelta(days=30)
    # Backdated a little for peers whose clock is behind.
    assert leaf.not_valid_before_utc < before - dt.timedelta(minutes=1)


def test_files_keys_0600_and_key_types(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "tls", "CA", cert_suffix=".pem", key_suffix="-key.pem")
    (tmp_path / "tls" / "server-key.pem").write_text("left over\n")
    (tmp_path / "tls" / "server-key.pem").chmod(0o644)
    pair = ca.issue("server", "localhost", hosts=("localhost",))
    assert (ca.ca.cert.name, ca.ca.key.name) == ("ca.pem", "ca-key.pem")
    assert (pair.cert.name, pair.key.name) == ("server.pem", "server-key.pem")
    for key in (ca.ca.key, pair.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert isinstance(load_pem_private_key(key.read_bytes(), None), ec.EllipticCurvePrivateKey)
    sa = write_rsa_key_pair(tmp_path / "sa.pub", tmp_path / "sa.key")
    assert stat.S_IMODE(sa.key.stat().st_mode) == 0o600
    private = load_pem_private_key(sa.key.read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert load_pem_public_key(sa.cert.read_bytes()) == private.public_key()


def test_a_certificate_for_nothing_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "CA")
    with pytest.raises(ValueError, match="'idle' would be good for nothing"):
        ca.issue("idle", "idle")
