"""The durable outbox: what the edge must tell the backend survives crashes and VPN outages.

Producers (detector, bot) :meth:`OutboxStore.enqueue` signals, executions, order
updates and chain snapshots; the call returns only once the item is committed to
SQLite (WAL, synchronous=FULL). An :class:`OutboxSender` posts them to the backend
in enqueue order, in batches, and deletes them only after a 2xx; the backend
dedupes by id, so at-least-once delivery is enough. The outbound mode from the
runtime config decides where they go (direct, backup) or whether they wait
(buffering), and can change at run time.
"""

from spyops.outbox.sender import OutboxSender, SenderSettings
from spyops.outbox.store import ITEM_KINDS, OutboxItem, OutboxStore

__all__ = ["ITEM_KINDS", "OutboxItem", "OutboxSender", "OutboxStore", "SenderSettings"]
