"""Writing the synthetic world as the operator's data files, read by the production lookup
code (spec §3.2): GeoLite2-City/-ASN MMDB databases and the Tor, cloud, VPN, IOC and
suspicious-ASN lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def _write_mmdb(world: World, path: Path, kind: str) -> None:
    writer = MMDBWriter(
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


def write_world_files(world: World, directory: str | Path) -> WorldFiles:
    """Write every data file of `world` into `directory` (created if needed)."""
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
    _write_mmdb(world, Path(files.city_mmdb), "City")
    _write_mmdb(world, Path(files.asn_mmdb), "ASN")
    _write_lines(Path(files.tor_exits), "synthetic Tor exit list", list(world.tor_exits))
    hosting = list(range_lines(world, ("hosting", "tor-host")))
    _write_lines(Path(files.cloud_ranges), "synthetic hosting/cloud ranges", hosting)
    _write_lines(Path(files.ioc_list), "synthetic indicators of compromise", list(world.ioc))
    vpn = list(range_lines(world, ("vpn", "relay")))
    _write_lines(Path(files.vpn_ranges), "synthetic VPN and private-relay ranges", vpn)
    asns = [f"AS{n}" for n in world.suspicious_asns]
    _write_lines(Path(files.suspicious_asns), "synthetic suspicious ASNs", asns)
    return files
