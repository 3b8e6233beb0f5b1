"""The hall's certificates: a hall CA, the broker's server certificate, optional device certificates.

Made with `cryptography`; keys are EC P-256 (quick on a Pi, accepted by
Mosquitto's OpenSSL). A device proves who it is with its password; a client
certificate only adds "and it is hardware we issued", so revoking a device is
a password-file change and never needs a CRL that could lock everyone out.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 20
LEAF_YEARS = 5


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def fingerprint(self) -> str:
        """SHA-256 of the certificate, as a technician compares it (AB:CD:...)."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, hall: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hallwatch"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, hall),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_hall_ca(hall: str) -> KeyPair:
    """A self-signed CA that signs only this hall's broker and device certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"hallwatch {hall} CA", hall)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _issue(
    ca: KeyPair, hall: str, common_name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
) -> KeyPair:
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the hall CA key is not an EC key")
    ca_cert = ca.certificate
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, hall))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_server_cert(ca: KeyPair, hall: str, hosts: list[str]) -> KeyPair:
    """The broker's certificate, valid for every name and address devices use to reach it."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    return _issue(ca, hall, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, [_general_name(h) for h in hosts])


def make_client_cert(ca: KeyPair, hall: str, device: str) -> KeyPair:
    """An optional device certificate: common name = device id."""
    return _issue(ca, hall, device, ExtendedKeyUsageOID.CLIENT_AUTH, [])
