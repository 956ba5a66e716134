"""The detector's view of the mounted runtime config: the config plus its scan parameters.

A new file is applied (by :class:`spyops.common.config_watch.ConfigWatcher`) only if it is
a valid runtime config *and* valid detector settings (known rule names); otherwise the
previous config stays in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from spyops.detector.rules import ScanParams
from spyops.schemas import RuntimeConfig, RuntimeConfigError, load_runtime_config


class DetectorConfigError(ValueError):
    """The runtime config cannot drive the detector; the message names the file and field."""


class DetectorConfig(NamedTuple):
    runtime: RuntimeConfig
    params: ScanParams


def load_detector_config(path: Path) -> DetectorConfig:
    """Read and validate the runtime config and the detector's scan parameters."""
    try:
        config = load_runtime_config(path)
    except RuntimeConfigError as exc:
        raise DetectorConfigError(str(exc)) from exc
    try:
        params = ScanParams.from_settings(config.detector)
    except ValueError as exc:
        raise DetectorConfigError(f"{path}: invalid runtime config: detector.rules: {exc}") from exc
    return DetectorConfig(config, params)
