"""The `tierscan scan` options for live scans, and turning them into a `LiveScan`.

Kept apart from cli.py so the live options live in one place; importing this module
loads neither the Azure SDK nor the kubernetes client.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from scanner.scan import LiveScan

F = TypeVar("F", bound=Callable[..., Any])

LIVE_HELP_EXAMPLES = """
\b
Live scans (read-only; roles and details: deploy/README.md):
  tierscan scan --azure --subscription 0000-... --format sarif -o azure.sarif
  tierscan scan --kubernetes --kube-context prod-weu --kube-context prod-neu
  tierscan scan --azure --all-subscriptions --shard 1/4 --save-snapshot night.json
  tierscan scan --snapshot night.json      # offline rescan, same findings
"""

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--azure", "live_azure", is_flag=True, help="Scan live Azure subscriptions (Resource Graph + ARM)."),
    click.option("--subscription", "live_subscriptions", multiple=True, metavar="ID",
                 help="Azure subscription to scan (repeatable)."),
    click.option("--management-group", "live_management_groups", multiple=True, metavar="ID",
                 help="Azure management group to scan (repeatable)."),
    click.option("--all-subscriptions", "live_all_subscriptions", is_flag=True,
                 help="Scan every subscription the credential can read."),
    click.option("--azure-token-env", "live_token_env", metavar="VAR",
                 help="Read an ARM bearer token from this environment variable instead of DefaultAzureCredential."),
    click.option("--arm-endpoint", "live_arm_endpoint", metavar="URL", default=None,
                 help="ARM endpoint (sovereign clouds).  [default: https://management.azure.com]"),
    click.option("--ca-bundle", "live_ca_bundle", type=click.Path(dir_okay=False, exists=True),
                 help="CA bundle for TLS to ARM (default: REQUESTS_CA_BUNDLE, else the system store)."),
    click.option("--max-concurrency", "live_max_concurrency", type=click.IntRange(1, 64), default=8,
                 show_default=True, help="Parallel ARM reads of child resources."),
    click.option("--timeout", "live_timeout", type=click.FloatRange(1, 600), default=60.0, show_default=True,
                 help="Seconds to wait for one API response (live scans); slow reads are retried."),
    click.option("--retries", "live_retries", type=click.IntRange(0, 20), default=None,
                 help="Times a throttled (429), failing (5xx), reset or timed-out API call is tried again, "
                      "honouring Retry-After, before it is reported (live scans).  [default: 6 for Azure, "
                      "3 for Kubernetes]"),
    click.option("--kubernetes", "live_kubernetes", is_flag=True, help="Scan live Kubernetes clusters."),
    click.option("--kubeconfig", "live_kubeconfig", type=click.Path(dir_okay=False, exists=True),
                 help="Kubeconfig file (implies --kubernetes; default: KUBECONFIG or ~/.kube/config)."),
    click.option("--kube-context", "live_contexts", multiple=True, metavar="NAME",
                 help="Kubeconfig context to scan (repeatable; implies --kubernetes)."),
    click.option("--in-cluster", "live_in_cluster", is_flag=True,
                 help="Use the pod's service account (in-cluster config; implies --kubernetes)."),
    click.option("--namespace", "live_namespace", metavar="NAME",
                 help="Only this Kubernetes namespace (default: all namespaces)."),
    click.option("--shard", "live_shard", metavar="I/N",
                 help="Scan only share I of N of the subscriptions or kube contexts (CI matrix; stable by name)."),
    click.option("--save-snapshot", "live_save_snapshot", type=click.Path(dir_okay=False, path_type=Path),
                 help="Write what the live scan read to FILE (JSON), for an offline rescan."),
    click.option("--snapshot", "live_snapshot", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Scan a saved snapshot instead of live state or files."),
]


def live_options(func: F) -> F:
    """Add the live-scan options to a click command (they arrive as `live_*` keywords)."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def live_request(live: dict[str, Any], paths: tuple[Path, ...]) -> LiveScan | None:
    """The LiveScan the options ask for, None for a file scan; raises click.UsageError on
    contradictory options."""
    from scanner.scan import LiveScan
    from scanner.sources.live_azure import DEFAULT_ARM_ENDPOINT, AzureLiveOptions
    from scanner.sources.live_kubernetes import KubernetesLiveOptions

    azure_scope = bool(live.get("live_subscriptions") or live.get("live_management_groups")
                       or live.get("live_all_subscriptions"))
    wants_azure = bool(live.get("live_azure")) or azure_scope
    wants_k8s = bool(live.get("live_kubernetes") or live.get("live_contexts") or live.get("live_in_cluster")
                     or live.get("live_kubeconfig"))
    snapshot = live.get("live_snapshot")
    if not (wants_azure or wants_k8s or snapshot):
        for key in ("live_save_snapshot", "live_namespace", "live_token_env", "live_arm_endpoint", "live_shard",
                    "live_retries"):
            if live.get(key) is not None:
                raise click.UsageError(f"--{key[5:].replace('_', '-')} needs --azure or --kubernetes")
        return None
    if paths:
        raise click.UsageError("PATHS cannot be combined with a live scan or --snapshot; run two scans")
    if snapshot and (wants_azure or wants_k8s):
        raise click.UsageError("--snapshot rescans a saved snapshot; it cannot be combined with --azure/--kubernetes")
    if wants_azure and not azure_scope:
        raise click.UsageError("--azure needs --subscription, --management-group or --all-subscriptions")
    if live.get("live_in_cluster") and (live.get("live_contexts") or live.get("live_kubeconfig")):
        raise click.UsageError("--in-cluster cannot be combined with --kubeconfig/--kube-context")
    shard = _parse_shard(live.get("live_shard"))
    retries: int | None = live.get("live_retries")
    token_env = live.get("live_token_env")
    if token_env and not os.environ.get(token_env):
        raise click.UsageError(f"--azure-token-env {token_env}: the environment variable is empty or unset")
    azure = AzureLiveOptions(
        subscriptions=list(live.get("live_subscriptions") or ()),
        management_groups=list(live.get("live_management_groups") or ()),
        all_subscriptions=bool(live.get("live_all_subscriptions")), token_env=token_env,
        arm_endpoint=live.get("live_arm_endpoint") or DEFAULT_ARM_ENDPOINT, ca_bundle=live.get("live_ca_bundle"),
        max_concurrency=int(live.get("live_max_concurrency") or 8), timeout=float(live.get("live_timeout") or 60),
        shard=shard, **({} if retries is None else {"retry_total": retries}),
    ) if wants_azure else None
    kubernetes = KubernetesLiveOptions(
        kubeconfig=live.get("live_kubeconfig"), contexts=list(live.get("live_contexts") or ()),
        in_cluster=bool(live.get("live_in_cluster")), namespace=live.get("live_namespace"),
        timeout=float(live.get("live_timeout") or 60), shard=shard,
        **({} if retries is None else {"retries": retries}),
    ) if wants_k8s else None
    return LiveScan(azure=azure, kubernetes=kubernetes, snapshot=snapshot,
                    save_snapshot=live.get("live_save_snapshot"))


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise click.UsageError(f"--shard {text}: write it as I/N, for example 2/4") from None
    if not 1 <= index <= count:
        raise click.UsageError(f"--shard {text}: I must be between 1 and N")
    return index, count


class StderrProgress:
    """A progress bar per stage (Resource Graph, child reads, each cluster) on stderr."""

    def __init__(self) -> None:
        self._label = ""
        self._bar: Any = None
        self._done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if label != self._label or self._bar is None:
            self.close()
            self._label, self._done = label, 0
            self._bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def progress_for_terminal() -> StderrProgress | None:
    """A progress bar for people at a terminal: never when stdout or stderr is piped."""
    return StderrProgress() if sys.stderr.isatty() and sys.stdout.isatty() else None
