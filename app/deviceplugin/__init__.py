"""The fake GPU device plugin: the kubelet device plugin API v1beta1 over gRPC.

On a kind cluster every node is a real kubelet, so GPUs are advertised the way
real ones are: a device plugin registers an extended resource (`nvidia.com/gpu`,
`amd.com/gpu`, `gpu.intel.com/i915`, ...) with the kubelet and streams its
devices. This package is that plugin, with fake devices `fake-gpu-0..N-1`.

- `api.proto` is the upstream API definition (k8s.io/kubelet v0.36.3).
- `v1beta1/` holds the Python stubs generated from it by
  `hack/gen-deviceplugin.sh`. The generated code is committed, so neither the
  package nor the plugin image needs grpcio-tools.
- `plugin.py` is the server; `python -m app.deviceplugin --help` runs it.

Nothing here imports Textual or the Kubernetes client: the plugin image ships
only this package, grpcio and protobuf.
"""
