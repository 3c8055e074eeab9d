package main

// The values file: what kprep wants the custom and external metrics APIs to say.
//
// kprep writes it (atomically: a temporary file renamed over the old one) and the
// adapter re-reads it whenever its identity, size or modification time changes,
// so a new value is served on the next request, with no restart and no polling
// interval. A file that does not parse leaves the last good values in place and
// is logged with the reason; a missing file means "no metrics".
//
// Format (JSON; every value is a Kubernetes quantity, as a string or a number):
//
//	{
//	  "pods": [
//	    {"namespace": "ml", "selector": "app=llm", "metric": "inference_queue_depth", "value": "12"},
//	    {"namespace": "ml", "pod": "llm-0", "metric": "latency_p95_seconds", "value": "250m"},
//	    {"namespace": "ml", "selector": "app=llm", "metric": "inference_requests_in_flight", "total": 120}
//	  ],
//	  "objects": [
//	    {"namespace": "ml", "resource": "services", "name": "llm", "metric": "requests_per_second", "value": 300}
//	  ],
//	  "external": [
//	    {"namespace": "ml", "metric": "queue_messages_ready", "labels": {"queue": "inference"}, "value": 30}
//	  ]
//	}
//
// Pod rules: a rule applies to the pods of its namespace ("" = every namespace)
// that its `pod` names, or else that its label `selector` selects ("" = all).
// A `pod` rule wins over selector rules; among selector rules the last one wins.
// `value` is each pod's value; `total` is split evenly across the rule's pods
// that are Ready (as a Service spreads requests over ready endpoints), so more
// replicas lower the per-pod value the way real load does; a pod that is not
// Ready then reports nothing, like a pod that is not scraped yet.
//
// External rules: the HPA's metric selector must match the rule's labels; the
// rule's namespace ("" = any) must be the HPA's.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Quantity accepts a JSON string ("250m") or number (0.25).
type Quantity struct{ resource.Quantity }

func (q *Quantity) UnmarshalJSON(raw []byte) error {
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return err
		}
	}
	parsed, err := resource.ParseQuantity(text)
	if err != nil {
		return fmt.Errorf("%q is not a quantity: %w", text, err)
	}
	q.Quantity = parsed
	return nil
}

type PodRule struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	Selector  string    `json:"selector"`
	Metric    string    `json:"metric"`
	Value     *Quantity `json:"value"`
	Total     *Quantity `json:"total"`

	selector labels.Selector
}

type ObjectRule struct {
	Namespace string    `json:"namespace"`
	Resource  string    `json:"resource"`
	Name      string    `json:"name"`
	Metric    string    `json:"metric"`
	Value     *Quantity `json:"value"`

	groupResource schema.GroupResource
}

type ExternalRule struct {
	Namespace string            `json:"namespace"`
	Metric    string            `json:"metric"`
	Labels    map[string]string `json:"labels"`
	Value     *Quantity         `json:"value"`
}

type Values struct {
	Pods     []PodRule      `json:"pods"`
	Objects  []ObjectRule   `json:"objects"`
	External []ExternalRule `json:"external"`
}

// parseValues decodes and checks a values file; errors name the rule at fault.
func parseValues(data []byte) (*Values, error) {
	values := &Values{}
	if len(bytes.TrimSpace(data)) == 0 {
		return values, nil
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(values); err != nil {
		return nil, err
	}
	for i := range values.Pods {
		rule := &values.Pods[i]
		where := fmt.Sprintf("pods[%d]", i)
		if rule.Metric == "" {
			return nil, fmt.Errorf("%s: metric is required", where)
		}
		if (rule.Value == nil) == (rule.Total == nil) {
			return nil, fmt.Errorf("%s: give exactly one of value and total", where)
		}
		if rule.Pod != "" && rule.Selector != "" {
			return nil, fmt.Errorf("%s: give pod or selector, not both", where)
		}
		selector, err := labels.Parse(rule.Selector)
		if err != nil {
			return nil, fmt.Errorf("%s: selector: %w", where, err)
		}
		rule.selector = selector
	}
	for i := range values.Objects {
		rule := &values.Objects[i]
		where := fmt.Sprintf("objects[%d]", i)
		if rule.Metric == "" || rule.Resource == "" || rule.Name == "" || rule.Value == nil {
			return nil, fmt.Errorf("%s: metric, resource, name and value are required", where)
		}
		rule.groupResource = schema.ParseGroupResource(rule.Resource)
	}
	for i, rule := range values.External {
		if rule.Metric == "" || rule.Value == nil {
			return nil, fmt.Errorf("external[%d]: metric and value are required", i)
		}
	}
	return values, nil
}

// fileStamp identifies one version of the values file.
type fileStamp struct {
	inode   uint64
	size    int64
	modTime time.Time
}

func stampOf(info os.FileInfo) fileStamp {
	stamp := fileStamp{size: info.Size(), modTime: info.ModTime()}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		stamp.inode = uint64(sys.Ino)
	}
	return stamp
}
