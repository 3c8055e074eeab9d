// Command training-operator runs the Kubeflow training operator v1's PyTorchJob
// controller and webhook (github.com/kubeflow/training-operator, pinned in
// go.mod) as a host process next to kprep's local control plane.
//
// It wires the pieces the upstream command (cmd/training-operator.v1 at the
// same version) wires for --enable-scheme=pytorchjob without a gang scheduler:
// the PyTorchJob reconciler from controller.v1's registry, its validating
// webhook, and upstream's defaults for the PyTorch init container. One
// difference, and why: upstream always runs its own certificate rotator, which
// writes the webhook certificate to the fixed folder
// /tmp/k8s-webhook-server/serving-certs, signed for the in-cluster Service name
// only; a host process needs a certificate for the address the API server
// dials and a folder of its own. kprep's PKI provides it (--cert-dir) and kprep
// writes the ValidatingWebhookConfiguration with a `url:` client config.
package main

import (
	"flag"
	"os"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	schedulerpluginsv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"
	volcanov1beta1 "volcano.sh/apis/pkg/apis/scheduling/v1beta1"

	kubeflowv1 "github.com/kubeflow/training-operator/pkg/apis/kubeflow.org/v1"
	"github.com/kubeflow/training-operator/pkg/config"
	controllerv1 "github.com/kubeflow/training-operator/pkg/controller.v1"
	"github.com/kubeflow/training-operator/pkg/controller.v1/common"
	"github.com/kubeflow/training-operator/pkg/webhooks"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kubeflowv1.AddToScheme(scheme))
	// As upstream: the controller watches either PodGroup kind when its CRD is installed.
	utilruntime.Must(volcanov1beta1.AddToScheme(scheme))
	utilruntime.Must(schedulerpluginsv1alpha1.AddToScheme(scheme))
}

func main() {
	var metricsAddr, probeAddr, webhookHost, certDir string
	var webhookPort, controllerThreads int
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint (0 disables it)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", "127.0.0.1:0", "address of /healthz and /readyz")
	flag.StringVar(&webhookHost, "webhook-host", "127.0.0.1", "address the webhook server listens on")
	flag.IntVar(&webhookPort, "webhook-server-port", 9443, "port of the webhook server")
	flag.StringVar(&certDir, "cert-dir", "", "folder with the webhook server's tls.crt and tls.key (required)")
	flag.IntVar(&controllerThreads, "controller-threads", 1, "worker threads of the PyTorchJob controller")
	// Upstream's flags and defaults for the init container that waits for the master.
	flag.StringVar(&config.Config.PyTorchInitContainerImage, "pytorch-init-container-image",
		config.PyTorchInitContainerImageDefault, "image of the PyTorch init container")
	flag.StringVar(&config.Config.PyTorchInitContainerTemplateFile, "pytorch-init-container-template-file",
		config.PyTorchInitContainerTemplateFileDefault, "template file of the PyTorch init container")
	flag.IntVar(&config.Config.PyTorchInitContainerMaxTries, "pytorch-init-container-max-tries",
		config.PyTorchInitContainerMaxTriesDefault, "tries of the PyTorch init container")
	opts := zap.Options{Development: true, StacktraceLevel: zapcore.DPanicLevel}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	if certDir == "" {
		setupLog.Error(nil, "--cert-dir is required")
		os.Exit(2)
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: metricsAddr},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    webhookHost,
			Port:    webhookPort,
			CertDir: certDir,
		}),
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         false,
	})
	if err != nil {
		setupLog.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	kind := kubeflowv1.PyTorchJobKind
	setupReconciler := controllerv1.SupportedSchemeReconciler[kind]
	if err := setupReconciler(mgr, common.GenNonGangSchedulerSetupFunc(), controllerThreads); err != nil {
		setupLog.Error(err, "unable to create the controller", "scheme", kind)
		os.Exit(1)
	}
	if err := webhooks.SupportedSchemeWebhook[kind](mgr); err != nil {
		setupLog.Error(err, "unable to set up the webhook", "scheme", kind)
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()); err != nil {
		setupLog.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}
	setupLog.Info("starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "problem running manager")
		os.Exit(1)
	}
}
