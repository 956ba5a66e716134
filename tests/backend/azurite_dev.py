"""Azurite's documented development account, for tests that only parse a connection string."""

from spyops.backend.azurite import connection_string

DEV_CONNECTION_STRING = connection_string(10002)
