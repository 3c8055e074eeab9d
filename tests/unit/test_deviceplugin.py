"""The fake GPU device plugin against a test kubelet, over real unix sockets and gRPC.

`TestKubelet` plays the kubelet's side of the device plugin API v1beta1: it
serves `Registration` on `kubelet.sock` in a temporary device-plugin folder,
records each RegisterRequest, and dials the plugin's endpoint back the way the
kubelet's device manager does. Nothing about gRPC is mocked. Every wait is
bounded, and the plugin polls every 20 ms here so each test takes well under 2 s.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from app.deviceplugin.plugin import (
    API_VERSION,
    HEALTHY,
    UNHEALTHY,
    FakeDevicePlugin,
    PluginConfig,
    default_socket_name,
    parse_health_file,
    resource_slug,
)
from app.deviceplugin.v1beta1 import api_pb2, api_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT = 1.5  # seconds: the longest any single event may take to arrive
POLL = 0.02


class TestKubelet(api_pb2_grpc.RegistrationServicer):
    """The kubelet's side: Registration on kubelet.sock, and a client for plugins."""

    __test__ = False  # not a pytest class

    def __init__(self, plugin_dir: Path) -> None:
        self.plugin_dir = plugin_dir
        self.socket = plugin_dir / "kubelet.sock"
        self.requests: queue.Queue[api_pb2.RegisterRequest] = queue.Queue()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_pb2_grpc.add_RegistrationServicer_to_server(self, self.server)
        self.server.add_insecure_port(f"unix://{self.socket}")
        self._channels: list[grpc.Channel] = []

    def Register(
        self, request: api_pb2.RegisterRequest, context: grpc.ServicerContext
    ) -> api_pb2.Empty:
        self.requests.put(request)
        return api_pb2.Empty()

    def start(self) -> TestKubelet:
        self.server.start()
        return self

    def stop(self, *, delete_plugin_sockets: bool = False) -> None:
        """Stop like a kubelet going down; a starting kubelet also clears the folder."""
        for channel in self._channels:
            channel.close()
        self.server.stop(grace=0).wait(WAIT)
        self.socket.unlink(missing_ok=True)
        if delete_plugin_sockets:
            for path in self.plugin_dir.glob("*.sock"):
                path.unlink()

    def wait_registration(self) -> api_pb2.RegisterRequest:
        try:
            return self.requests.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no Register call within {WAIT}s") from None

    def dial(self, endpoint: str) -> api_pb2_grpc.DevicePluginStub:
        channel = grpc.insecure_channel(f"unix://{self.plugin_dir / endpoint}")
        self._channels.append(channel)
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        return api_pb2_grpc.DevicePluginStub(channel)


class Stream:
    """A ListAndWatch stream read on a thread, so each message is a bounded wait."""

    def __init__(self, stub: api_pb2_grpc.DevicePluginStub) -> None:
        self.call = stub.ListAndWatch(api_pb2.Empty(), timeout=10)
        self.messages: queue.Queue[api_pb2.ListAndWatchResponse] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self.messages.put(message)
        except grpc.RpcError:
            pass

    def next(self) -> dict[str, str]:
        """The next device list, as {device ID: health}."""
        try:
            message = self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no ListAndWatch message within {WAIT}s") from None
        return {device.ID: device.health for device in message.devices}

    def close(self) -> None:
        self.call.cancel()
        self.thread.join(WAIT)


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A device-plugin folder; a short one under /tmp when tmp_path is too long for a socket."""
    candidate = tmp_path / "dp"
    if len(str(candidate)) <= 60:
        candidate.mkdir()
        yield candidate
        return
    short = Path(tempfile.mkdtemp(prefix="kpdp", dir="/tmp"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def kubelet(plugin_dir: Path) -> Iterator[TestKubelet]:
    server = TestKubelet(plugin_dir).start()
    yield server
    server.stop()


class RunningPlugin:
    def __init__(self, config: PluginConfig) -> None:
        self.plugin = FakeDevicePlugin(config)
        self.thread = threading.Thread(target=self.plugin.run, daemon=True)

    def __enter__(self) -> FakeDevicePlugin:
        self.thread.start()
        return self.plugin

    def __exit__(self, *exc: object) -> None:
        self.plugin.stop()
        self.thread.join(3)
        assert not self.thread.is_alive(), "plugin did not stop"


def _config(plugin_dir: Path, **overrides: object) -> PluginConfig:
    settings: dict[str, object] = {
        "plugin_dir": plugin_dir,
        "poll_interval": POLL,
        "register_timeout": 1.0,
    }
    settings.update(overrides)
    return PluginConfig(**settings)  # type: ignore[arg-type]


def test_register_request_fields(plugin_dir: Path, kubelet: TestKubelet) -> None:
    with RunningPlugin(_config(plugin_dir, resource_name="nvidia.com/gpu", device_count=4)):
        request = kubelet.wait_registration()
        assert request.version == API_VERSION == "v1beta1"
        assert request.endpoint == "kprep-nvidia-com-gpu.sock"
        assert (plugin_dir / request.endpoint).exists()
        assert request.resource_name == "nvidia.com/gpu"
        assert request.options.get_preferred_allocation_available is True
        assert request.options.pre_start_required is False


def test_plugin_answers_the_kubelet(plugin_dir: Path, kubelet: TestKubelet) -> None:
    with RunningPlugin(_config(plugin_dir, device_count=4)):
        stub = kubelet.dial(kubelet.wait_registration().endpoint)
        options = stub.GetDevicePluginOptions(api_pb2.Empty(), timeout=WAIT)
        assert options.get_preferred_allocation_available and not options.pre_start_required
        stream = Stream(stub)
        try:
            assert stream.next() == {f"fake-gpu-{i}": HEALTHY for i in range(4)}
        finally:
            stream.close()
        assert (
            stub.PreStartContainer(
                api_pb2.PreStartContainerRequest(devices_ids=["fake-gpu-0"]), timeout=WAIT
            )
            == api_pb2.PreStartContainerResponse()
        )


@pytest.mark.parametrize(
    ("resource", "vendor_env"),
    [
        ("nvidia.com/gpu", "NVIDIA_VISIBLE_DEVICES"),
        ("amd.com/gpu", "AMD_VISIBLE_DEVICES"),
        ("gpu.intel.com/i915", None),
    ],
)
def test_allocate_names_the_devices(
    plugin_dir: Path, kubelet: TestKubelet, resource: str, vendor_env: str | None
) -> None:
    with RunningPlugin(_config(plugin_dir, resource_name=resource, device_count=4)):
        request = kubelet.wait_registration()
        assert request.resource_name == resource
        assert request.endpoint == default_socket_name(resource)
        stub = kubelet.dial(request.endpoint)
        response = stub.Allocate(
            api_pb2.AllocateRequest(
                container_requests=[
                    api_pb2.ContainerAllocateRequest(devices_ids=["fake-gpu-0", "fake-gpu-2"]),
                    api_pb2.ContainerAllocateRequest(devices_ids=["fake-gpu-3"]),
                ]
            ),
            timeout=WAIT,
        )
    first, second = (dict(r.envs) for r in response.container_responses)
    expected_first = {
        "KPREP_VISIBLE_DEVICES": "fake-gpu-0,fake-gpu-2",
        "KPREP_DEVICE_RESOURCE": resource,
    }
    expected_second = {"KPREP_VISIBLE_DEVICES": "fake-gpu-3", "KPREP_DEVICE_RESOURCE": resource}
    if vendor_env:
        expected_first[vendor_env] = "fake-gpu-0,fake-gpu-2"
        expected_second[vendor_env] = "fake-gpu-3"
    assert first == expected_first
    assert second == expected_second


def test_allocate_rejects_unknown_devices(plugin_dir: Path, kubelet: TestKubelet) -> None:
    with RunningPlugin(_config(plugin_dir, device_count=2)):
        stub = kubelet.dial(kubelet.wait_registration().endpoint)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Allocate(
                api_pb2.AllocateRequest(
                    container_requests=[
                        api_pb2.ContainerAllocateRequest(devices_ids=["fake-gpu-7"])
                    ]
                ),
                timeout=WAIT,
            )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fake-gpu-7" in (caught.value.details() or "")


def test_preferred_allocation(plugin_dir: Path, kubelet: TestKubelet) -> None:
    health = plugin_dir / "unhealthy"
    health.write_text("fake-gpu-1\n")
    with RunningPlugin(_config(plugin_dir, device_count=8, health_file=health)):
        stub = kubelet.dial(kubelet.wait_registration().endpoint)
        request = api_pb2.PreferredAllocationRequest(
            container_requests=[
                # lowest-numbered available ones, whatever order they come in
                api_pb2.ContainerPreferredAllocationRequest(
                    available_deviceIDs=["fake-gpu-5", "fake-gpu-3", "fake-gpu-10", "fake-gpu-4"],
                    allocation_size=2,
                ),
                # must_include kept first, then the lowest others
                api_pb2.ContainerPreferredAllocationRequest(
                    available_deviceIDs=["fake-gpu-0", "fake-gpu-2", "fake-gpu-6", "fake-gpu-7"],
                    must_include_deviceIDs=["fake-gpu-7"],
                    allocation_size=3,
                ),
                # an unhealthy device is not preferred
                api_pb2.ContainerPreferredAllocationRequest(
                    available_deviceIDs=["fake-gpu-1", "fake-gpu-2", "fake-gpu-3"],
                    allocation_size=1,
                ),
            ]
        )
        response = stub.GetPreferredAllocation(request, timeout=WAIT)
    chosen = [list(r.deviceIDs) for r in response.container_responses]
    assert chosen == [
        ["fake-gpu-3", "fake-gpu-4"],
        ["fake-gpu-7", "fake-gpu-0", "fake-gpu-2"],
        ["fake-gpu-2"],
    ]


@pytest.mark.parametrize(
    "kubelet_clears_folder", [True, False], ids=["plugin-socket-deleted", "kubelet-socket-replaced"]
)
def test_registers_again_after_kubelet_restart(
    plugin_dir: Path, kubelet_clears_folder: bool
) -> None:
    first = TestKubelet(plugin_dir).start()
    second: TestKubelet | None = None
    try:
        with RunningPlugin(_config(plugin_dir, device_count=2)):
            endpoint = first.wait_registration().endpoint
            first.stop(delete_plugin_sockets=kubelet_clears_folder)
            time.sleep(5 * POLL)  # a restart is never instant; let the plugin see the gap
            second = TestKubelet(plugin_dir).start()
            again = second.wait_registration()
            assert again.endpoint == endpoint
            assert again.resource_name == "nvidia.com/gpu"
            assert first.requests.empty()  # one Register per kubelet, no more
            stream = Stream(second.dial(again.endpoint))
            try:
                assert stream.next() == {"fake-gpu-0": HEALTHY, "fake-gpu-1": HEALTHY}
            finally:
                stream.close()
    finally:
        if second is not None:
            second.stop()


def test_waits_for_a_kubelet_that_is_not_up_yet(plugin_dir: Path) -> None:
    with RunningPlugin(_config(plugin_dir, device_count=1)):
        time.sleep(5 * POLL)
        kubelet = TestKubelet(plugin_dir).start()
        try:
            assert kubelet.wait_registration().resource_name == "nvidia.com/gpu"
        finally:
            kubelet.stop()


def test_unhealthy_device_from_health_file(plugin_dir: Path, kubelet: TestKubelet) -> None:
    health = plugin_dir / "health" / "nvidia-com-gpu"
    with RunningPlugin(_config(plugin_dir, device_count=3, health_file=health)):
        stream = Stream(kubelet.dial(kubelet.wait_registration().endpoint))
        try:
            assert set(stream.next().values()) == {HEALTHY}
            health.parent.mkdir()
            health.write_text("# marked by a test\nfake-gpu-1\n")
            assert stream.next() == {
                "fake-gpu-0": HEALTHY,
                "fake-gpu-1": UNHEALTHY,
                "fake-gpu-2": HEALTHY,
            }
            health.write_text("2\n")  # a bare number names fake-gpu-2
            assert stream.next() == {
                "fake-gpu-0": HEALTHY,
                "fake-gpu-1": HEALTHY,
                "fake-gpu-2": UNHEALTHY,
            }
            health.unlink()
            assert set(stream.next().values()) == {HEALTHY}
        finally:
            stream.close()


def test_health_file_read_before_first_list(plugin_dir: Path, kubelet: TestKubelet) -> None:
    health = plugin_dir / "unhealthy"
    health.write_text("fake-gpu-0, fake-gpu-9\n")  # unknown IDs are ignored
    with RunningPlugin(_config(plugin_dir, device_count=2, health_file=health)):
        stream = Stream(kubelet.dial(kubelet.wait_registration().endpoint))
        try:
            assert stream.next() == {"fake-gpu-0": UNHEALTHY, "fake-gpu-1": HEALTHY}
        finally:
            stream.close()


def test_sigterm_stops_cleanly(plugin_dir: Path, kubelet: TestKubelet) -> None:
    env = {**os.environ, "KPREP_FAKE_GPU_COUNT": "2", "KPREP_GPU_RESOURCE": "amd.com/gpu"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.deviceplugin",
            "--plugin-dir",
            str(plugin_dir),
            "--poll-interval",
            str(POLL),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        request = kubelet.requests.get(timeout=10)  # a cold interpreter start on a busy machine
        assert request.resource_name == "amd.com/gpu"
        socket = plugin_dir / request.endpoint
        assert socket.exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert not socket.exists()
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=5)
    assert "2 x amd.com/gpu" in stderr


def test_plugin_imports_stay_light() -> None:
    code = (
        "import sys, app.deviceplugin.__main__; "
        "heavy = [m for m in ('textual', 'kubernetes', 'yaml') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_parse_health_file() -> None:
    assert parse_health_file("") == set()
    assert parse_health_file("fake-gpu-1\n# all good\n3, fake-gpu-4  # trailing\n") == {
        "fake-gpu-1",
        "fake-gpu-3",
        "fake-gpu-4",
    }


def test_config_validation() -> None:
    assert resource_slug("gpu.intel.com/i915") == "gpu-intel-com-i915"
    assert PluginConfig(resource_name="nvidia.com/mig-1g.5gb").endpoint == (
        "kprep-nvidia-com-mig-1g-5gb.sock"
    )
    with pytest.raises(ValueError, match="qualified"):
        PluginConfig(resource_name="gpu")
    with pytest.raises(ValueError, match="negative"):
        PluginConfig(device_count=-1)
