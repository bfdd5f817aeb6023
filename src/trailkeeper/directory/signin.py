"""Signing in: password checks throttled per login and per address, and sign-in sessions.

Every attempt is counted before the password is checked, so parallel guesses cannot slip past
the limit; successful attempts, and attempts refused without a check, are then uncounted.
Failures of a known account are recorded (`user_login_failed`); the caller always gets the same
`SignInRefused`, whatever was wrong.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass, replace

from trailkeeper.directory.accounts import SignInSession, User
from trailkeeper.directory.activity import ChangeContext, user_event
from trailkeeper.directory.errors import SignInRefused, SignInThrottled
from trailkeeper.directory.passwords import HASHER, needs_rehash, verify_password
from trailkeeper.storage.base import Store

MAX_LOGIN_CHARS = 254


@dataclass(frozen=True)
class ThrottlePolicy:
    """At most `max_per_login` and `max_per_address` counted attempts per `window_s`."""

    window_s: int
    max_per_login: int
    max_per_address: int


def login_key(login: str) -> str:
    """The throttle key of a login (hashed: the table need not hold email addresses)."""
    return "login:" + hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]


def address_key(ip: str) -> str:
    """The throttle key of an address; IPv6 by /64, the block one subscriber usually holds."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "ip:unknown"
    if address.version == 6:
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


def _throttle_wait(store: Store, limits: list[tuple[str, int]], window_s: int, now: int) -> int:
    """Seconds until the attempt may be made (0: now), from the fullest key."""
    wait = 0
    for key, limit in limits:
        times = store.signin_attempts(key, now - window_s + 1)
        if len(times) > limit:
            wait = max(wait, times[0] + window_s - now, 1)
    return wait


def sign_in(
    store: Store, login: str, password: str, policy: ThrottlePolicy, change: ChangeContext
) -> User:
    """The active user with this login and password, or `SignInRefused` (or `SignInThrottled`)."""
    attempt, now = secrets.token_hex(8), change.now
    limits = [
        (login_key(login), policy.max_per_login),
        (address_key(change.origin.ip), policy.max_per_address),
    ]
    for key, _ in limits:
        store.add_signin_attempt(key, attempt, now)
    wait = _throttle_wait(store, limits, policy.window_s, now)
    if wait:
        store.forget_signin_attempt(attempt)
        raise SignInThrottled(wait)
    login = login.strip()
    user = store.find_user_by_login(login) if 0 < len(login) <= MAX_LOGIN_CHARS else None
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        if user is not None:
            change.record([user_event("user_login_failed", user, user, change.origin)])
        raise SignInRefused("wrong login or password")
    store.forget_signin_attempt(attempt)
    store.clear_signin_attempts(limits[0][0])
    return _rehashed(store, user, password)


def _rehashed(store: Store, user: User, password: str) -> User:
    """Upgrade a hash made with older parameters, now that the password is known."""
    if user.password_hash is None or not needs_rehash(user.password_hash):
        return user
    updated = replace(user, password_hash=HASHER.hash(password))
    store.put_user(updated)
    return updated


def session_hash(cookie: str) -> bytes:
    """The only form in which a session cookie is stored."""
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).digest()


def start_session(store: Store, user: User, ttl_s: int, now: int) -> tuple[str, SignInSession]:
    """A new session for a signed-in user: the cookie value (shown once) and its record."""
    cookie = secrets.token_urlsafe(32)
    session = SignInSession(
        id_hash=session_hash(cookie),
        user_id=user.id,
        number=secrets.randbelow(2**53 - 1) + 1,  # exact in JSON, as Slack's session_id
        created_at=now,
        expires_at=now + ttl_s,
    )
    store.add_session(session)
    return cookie, session


def session_user(store: Store, cookie: str, now: int) -> tuple[SignInSession, User] | None:
    """The live session of a cookie and its active user, or None (unknown, expired, deactivated)."""
    if not cookie or len(cookie) > 128:
        return None
    session = store.find_session(session_hash(cookie))
    if session is None or session.expires_at <= now:
        return None
    user = store.get_user(session.user_id)
    if user is None or not user.is_active:
        return None
    return session, user


def end_session(store: Store, cookie: str) -> None:
    """Forget a session (sign-out)."""
    store.delete_session(session_hash(cookie))
