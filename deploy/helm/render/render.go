// render: a Helm chart's templates rendered as `helm template` renders
// them, with the engine Helm uses (Go's text/template, the sprig
// functions, and Helm's own include, tpl, required, toYaml, fromYaml,
// toJson), for the tests: Helm itself is not in Debian, and this builds
// offline from Debian's Go packages:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render deploy/helm/render/render.go
//	./render deploy/helm/corral RELEASE NAMESPACE [values.yaml ...]
//
// Values files after the chart's own are merged over it, as `-f` does.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml2 "gopkg.in/yaml.v2"
	yaml3 "gopkg.in/yaml.v3"
)

func readYAML(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml3.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// merge copies src over dst, maps merged key by key (Helm's coalescing).
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func toYAML(v interface{}) string {
	b, err := yaml2.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: render CHART RELEASE NAMESPACE [values.yaml ...]")
		os.Exit(2)
	}
	dir, release, namespace := os.Args[1], os.Args[2], os.Args[3]
	if err := run(dir, release, namespace, os.Args[4:]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(dir, release, namespace string, extra []string) error {
	chart, err := readYAML(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range extra {
		more, err := readYAML(f)
		if err != nil {
			return err
		}
		merge(values, more)
	}
	name, _ := chart["name"].(string)
	base := name + "/templates"
	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		_ = yaml3.Unmarshal([]byte(s), &m)
		return m
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		c, err = c.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = c.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	t.Funcs(funcs)
	files, err := filepath.Glob(filepath.Join(dir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := t.New(base + "/" + filepath.Base(f)).Parse(string(b)); err != nil {
			return err
		}
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"],
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30"},
		},
	}
	for _, f := range files {
		file := filepath.Base(f)
		if strings.HasPrefix(file, "_") || !strings.HasSuffix(file, ".yaml") {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": base + "/" + file, "BasePath": base}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, base+"/"+file, top); err != nil {
			return err
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(out) == "" {
			continue
		}
		fmt.Printf("---\n# Source: %s/%s\n%s\n", base, file, strings.TrimSpace(out))
	}
	return nil
}
