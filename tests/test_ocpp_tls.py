"""OCPP security profiles 2 and 3 on loopback, with a CA the test makes (``cryptography``):
TLS with basic auth, and mutual TLS with the client certificate bound to the station id (its
CN or a DNS name): another station's certificate is refused at the upgrade (403), one no
trusted CA signed at the TLS handshake."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from ocpp_helpers import Site, ocpp_site, wait_until
from voltpool.ocpp.simulator import StationSim
from voltpool.ocpp.tls import ServerTls, client_context

Key = ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key: Key, issuer: tuple[x509.Certificate, Key] | None, ca: bool = False
) -> x509.Certificate:
    now = datetime.now(UTC)
    signer_name, signer_key = (
        (_name(subject), key)
        if issuer is None
        else (
            issuer[0].subject,
            issuer[1],
        )
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names: list[x509.GeneralName] = [x509.DNSName(subject)]
        if subject == "localhost":
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


class Pki:
    """A CA, the central system's certificate, and station certificates, as PEM files."""

    def __init__(self, folder: Path, name: str = "ca") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = _certificate(f"voltpool test {name}", self.key, None, ca=True)
        self.ca_file = self._write(name, self.cert, self.key)[0]

    def _write(self, name: str, cert: x509.Certificate, key: Key) -> tuple[str, str]:
        cert_file, key_file = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(cert_file), str(key_file)

    def issue(self, subject: str) -> tuple[str, str]:
        """(certificate file, key file) for ``subject`` (CN and DNS name), signed by the CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        return self._write(subject, _certificate(subject, key, (self.cert, self.key)), key)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def site(tmp_path: Path, pki: Pki):
    cert, key = pki.issue("localhost")
    with ocpp_site(tmp_path, tls=ServerTls(cert, key, client_ca_file=pki.ca_file)) as running:
        home, car = running.car(soc_now=0.8, soc_min=0.2, soc_target=0.5)
        running.station("cs-1", home, car)
        yield running


def _follows(sim: StationSim) -> None:
    async def scenario() -> None:
        running = asyncio.create_task(sim.run())
        try:
            await wait_until(lambda: sim.booted and sim.transaction_id is not None)
            await wait_until(lambda: sim.profiles_received >= 1)
        finally:
            sim.stop()
            await running

    asyncio.run(scenario())


def test_security_profile_2_tls_with_the_stations_password(site: Site, pki: Pki) -> None:
    assert site.ocpp_url.startswith("wss://")
    sim = site.sim("cs-1", station={"ssl": client_context(pki.ca_file)}, soc=0.8)
    _follows(sim)


def test_security_profile_3_a_client_certificate_of_the_station_and_no_password(
    site: Site, pki: Pki
) -> None:
    cert, key = pki.issue("cs-1")
    sim = site.sim("cs-1", station={"ssl": client_context(pki.ca_file, cert, key)}, soc=0.8)
    sim.options.password = ""
    _follows(sim)


async def _status(url: str, context: ssl.SSLContext) -> int | str:
    try:
        async with connect(url, subprotocols=["ocpp2.1"], ssl=context):  # type: ignore[list-item]
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code
    except (ssl.SSLError, OSError, InvalidMessage) as failed:  # the TLS handshake refused it
        return type(failed).__name__


def test_another_stations_certificate_or_an_untrusted_one_is_refused(
    site: Site, pki: Pki, tmp_path: Path
) -> None:
    base = site.ocpp_url
    (tmp_path / "rogue").mkdir()
    rogue = Pki(tmp_path / "rogue", "rogue")  # a CA the central system does not trust

    def trusted(subject: str, issuer: Pki = pki) -> ssl.SSLContext:
        return client_context(pki.ca_file, *issuer.issue(subject))

    async def statuses() -> list[int | str]:
        return [
            await _status(f"{base}/cs-1", trusted("cs-1")),
            await _status(f"{base}/cs-1", trusted("cs-9")),  # another station's
            await _status(f"{base}/cs-7", trusted("cs-7")),  # a station nobody registered
            await _status(f"{base}/cs-1", client_context(pki.ca_file)),  # no cert, no password
        ]

    assert asyncio.run(statuses()) == [101, 403, 401, 401]
    untrusted = asyncio.run(_status(f"{base}/cs-1", trusted("cs-1", rogue)))
    assert untrusted not in (101, 401, 403)  # refused at the handshake, before HTTP
