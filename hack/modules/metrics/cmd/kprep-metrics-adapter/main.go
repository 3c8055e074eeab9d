// Command kprep-metrics-adapter serves custom.metrics.k8s.io and
// external.metrics.k8s.io from a JSON file that kprep rewrites while a load
// profile runs (see values.go for the format). It is an aggregated API server
// built on sigs.k8s.io/custom-metrics-apiserver: the kube-apiserver proxies
// /apis/custom.metrics.k8s.io/... to it once an APIService names it, and the
// HPA controller reads Pods, Object and External metrics through that path.
//
// It runs as a host process next to the control plane. Flags besides
// --values-file are the library's: --secure-port, --bind-address,
// --tls-cert-file/--tls-private-key-file, --lister-kubeconfig (its client),
// --authentication-kubeconfig and --authorization-kubeconfig (delegated auth:
// it trusts the front proxy's client CA from the cluster's
// extension-apiserver-authentication ConfigMap and asks the API server to
// authorize each caller).
package main

import (
	"context"
	"os"

	"k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/logs"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
)

type adapter struct {
	basecmd.AdapterBase
	valuesFile string
}

func main() {
	logs.InitLogs()
	defer logs.FlushLogs()

	cmd := &adapter{}
	cmd.Name = "kprep-metrics-adapter"
	cmd.Flags().StringVar(&cmd.valuesFile, "values-file", "", "JSON file with the metric values to serve (re-read when it changes)")
	logs.AddFlags(cmd.Flags())
	if err := cmd.Flags().Parse(os.Args); err != nil {
		klog.Fatalf("unable to parse flags: %v", err)
	}
	if cmd.valuesFile == "" {
		klog.Fatal("--values-file is required")
	}

	mapper, err := cmd.RESTMapper()
	if err != nil {
		klog.Fatalf("unable to build the REST mapper: %v", err)
	}
	client, err := cmd.DynamicClient()
	if err != nil {
		klog.Fatalf("unable to build the dynamic client: %v", err)
	}
	informers, err := cmd.Informers()
	if err != nil {
		klog.Fatalf("unable to build informers: %v", err)
	}
	// Registered before Run so the generic server starts (and syncs) it with the others.
	pods := informers.Core().V1().Pods().Lister()

	values := newFileProvider(cmd.valuesFile, pods, mapper, client)
	cmd.WithCustomMetrics(values)
	cmd.WithExternalMetrics(values)

	if err := metrics.RegisterMetrics(legacyregistry.Register); err != nil {
		klog.Fatalf("unable to register metrics: %v", err)
	}
	ctx := server.SetupSignalContext()
	if err := cmd.Run(ctx); err != nil && err != context.Canceled {
		klog.Fatalf("unable to run the metrics adapter: %v", err)
	}
}
