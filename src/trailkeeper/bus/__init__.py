"""The JetStream edge: the ingest worker, the committed-events relay and the streams they use.

Only this package and the command line import the NATS client; the store is reached through the
Store protocol. docs/jetstream.md describes subjects, message formats and guarantees.
"""
