"""A real Matrix homeserver for chat alerts (issue #19 item 15): Synapse (the `chat` extra,
`pip install -e '.[chat]'`) on 127.0.0.1 with SQLite and a config it generates itself, users
registered through the admin API with the registration shared secret, and the client-server API
calls a test needs (log in, make a room by alias, read a room's messages).

Measured on the 2-core machine (Synapse 1.163.2): the config is generated in 1.0 s and the server
answers 2.2 s after it starts; `start()` polls for it with a deadline, never a fixed sleep."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests
import yaml

from tests.receivers import free_port

SERVER_NAME = "localhost"
START_DEADLINE_S = 90.0  # about 5 s idle; generous for a CI machine whose 2 cores are busy


def synapse_missing() -> str | None:
    """Why Synapse cannot run here (None when it can): the reason a test skips with."""
    if importlib.util.find_spec("synapse") is None:
        return "Synapse is not installed: pip install -e '.[chat]' (.ci/run does)"
    return None


class Synapse:
    """One homeserver in `workdir`, stopped (and its process reaped) on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None

    def _homeserver(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "synapse.app.homeserver", *args]

    def _configure(self) -> list[Path]:
        """Synapse's own generated config (keys, SQLite, log config), then ours over it: one
        listener on 127.0.0.1, our shared secret, nothing federated, no rate limits."""
        generated = self.workdir / "homeserver.yaml"
        subprocess.run(
            self._homeserver(
                "--server-name",
                SERVER_NAME,
                "--config-path",
                str(generated),
                "--data-directory",
                str(self.workdir),
                "--generate-config",
                "--report-stats=no",
            ),
            cwd=self.workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        unlimited = {"per_second": 1000, "burst_count": 1000}
        override = {
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "rc_message": unlimited,
            "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
            "rc_joins": {"local": unlimited, "remote": unlimited},
            "rc_registration": unlimited,
        }
        ours = self.workdir / "newswatch-test.yaml"
        ours.write_text(yaml.safe_dump(override), encoding="utf-8")
        return [generated, ours]

    def start(self) -> Self:
        configs = self._configure()
        args = [arg for path in configs for arg in ("-c", str(path))]
        log = (self.workdir / "stdout.log").open("wb")
        self._process = subprocess.Popen(
            self._homeserver(*args), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child holds its own descriptor
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Synapse exited with {self._process.returncode}: {self._log_tail()}")
            try:
                if requests.get(f"{self.url}/_matrix/client/versions", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):  # the polling interval; an exit ends it early
                self._process.wait(timeout=0.1)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {START_DEADLINE_S:.0f} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        text = ""
        for name in ("stdout.log", "homeserver.log"):
            path = self.workdir / name
            if path.exists():
                text += path.read_text(encoding="utf-8", errors="replace")[-2000:]
        return text

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- the admin API and the client-server API ---

    def register(self, user: str, password: str, admin: bool = False) -> str:
        """Register `user` with the shared secret (the admin API's HMAC-SHA1 over the nonce, user,
        password and admin flag); returns the user's Matrix ID."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = requests.get(endpoint, timeout=10).json()["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        payload = {"nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()}
        answer = requests.post(endpoint, json=payload, timeout=10)
        answer.raise_for_status()
        return str(answer.json()["user_id"])

    def login(self, user: str, password: str) -> Client:
        payload = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password}
        answer = requests.post(f"{self.url}/_matrix/client/v3/login", json=payload, timeout=10)
        answer.raise_for_status()
        return Client(self.url, str(answer.json()["access_token"]))


class Client:
    """A logged-in user of the client-server API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._session.request(method, f"{self.url}/_matrix/client/v3{path}", timeout=10, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def create_room(self, alias: str) -> str:
        """A public room whose alias is #alias:localhost (the bot joins it by its alias); its ID."""
        body = {"room_alias_name": alias, "preset": "public_chat", "name": alias}
        return str(self._call("POST", "/createRoom", json=body)["room_id"])

    def messages(self, room_id: str) -> list[dict[str, Any]]:
        """The room's message events (m.room.message), oldest first."""
        events = self._call("GET", f"/rooms/{room_id}/messages", params={"dir": "b", "limit": 50})["chunk"]
        return [e for e in reversed(events) if e.get("type") == "m.room.message"]

    def devices(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/devices")["devices"])
