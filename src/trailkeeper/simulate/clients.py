"""Clients people and programs use: UA strings per release, upgrade schedules (versions only go
up, spec §3.2) and JA4-shaped TLS fingerprints derived from client family and engine generation.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

DAY = 86_400
CADENCE_S = 28 * DAY
MOBILE_CADENCE_S = 14 * DAY
EPOCH = 1_735_689_600  # 2025-01-01: release 0 of every family

OS_TOKENS = {
    "mac": "Macintosh; Intel Mac OS X 10_15_7",
    "windows": "Windows NT 10.0; Win64; x64",
    "linux": "X11; Linux x86_64",
}
DESKTOP_FAMILIES = ("slack-desktop",)
BROWSER_FAMILIES = ("chrome", "firefox", "safari", "edge")
MOBILE_FAMILIES = ("slack-ios", "slack-android")
SCRIPT_UAS = (
    "python-requests/2.32.3",
    "Go-http-client/2.0",
    "curl/8.7.1",
    "python-httpx/0.27.2",
    "axios/1.7.7",
    "Wget/1.21.4",
)
SERVICE_UAS = (
    "Python/3.11.9 slackclient/3.33.1 Linux/6.5.0-1025-aws",
    "Python/3.12.4 slack_sdk/3.33.1 Linux/6.8.0-1012-gcp",
    "@slack/web-api:7.3.4 node/20.15.1 linux/6.5.0",
    "Go-http-client/2.0",
)
# What naive attackers' browsers look like: out-of-date builds on odd systems.
ODD_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Firefox/102.0",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36",
)
TOR_BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass(frozen=True, slots=True)
class Device:
    """A client installation: family, OS, how late it upgrades, and when it first appears."""

    kind: str
    family: str
    os: str
    lag_s: int
    since: int

    def release(self, ts: int) -> int:
        """The release this device runs at `ts` (never decreases with time)."""
        cadence = MOBILE_CADENCE_S if self.kind == "mobile" else CADENCE_S
        return max(0, (ts - EPOCH - self.lag_s) // cadence)

    def ua(self, ts: int) -> str:
        """The device's UA string at `ts`."""
        return user_agent(self.family, self.os, self.release(ts))

    def fingerprint(self, ts: int) -> str:
        """The device's JA4-style TLS fingerprint at `ts`: it changes with the TLS stack, i.e.
        every third engine release on desktops and browsers, with the OS (~6 months) on phones."""
        every = 12 if self.kind == "mobile" else 3
        return fingerprint(self.family, self.os, self.release(ts) // every)


@functools.lru_cache(maxsize=4096)
def user_agent(family: str, os: str, release: int) -> str:
    """The UA string of a client family on an OS at a release number."""
    token = OS_TOKENS.get(os, OS_TOKENS["windows"])
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    chrome = 131 + release
    if family == "slack-desktop":
        v = f"4.{41 + release}.{100 + (release * 7) % 60}"
        return (
            f"Mozilla/5.0 ({token}) {webkit} Slack/{v} Chrome/{chrome - 2}.0.6613.186 "
            f"Electron/{32 + release}.2.2 Safari/537.36 Sonic Slack_SSB/{v}"
        )
    if family == "chrome":
        return f"Mozilla/5.0 ({token}) {webkit} Chrome/{chrome}.0.0.0 Safari/537.36"
    if family == "edge":
        return (
            f"Mozilla/5.0 ({token}) {webkit} Chrome/{chrome}.0.0.0 Safari/537.36 "
            f"Edg/{chrome}.0.{2849 + 20 * release}.68"
        )
    if family == "firefox":
        return (
            f"Mozilla/5.0 ({token}; rv:{133 + release}.0) Gecko/20100101 Firefox/{133 + release}.0"
        )
    if family == "safari":
        return (
            f"Mozilla/5.0 ({OS_TOKENS['mac']}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/18.{1 + release // 2} Safari/605.1.15"
        )
    return _mobile_ua(family, release)


def _mobile_ua(family: str, release: int) -> str:
    year, month = 25 + (release // 2) // 12, (release // 2) % 12 + 1
    build = 10 + 10 * (release % 2)
    if family == "slack-ios":
        ios = f"18.{1 + release // 8}"
        return f"com.tinyspeck.chatlyio/{year}.{month:02d}.{build} (iPhone; iOS {ios}; Scale/3.00)"
    return f"com.Slack/{year}.{month:02d}.{build}.0 (Android 15; Pixel 8)"


@functools.lru_cache(maxsize=4096)
def fingerprint(family: str, os: str, generation: int) -> str:
    """A JA4-shaped fingerprint for a client family/OS/engine generation."""
    digest = hashlib.sha256(f"{family}|{os}|{generation}".encode()).hexdigest()
    alpn = "h2" if family not in ("curl", "script") else "h1"
    ciphers, extensions = 15 + int(digest[0], 16) % 3, 10 + int(digest[1], 16) % 6
    return f"t13d{ciphers}{extensions}{alpn}_{digest[2:14]}_{digest[14:26]}"


def script_fingerprint(ua: str) -> str:
    """The TLS fingerprint of an HTTP library (its stack, not its UA string)."""
    return fingerprint("script", ua.split("/", 1)[0].lower(), 0)
