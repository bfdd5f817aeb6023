"""The rules for apps: credentials, exact redirect URLs, the scopes they may request.

The client secret is shown once (when created or rotated) and kept only as a SHA-256 hash; it is
256 random bits, so a fast hash is enough, and it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import urlsplit

from trailkeeper.directory.accounts import App
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.errors import InvalidArguments, NotFound
from trailkeeper.storage.base import Store

# The user-token scopes Trailkeeper can grant; bot scopes are recorded and shown, never used.
USER_SCOPES = frozenset({READ_SCOPE})
BOT_SCOPE = re.compile(r"^[a-z][a-z0-9_.]{0,63}(:[a-z0-9_.]{1,63}){0,3}$")
MAX_REDIRECT_URLS = 10
MAX_URL_CHARS = 2000
MAX_SCOPES = 50
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def secret_hash(secret: str) -> bytes:
    """The only form in which a client secret is stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def is_client_secret(app: App, secret: str) -> bool:
    """Whether `secret` is the app's client secret (constant time)."""
    return hmac.compare_digest(app.client_secret_hash, secret_hash(secret))


def _new_client_id() -> str:
    # Slack's shape: two dot-separated runs of digits, e.g. 2141029472.691202649728.
    return f"{secrets.randbelow(9 * 10**9) + 10**9}.{secrets.randbelow(9 * 10**11) + 10**11}"


def _new_app_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "A0" + "".join(secrets.choice(alphabet) for _ in range(9))


def check_redirect_url(url: str) -> str:
    """An absolute https URL (http only on loopback, RFC 8252 §7.3), without a fragment."""
    if not url or len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidArguments(f"redirect URL must be 1-{MAX_URL_CHARS} printable characters")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise InvalidArguments(f"redirect URL {url[:80]!r} is malformed") from exc
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidArguments("redirect URL needs a host and no user info or #fragment")
    loopback = host in LOOPBACK_HOSTS or f"[{host}]" in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise InvalidArguments("redirect URL must use https (http only for localhost)")
    return url


def check_scopes(user_scopes: Iterable[str], bot_scopes: Iterable[str]) -> tuple[set[str], ...]:
    """The requested scopes as sets, or `InvalidArguments`."""
    users, bots = set(user_scopes), set(bot_scopes)
    if not users or not users <= USER_SCOPES:
        raise InvalidArguments(f"user scopes must be among: {', '.join(sorted(USER_SCOPES))}")
    if len(bots) > MAX_SCOPES or not all(BOT_SCOPE.fullmatch(s) for s in bots):
        raise InvalidArguments("bot scopes must look like users:read (at most 50)")
    return users, bots


def create_app(
    store: Store,
    name: str,
    redirect_urls: Iterable[str],
    scopes: tuple[Iterable[str], Iterable[str]],
    *,
    distributed: bool = True,
    now: int,
) -> tuple[App, str]:
    """Register an app; returns it and its client secret (shown this once)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidArguments("app name must be 1-200 characters")
    urls = tuple(dict.fromkeys(check_redirect_url(u) for u in redirect_urls))
    if not 1 <= len(urls) <= MAX_REDIRECT_URLS:
        raise InvalidArguments(f"give 1-{MAX_REDIRECT_URLS} redirect URLs")
    users, bots = check_scopes(*scopes)
    secret = secrets.token_hex(16)
    app = App(
        id=_new_app_id(),
        name=name,
        client_id=_new_client_id(),
        client_secret_hash=secret_hash(secret),
        redirect_urls=urls,
        user_scopes=frozenset(users),
        bot_scopes=frozenset(bots),
        is_distributed=distributed,
        created_at=now,
    )
    store.put_app(app)
    return app, secret


def get_app(store: Store, app_id: str) -> App:
    """An app by id, or `NotFound`."""
    app = store.get_app(app_id)
    if app is None:
        raise NotFound(f"no app {app_id}")
    return app


def rotate_secret(store: Store, app_id: str) -> tuple[App, str]:
    """Give an app a new client secret; the old one stops working at once."""
    secret = secrets.token_hex(16)
    app = replace(get_app(store, app_id), client_secret_hash=secret_hash(secret))
    store.put_app(app)
    return app, secret


def set_distribution(store: Store, app_id: str, distributed: bool) -> App:
    """Turn public distribution on or off (off: no new installations)."""
    app = replace(get_app(store, app_id), is_distributed=distributed)
    store.put_app(app)
    return app
