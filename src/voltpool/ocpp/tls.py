"""TLS for the central system and the station simulator: OCPP security profiles 2 and 3
(OCPP 2.1 Part 2, A "Security"; Part 4 §2 "Connection"):

- **profile 2**, TLS with basic authentication: the central system shows its certificate
  (``wss://``), the station logs in with its id and password as in profile 1;
- **profile 3**, TLS with client-side certificates: the station shows a certificate signed by
  a CA the central system trusts (``client_ca``), checked at the TLS handshake, whose subject
  CN or a DNS subject alternative name is the station's id (checked at the WebSocket
  upgrade, :func:`names_station`); no password is needed.

With a client CA the server asks every station for a certificate but lets one without go on
to basic auth (profile 2), so one port serves both; a certificate no trusted CA signed is
refused at the handshake. TLS 1.2 or newer, as profile 2 and 3 require.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerTls:
    """The central system's certificate and key (PEM files), and the CA of the stations'
    client certificates (None: profile 2 only)."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file is not None:
            context.load_verify_locations(self.client_ca_file)
            context.verify_mode = ssl.CERT_OPTIONAL
        return context


def client_context(
    ca_file: str | None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """A station's TLS: trust ``ca_file`` (None: the system's CAs) for the central system's
    certificate, and show ``cert_file`` (profile 3) when given."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def certificate_names(certificate: dict[str, Any]) -> set[str]:
    """The subject CNs and DNS subject alternative names of a verified peer certificate
    (:meth:`ssl.SSLSocket.getpeercert`'s dict)."""
    names = {
        value for rdn in certificate.get("subject", ()) for key, value in rdn if key == "commonName"
    }
    names |= {value for kind, value in certificate.get("subjectAltName", ()) if kind == "DNS"}
    return names


def names_station(certificate: dict[str, Any], station_id: str) -> bool:
    """Whether the certificate is bound to ``station_id`` (its CN or a DNS name)."""
    return station_id in certificate_names(certificate)
