"""CSRF tokens: an HMAC of the browser's session cookie, checked on every form post.

The HMAC-based token pattern (OWASP CSRF Prevention Cheat Sheet): nothing stored, a new token
whenever the session cookie changes (sign-in, sign-out), compared in constant time. SameSite=Lax
cookies and refusing `Sec-Fetch-Site: cross-site` posts are further layers, not the defence.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

FIELD = "csrf_token"


def csrf_token(key: bytes, cookie: str) -> str:
    """The form token of the browser holding `cookie`."""
    mac = hmac.new(key, b"csrf:" + cookie.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def is_valid_post(
    key: bytes, cookie: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> bool:
    """Whether a form post carries this browser's token and was not sent from another site."""
    if headers.get("sec-fetch-site", "") == "cross-site":
        return False
    presented = form.get(FIELD, "")
    if not cookie or not presented or len(presented) > 64:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a form may carry anything.
    return hmac.compare_digest(
        csrf_token(key, cookie).encode(), presented.encode("utf-8", "replace")
    )
