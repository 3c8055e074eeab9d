"""Command line of the fake GPU device plugin: `python -m app.deviceplugin`.

Every option can also come from an environment variable (the DaemonSet sets
them), and a flag wins over its variable:

    python -m app.deviceplugin --resource nvidia.com/gpu --count 4 \\
        --plugin-dir /var/lib/kubelet/device-plugins --health-file /var/lib/kprep/health/x

SIGTERM and SIGINT stop it cleanly: the gRPC server stops and its socket is
removed, so the kubelet sees the resource's devices go away.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from app.deviceplugin.plugin import (
    DEFAULT_PLUGIN_DIR,
    DEFAULT_RESOURCE,
    FakeDevicePlugin,
    PluginConfig,
)

ENV_RESOURCE = "KPREP_GPU_RESOURCE"
ENV_COUNT = "KPREP_FAKE_GPU_COUNT"
ENV_PLUGIN_DIR = "KPREP_DEVICE_PLUGIN_DIR"
ENV_HEALTH_FILE = "KPREP_HEALTH_FILE"
ENV_POLL = "KPREP_POLL_INTERVAL"
ENV_NODE = "NODE_NAME"


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m app.deviceplugin",
        description="kprep's fake GPU device plugin (kubelet device plugin API v1beta1).",
    )
    parser.add_argument(
        "--resource",
        default=env.get(ENV_RESOURCE, DEFAULT_RESOURCE),
        help=f"extended resource to advertise (env {ENV_RESOURCE}; default {DEFAULT_RESOURCE})",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=_int_env(ENV_COUNT, 4),
        help=f"number of fake devices (env {ENV_COUNT}; default 4)",
    )
    parser.add_argument(
        "--plugin-dir",
        type=Path,
        default=Path(env.get(ENV_PLUGIN_DIR, str(DEFAULT_PLUGIN_DIR))),
        help=f"the kubelet's device-plugin folder (env {ENV_PLUGIN_DIR})",
    )
    parser.add_argument(
        "--socket-name",
        default=None,
        help="this plugin's socket file name (default: derived from the resource)",
    )
    health_default = env.get(ENV_HEALTH_FILE)
    parser.add_argument(
        "--health-file",
        type=Path,
        default=Path(health_default) if health_default else None,
        help=f"file listing unhealthy device IDs, polled (env {ENV_HEALTH_FILE})",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=_float_env(ENV_POLL, 1.0),
        help=f"seconds between kubelet/health checks (env {ENV_POLL}; default 1)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a whole number") from None


def _float_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a number") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = PluginConfig(
            resource_name=args.resource,
            device_count=args.count,
            plugin_dir=args.plugin_dir,
            socket_name=args.socket_name,
            health_file=args.health_file,
            poll_interval=args.poll_interval,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    node = os.environ.get(ENV_NODE)
    logging.getLogger("kprep.deviceplugin").info(
        "fake device plugin: %d x %s%s",
        config.device_count,
        config.resource_name,
        f" on node {node}" if node else "",
    )
    plugin = FakeDevicePlugin(config)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        plugin.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    plugin.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
