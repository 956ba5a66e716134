"""The detector -> bot signal stream: NDJSON over HTTP, at-least-once, resumable.

The detector appends each signal to a bounded in-memory log under an *epoch*
(a random id per detector process) and a sequence number. A bot subscribes with
the last (epoch, seq) it saw and gets everything after it, then live signals.
If the detector restarted (new epoch) the bot starts from the new epoch's
beginning. Replays are harmless: the bot dedupes by signal id in its journal.
Heartbeat lines let a subscriber notice a dead connection and reconnect.
"""

from spyops.signalstream.client import SignalEnvelope, subscribe
from spyops.signalstream.log import SignalLog
from spyops.signalstream.server import add_signal_stream

__all__ = ["SignalEnvelope", "SignalLog", "add_signal_stream", "subscribe"]
