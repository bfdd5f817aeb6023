"""Writing the synthetic world as the operator's data files, read by the production lookup
code (spec §3.2): GeoLite2-City/-ASN MMDB databases and the Tor, cloud, VPN, IOC and
suspicious-ASN lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

from trailkeeper.simulate.world import World, asn_record, city_record, range_lines


@dataclass(frozen=True)
class WorldFiles:
    """Paths of the data files written for one world."""

    city_mmdb: str
    asn_mmdb: str
    tor_exits: str
    cloud_ranges: str
    ioc_list: str
    vpn_ranges: str
    suspicious_asns: str


# When a caller has no simulated start to give (MMDB readers refuse a build time of 0).
DEFAULT_BUILD_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


class _DatedWriter(MMDBWriter):
    """An `MMDBWriter` whose metadata carries a given build time instead of the clock's, so the
    same world writes the same bytes whenever it runs."""

    def __init__(self, built_at: int, **options: Any) -> None:
        super().__init__(**options)
        self._built_at = built_at

    def _build_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = super()._build_meta()
        meta["build_epoch"] = self._built_at
        return meta


def _write_mmdb(world: World, path: Path, kind: str, built_at: int) -> None:
    writer = _DatedWriter(
        built_at,
        ip_version=6,
        ipv4_compatible=True,
        database_type=f"GeoLite2-{kind}",
        languages=["en"],
        description=f"Trailkeeper synthetic GeoLite2-{kind} (simulation only)",
    )
    record = city_record if kind == "City" else asn_record
    for net in world.networks:
        writer.insert_network(IPSet([net.cidr]), record(net))
    writer.to_db_file(str(path))


def _write_lines(path: Path, header: str, lines: list[str]) -> None:
    path.write_text(f"# {header}\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")


def write_world_files(
    world: World, directory: str | Path, built_at: int = DEFAULT_BUILD_EPOCH
) -> WorldFiles:
    """Write every data file of `world` into `directory` (created if needed); the MMDB files say
    they were built at `built_at` (Unix seconds), so the same world always gives the same bytes."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = WorldFiles(
        city_mmdb=str(out / "GeoLite2-City.mmdb"),
        asn_mmdb=str(out / "GeoLite2-ASN.mmdb"),
        tor_exits=str(out / "tor-exits.txt"),
        cloud_ranges=str(out / "cloud-ranges.txt"),
        ioc_list=str(out / "ioc.txt"),
        vpn_ranges=str(out / "vpn-ranges.txt"),
        suspicious_asns=str(out / "suspicious-asns.txt"),
    )
    _write_mmdb(world, Path(files.city_mmdb), "City", built_at)
    _write_mmdb(world, Path(files.asn_mmdb), "ASN", built_at)
    _write_lines(Path(files.tor_exits), "synthetic Tor exit list", list(world.tor_exits))
    hosting = list(range_lines(world, ("hosting", "tor-host")))
    _write_lines(Path(files.cloud_ranges), "synthetic hosting/cloud ranges", hosting)
    _write_lines(Path(files.ioc_list), "synthetic indicators of compromise", list(world.ioc))
    vpn = list(range_lines(world, ("vpn", "relay")))
    _write_lines(Path(files.vpn_ranges), "synthetic VPN and private-relay ranges", vpn)
    asns = [f"AS{n}" for n in world.suspicious_asns]
    _write_lines(Path(files.suspicious_asns), "synthetic suspicious ASNs", asns)
    return files
