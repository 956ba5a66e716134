"""`spyops tunnel`: the edge's strongSwan configuration, rendered from the Terraform outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The edge side of the site-to-site VPN: strongSwan swanctl.conf from the Terraform outputs.",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _read_outputs(outputs: Path) -> str:
    from spyops.tunnel.policy import TunnelConfigError

    if str(outputs) == "-":
        return sys.stdin.read()
    try:
        return outputs.read_text(encoding="utf-8")
    except OSError as exc:
        raise TunnelConfigError(f"--outputs {outputs}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TunnelConfigError(f"--outputs {outputs}: not UTF-8 text (byte {exc.start})") from None


OutputsOption = Annotated[
    Path,
    typer.Option(
        "--outputs",
        help="The Terraform outputs as JSON (`spyops infra output --env <env>`; '-' reads stdin).",
    ),
]


@app.command()
def render(
    outputs: OutputsOption,
    psk_file: Annotated[
        Path | None, typer.Option(help="File holding the pre-shared key (e.g. from Key Vault), 0600.")
    ] = None,
    psk_secret: Annotated[
        str | None, typer.Option(help="Kubernetes Secret holding the key: NAME or NAMESPACE/NAME.")
    ] = None,
    psk_key: Annotated[
        str, typer.Option(help="Key of the Secret's data that holds the pre-shared key.")
    ] = "psk",
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Kubeconfig for --psk-secret (default: $KUBECONFIG, in-cluster).")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option(help="Directory swanctl.conf includes (Debian: include conf.d/*.conf).")
    ] = Path("/etc/swanctl/conf.d"),
    name: Annotated[str, typer.Option(help="Base name of the two files written.")] = "spyops-azure",
    dpd_delay: Annotated[int, typer.Option(help="Dead peer detection interval, seconds.")] = 30,
) -> None:
    """Write OUT_DIR/NAME.conf (connections) and OUT_DIR/NAME.secrets.conf (the key, 0600); print no secret."""
    from spyops.tunnel.files import write_file
    from spyops.tunnel.outputs import load_outputs
    from spyops.tunnel.policy import TunnelConfigError
    from spyops.tunnel.psk import read_psk_file, read_psk_secret
    from spyops.tunnel.render import connection_name, render_connections, render_secrets

    try:
        if (psk_file is None) == (psk_secret is None):
            raise TunnelConfigError("give exactly one of --psk-file and --psk-secret")
        tunnel = load_outputs(_read_outputs(outputs), f"--outputs {outputs}")
        connections = render_connections(tunnel, dpd_delay)
        psk = read_psk_file(psk_file) if psk_file else read_psk_secret(str(psk_secret), psk_key, kubeconfig)
        if not out_dir.is_dir():
            raise TunnelConfigError(f"--out-dir {out_dir}: not a directory")
        conf_path, secrets_path = out_dir / f"{name}.conf", out_dir / f"{name}.secrets.conf"
        try:
            write_file(secrets_path, render_secrets(tunnel, psk), 0o600)
            write_file(conf_path, connections, 0o644)
        except OSError as exc:
            raise TunnelConfigError(f"--out-dir {out_dir}: {exc.strerror or exc}") from None
    except TunnelConfigError as exc:
        _fail(str(exc))
        return
    typer.echo(f"wrote {conf_path}")
    typer.echo(f"wrote {secrets_path} (mode 0600)")
    for index, gateway_ip in enumerate(tunnel.gateway_ips):
        typer.echo(f"{connection_name(index)}: {tunnel.edge_public_ip} -> {gateway_ip}")
    typer.echo(f"IKE {tunnel.policy.ike_proposal()}; ESP {tunnel.policy.esp_proposal()}")
    typer.echo(f"{', '.join(tunnel.onprem_address_space)} <=> {', '.join(tunnel.azure_address_space)}")
    typer.echo("load it: swanctl --load-all")
    # Without SAs nothing routes the VNet into the tunnel; drop it rather than use the default route.
    for prefix in tunnel.azure_address_space:
        typer.echo(f"while the tunnel is down, drop (not leak) VNet traffic: ip route add blackhole {prefix}")


@app.command()
def check(
    outputs: OutputsOption,
    conf: Annotated[Path, typer.Option(help="The edge's swanctl file with the Azure connections.")] = Path(
        "/etc/swanctl/conf.d/spyops-azure.conf"
    ),
) -> None:
    """Check an edge swanctl file (rendered or edited since) against Azure's policy, peers and selectors."""
    from spyops.tunnel.check import check_config
    from spyops.tunnel.outputs import load_outputs
    from spyops.tunnel.policy import TunnelConfigError
    from spyops.tunnel.swanconf import parse_swanctl

    try:
        tunnel = load_outputs(_read_outputs(outputs), f"--outputs {outputs}")
        try:
            text = conf.read_text(encoding="utf-8")
        except OSError as exc:
            raise TunnelConfigError(f"--conf {conf}: {exc.strerror or exc}") from None
        problems = check_config(parse_swanctl(text, str(conf)), tunnel)
    except TunnelConfigError as exc:
        _fail(str(exc))
        return
    if problems:
        for problem in problems:
            typer.echo(f"error: {conf}: {problem}", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"{conf} matches: {len(tunnel.gateway_ips)} gateway(s), IKE {tunnel.policy.ike_proposal()}, "
        f"ESP {tunnel.policy.esp_proposal()}"
    )
