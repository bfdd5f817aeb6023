"""Anomaly detection: committed audit events in, Slack-format `anomaly` events out.

The API (what `trailkeeper simulate`/`evaluate` and the server use):

- `detect.enrichment.load_enrichment(city_mmdb, asn_mmdb, tor_exits, cloud_ranges, ioc_list,
  *, vpn_ranges=None, suspicious_asns=None, reload_check_s=60) -> Enrichment`: MaxMind
  GeoLite2-City/-ASN format files, a Tor exit list (one IP per line or TorDNSEL), and range
  lists (`CIDR [provider]` or `AS123 [name]` per line, `#` comments). `Enrichment.lookup(ip)
  -> IpInfo` (country, city, region, lat, lon, asn, as_org, is_tor, is_cloud, in_ioc,
  cloud_provider, is_vpn, asn_suspicious, accuracy_km), LRU-cached; files are reloaded when
  their mtime changes; `staleness_warnings()` lists files older than allowed.
- `detect.pipeline.DetectionPipeline(enrichment, controls_provider=None, clock=None, *,
  params=Params(), warmup_days=7, on_shadow=None)`:
  `process(event, org_id=None) -> list[dict]` (one committed Slack-shaped event, in commit
  order per organization; returns complete `anomaly` events ready for ingest),
  `process_signal(org_id, signal) -> list[dict]`, `state_bytes()`, `active_actors()`,
  `snapshot(org_ids=None) -> bytes`, `restore(bytes)`. `clock=None` dates anomalies at their
  triggering event (replays, simulations); the server passes `time.time`.
  `controls_provider(org_id) -> OrgControls` (see `detect.controls`).
- `detect.runner.DetectionRunner(store, pipeline, recorder, consumer="detect:anomaly")`: the
  in-process consumer of the committed log (`run_once()`, `start()`, `stop()`, `notify()`).

Anomalies carry Slack's `details` keys plus one extension key, `trailkeeper_evidence`
(`detector`, `score`, `baseline`, `window_s`, `event_ids`). docs/anomalies.md documents every
reason, its triggers, details and tuning.
"""
