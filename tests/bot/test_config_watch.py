"""The bot as a user of the shared config watcher: reload, HALTED, and a bad file keeps the old config."""

from __future__ import annotations

from pathlib import Path

from spyops.common.config_watch import ConfigWatcher
from spyops.schemas import GatewayEndpoint, RuntimeConfig, TradingState, load_runtime_config
from tests.common.configmap import ConfigMapVolume


def config(state: TradingState = TradingState.ACTIVE, max_open: int = 10) -> RuntimeConfig:
    return RuntimeConfig.model_validate(
        {
            "strategy": "demo/spy-0dte",
            "gateway": GatewayEndpoint(host="127.0.0.1", port=4002).model_dump(),
            "risk": {"max_open_positions": max_open},
            "trading_state": state.value,
            "lease_name": "spy-0dte-bot",
        }
    )


def test_symlink_swap_reload_and_bad_config_keeps_the_old_one(tmp_path: Path) -> None:
    volume = ConfigMapVolume(tmp_path)
    path = volume.publish(config().to_json())
    seen: list[tuple[TradingState, TradingState]] = []
    errors: list[str] = []
    watcher = ConfigWatcher(
        path,
        load_runtime_config(path),
        load_runtime_config,
        lambda old, new: seen.append((old.trading_state, new.trading_state)),
        on_error=errors.append,
    )
    assert not watcher.poll()

    volume.publish(config(TradingState.HALTED).to_json())
    assert watcher.poll()
    assert seen == [(TradingState.ACTIVE, TradingState.HALTED)]
    assert watcher.current.trading_state is TradingState.HALTED

    volume.publish('{"strategy": "demo/spy-0dte", "risk": {"max_open_positions": -1}}')
    assert not watcher.poll()
    assert watcher.current.trading_state is TradingState.HALTED, "the old config stays in force"
    assert watcher.errors == 1
    assert len(errors) == 1
    assert "max_open_positions" in errors[0]
    assert "gateway" in errors[0]
    assert not watcher.poll()
    assert watcher.errors == 1, "the same bad file is reported once"

    volume.publish(config(TradingState.REDUCING, max_open=3).to_json())
    assert watcher.poll()
    assert watcher.current.risk.max_open_positions == 3
    assert watcher.last_error == ""


def test_in_place_rewrite_and_identical_content(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(config().to_json())
    seen: list[RuntimeConfig] = []
    watcher = ConfigWatcher(
        path, load_runtime_config(path), load_runtime_config, lambda _old, new: seen.append(new)
    )
    path.write_text(config().to_json() + "\n")  # same meaning, new bytes: a reload, harmless
    path.write_text(config().to_json())  # back to the same bytes as at start
    assert not watcher.poll()
    path.write_text(config(TradingState.REDUCING).to_json())
    assert watcher.poll()
    assert seen[-1].trading_state is TradingState.REDUCING
    path.unlink()
    assert not watcher.poll(), "a vanished file keeps the current config"
