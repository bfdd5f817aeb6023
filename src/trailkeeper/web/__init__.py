"""The HTTP edge: the ASGI app, its routes, and Slack's wire names and error strings."""
