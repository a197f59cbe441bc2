"""A loopback HTTPS server speaking ARM and Azure Resource Graph, with fault injection.

- TLS with a certificate from a CA generated at test time (`cryptography`); the CA
  file is what the scanner gets as `--ca-bundle`.
- `POST /providers/Microsoft.ResourceGraph/resources`: answers the live source's
  queries (resources by type, resource groups, subscriptions) from `azure_world`,
  a few rows per page with an opaque `$skipToken`, like Resource Graph.
- `GET {resourceId}{child}?api-version=`: child resources, diagnostic settings and
  locks; 404 where the child does not exist.
- Faults: 403 for forbidden subscriptions; N 429s with `Retry-After`, N 503s per
  subscription; every request is recorded (path, subscriptions, Authorization).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from scanner.sources.live_azure import split_resource_id
from tests.live.azure_world import Estate, arg_row, child_body

TOKEN = "loopback-test-token"
ARG_PAGE = 3


def make_ca_and_cert(directory: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, server cert chain, server key) for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tierscan test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@dataclass
class Faults:
    forbidden: set[str] = field(default_factory=set)
    throttle: dict[str, int] = field(default_factory=dict)  # subscription -> 429s still to send
    unavailable: dict[str, int] = field(default_factory=dict)  # subscription -> 503s still to send
    retry_after: str = "1"
    latency: float = 0.0  # seconds added to every answer (benchmarks)
    slow: dict[str, int] = field(default_factory=dict)  # subscription -> answers still to delay 2.5 s
    forbidden_paths: set[str] = field(default_factory=set)  # GETs whose path ends so answer 403
    reads_low_once: bool = False  # first ARM GET says 3 subscription reads remain
    quota_spent_once: bool = False  # first answer says the Resource Graph quota is spent for 1 s
    # Faults keyed by "graph" (every Resource Graph POST) or a suffix of a GET path, each
    # with the number of answers still to spoil (a large number: every answer).
    reset: dict[str, int] = field(default_factory=dict)  # the connection is reset (TCP RST), no answer
    truncate: dict[str, int] = field(default_factory=dict)  # half the body, then the connection closes
    stall: dict[str, int] = field(default_factory=dict)  # the answer comes after 2.5 s
    skip_token_loop: bool = False  # the resource query's second page names itself as the next page
    next_link_loop: bool = False  # a lock list's second page names itself as the next page
    expire_after: int | None = None  # the token expires after this many answered requests
    deleted: set[str] = field(default_factory=set)  # resource IDs (lower case) deleted after the inventory
    groups_fail: bool = False  # the resource group query answers 500


@dataclass
class Seen:
    method: str
    path: str
    subscriptions: list[str]
    status: int
    authorization: str
    at: float = field(default_factory=time.monotonic)


class ArmState:
    def __init__(self, estate: Estate, faults: Faults, page_size: int = ARG_PAGE) -> None:
        self.page_size = page_size
        self.estate = estate
        self.faults = faults
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.by_id = estate.by_id()
        # Resource groups answer extension reads too (their locks protect what they hold).
        self.by_id.update({rg["id"].lower(): rg for rg in estate.groups.values()})

    def fault_for(self, subs: list[str]) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        with self.lock:
            denied = [s for s in subs if s in self.faults.forbidden]
            if denied:
                return 403, {}, {"error": {
                    "code": "AuthorizationFailed",
                    "message": f"The client does not have authorization to perform action "
                               f"'Microsoft.ResourceGraph/resources/read' over scope '/subscriptions/{denied[0]}'."}}
            for sub in subs:
                if self.faults.unavailable.get(sub, 0) > 0:
                    self.faults.unavailable[sub] -= 1
                    return 503, {}, {"error": {"code": "ServiceUnavailable", "message": "Try again later."}}
            for sub in subs:
                if self.faults.throttle.get(sub, 0) > 0:
                    self.faults.throttle[sub] -= 1
                    return 429, {"Retry-After": self.faults.retry_after}, {"error": {
                        "code": "RateLimiting", "message": "Please provide below info when asking for support."}}
        return None

    def query(self, request: dict[str, Any]) -> dict[str, Any]:
        subs = list(request.get("subscriptions") or
                    [s for s in self.estate.resources if s not in self.faults.forbidden])
        query = str(request.get("query", ""))
        options = request.get("options") or {}
        if "microsoft.resources/subscriptions'" in query.lower():
            rows: list[dict[str, Any]] = [{"subscriptionId": s} for s in sorted(self.estate.resources)]
        elif "resourcecontainers" in query.lower():
            rows = [{"id": rg["id"], "name": rg["name"], "type": "microsoft.resources/subscriptions/resourcegroups",
                     "location": rg.get("location"), "tags": rg.get("tags"), "properties": rg.get("properties"),
                     "managedBy": rg.get("managedBy"), "resourceGroup": rg["name"].lower(), "subscriptionId": sub}
                    for sub in subs if (rg := self.estate.groups.get(sub)) is not None]
        else:
            found = re.search(r"type in~ \(([^)]*)\)", query)
            types = {t.strip().strip("'") for t in found.group(1).split(",")} if found else set()
            rows = [arg_row(body, sub, self.estate.groups[sub]["name"])
                    for sub in subs for body in self.estate.resources.get(sub, [])
                    if body["type"].lower() in types]
            rows.sort(key=lambda r: r["id"])
        token = options.get("$skipToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        page = rows[start:start + self.page_size]
        body: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "resultTruncated": "false",
                                "facets": [], "data": page}
        if start + self.page_size < len(rows):
            after = start + self.page_size
            if self.faults.skip_token_loop and start > 0 and "type in~" in query:
                after = start  # the same page again, and again
            body["$skipToken"] = base64.b64encode(str(after).encode()).decode()
        return body

    def get(self, path: str, query: str = "", endpoint: str = "") -> Any:
        lowered = path.lower()
        found = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.authorization/locks", lowered)
        if found:  # every lock in the subscription, two a page with a nextLink
            sub = path.split("/")[2]
            locks = [lock for body in self.estate.resources.get(sub, [])
                     for lock in child_body(body, "/providers/Microsoft.Authorization/locks")["value"]]
            start = int(parse_qs(query).get("$skiptoken", ["0"])[0])
            page: dict[str, Any] = {"value": locks[start:start + 2]}
            if self.faults.next_link_loop and start > 0:
                page["nextLink"] = f"{endpoint}{path}?api-version=2020-05-01&$skiptoken={start}"
            elif start + 2 < len(locks):
                page["nextLink"] = f"{endpoint}{path}?api-version=2020-05-01&$skiptoken={start + 2}"
            if self.faults.deleted:  # a deleted resource's locks go with it
                page["value"] = [lock for lock in page["value"] if not any(
                    lock["id"].lower().startswith(gone + "/") for gone in self.faults.deleted)]
            return page
        if lowered in self.by_id and lowered.count("/providers/") == 1:  # a top-level resource itself
            return self.by_id[lowered]
        # The parent is the longest ID prefix ending at a "/" (a dict lookup per prefix,
        # so large benchmark estates stay fast).
        cut = len(lowered)
        while (cut := lowered.rfind("/", 0, cut)) > 0:
            parent = self.by_id.get(lowered[:cut])
            if parent is not None:
                return child_body(parent, path[cut:])
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real API servers do
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: ArmServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def spoil(self, key: str, subs: list[str], body: Any) -> bool:
        """Apply a reset, truncation or stall fault to this answer; True if it was spoiled."""
        faults = self.server.state.faults
        for name, table in (("reset", faults.reset), ("truncate", faults.truncate), ("stall", faults.stall)):
            with self.server.state.lock:
                hit = next((k for k, left in table.items() if left > 0 and key.endswith(k)), None)
                if hit is not None:
                    table[hit] -= 1
            if hit is None:
                continue
            self.record(subs, 0)  # 0: no (whole) answer
            self.close_connection = True
            if name == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif name == "truncate":
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
            else:
                time.sleep(2.5)
            return True
        return False

    def expired(self, subs: list[str]) -> bool:
        """Whether the (otherwise valid) token has expired: ARM's 401 with a challenge."""
        state = self.server.state
        with state.lock:
            left = state.faults.expire_after
            if left is None:
                return False
            if left > 0:
                state.faults.expire_after = left - 1
                return False
        self.record(subs, 401)
        self.send_json(401, {"error": {"code": "ExpiredAuthenticationToken",
                                       "message": "The access token has expired."}},
                       {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                            'error="invalid_token", error_description="The access token has '
                                            'expired."'})
        return True

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000001")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def record(self, subs: list[str], status: int) -> None:
        state = self.server.state
        if state.faults.latency:
            time.sleep(state.faults.latency)
        with state.lock:
            state.seen.append(Seen(self.command, urlparse(self.path).path, subs, status,
                                   self.headers.get("Authorization", "")))

    def authorized(self, subs: list[str]) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.record(subs, 401)
            self.send_json(401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}})
            return False
        return True

    def do_POST(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        subs = list(request.get("subscriptions") or [])
        if not self.authorized(subs) or self.expired(subs):
            return
        graph_path = url.path.lower() == "/providers/microsoft.resourcegraph/resources"
        if not graph_path or "api-version" not in parse_qs(url.query):
            self.record(subs, 404)
            self.send_json(404, {"error": {"code": "NotFound", "message": url.path}})
            return
        fault = self.server.state.fault_for(subs)
        if fault is not None:
            self.record(subs, fault[0])
            self.send_json(fault[0], fault[2], fault[1])
            return
        faults = self.server.state.faults
        if faults.groups_fail and "resourcecontainers" in str(request.get("query", "")).lower():
            self.record(subs, 500)
            self.send_json(500, {"error": {"code": "InternalServerError", "message": "Encountered internal "
                                           "server error. Please try again."}})
            return
        answer = self.server.state.query(request)
        if self.spoil("graph", subs, answer):
            return
        slow = [s for s in subs if faults.slow.get(s, 0) > 0]
        if slow:
            faults.slow[slow[0]] -= 1
            self.record(subs, 0)  # 0: the client gave up before the answer
            time.sleep(2.5)
            return
        self.record(subs, 200)
        remaining = "0" if faults.quota_spent_once else "14"
        faults.quota_spent_once = False
        self.send_json(200, answer, {"x-ms-user-quota-remaining": remaining,
                                                                "x-ms-user-quota-resets-after": "00:00:01"})

    def do_GET(self) -> None:
        url = urlparse(self.path)
        match = re.match(r"/subscriptions/([^/]+)/", url.path)
        subs = [match.group(1)] if match else []
        if not self.authorized(subs) or self.expired(subs):
            return
        fault = self.server.state.fault_for(subs)
        if fault is not None:
            self.record(subs, fault[0])
            self.send_json(fault[0], fault[2], fault[1])
            return
        if any(url.path.endswith(end) for end in self.server.state.faults.forbidden_paths):
            self.record(subs, 403)
            self.send_json(403, {"error": {"code": "AuthorizationFailed", "message": "The client does not have "
                                           "authorization to perform action "
                                           "'Microsoft.Storage/storageAccounts/blobServices/read'."}})
            return
        gone = next((g for g in self.server.state.faults.deleted
                     if url.path.lower() == g or url.path.lower().startswith(g + "/")), None)
        if gone is not None:  # ARM's answer for a resource that no longer exists
            kind, name, _sub, group = split_resource_id(gone)
            self.record(subs, 404)
            self.send_json(404, {"error": {"code": "ResourceNotFound", "message": (
                f"The Resource '{kind}/{name}' under resource group '{group}' was not found. For more details "
                "please go to https://aka.ms/ARMResourceNotFoundFix")}})
            return
        body = self.server.state.get(url.path, url.query, self.server.endpoint)
        if body is None:
            self.record(subs, 404)
            self.send_json(404, {"error": {"code": "ResourceNotFound", "message": f"{url.path} not found"}})
            return
        if self.spoil(url.path, subs, body):
            return
        self.record(subs, 200)
        faults = self.server.state.faults
        with self.server.state.lock:
            remaining = "3" if faults.reads_low_once else "249"
            faults.reads_low_once = False
        self.send_json(200, body, {"x-ms-ratelimit-remaining-subscription-reads": remaining})


class ArmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the default 5 drops parallel connects (a 1 s SYN retry)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a reset or truncated answer leaves the handler a closed socket; not news

    def __init__(self, state: ArmState, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"
