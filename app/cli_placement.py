"""`kprep placement`: the job -> JobSets/Jobs -> pods tree of namespaces on kprep's cluster,
with each pod's node, GPUs and rendezvous settings.

Imported lazily by `app.cli`. Without arguments it shows every namespace kprep owns
(attempts kept with `kprep check --live --keep`); the tree comes from
`app.live.placement`, the text from `app.grading.tree_render`.
"""

from __future__ import annotations

import json
import sys

import click

from app.cli_cluster import _provider_for
from app.cluster.errors import ClusterError
from app.cluster.gc import owned_namespaces
from app.cluster.kube import ApiError, Kube
from app.exitcodes import ExitCode
from app.live.placement import read_tree


@click.command()
@click.argument("namespaces", nargs=-1)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def placement(ctx: click.Context, namespaces: tuple[str, ...], fmt: str) -> None:
    """Where the workers of NAMESPACES landed (default: every namespace kprep owns, such as
    attempts kept with `kprep check --live --keep`): each training job, the JobSets and
    Jobs made from it, and their pods with node, GPUs and torchrun rendezvous settings."""
    provider = _provider_for(ctx, None)
    kubeconfig = provider.kubeconfig_path
    if not kubeconfig.is_file():
        click.echo("kprep: no cluster is up; start it with `kprep cluster up`", err=True)
        sys.exit(ExitCode.CLUSTER)
    trees: dict[str, list[dict[str, object]]] = {}
    try:
        with Kube(kubeconfig) as kube:
            chosen = list(namespaces) or owned_namespaces(kube, include_terminating=False)
            for namespace in chosen:
                trees[namespace] = [node.to_json() for node in read_tree(kube, namespace)]
    except (ClusterError, ApiError) as exc:
        click.echo(f"kprep: cannot read the cluster: {exc}", err=True)
        sys.exit(ExitCode.CLUSTER)
    if fmt == "json":
        for namespace, roots in trees.items():
            click.echo(json.dumps({"namespace": namespace, "workloads": roots}))
        return
    # deferred: start-up cost, --format json never loads Rich
    from rich.console import Console

    from app.grading.tree_render import workload_tree

    console = Console()
    if not trees:
        click.echo("no kprep namespaces on the cluster (keep one with `kprep check --live --keep`)")
    for namespace, roots in trees.items():
        if not roots:
            console.print(f"[dim]{namespace}: no workloads[/]")
            continue
        console.print(workload_tree(roots, f"namespace {namespace}"))
