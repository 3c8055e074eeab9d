package main

import (
	"context"
	"errors"
	"math"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"k8s.io/metrics/pkg/apis/external_metrics"

	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider/helpers"
)

var podsResource = schema.GroupResource{Resource: "pods"}

// windowSeconds is reported with every value: kprep sets instantaneous values.
var windowSeconds int64 = 1

// fileProvider serves the values file as custom (pods and objects) and external metrics.
type fileProvider struct {
	path   string
	pods   corelisters.PodLister
	mapper apimeta.RESTMapper
	client dynamic.Interface

	mu      sync.Mutex
	stamp   fileStamp
	values  *Values
	lastErr string
}

func newFileProvider(path string, pods corelisters.PodLister, mapper apimeta.RESTMapper, client dynamic.Interface) *fileProvider {
	return &fileProvider{path: path, pods: pods, mapper: mapper, client: client, values: &Values{}}
}

// current returns the values, re-reading the file when it changed since the last call.
func (p *fileProvider) current() *Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	info, err := os.Stat(p.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if p.stamp != (fileStamp{}) {
				klog.InfoS("values file removed; serving no metrics", "path", p.path)
			}
			p.stamp, p.values = fileStamp{}, &Values{}
		} else {
			p.logOnce("cannot stat the values file; keeping the last values", err)
		}
		return p.values
	}
	stamp := stampOf(info)
	if stamp == p.stamp {
		return p.values
	}
	data, err := os.ReadFile(p.path)
	if err != nil {
		p.logOnce("cannot read the values file; keeping the last values", err)
		return p.values
	}
	values, err := parseValues(data)
	if err != nil {
		p.logOnce("bad values file; keeping the last values", err)
		p.stamp = stamp // do not re-parse the same bad file on every request
		return p.values
	}
	p.stamp, p.values, p.lastErr = stamp, values, ""
	klog.V(2).InfoS("values loaded", "path", p.path, "pods", len(values.Pods),
		"objects", len(values.Objects), "external", len(values.External))
	return values
}

func (p *fileProvider) logOnce(message string, err error) {
	if err.Error() != p.lastErr {
		klog.ErrorS(err, message, "path", p.path)
		p.lastErr = err.Error()
	}
}

func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, condition := range pod.Status.Conditions {
		if condition.Type == corev1.PodReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (r *PodRule) covers(pod *corev1.Pod) bool {
	if r.Namespace != "" && r.Namespace != pod.Namespace {
		return false
	}
	if r.Pod != "" {
		return r.Pod == pod.Name
	}
	return r.selector.Matches(labels.Set(pod.Labels))
}

// podValue is the value `rule` gives `pod`; ok is false when the pod reports nothing.
func (p *fileProvider) podValue(rule *PodRule, pod *corev1.Pod) (value custom_metrics.MetricValue, ok bool) {
	if rule.Value != nil {
		return custom_metrics.MetricValue{Value: rule.Value.DeepCopy()}, true
	}
	if !podReady(pod) {
		return value, false
	}
	candidates, err := p.pods.Pods(pod.Namespace).List(labels.Everything())
	if err != nil {
		return value, false
	}
	ready := 0
	for _, other := range candidates {
		if rule.covers(other) && podReady(other) {
			ready++
		}
	}
	if ready == 0 {
		return value, false
	}
	share := rule.Total.AsApproximateFloat64() / float64(ready)
	return custom_metrics.MetricValue{Value: *resourceFromFloat(share)}, true
}

// ruleFor is the rule that decides `metric` for `pod`: a `pod` rule, else the last selector rule.
func ruleFor(values *Values, metric string, pod *corev1.Pod) *PodRule {
	var chosen *PodRule
	for i := range values.Pods {
		rule := &values.Pods[i]
		if rule.Metric != metric || !rule.covers(pod) {
			continue
		}
		if rule.Pod != "" {
			return rule
		}
		chosen = rule
	}
	return chosen
}

func servesPodMetric(values *Values, metric string) bool {
	for _, rule := range values.Pods {
		if rule.Metric == metric {
			return true
		}
	}
	return false
}

func (p *fileProvider) podMetric(values *Values, pod *corev1.Pod, info provider.CustomMetricInfo) (*custom_metrics.MetricValue, bool, error) {
	rule := ruleFor(values, info.Metric, pod)
	if rule == nil {
		return nil, false, nil
	}
	value, ok := p.podValue(rule, pod)
	if !ok {
		return nil, false, nil
	}
	reference, err := helpers.ReferenceFor(p.mapper, types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, info)
	if err != nil {
		return nil, false, err
	}
	value.DescribedObject = reference
	value.Metric = custom_metrics.MetricIdentifier{Name: info.Metric}
	value.Timestamp = metav1.Time{Time: time.Now()}
	value.WindowSeconds = &windowSeconds
	return &value, true, nil
}

func (p *fileProvider) objectMetric(values *Values, name types.NamespacedName, info provider.CustomMetricInfo) (*custom_metrics.MetricValue, error) {
	var chosen *ObjectRule
	for i := range values.Objects {
		rule := &values.Objects[i]
		if rule.Metric == info.Metric && rule.Name == name.Name && rule.Namespace == name.Namespace &&
			sameResource(rule.groupResource, info.GroupResource) {
			chosen = rule
		}
	}
	if chosen == nil {
		return nil, nil
	}
	reference, err := helpers.ReferenceFor(p.mapper, name, info)
	if err != nil {
		return nil, err
	}
	return &custom_metrics.MetricValue{
		DescribedObject: reference,
		Metric:          custom_metrics.MetricIdentifier{Name: info.Metric},
		Timestamp:       metav1.Time{Time: time.Now()},
		WindowSeconds:   &windowSeconds,
		Value:           chosen.Value.DeepCopy(),
	}, nil
}

// sameResource: "services" in the file matches the normalized "services" (core group);
// "deployments.apps" must match group and resource.
func sameResource(fromFile, asked schema.GroupResource) bool {
	if fromFile.Resource != asked.Resource {
		return false
	}
	return fromFile.Group == "" || fromFile.Group == asked.Group
}

func (p *fileProvider) GetMetricByName(ctx context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	values := p.current()
	if info.GroupResource == podsResource {
		pod, err := p.pods.Pods(name.Namespace).Get(name.Name)
		if err != nil {
			return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
		}
		value, ok, err := p.podMetric(values, pod, info)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
		}
		return value, nil
	}
	value, err := p.objectMetric(values, name, info)
	if err != nil {
		return nil, err
	}
	if value == nil {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	return value, nil
}

func (p *fileProvider) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	values := p.current()
	list := &custom_metrics.MetricValueList{}
	if info.GroupResource == podsResource {
		if !servesPodMetric(values, info.Metric) {
			return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
		}
		pods, err := p.pods.Pods(namespace).List(selector)
		if err != nil {
			return nil, err
		}
		for _, pod := range pods {
			value, ok, err := p.podMetric(values, pod, info)
			if err != nil {
				return nil, err
			}
			if ok {
				list.Items = append(list.Items, *value)
			}
		}
		return list, nil
	}
	names, err := helpers.ListObjectNames(p.mapper, p.client, namespace, selector, info)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		value, err := p.objectMetric(values, types.NamespacedName{Namespace: namespace, Name: name}, info)
		if err != nil {
			return nil, err
		}
		if value != nil {
			list.Items = append(list.Items, *value)
		}
	}
	if len(list.Items) == 0 {
		return nil, provider.NewMetricNotFoundForSelectorError(info.GroupResource, info.Metric, "", selector)
	}
	return list, nil
}

func (p *fileProvider) ListAllMetrics() []provider.CustomMetricInfo {
	values := p.current()
	seen := map[provider.CustomMetricInfo]bool{}
	var infos []provider.CustomMetricInfo
	add := func(info provider.CustomMetricInfo) {
		if !seen[info] {
			seen[info] = true
			infos = append(infos, info)
		}
	}
	for _, rule := range values.Pods {
		add(provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: rule.Metric})
	}
	for _, rule := range values.Objects {
		add(provider.CustomMetricInfo{GroupResource: rule.groupResource, Namespaced: rule.Namespace != "", Metric: rule.Metric})
	}
	return infos
}

func (p *fileProvider) GetExternalMetric(ctx context.Context, namespace string, metricSelector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	values := p.current()
	known := false
	list := &external_metrics.ExternalMetricValueList{}
	for _, rule := range values.External {
		if rule.Metric != info.Metric {
			continue
		}
		known = true
		if rule.Namespace != "" && rule.Namespace != namespace {
			continue
		}
		if metricSelector != nil && !metricSelector.Matches(labels.Set(rule.Labels)) {
			continue
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName:    info.Metric,
			MetricLabels:  rule.Labels,
			Timestamp:     metav1.Time{Time: time.Now()},
			WindowSeconds: &windowSeconds,
			Value:         rule.Value.DeepCopy(),
		})
	}
	if !known {
		return nil, provider.NewMetricNotFoundError(schema.GroupResource{Group: "external.metrics.k8s.io"}, info.Metric)
	}
	return list, nil
}

func (p *fileProvider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	values := p.current()
	seen := map[string]bool{}
	var infos []provider.ExternalMetricInfo
	for _, rule := range values.External {
		if !seen[rule.Metric] {
			seen[rule.Metric] = true
			infos = append(infos, provider.ExternalMetricInfo{Metric: rule.Metric})
		}
	}
	return infos
}

// resourceFromFloat keeps three decimals, as the HPA compares milli-values.
func resourceFromFloat(value float64) *resource.Quantity {
	return resource.NewMilliQuantity(int64(math.Round(value*1000)), resource.DecimalSI)
}
