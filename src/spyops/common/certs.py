"""One certificate issuer: a self-signed CA that issues server and client certificates as PEM files.

Used by the embedded control plane (its cluster CA, the API server's serving
certificate, one client identity per component) and by the Azure simulator (the
HTTPS CA its clients trust). Every certificate carries the extensions OpenSSL's
strict verification (Python >= 3.13's default) requires: key usages, subject and
authority key identifiers, and subject alternative names on serving certificates.
Private keys are written readable by their owner only (0600).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Certificates start a little in the past so that a peer whose clock is slightly behind accepts them.
_BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyPair:
    """Paths of a PEM certificate (or public key) and its private key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context serving this certificate (TLS 1.2 or newer)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    """PKCS#8 PEM, created 0600 (never readable by others, not even for a moment)."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)  # an existing file keeps its mode through O_CREAT


def write_rsa_key_pair(public: Path, private: Path, bits: int = 2048) -> KeyPair:
    """An RSA key pair for signing tokens (the API server's service-account keys): no certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    write_private_key(private, key)
    return KeyPair(public, private)


def _name(common_name: str, organization: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _key_usage(*, signing_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not signing_certificates,  # ECDHE with an EC leaf key
        key_cert_sign=signing_certificates,
        crl_sign=signing_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def alternative_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """IP addresses as IP SANs, everything else as DNS names."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


class CertificateAuthority:
    """Creates a fresh CA (EC P-256) in ``directory`` on construction; issues certificates next to it.

    Files are ``<name><cert_suffix>`` and ``<name><key_suffix>``; the CA itself is ``ca``.
    Every certificate expires with the CA, ``validity`` after its creation.
    """

    def __init__(
        self,
        directory: Path,
        common_name: str,
        *,
        organization: str | None = None,
        validity: dt.timedelta = dt.timedelta(days=365),
        cert_suffix: str = ".crt",
        key_suffix: str = ".key",
    ) -> None:
        self.directory = directory
        self._suffixes = (cert_suffix, key_suffix)
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.not_before = dt.datetime.now(dt.UTC) - _BACKDATE
        self.not_after = self.not_before + validity
        subject = _name(common_name, organization)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signing_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca = self._paths("ca")
        self.ca.cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        write_private_key(self.ca.key, self._key)

    def _paths(self, name: str) -> KeyPair:
        cert_suffix, key_suffix = self._suffixes
        return KeyPair(self.directory / f"{name}{cert_suffix}", self.directory / f"{name}{key_suffix}")

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        organization: str | None = None,
        hosts: Sequence[str] = (),
        client: bool = False,
    ) -> KeyPair:
        """A leaf certificate: for serving ``hosts`` (DNS names or IPs) if any, for client auth if ``client``."""
        if not hosts and not client:
            raise ValueError(
                f"certificate {name!r} would be good for nothing: give it hosts to serve or client=True"
            )
        key = ec.generate_private_key(ec.SECP256R1())
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if hosts else []
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternative_names(hosts)), critical=False
            )
        pair = self._paths(name)
        pair.cert.write_bytes(
            builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        )
        write_private_key(pair.key, key)
        return pair
