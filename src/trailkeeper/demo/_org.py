"""The demo organization: an enterprise, its workspaces and ~200 people."""

from __future__ import annotations

import ipaddress
import random
import unicodedata
from dataclasses import dataclass

from trailkeeper.demo._data import (
    BROWSER_UAS,
    DEPARTMENTS,
    DESKTOP_UAS,
    FIRST_NAMES,
    GUEST_DOMAINS,
    LAST_NAMES,
    MOBILE_UAS,
    REGIONS,
    WORKSPACES,
    Region,
)

ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
N_STAFF = 192
N_GUESTS = 8
N_ADMINS = 5


@dataclass(frozen=True)
class DemoWorkspace:
    """A workspace (team) of the demo enterprise."""

    id: str
    name: str
    domain: str


@dataclass(frozen=True)
class DemoUser:
    """A person in the demo organization, with the networks and clients they use."""

    id: str
    name: str
    email: str
    role: str
    team: str
    title: str
    department: str
    country: str
    city: str
    tz_offset: int
    office_ip: str
    home_ips: tuple[str, ...]
    mobile_ips: tuple[str, ...]
    desktop_ua: str
    browser_ua: str
    mobile_ua: str | None
    workspaces: tuple[str, ...]
    office_share: float
    activity: float

    @property
    def ips(self) -> tuple[str, ...]:
        """Every address this user normally connects from."""
        return (self.office_ip, *self.home_ips, *self.mobile_ips)

    @property
    def user_agents(self) -> tuple[str, ...]:
        """Every client this user normally connects with."""
        extra = (self.mobile_ua,) if self.mobile_ua else ()
        return (self.desktop_ua, self.browser_ua, *extra)


@dataclass(frozen=True)
class DemoOrganization:
    """An Enterprise Grid organization with its workspaces and users."""

    id: str
    name: str
    domain: str
    workspaces: tuple[DemoWorkspace, ...]
    users: tuple[DemoUser, ...]


def slack_id(rng: random.Random, prefix: str, taken: set[str], length: int = 9) -> str:
    """A fresh Slack-style id: the prefix then uppercase letters and digits."""
    while True:
        candidate = prefix + "".join(rng.choices(ID_CHARS, k=length))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def random_ip(rng: random.Random, network: str) -> str:
    """A host address inside ``network`` (never the network or broadcast address)."""
    net = ipaddress.ip_network(network)
    return str(net[rng.randrange(1, min(net.num_addresses - 1, 2**64))])


def demo_organization(seed: int = 7) -> DemoOrganization:
    """The deterministic demo organization "Acme Corp"."""
    rng = random.Random(f"trailkeeper-demo-org-{seed}")
    taken: set[str] = set()
    org_id = slack_id(rng, "E0", taken, 8)
    spaces = {
        key: DemoWorkspace(slack_id(rng, "T0", taken, 8), name, domain)
        for key, name, domain in WORKSPACES
    }
    users = _people(rng, taken, spaces)
    return DemoOrganization(org_id, "Acme Corp", "acme", tuple(spaces.values()), users)


def _people(
    rng: random.Random, taken: set[str], spaces: dict[str, DemoWorkspace]
) -> tuple[DemoUser, ...]:
    names = _unique_names(rng, N_STAFF + N_GUESTS)
    emails: set[str] = set()
    users = []
    for index, name in enumerate(names):
        role = _role_for(index)
        department = "IT & Security" if role in ("owner", "admin") else _department(rng)
        users.append(_person(rng, taken, spaces, (name, role, department), emails))
    return tuple(users)


def _role_for(index: int) -> str:
    if index == 0:
        return "owner"
    if index <= N_ADMINS:
        return "admin"
    return "guest" if index >= N_STAFF else "member"


def _unique_names(rng: random.Random, count: int) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen[f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"] = None
    return list(seen)


def _department(rng: random.Random) -> str:
    weights = [d[1] for d in DEPARTMENTS]
    return rng.choices([d[0] for d in DEPARTMENTS], weights=weights)[0]


def _email(name: str, role: str, rng: random.Random, emails: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, last = ascii_name.lower().split(" ", 1)
    domain = rng.choice(GUEST_DOMAINS) if role == "guest" else "acme.example"
    local = f"{first}.{last}"
    candidate, n = f"{local}@{domain}", 1
    while candidate in emails:
        n += 1
        candidate = f"{local}{n}@{domain}"
    emails.add(candidate)
    return candidate


def _person(
    rng: random.Random,
    taken: set[str],
    spaces: dict[str, DemoWorkspace],
    who: tuple[str, str, str],
    emails: set[str],
) -> DemoUser:
    name, role, department = who
    region = rng.choices(REGIONS, weights=[r.weight for r in REGIONS])[0]
    home = _home_workspace(department, region, role, spaces)
    others = [w.id for w in spaces.values() if w.id != home and rng.random() < 0.2]
    titles = next(d[2] for d in DEPARTMENTS if d[0] == department)
    title = "Chief Information Officer" if role == "owner" else rng.choice(titles)
    return DemoUser(
        id=slack_id(rng, "U0", taken),
        name=name,
        email=_email(name, role, rng, emails),
        role=role,
        team=home,
        title="External contractor" if role == "guest" else title,
        department=department,
        country=region.country,
        city=region.city,
        tz_offset=region.tz,
        office_ip=rng.choice(region.offices),
        home_ips=_home_ips(rng, region),
        mobile_ips=_mobile_ips(rng, region),
        desktop_ua=rng.choice(DESKTOP_UAS),
        browser_ua=rng.choice(BROWSER_UAS),
        mobile_ua=rng.choice(MOBILE_UAS) if rng.random() < 0.8 else None,
        workspaces=(home, *others),
        office_share=0.0 if role == "guest" else rng.choice((0.05, 0.5, 0.5, 0.8, 0.9)),
        activity=round(min(6.0, rng.lognormvariate(0.2, 0.55)), 3),
    )


def _home_workspace(
    department: str, region: Region, role: str, spaces: dict[str, DemoWorkspace]
) -> str:
    kind = next(d[3] for d in DEPARTMENTS if d[0] == department)
    if role == "owner" or kind == "eng":
        return spaces["eng" if role != "owner" else "hq"].id
    return spaces[region.workspace].id


def _home_ips(rng: random.Random, region: Region) -> tuple[str, ...]:
    ips = [random_ip(rng, rng.choice(region.home_nets))]
    if rng.random() < 0.35:
        ips.append(random_ip(rng, region.home_v6))
    if rng.random() < 0.25:
        ips.append(random_ip(rng, rng.choice(region.home_nets)))
    return tuple(ips)


def _mobile_ips(rng: random.Random, region: Region) -> tuple[str, ...]:
    count = rng.randint(1, 3)
    ips = [random_ip(rng, rng.choice(region.mobile_nets)) for _ in range(count)]
    if rng.random() < 0.4:
        ips.append(random_ip(rng, region.mobile_v6))
    return tuple(ips)
