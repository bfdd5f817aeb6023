"""The operator's offline data files, parsed: Tor exit lists and labelled CIDR/ASN range lists.

Nothing here touches the network. Files are read whole and turned into immutable lookup tables
that `enrichment.Enrichment` swaps in atomically when a file changes.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("trailkeeper.detect")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def data_lines(text: str) -> Iterable[list[str]]:
    """The whitespace-split tokens of each non-empty line, `#` comments removed."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield line.split()


@dataclass(frozen=True)
class RangeTable:
    """Networks (and ASNs) with an optional label each, looked up by longest prefix.

    Built for few distinct prefix lengths: a lookup probes one dict per length present, so a
    list of thousands of ranges costs a handful of dict probes.
    """

    v4: dict[int, dict[int, str]] = field(default_factory=dict)
    v6: dict[int, dict[int, str]] = field(default_factory=dict)
    asns: dict[int, str] = field(default_factory=dict)
    size: int = 0

    def label_of(self, address: IPAddress) -> str | None:
        """The label of the longest listed network containing `address` ("" if unlabelled)."""
        table, bits = (self.v4, 32) if address.version == 4 else (self.v6, 128)
        value = int(address)
        for prefix_len, networks in table.items():  # sorted longest first at build time
            label = networks.get(value >> (bits - prefix_len))
            if label is not None:
                return label
        return None

    def asn_label(self, asn: int | None) -> str | None:
        """The label of a listed ASN, or None."""
        return None if asn is None else self.asns.get(asn)


def parse_asn(token: str) -> int | None:
    """`AS13335` or `as13335` as an integer; None for anything else."""
    if token[:2].upper() == "AS" and token[2:].isdigit():
        return int(token[2:])
    return None


def build_range_table(text: str, source: str = "") -> RangeTable:
    """A table from lines of `CIDR [label...]` or `AS123 [label...]`; bad lines are skipped."""
    v4: dict[int, dict[int, str]] = {}
    v6: dict[int, dict[int, str]] = {}
    asns: dict[int, str] = {}
    size = 0
    for tokens in data_lines(text):
        label = " ".join(tokens[1:])
        asn = parse_asn(tokens[0])
        if asn is not None:
            asns[asn] = label
            size += 1
            continue
        try:
            network = ipaddress.ip_network(tokens[0], strict=False)
        except ValueError:
            log.warning("%s: skipping unparseable line %r", source or "range list", tokens[0])
            continue
        table, bits = (v4, 32) if network.version == 4 else (v6, 128)
        key = int(network.network_address) >> (bits - network.prefixlen)
        table.setdefault(network.prefixlen, {})[key] = label
        size += 1
    return RangeTable(_longest_first(v4), _longest_first(v6), asns, size)


def _longest_first(table: dict[int, dict[int, str]]) -> dict[int, dict[int, str]]:
    return {length: table[length] for length in sorted(table, reverse=True)}


def parse_tor_exits(text: str) -> frozenset[str]:
    """Exit addresses from a plain list (one IP per line) or a TorDNSEL `ExitAddress` document."""
    found: set[str] = set()
    for tokens in data_lines(text):
        candidate = tokens[1] if tokens[0] == "ExitAddress" and len(tokens) > 1 else tokens[0]
        try:
            found.add(str(ipaddress.ip_address(candidate)))
        except ValueError:
            continue  # TorDNSEL headers (ExitNode, Published, LastStatus) and junk
    return frozenset(found)


def read_text(path: str) -> str:
    """A data file's text (UTF-8, undecodable bytes replaced)."""
    return Path(path).read_text(encoding="utf-8", errors="replace")
