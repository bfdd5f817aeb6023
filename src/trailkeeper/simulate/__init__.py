"""The quality simulator: a deterministic, labelled Slack-shaped audit stream (spec §3.2) and
its evaluation through the real ingest and detection path against spec §7 and the §3.3 peer
baselines. Entry points: `stream.build_stream` and `evaluate.evaluate`.
"""
