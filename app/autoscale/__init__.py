"""Autoscaling you can watch: the HPA controller's algorithm, a simulated cluster
around it, load profiles, and the chart (issue 13). Pure: no cluster, no Textual,
no Kubernetes client.

- `hpa` (a package): the HorizontalPodAutoscaler v2 algorithm of
  kube-controller-manager v1.36 (validation and field-by-field defaulting of the
  spec, per-metric replica proposals, tolerance, missing and unready pods,
  stabilization windows over the recommendation history, behavior policies with
  selectPolicy, min/max clamps), each rule citing the controller source it
  follows; and lab time, shared with the live runner.
- `load`: load profiles (built-ins `spike`, `ramp`, `diurnal`, `drop`, or a
  `t,load` file).
- `model`: the load model turning traffic into metrics (`CapacityModel`) and a
  scenario's `autoscale:` block.
- `inputs`: what a run needs out of the answer file, and the errors it reports.
- `simcluster`: the Deployment's simulated pods and the metrics APIs over them.
- `simulate`: runs an answer and returns an `AutoscaleRun`.
- `timeline`: the JSON contract shared with the live runner, and the summary.
- `chart`: replicas and load over time as a rich renderable.

What the simulator models exactly (it should match the real controller to the
replica, given the same metric values at the same sync times):

- every branch of `reconcileAutoscaler`, `computeReplicasForMetrics` and the
  replica calculator: Resource (Utilization and AverageValue),
  ContainerResource, Pods, Object (Value, AverageValue), External (Value,
  AverageValue); the maximum over metrics; invalid metrics (no action when all
  fail, or when some fail and the rest would scale down);
- the 0.1 tolerance, and the per-HPA `behavior.scaleUp/scaleDown.tolerance`
  (gate HPAConfigurableTolerance, beta and on by default in 1.36);
- missing metrics (0 on scale-up; the target, or 100% of the request, on
  scale-down), Pending pods, and for CPU the readiness rules with
  `--horizontal-pod-autoscaler-cpu-initialization-period` and
  `--horizontal-pod-autoscaler-initial-readiness-delay`;
- with `behavior`: stabilization windows over past recommendations, policies per
  period counted from the controller's scale-event history, selectPolicy
  Max/Min/Disabled; without it, the older path (downscale window from the flag,
  at most max(2 x current, 4) per sync);
- API-server defaulting (minReplicas 1, CPU 80% when metrics are empty, each
  missing field of scaleUp/scaleDown) and the validation that refuses a spec.

Where the simulator deliberately differs from a live run (expect these in the
differential test against the real controller):

- Clock. Syncs are exactly one period apart, the first at t = 0; the real loop
  drifts by processing time and first syncs one period after the HPA is
  created. A sample exactly on a window's cutoff counts as outside it (as it is
  on the drifting real clock).
- Metrics. Values are read fresh at each sync from the load at that instant;
  the real pipeline lags (metrics-server scrapes, the adapter's refresh,
  watch delays). Resource metrics carry the sync time as their timestamp.
- Load model. A stateless M/M/1-shaped curve per ready pod, load split evenly
  among ready pods, values capped when saturated (no backlog carried over);
  External/Object metrics are matched by name only (selectors and described
  objects are not checked).
- Pods. Created at the sync that scales, Pending then not ready for fixed
  durations, never unschedulable (no quota, no GPU shortage, no node
  provisioning), never crash-looping; deleted pods vanish at once (no graceful
  termination); deletion order follows the ReplicaSet's ranking without
  deletion cost or node co-location.
- Start. The run starts at the steady state for the first load (all pods long
  ready) with an empty recommendation history, seeded at the first sync as the
  controller seeds it; a live run must let its HPA settle first.
- Not simulated: scale to zero (alpha gate), several HPAs on one target, a
  scaleTargetRef that does not resolve (refused with a message instead),
  condition messages (reasons only). Event reasons are the controller's; the
  texts of SuccessfulRescale and of the Pods and Resource failures follow its
  wording, the External and Object failure texts only approximate it (the
  controller nests those errors more deeply and prints the label selector).
"""
