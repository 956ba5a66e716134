"""The spyops backend: ingest, history, live broadcast and the dashboard (DESIGN.md sections 2 and 6)."""
