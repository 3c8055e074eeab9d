"""`kprep cluster up | down | status | gc`: the local cluster with fake GPU nodes.

Imported lazily by `app.cli` (only when `kprep cluster ...` runs). Progress
goes to stderr, the status table to stdout. Every failure is a `ClusterError`
whose message says what to do; it exits with `ExitCode.CLUSTER` (3), or with
`ExitCode.USAGE` (2) for a wrong option such as an unknown profile.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import NoReturn

import click

from app.cli_common import course_from
from app.cluster.active import clear_active, cluster_root, read_active, record_active
from app.cluster.errors import ClusterError
from app.cluster.gc import collect
from app.cluster.profiles import ProfileError, load_profile
from app.cluster.provider import Provider
from app.cluster.registry import DEFAULT_PROVIDER, PROVIDERS, make_provider
from app.exitcodes import ExitCode

PROVIDER_CHOICE = click.Choice(["kwok", "kind"])
"""Keep in step with app.cluster.registry.PROVIDERS (a test compares them)."""


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: ExitCode = ExitCode.CLUSTER) -> NoReturn:
    click.echo(f"kprep: {message}", err=True)
    sys.exit(code)


def _course_root(ctx: click.Context) -> Path:

    return Path(course_from(ctx).root)


def _provider_for(ctx: click.Context, requested: str | None) -> Provider:
    """The provider asked for, else the active one, else kwok."""

    if requested is None:
        active = read_active()
        requested = active.provider if active else DEFAULT_PROVIDER
    return make_provider(requested, _course_root(ctx))


@click.group()
def cluster() -> None:
    """Start, stop and inspect the local cluster with fake GPU nodes.

    The kwok provider (default) runs a real etcd, kube-apiserver,
    kube-scheduler and kube-controller-manager as local processes, with the
    profile's nodes simulated by kwok (no Docker). The kind provider runs real
    kubelets in Docker with a fake GPU device plugin.
    """


@cluster.command()
@click.option(
    "--profile",
    "profile_name",
    default="default",
    show_default=True,
    help="Cluster profile: a name from the course's profiles/ folder or a YAML path.",
)
@click.option("--provider", type=PROVIDER_CHOICE, default="kwok", show_default=True)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would be created (kind: the kind config and manifests); change nothing.",
)
@click.option(
    "--node-image",
    default=None,
    help="kind only: the node image to run (default: the pinned public kindest/node if "
    "Docker has it or can pull it, else kprep's offline build).",
)
@click.pass_context
def up(
    ctx: click.Context, profile_name: str, provider: str, dry_run: bool, node_image: str | None
) -> None:
    """Create the cluster (or reuse it) and wait until every node is Ready."""

    course_root = _course_root(ctx)
    try:
        profile = load_profile(profile_name, course_root)
    except ProfileError as exc:
        _fail(str(exc), ExitCode.USAGE)  # a wrong --profile is the caller's mistake
    active = read_active()
    if active is not None and active.provider != provider and not dry_run:
        _fail(f"a {active.provider} cluster is up; stop it first with `kprep cluster down`")
    start = time.monotonic()
    try:
        chosen = make_provider(provider, course_root, node_image=node_image)
        chosen.up(profile, dry_run=dry_run, echo=_echo)
    except ClusterError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; `kprep cluster up` again resumes, `kprep cluster down` cleans up")
    if not dry_run:
        record_active(provider, profile.name)
        _echo(
            f"kprep cluster up: {provider} cluster with profile {profile.name!r} ready in "
            f"{time.monotonic() - start:.1f}s"
        )


@cluster.command()
@click.option(
    "--provider",
    type=PROVIDER_CHOICE,
    default=None,
    help="Which cluster to delete (default: the active one, else whatever an interrupted "
    "`up` left, else kwok).",
)
@click.pass_context
def down(ctx: click.Context, provider: str | None) -> None:
    """Delete the cluster and everything kprep kept for it."""

    for chosen in _providers_to_stop(ctx, provider):
        try:
            chosen.down()
        except ClusterError as exc:
            _fail(str(exc))
        clear_active(chosen.name)
        _echo(f"kprep cluster down: the {chosen.name} cluster is gone")


def _providers_to_stop(ctx: click.Context, requested: str | None) -> list[Provider]:
    """The provider asked for, else the active one, else every provider that left state
    behind (an `up` killed before it recorded itself), else kwok."""

    if requested is not None or read_active() is not None:
        return [_provider_for(ctx, requested)]
    left = [name for name in PROVIDERS if (cluster_root() / name).exists()]
    return [make_provider(name, _course_root(ctx)) for name in left or [DEFAULT_PROVIDER]]


@cluster.command()
@click.option("--provider", type=PROVIDER_CHOICE, default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def status(ctx: click.Context, provider: str | None, fmt: str) -> None:
    """Nodes with their GPU type, GPUs allocatable/used and pods."""

    chosen = _provider_for(ctx, provider)
    try:
        rows = list(chosen.status())
    except ClusterError as exc:
        _fail(str(exc))
    active = read_active()
    if fmt == "json":
        for row in rows:
            click.echo(
                json.dumps(
                    {
                        # The profile's name for the node (kind names its own nodes).
                        "name": row.profile_node or row.name,
                        "nodeName": row.name,
                        "ready": row.ready,
                        "gpuType": _gpu_type(row.labels),
                        "gpusAllocatable": row.gpu_allocatable,
                        "gpusUsed": row.gpu_used,
                        "devices": {
                            k: {"allocatable": v.allocatable, "used": v.used}
                            for k, v in row.devices.items()
                        },
                        "taints": row.taints,
                        "pods": row.pods,
                        "problems": list(row.problems),
                    }
                )
            )
        return
    # deferred: start-up cost, --format json never loads Rich
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    profile = f", profile {active.profile}" if active and active.provider == chosen.name else ""
    table = Table(
        title=f"kprep cluster ({chosen.name}{profile})",
        caption="GPUs: used/allocatable per device resource",
    )
    for column in ("node", "ready", "GPU type", "GPUs", "taints", "pods"):
        table.add_column(column, overflow="fold")
    for row in rows:
        devices = ", ".join(
            f"{v.used}/{v.allocatable}" + ("" if k == "nvidia.com/gpu" else f" {k}")
            for k, v in row.devices.items()
        )
        taints = ", ".join(
            f"{t.get('key')}" + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
            for t in row.taints
        )
        pods = ", ".join(p.split("/", 1)[1] for p in row.pods[:3])
        if len(row.pods) > 3:
            pods += f" (+{len(row.pods) - 3})"
        shown = row.name
        if row.profile_node and row.profile_node != row.name:
            shown = f"{row.profile_node} ({row.name})"
        table.add_row(
            shown,
            ("yes" if row.ready else "[red]no[/]")
            + "".join(f"\n[red]{escape(p)}[/]" for p in row.problems),
            _gpu_type(row.labels),
            devices or "-",
            taints or "-",
            pods or "-",
        )
    Console().print(table)
    _print_addons(chosen)


def _print_addons(chosen: Provider) -> None:
    """The add-on processes beside the control plane (kwok only; kind runs none yet)."""
    addons = getattr(chosen, "addons", None)
    if addons is None or not getattr(chosen, "addons_enabled", False):
        return
    for row in addons.status():
        state = f"running (pid {row.pid})" if row.running else "NOT RUNNING (`kprep cluster up`)"
        click.echo(f"add-on {row.name}: {state}; log {row.log}")


def _gpu_type(labels: dict[str, str]) -> str:
    for key in ("gpu-type", "nvidia.com/gpu.product", "amd.com/gpu.product-name"):
        if labels.get(key):
            return labels[key]
    return "-"


@cluster.command()
@click.option("--provider", type=PROVIDER_CHOICE, default=None)
@click.option(
    "--older-than",
    "older_than",
    type=float,
    default=0.0,
    show_default=True,
    help="Only namespaces at least this many seconds old (spare running checks).",
)
@click.pass_context
def gc(ctx: click.Context, provider: str | None, older_than: float) -> None:
    """Delete leftover attempt namespaces (label kprep.dev/owned=true)."""

    chosen = _provider_for(ctx, provider)
    try:
        deleted = collect(chosen.kubeconfig_path, older_than=older_than)
    except ClusterError as exc:
        _fail(str(exc))
    if deleted:
        _echo(f"kprep cluster gc: deleting {len(deleted)} namespace(s): {', '.join(deleted)}")
    else:
        _echo("kprep cluster gc: nothing to delete")
