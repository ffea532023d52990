"""Self-signed certificates for local test servers (SMTP STARTTLS, HTTP/2, webhook receivers)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SelfSigned:
    """A certificate and its key, PEM-encoded, valid for one address or host name."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``cert.pem`` and ``key.pem`` into ``folder``; returns both paths."""
        cert_file, key_file = folder / "cert.pem", folder / "key.pem"
        cert_file.write_bytes(self.cert_pem)
        key_file.write_bytes(self.key_pem)
        return cert_file, key_file

    def server_context(self, *, alpn: list[str] | None = None) -> ssl.SSLContext:
        """A server context presenting this certificate (offering ``alpn`` protocols)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as folder:
            context.load_cert_chain(*self.write(Path(folder)))
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate and nothing else."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))


def self_signed(*, host: str = "127.0.0.1", common_name: str = "herald test") -> SelfSigned:
    """A fresh EC certificate for ``host`` (an IP address or a DNS name), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SelfSigned(cert.public_bytes(serialization.Encoding.PEM), key_pem)
