// Command kstatus prints kstatus's verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status, the library
// Flux uses for health) for Kubernetes objects read as JSON on stdin: one object or a List
// (`kubectl get -o json`). One JSON line per object: kind, namespace, name, status, message.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	var doc map[string]interface{}
	// apimachinery's decoder keeps whole numbers int64, as unstructured accessors expect.
	if err := utiljson.Unmarshal(data, &doc); err != nil {
		fail("stdin is not a JSON object: %v", err)
	}
	objects := []map[string]interface{}{doc}
	if items, ok := doc["items"].([]interface{}); ok {
		objects = objects[:0]
		for i, item := range items {
			obj, ok := item.(map[string]interface{})
			if !ok {
				fail("items[%d] is not an object", i)
			}
			objects = append(objects, obj)
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, obj := range objects {
		u := &unstructured.Unstructured{Object: obj}
		result, err := status.Compute(u)
		if err != nil {
			fail("kstatus cannot compute the status of %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if err := out.Encode(verdict{u.GetKind(), u.GetNamespace(), u.GetName(), result.Status.String(), result.Message}); err != nil {
			fail("writing stdout: %v", err)
		}
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kstatus: "+format+"\n", args...)
	os.Exit(2)
}
