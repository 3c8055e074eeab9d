"""The fake GPU device plugin server (kubelet device plugin API v1beta1).

`FakeDevicePlugin` owns one extended resource on one node:

- it serves the `DevicePlugin` gRPC service on its own unix socket in the
  kubelet's device-plugin folder, then calls `Registration.Register` on the
  kubelet's socket (`kubelet.sock` in the same folder);
- `ListAndWatch` streams the devices `fake-gpu-0..N-1`, and streams the list
  again whenever a device's health changes;
- `Allocate` answers with environment variables naming the allocated devices:
  `KPREP_VISIBLE_DEVICES` always, plus the vendor's own variable where one
  exists (`NVIDIA_VISIBLE_DEVICES` for `nvidia.com/*`, `AMD_VISIBLE_DEVICES`
  for `amd.com/*`; Intel's plugin sets none, so `gpu.intel.com/*` gets only
  the kprep one);
- `GetPreferredAllocation` prefers the lowest-numbered healthy devices, always
  keeping the ones the kubelet says must be included;
- a poll loop (`run`) notices a kubelet restart (kubelet.sock replaced, or the
  plugin's own socket deleted, which the kubelet does when it starts) and
  serves and registers again, and re-reads the health file: every device ID
  listed there is reported `Unhealthy`.

Stat polling rather than inotify keeps the plugin portable and dependency-free.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc

from app.deviceplugin.v1beta1 import api_pb2, api_pb2_grpc

API_VERSION = "v1beta1"
DEFAULT_PLUGIN_DIR = Path("/var/lib/kubelet/device-plugins")
KUBELET_SOCKET_NAME = "kubelet.sock"
DEFAULT_RESOURCE = "nvidia.com/gpu"
DEVICE_ID_PREFIX = "fake-gpu-"
HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
KPREP_VISIBLE_ENV = "KPREP_VISIBLE_DEVICES"
KPREP_RESOURCE_ENV = "KPREP_DEVICE_RESOURCE"

# The variable each vendor's own device plugin or container toolkit reads.
VENDOR_VISIBLE_ENV = {
    "nvidia.com": "NVIDIA_VISIBLE_DEVICES",
    "amd.com": "AMD_VISIBLE_DEVICES",
}

_RESOURCE_RE = re.compile(
    r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)

log = logging.getLogger("kprep.deviceplugin")


def resource_slug(resource_name: str) -> str:
    """A file- and DNS-safe form of a resource name: `nvidia.com/gpu` -> `nvidia-com-gpu`."""
    return re.sub(r"[^a-z0-9]+", "-", resource_name.lower()).strip("-")


def default_socket_name(resource_name: str) -> str:
    """The plugin's socket file name, unique per resource so several plugins share a folder."""
    return f"kprep-{resource_slug(resource_name)}.sock"


def device_ids(count: int) -> list[str]:
    """The fake device IDs for `count` devices."""
    return [f"{DEVICE_ID_PREFIX}{index}" for index in range(count)]


def vendor_env_var(resource_name: str) -> str | None:
    """The vendor's visible-devices variable for a resource, if the vendor has one."""
    domain = resource_name.split("/", 1)[0]
    return VENDOR_VISIBLE_ENV.get(domain)


def _device_order(device_id: str) -> tuple[int, str]:
    """Sort key: fake devices by number, anything else after them by name."""
    suffix = device_id.removeprefix(DEVICE_ID_PREFIX)
    if device_id.startswith(DEVICE_ID_PREFIX) and suffix.isdigit():
        return (int(suffix), "")
    return (1 << 30, device_id)


def parse_health_file(text: str) -> set[str]:
    """Device IDs listed as unhealthy: one per line (or comma-separated), `#` comments.

    A bare number `2` means `fake-gpu-2`.
    """
    unhealthy: set[str] = set()
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0]
        for item in line.replace(",", " ").split():
            unhealthy.add(f"{DEVICE_ID_PREFIX}{item}" if item.isdigit() else item)
    return unhealthy


@dataclass(frozen=True)
class PluginConfig:
    """How one plugin instance runs."""

    resource_name: str = DEFAULT_RESOURCE
    """The extended resource advertised (`nvidia.com/gpu`, `amd.com/gpu`, `gpu.intel.com/i915`)."""
    device_count: int = 4
    """How many fake devices the node has."""
    plugin_dir: Path = DEFAULT_PLUGIN_DIR
    """The kubelet's device-plugin folder; the kubelet socket and ours live here."""
    socket_name: str | None = None
    """Our socket's file name in `plugin_dir`; derived from the resource when None."""
    health_file: Path | None = None
    """A file listing unhealthy device IDs; polled. Missing file: all healthy."""
    poll_interval: float = 1.0
    """Seconds between checks of the kubelet socket and the health file."""
    register_timeout: float = 5.0
    """Seconds to wait for the kubelet to answer Register."""

    def __post_init__(self) -> None:
        if not _RESOURCE_RE.match(self.resource_name):
            raise ValueError(
                f"resource name {self.resource_name!r} is not a qualified extended "
                "resource name like nvidia.com/gpu"
            )
        if self.device_count < 0:
            raise ValueError("device count cannot be negative")
        if self.poll_interval <= 0:
            raise ValueError("poll interval must be positive")

    @property
    def endpoint(self) -> str:
        """The socket name sent to the kubelet (relative to `plugin_dir`)."""
        return self.socket_name or default_socket_name(self.resource_name)

    @property
    def socket_path(self) -> Path:
        return self.plugin_dir / self.endpoint

    @property
    def kubelet_socket(self) -> Path:
        return self.plugin_dir / KUBELET_SOCKET_NAME


class DeviceState:
    """The devices and their health; ListAndWatch streams wait on its changes."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids: tuple[str, ...] = tuple(ids)
        self._unhealthy: frozenset[str] = frozenset()
        self._generation = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def unhealthy(self) -> frozenset[str]:
        with self._changed:
            return self._unhealthy

    def set_unhealthy(self, unhealthy: Iterable[str]) -> bool:
        """Replace the unhealthy set (unknown IDs ignored); True when it changed."""
        known = frozenset(unhealthy) & frozenset(self.ids)
        with self._changed:
            if known == self._unhealthy:
                return False
            self._unhealthy = known
            self._generation += 1
            self._changed.notify_all()
            return True

    def close(self) -> None:
        """Wake every stream so it can finish (plugin shutting down)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def snapshot(self) -> tuple[int, list[api_pb2.Device]]:
        with self._changed:
            devices = [
                api_pb2.Device(
                    ID=device_id, health=UNHEALTHY if device_id in self._unhealthy else HEALTHY
                )
                for device_id in self.ids
            ]
            return self._generation, devices

    def wait_for_change(self, seen_generation: int, timeout: float) -> bool:
        """Block until the generation moves past `seen_generation`; False on timeout or close."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or self._generation != seen_generation, timeout=timeout
            )
            return not self._closed and self._generation != seen_generation

    @property
    def closed(self) -> bool:
        with self._changed:
            return self._closed


class DevicePluginService(api_pb2_grpc.DevicePluginServicer):
    """The gRPC `DevicePlugin` service over a `DeviceState`."""

    def __init__(self, config: PluginConfig, state: DeviceState) -> None:
        self.config = config
        self.state = state

    def options(self) -> api_pb2.DevicePluginOptions:
        return api_pb2.DevicePluginOptions(
            pre_start_required=False, get_preferred_allocation_available=True
        )

    def GetDevicePluginOptions(
        self, request: api_pb2.Empty, context: grpc.ServicerContext
    ) -> api_pb2.DevicePluginOptions:
        return self.options()

    def ListAndWatch(
        self, request: api_pb2.Empty, context: grpc.ServicerContext
    ) -> Iterator[api_pb2.ListAndWatchResponse]:
        generation, devices = self.state.snapshot()
        log.info("ListAndWatch: streaming %d %s devices", len(devices), self.config.resource_name)
        yield api_pb2.ListAndWatchResponse(devices=devices)
        while context.is_active() and not self.state.closed:
            # Bounded waits so a cancelled stream is noticed even without a change.
            if not self.state.wait_for_change(generation, timeout=0.5):
                continue
            generation, devices = self.state.snapshot()
            unhealthy = [d.ID for d in devices if d.health == UNHEALTHY]
            log.info("ListAndWatch: health changed; unhealthy: %s", ", ".join(unhealthy) or "none")
            yield api_pb2.ListAndWatchResponse(devices=devices)

    def GetPreferredAllocation(
        self, request: api_pb2.PreferredAllocationRequest, context: grpc.ServicerContext
    ) -> api_pb2.PreferredAllocationResponse:
        unhealthy = self.state.unhealthy
        responses = []
        for container in request.container_requests:
            chosen: list[str] = []
            for device_id in container.must_include_deviceIDs:
                if device_id not in chosen:
                    chosen.append(device_id)
            candidates = sorted(
                (
                    d
                    for d in container.available_deviceIDs
                    if d not in chosen and d not in unhealthy
                ),
                key=_device_order,
            )
            for device_id in candidates:
                if len(chosen) >= container.allocation_size:
                    break
                chosen.append(device_id)
            responses.append(api_pb2.ContainerPreferredAllocationResponse(deviceIDs=chosen))
        return api_pb2.PreferredAllocationResponse(container_responses=responses)

    def Allocate(
        self, request: api_pb2.AllocateRequest, context: grpc.ServicerContext
    ) -> api_pb2.AllocateResponse:
        known = set(self.state.ids)
        unhealthy = self.state.unhealthy
        responses = []
        for container in request.container_requests:
            ids = list(container.devices_ids)
            unknown = [d for d in ids if d not in known]
            if unknown:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"unknown {self.config.resource_name} devices: {', '.join(unknown)}",
                )
            sick = [d for d in ids if d in unhealthy]
            if sick:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"unhealthy {self.config.resource_name} devices: {', '.join(sick)}",
                )
            responses.append(api_pb2.ContainerAllocateResponse(envs=self.allocation_envs(ids)))
            log.info("Allocate: %s", ", ".join(ids))
        return api_pb2.AllocateResponse(container_responses=responses)

    def allocation_envs(self, ids: list[str]) -> dict[str, str]:
        visible = ",".join(ids)
        envs = {KPREP_VISIBLE_ENV: visible, KPREP_RESOURCE_ENV: self.config.resource_name}
        vendor = vendor_env_var(self.config.resource_name)
        if vendor:
            envs[vendor] = visible
        return envs

    def PreStartContainer(
        self, request: api_pb2.PreStartContainerRequest, context: grpc.ServicerContext
    ) -> api_pb2.PreStartContainerResponse:
        return api_pb2.PreStartContainerResponse()


def _socket_identity(path: Path) -> tuple[int, int, int, int] | None:
    """What changes when a socket file is recreated; None when it is missing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns, st.st_mtime_ns)


class FakeDevicePlugin:
    """Serves the fake devices, registers with the kubelet and keeps registered."""

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.state = DeviceState(device_ids(config.device_count))
        self.service = DevicePluginService(config, self.state)
        self._server: grpc.Server | None = None
        self._stop = threading.Event()
        self._registered_with: tuple[int, int, int, int] | None = None
        self._own_socket: tuple[int, int, int, int] | None = None
        self._health_seen: tuple[int, int] | None = None
        self._retry_delay = config.poll_interval
        self.registrations = 0
        """How many times Register succeeded (tests and logs use it)."""

    # serving -----------------------------------------------------------------

    def serve(self) -> None:
        """(Re)start the gRPC server on a fresh socket."""
        self._stop_server()
        path = self.config.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="deviceplugin")
        )
        api_pb2_grpc.add_DevicePluginServicer_to_server(self.service, server)
        server.add_insecure_port(f"unix://{path}")
        server.start()
        self._server = server
        self._own_socket = _socket_identity(path)
        log.info("serving %s on %s", self.config.resource_name, path)

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0.5).wait(2)
            self._server = None

    def register(self) -> None:
        """Call Register on the kubelet; raises grpc.RpcError or TimeoutError on failure."""
        kubelet = self.config.kubelet_socket
        identity = _socket_identity(kubelet)
        with grpc.insecure_channel(f"unix://{kubelet}") as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=self.config.register_timeout)
            except grpc.FutureTimeoutError as exc:
                raise TimeoutError(f"kubelet socket {kubelet} did not answer") from exc
            api_pb2_grpc.RegistrationStub(channel).Register(
                api_pb2.RegisterRequest(
                    version=API_VERSION,
                    endpoint=self.config.endpoint,
                    resource_name=self.config.resource_name,
                    options=self.service.options(),
                ),
                timeout=self.config.register_timeout,
            )
        self._registered_with = identity
        self.registrations += 1
        log.info(
            "registered %s (%d devices) with the kubelet at %s",
            self.config.resource_name,
            len(self.state.ids),
            kubelet,
        )

    # health ------------------------------------------------------------------

    def refresh_health(self) -> bool:
        """Re-read the health file if it changed; True when device health changed."""
        path = self.config.health_file
        if path is None:
            return False
        try:
            st = os.stat(path)
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            seen = None
        if seen == self._health_seen:
            return False
        self._health_seen = seen
        unhealthy: set[str] = set()
        if seen is not None:
            try:
                unhealthy = parse_health_file(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("cannot read health file %s: %s", path, exc)
                return False
        unknown = unhealthy - set(self.state.ids)
        if unknown:
            log.warning("health file names unknown devices: %s", ", ".join(sorted(unknown)))
        return self.state.set_unhealthy(unhealthy)

    # the loop ----------------------------------------------------------------

    def needs_registration(self) -> bool:
        """True when never registered, the kubelet socket was replaced, or ours vanished."""
        if self._registered_with is None:
            return True
        if _socket_identity(self.config.kubelet_socket) != self._registered_with:
            return True
        return _socket_identity(self.config.socket_path) != self._own_socket

    def step(self) -> None:
        """One poll: health file, then (re)registration if the kubelet needs it."""
        self.refresh_health()
        if not self.needs_registration():
            return
        if _socket_identity(self.config.kubelet_socket) is None:
            if self._registered_with is not None:
                log.info("kubelet socket %s gone; waiting for it", self.config.kubelet_socket)
                self._registered_with = None
            return
        if self._server is None or _socket_identity(self.config.socket_path) != self._own_socket:
            self.serve()
        elif self._registered_with is not None:
            # The kubelet restarted: it dropped our endpoint, so serve afresh too.
            log.info("kubelet restarted; registering again")
            self.serve()
        try:
            self.register()
            self._retry_delay = self.config.poll_interval
        except (grpc.RpcError, TimeoutError) as exc:
            self._registered_with = None
            log.warning(
                "registration failed (%s); retrying in %.1fs", _rpc_text(exc), self._retry_delay
            )
            self._stop.wait(self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, 10.0)

    def run(self) -> None:
        """Serve, register and keep registered until `stop()`."""
        self.refresh_health()
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.config.poll_interval)
        self._shutdown()

    def stop(self) -> None:
        """Ask `run` to finish (safe from a signal handler or another thread)."""
        self._stop.set()

    def _shutdown(self) -> None:
        self.state.close()
        self._stop_server()
        self.config.socket_path.unlink(missing_ok=True)
        log.info("stopped")


def _rpc_text(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError):
        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else None
        return f"{code}: {details}"
    return str(exc)
