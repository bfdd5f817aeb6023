"""User agents -> clients: Slack's own apps, browsers, SDKs and scripts, parsed once per string.

`ua-parser` names browsers and operating systems; Slack's mobile apps and the official SDKs are
recognised here (ua-parser does not know them); `crawler-user-agents` supplies the patterns of
HTTP libraries, crawlers and headless browsers. Results are cached per UA string: an
organization has few distinct UAs, and an uncached parse costs ~0.5 ms.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass

import crawleruseragents  # type: ignore[import-untyped]
from ua_parser import parse as parse_ua

SLACK_MOBILE = (
    (re.compile(r"com\.tinyspeck\.chatlyio/(\d+)\.(\d+)(?:\.(\d+))?"), "Slack iOS"),
    (re.compile(r"com\.Slack/(\d+)\.(\d+)(?:\.(\d+))?"), "Slack Android"),
)
SLACK_DESKTOP = re.compile(r"Slack/(\d+)\.(\d+)\.(\d+)")
# Official SDKs and platform agents: a program, not a person, is holding the token.
SDK_PATTERNS = (
    (re.compile(r"slackclient/|python-slack-sdk|slack_sdk/"), "Python Slack SDK"),
    (re.compile(r"@slack/web-api|@slack/bolt"), "Node Slack SDK"),
    (re.compile(r"slack-api-client|slack-java-sdk"), "Java Slack SDK"),
    (re.compile(r"^Slack-Apps/"), "Slack apps platform"),
)
# Bare language runtimes and HTTP stacks that crawler-user-agents leaves out.
SCRIPT_PATTERN = re.compile(
    r"^(?:Python|Java|Go|Ruby|PHP|Perl|node|Deno|Dart|libwww|lwp)[-/ ]", re.IGNORECASE
)
# The scraping "tool" Slack names in `details.scraping_tool` ("Go-based tool" in the field).
TOOL_NAMES = (
    (re.compile(r"(?i)python|httpx|aiohttp|scrapy|urllib"), "Python-based tool"),
    (re.compile(r"(?i)go-http-client|\bgo\b|golang"), "Go-based tool"),
    (re.compile(r"(?i)node|axios|undici|got/"), "Node-based tool"),
    (re.compile(r"(?i)java|okhttp|apache-httpclient"), "Java-based tool"),
    (re.compile(r"(?i)curl|wget|httpie"), "command-line tool"),
    (re.compile(r"(?i)headless|phantomjs|puppeteer|playwright|selenium"), "headless browser"),
)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """One UA string, understood: who the client is and whether a program is driving it.

    `kind` is one of: slack-desktop, slack-mobile, browser, sdk, script, unknown, empty.
    `key` and `ua_key` are stable 32-bit hashes of the family and of the whole string (for
    per-actor histories that survive restarts).
    """

    ua: str
    family: str
    kind: str
    version: tuple[int, int, int]
    os: str
    tool: str
    key: int
    ua_key: int

    @property
    def is_script(self) -> bool:
        """Driven by a program: an HTTP library, crawler, headless browser or SDK."""
        return self.kind in ("script", "sdk")

    @property
    def packed_version(self) -> int:
        """major * 1000 + minor, for "highest version seen" comparisons."""
        return self.version[0] * 1000 + min(self.version[1], 999)

    @property
    def is_interactive(self) -> bool:
        """One of the clients a person uses: Slack's apps or a browser."""
        return self.kind in ("slack-desktop", "slack-mobile", "browser")


def stable_key(text: str) -> int:
    """A stable (not per-process salted) 32-bit hash, for state that is persisted."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _int(part: str | None) -> int:
    return int(part) if part and part.isdigit() else 0


def _version(*parts: str | None) -> tuple[int, int, int]:
    values = [*(_int(p) for p in parts[:3]), 0, 0, 0]
    return values[0], values[1], values[2]


def _tool(ua: str) -> str:
    for pattern, name in TOOL_NAMES:
        if pattern.search(ua):
            return name
    return "automation tool"


def _make(ua: str, family: str, kind: str, version: tuple[int, int, int], os: str) -> ClientInfo:
    tool = _tool(ua) if kind in ("script", "sdk") else ""
    return ClientInfo(ua, family, kind, version, os, tool, stable_key(family), stable_key(ua))


def _slack_app(ua: str, os: str) -> ClientInfo | None:
    for pattern, family in SLACK_MOBILE:
        found = pattern.search(ua)
        if found:
            mobile_os = "iOS" if family == "Slack iOS" else "Android"
            return _make(ua, family, "slack-mobile", _version(*found.groups()), mobile_os)
    found = SLACK_DESKTOP.search(ua)
    if found and "Electron/" in ua:
        return _make(ua, "Slack Desktop", "slack-desktop", _version(*found.groups()), os)
    return None


def _sdk(ua: str, os: str) -> ClientInfo | None:
    for pattern, family in SDK_PATTERNS:
        if pattern.search(ua):
            return _make(ua, family, "sdk", (0, 0, 0), os)
    return None


@functools.lru_cache(maxsize=8192)
def parse_client(ua: str | None) -> ClientInfo:
    """The client behind a UA string (cached per string)."""
    text = ua or ""
    if not text.strip():
        return _make("", "", "empty", (0, 0, 0), "")
    parsed = parse_ua(text)
    os = parsed.os.family if parsed.os else ""
    known = _slack_app(text, os) or _sdk(text, os)
    if known is not None:
        return known
    agent = parsed.user_agent
    family = agent.family if agent else ""
    version = _version(agent.major, agent.minor, agent.patch) if agent else (0, 0, 0)
    if crawleruseragents.is_crawler(text) or SCRIPT_PATTERN.match(text):
        return _make(text, family or text.split("/", 1)[0][:40], "script", version, os)
    if family and family != "Other" and text.startswith("Mozilla/"):
        return _make(text, family, "browser", version, os)
    return _make(text, family if family != "Other" else text.split("/", 1)[0][:40], "unknown",
                 version, os)  # fmt: skip
