// Command trainer-controller-manager runs Kubeflow Trainer v2's controllers and
// webhooks (github.com/kubeflow/trainer/v2, pinned in go.mod) as a host process
// next to kprep's local control plane.
//
// It wires the same pieces as the upstream command
// (cmd/trainer-controller-manager at the same version): the TrainJob and
// TrainingRuntime controllers over the runtime plugins from runtime/core, and
// the validating webhooks. One difference, and why: upstream always runs its
// own certificate rotator, which keeps the webhook certificate in a Secret,
// writes it to the fixed folder /tmp/k8s-webhook-server/serving-certs and signs
// it for the in-cluster Service name only. A host process needs a certificate
// for the address the API server dials (127.0.0.1 on kwok, the host's address
// on kind) and a folder of its own (two local clusters must not share one).
// So here kprep's PKI provides the certificate (--cert-dir) and kprep writes
// the ValidatingWebhookConfiguration with `url:` client configs.
package main

import (
	"crypto/tls"
	"flag"
	"os"

	"go.uber.org/zap/zapcore"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlpkg "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"
	schedulerpluginsv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"

	trainer "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	"github.com/kubeflow/trainer/v2/pkg/controller"
	runtimecore "github.com/kubeflow/trainer/v2/pkg/runtime/core"
	"github.com/kubeflow/trainer/v2/pkg/webhooks"
)

var (
	scheme   = apiruntime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trainer.AddToScheme(scheme))
	utilruntime.Must(jobsetv1alpha2.AddToScheme(scheme))
	utilruntime.Must(schedulerpluginsv1alpha1.AddToScheme(scheme))
}

func main() {
	var metricsAddr, probeAddr, webhookHost, certDir string
	var webhookPort int
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint (0 disables it)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", "127.0.0.1:0", "address of /healthz and /readyz")
	flag.StringVar(&webhookHost, "webhook-host", "127.0.0.1", "address the webhook server listens on")
	flag.IntVar(&webhookPort, "webhook-server-port", 9443, "port of the webhook server")
	flag.StringVar(&certDir, "cert-dir", "", "folder with the webhook server's tls.crt and tls.key (required)")
	opts := zap.Options{TimeEncoder: zapcore.RFC3339NanoTimeEncoder}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	if certDir == "" {
		setupLog.Error(nil, "--cert-dir is required")
		os.Exit(2)
	}

	// Upstream's default: no HTTP/2 on the webhook server (CVE-2023-44487).
	http1 := func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme: scheme,
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Metrics: metricsserver.Options{
			BindAddress: metricsAddr,
		},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    webhookHost,
			Port:    webhookPort,
			CertDir: certDir,
			TLSOpts: []func(*tls.Config){http1},
		}),
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         false,
	})
	if err != nil {
		setupLog.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	ctx := ctrl.SetupSignalHandler()
	runtimes, err := runtimecore.New(ctx, mgr.GetClient(), mgr.GetFieldIndexer())
	if err != nil {
		setupLog.Error(err, "could not initialize runtimes")
		os.Exit(1)
	}
	if name, err := controller.SetupControllers(mgr, runtimes, ctrlpkg.Options{}); err != nil {
		setupLog.Error(err, "could not create controller", "controller", name)
		os.Exit(1)
	}
	if name, err := webhooks.Setup(mgr, runtimes); err != nil {
		setupLog.Error(err, "could not create webhook", "webhook", name)
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	// Ready once the webhook server listens: kprep waits for this before it applies TrainJobs.
	if err := mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()); err != nil {
		setupLog.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}
	setupLog.Info("starting manager")
	if err := mgr.Start(ctx); err != nil {
		setupLog.Error(err, "problem running manager")
		os.Exit(1)
	}
}
