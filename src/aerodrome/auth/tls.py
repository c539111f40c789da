"""A certificate authority generated on this host, and the web endpoint's certificate it signs.

Files (under the given folder): `ca.pem`, `ca.key`, `server.pem`, `server.key` (keys 0600), and
`bundle.pem` = the usual public roots (certifi) + this CA, for REQUESTS_CA_BUNDLE / AWS_CA_BUNDLE.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    bundle: Path


def ensure(folder: Path, *, hostnames: tuple[str, ...] = ("localhost", "127.0.0.1")) -> TlsFiles:
    """Create the CA once, and a server certificate for `hostnames` when missing, changed or expiring."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "bundle.pem")
    if not (files.ca.exists() and (folder / "ca.key").exists()):
        _make_ca(folder)
    if _leaf_stale(files.cert, hostnames):
        _make_leaf(folder, hostnames)
    _write_bundle(files)
    return files


def _make_ca(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Aerodrome local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Aerodrome")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, _sha256()))
    _write_key(folder / "ca.key", key)
    (folder / "ca.pem").write_bytes(cert.public_bytes(_pem()))


def _make_leaf(folder: Path, hostnames: tuple[str, ...]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{folder / 'ca.key'} is not the elliptic-curve key this CA makes")
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names = [_san(h) for h in hostnames]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, _sha256()))
    _write_key(folder / "server.key", key)
    (folder / "server.pem").write_bytes(cert.public_bytes(_pem()))


def _leaf_stale(path: Path, hostnames: tuple[str, ...]) -> bool:
    from cryptography import x509

    if not path.exists() or not path.with_name("server.key").exists():
        return True
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC):
        return True
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    present = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    present |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    return not set(hostnames) <= present


def _write_bundle(files: TlsFiles) -> None:
    import certifi

    content = Path(certifi.where()).read_text() + "\n# Aerodrome local CA\n" + files.ca.read_text()
    if not files.bundle.exists() or files.bundle.read_text() != content:
        files.bundle.write_text(content)


def _san(hostname: str) -> x509.GeneralName:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _pem() -> serialization.Encoding:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM


def _sha256() -> hashes.SHA256:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()
