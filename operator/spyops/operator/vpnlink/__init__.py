"""The VpnLink engine: Azure reads and resets, probes, health, failover policy, notices, metrics.

Pure logic (``health``, ``failover``, ``model``) is separate from I/O
(``azure_client``, ``probes``, ``notify``); ``engine`` composes them into one check
that the kopf controller runs on a timer per VpnLink.
"""
