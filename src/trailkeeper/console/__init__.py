"""The admin console's logic, without the web: filters and presets, views of events and anomalies,
exports, and the console's own audit events. Talks to the store through the Store protocol.
"""
