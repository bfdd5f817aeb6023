"""Trailkeeper: a self-hosted, Slack-compatible audit log service."""
