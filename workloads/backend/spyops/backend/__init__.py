"""The spyops backend: ingest, history, live broadcast and the dashboard (docs/architecture.md, "Data flow")."""
