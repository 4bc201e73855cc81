"""HTTP GET with the limits every fetch needs: timeouts, a total deadline, a byte cap counted on
decoded bytes, a User-Agent that names us. The one place newswatch talks HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

from tasks.settings import Settings


class FetchError(Exception):
    """A fetch failed; str() is a short reason an operator can act on (no secrets, no traceback)."""


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 30.0
    max_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, s: Settings) -> FetchPolicy:
        return cls(s.user_agent, s.connect_timeout, s.read_timeout, s.total_timeout, s.max_bytes)


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


def new_session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    session.max_redirects = policy.max_redirects
    session.headers.update({"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"})
    return session


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename" in text:
            return "DNS lookup failed"
        if "Connection refused" in text:
            return "connection refused"
        return "connection failed"
    return type(exc).__name__


def fetch(url: str, policy: FetchPolicy, session: requests.Session, accept: str = "*/*") -> FetchResult:
    """GET `url`; raise FetchError for any failure, HTTP errors included."""
    started = time.monotonic()
    try:
        response = session.get(
            url,
            headers={"Accept": accept},
            timeout=(policy.connect_timeout, policy.read_timeout),
            stream=True,
        )
    except requests.RequestException as exc:
        raise FetchError(f"{_reason(exc)} ({url})") from None
    with response:
        if response.status_code >= 400:
            raise FetchError(f"HTTP {response.status_code} {response.reason or ''}".strip() + f" ({url})")
        chunks: list[bytes] = []
        size = 0
        try:
            # Counted on decoded bytes, so a compressed bomb stops at the cap.
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchError(f"body larger than {policy.max_bytes} bytes ({url})")
                if time.monotonic() - started > policy.total_timeout:
                    raise FetchError(f"took longer than {policy.total_timeout:g} s ({url})")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise FetchError(f"{_reason(exc)} while reading ({url})") from None
        return FetchResult(
            url=response.url,
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=b"".join(chunks),
            headers=dict(response.headers),
            elapsed=time.monotonic() - started,
        )
