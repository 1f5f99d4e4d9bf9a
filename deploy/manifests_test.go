// Package deploy_test checks the Kubernetes manifests under deploy/: each
// decodes strictly into the real Kubernetes API types, and together they
// keep the programs' contract (environment names the programs read, ports,
// probes, drain and grace period, no root, no privilege).
package deploy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// designDrainTimeout is EDGE_DRAIN_TIMEOUT's default (design section 10),
// what the edge drains for when the manifests do not say.
const designDrainTimeout = 2 * time.Hour

// kustomization is the part of kustomize's Kustomization the manifests use;
// a field outside it fails the strict decode.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// types maps apiVersion/kind to the API type a manifest decodes into.
var types = map[string]func() any{
	"v1/Namespace":                  func() any { return new(corev1.Namespace) },
	"v1/ConfigMap":                  func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                     func() any { return new(corev1.Secret) },
	"v1/Service":                    func() any { return new(corev1.Service) },
	"apps/v1/DaemonSet":             func() any { return new(appsv1.DaemonSet) },
	"apps/v1/Deployment":            func() any { return new(appsv1.Deployment) },
	"apps/v1/StatefulSet":           func() any { return new(appsv1.StatefulSet) },
	"batch/v1/Job":                  func() any { return new(batchv1.Job) },
	"policy/v1/PodDisruptionBudget": func() any { return new(policyv1.PodDisruptionBudget) },
	"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return new(kustomization) },
}

// manifest is one decoded document of a file under deploy/.
type manifest struct {
	file string // relative to deploy/
	kind string
	obj  any
}

// loadManifests decodes every document of every YAML file under deploy/
// strictly (unknown or duplicate fields fail).
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	var out []manifest
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return fmt.Errorf("%s doc %d: %w", path, i, err)
			}
			newObj, ok := types[head.APIVersion+"/"+head.Kind]
			if !ok {
				return fmt.Errorf("%s doc %d: no API type for %s %s", path, i, head.APIVersion, head.Kind)
			}
			obj := newObj()
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				return fmt.Errorf("%s doc %d (%s): %w", path, i, head.Kind, err)
			}
			out = append(out, manifest{file: path, kind: head.Kind, obj: obj})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestManifestsDecodeStrictlyIntoKubernetesAPITypes(t *testing.T) {
	ms := loadManifests(t)
	kinds := map[string]int{}
	for _, m := range ms {
		kinds[m.kind]++
	}
	for _, want := range []string{"DaemonSet", "Deployment", "Service", "PodDisruptionBudget", "StatefulSet", "Secret", "Kustomization"} {
		if kinds[want] == 0 {
			t.Errorf("no %s among the manifests (%v)", want, kinds)
		}
	}
	t.Run("a misspelt field is refused", func(t *testing.T) {
		bad := "apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      hostNetwrok: true\n"
		if err := yaml.UnmarshalStrict([]byte(bad), new(appsv1.DaemonSet)); err == nil {
			t.Fatal("strict decoding accepted an unknown field")
		}
	})
}

func TestKustomizationsListEveryFileOfTheirFolder(t *testing.T) {
	for _, m := range loadManifests(t) {
		k, ok := m.obj.(*kustomization)
		if !ok {
			continue
		}
		t.Run(m.file, func(t *testing.T) {
			dir := filepath.Dir(m.file)
			listed := map[string]bool{}
			for _, r := range k.Resources {
				listed[filepath.Clean(filepath.Join(dir, r))] = true
			}
			for _, p := range k.Patches {
				listed[filepath.Clean(filepath.Join(dir, p.Path))] = true
			}
			for path := range listed {
				if _, err := os.Stat(path); err != nil {
					t.Errorf("lists %s: %v", path, err)
				}
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, f := range files {
				if f != m.file && !listed[f] {
					t.Errorf("%s is in %s but not in its kustomization", f, dir)
				}
			}
		})
	}
}

// program is what the manifests must agree with about one binary.
type program struct {
	dir  string          // its cmd folder
	env  map[string]bool // environment names it reads
	yaml map[string]bool // keys of its -config file
}

// readProgram collects the EDGE_* string constants and the yaml struct tags
// of a program's (non-test) Go files: the names it reads, from its own code.
func readProgram(t *testing.T, dir string) program {
	t.Helper()
	p := program{dir: dir, env: map[string]bool{}, yaml: map[string]bool{}}
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "cmd", dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files of cmd/%s: %v", dir, err)
	}
	envName := regexp.MustCompile(`^EDGE_[A-Z0-9_]+$`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if x.Kind == token.STRING {
					if s, err := strconv.Unquote(x.Value); err == nil && envName.MatchString(s) {
						p.env[s] = true
					}
				}
			case *ast.Field:
				if x.Tag != nil {
					tag, _ := strconv.Unquote(x.Tag.Value)
					name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
					if name != "" && name != "-" {
						p.yaml[name] = true
					}
				}
			}
			return true
		})
	}
	if len(p.env) == 0 {
		t.Fatalf("cmd/%s reads no EDGE_ names?", dir)
	}
	return p
}

// containers returns the pod templates' containers of every workload,
// with the file they are in.
type podOf struct {
	file string
	name string
	spec corev1.PodSpec
	meta map[string]string // template annotations
}

func pods(ms []manifest) []podOf {
	var out []podOf
	for _, m := range ms {
		switch o := m.obj.(type) {
		case *appsv1.DaemonSet:
			out = append(out, podOf{m.file, o.Name, o.Spec.Template.Spec, o.Spec.Template.Annotations})
		case *appsv1.Deployment:
			out = append(out, podOf{m.file, o.Name, o.Spec.Template.Spec, o.Spec.Template.Annotations})
		case *appsv1.StatefulSet:
			out = append(out, podOf{m.file, o.Name, o.Spec.Template.Spec, o.Spec.Template.Annotations})
		case *batchv1.Job:
			out = append(out, podOf{m.file, o.Name, o.Spec.Template.Spec, o.Spec.Template.Annotations})
		}
	}
	return out
}

func TestEnvironmentNamesAreTheOnesTheProgramsRead(t *testing.T) {
	ms := loadManifests(t)
	progs := map[string]program{"edge": readProgram(t, "edge"), "edge-admin": readProgram(t, "edge-admin")}
	secrets := map[string]map[string]bool{}
	for _, m := range ms {
		if s, ok := m.obj.(*corev1.Secret); ok {
			secrets[s.Name] = map[string]bool{}
			for k := range s.StringData {
				secrets[s.Name][k] = true
			}
			for k := range s.Data {
				secrets[s.Name][k] = true
			}
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z0-9_]+)\)`)
	for _, p := range pods(ms) {
		for _, c := range p.spec.Containers {
			prog, ours := progs[c.Name]
			t.Run(p.file+"/"+c.Name, func(t *testing.T) {
				defined := map[string]bool{}
				referenced := map[string]bool{}
				for _, e := range c.Env {
					for _, m := range ref.FindAllStringSubmatch(e.Value, -1) {
						if !defined[m[1]] {
							t.Errorf("%s uses $(%s) before it is defined", e.Name, m[1])
						}
						referenced[m[1]] = true
					}
					defined[e.Name] = true
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
						sk := e.ValueFrom.SecretKeyRef
						if !secrets[sk.Name][sk.Key] {
							t.Errorf("%s from secret %s key %s, which no manifest defines", e.Name, sk.Name, sk.Key)
						}
					}
				}
				for _, arg := range append(slices.Clone(c.Command), c.Args...) {
					for _, m := range ref.FindAllStringSubmatch(arg, -1) {
						referenced[m[1]] = true
					}
				}
				for _, e := range c.Env {
					switch {
					case ours && strings.HasPrefix(e.Name, "EDGE_"):
						if !prog.env[e.Name] {
							t.Errorf("%s is not read by cmd/%s (it reads %v)", e.Name, prog.dir, keys(prog.env))
						}
					case !referenced[e.Name]:
						t.Errorf("%s is neither read by the program nor used by another variable", e.Name)
					}
				}
			})
		}
	}
}

func TestEdgeDaemonSetKeepsTheDataPlaneContract(t *testing.T) {
	ms := loadManifests(t)
	edge := readProgram(t, "edge")
	var ds *appsv1.DaemonSet
	var cm *corev1.ConfigMap
	var pdb *policyv1.PodDisruptionBudget
	for _, m := range ms {
		switch o := m.obj.(type) {
		case *appsv1.DaemonSet:
			if m.file == filepath.Join("base", "edge-daemonset.yaml") {
				ds = o
			}
		case *corev1.ConfigMap:
			if o.Name == "edge-config" {
				cm = o
			}
		case *policyv1.PodDisruptionBudget:
			if o.Name == "edge" {
				pdb = o
			}
		}
	}
	if ds == nil || cm == nil || pdb == nil {
		t.Fatalf("base needs the edge DaemonSet, ConfigMap edge-config and PDB edge (%v %v %v)", ds != nil, cm != nil, pdb != nil)
	}
	spec := ds.Spec.Template.Spec
	c := container(t, spec, "edge")
	env := envOf(c)

	// The configuration file's keys are the edge's.
	var file map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["edge.yaml"]), &file); err != nil {
		t.Fatal(err)
	}
	for k := range file {
		if !edge.yaml[k] {
			t.Errorf("edge.yaml key %s is not in cmd/edge's config", k)
		}
	}
	drain := designDrainTimeout
	if v, ok := file["drain_timeout"].(string); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("drain_timeout %q: %v", v, err)
		}
		drain = d
	}
	if v, ok := env["EDGE_DRAIN_TIMEOUT"]; ok {
		d, err := time.ParseDuration(v.Value)
		if err != nil {
			t.Fatalf("EDGE_DRAIN_TIMEOUT %q: %v", v.Value, err)
		}
		drain = d
	}
	preStop := time.Duration(0)
	if h := c.Lifecycle; h != nil && h.PreStop != nil && h.PreStop.Sleep != nil {
		preStop = time.Duration(h.PreStop.Sleep.Seconds) * time.Second
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Error("no preStop hook")
	}

	cases := []struct {
		name string
		ok   bool
		got  any
	}{
		{"host network for SIP and RTP", spec.HostNetwork && spec.DNSPolicy == corev1.DNSClusterFirstWithHostNet, spec.HostNetwork},
		{"grace period covers preStop and the drain", spec.TerminationGracePeriodSeconds != nil &&
			time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second >= preStop+drain, fmt.Sprintf("grace %v, preStop %v, drain %v", ptrVal(spec.TerminationGracePeriodSeconds), preStop, drain)},
		{"public IP from the downward API", env["EDGE_PUBLIC_IP"].ValueFrom != nil && env["EDGE_PUBLIC_IP"].ValueFrom.FieldRef != nil &&
			env["EDGE_PUBLIC_IP"].ValueFrom.FieldRef.FieldPath == "status.hostIP", env["EDGE_PUBLIC_IP"]},
		{"RTP port range set", env["EDGE_RTP_PORTS"].Value != "", env["EDGE_RTP_PORTS"]},
		{"SIP port declared UDP and TCP", hasPort(c, portOf(t, env["EDGE_SIP_ADDR"].Value), corev1.ProtocolUDP) &&
			hasPort(c, portOf(t, env["EDGE_SIP_ADDR"].Value), corev1.ProtocolTCP), c.Ports},
		{"http port is EDGE_HTTP_ADDR's", namedPort(c, "http") == portOf(t, env["EDGE_HTTP_ADDR"].Value), env["EDGE_HTTP_ADDR"]},
		{"metrics port 9090 is EDGE_METRICS_ADDR's", namedPort(c, "metrics") == 9090 && portOf(t, env["EDGE_METRICS_ADDR"].Value) == 9090, env["EDGE_METRICS_ADDR"]},
		{"metrics never on the public HTTP address", env["EDGE_METRICS_ADDR"].Value != env["EDGE_HTTP_ADDR"].Value, env["EDGE_METRICS_ADDR"]},
		{"Prometheus scrapes the metrics port", ds.Spec.Template.Annotations["prometheus.io/scrape"] == "true" &&
			ds.Spec.Template.Annotations["prometheus.io/port"] == "9090", ds.Spec.Template.Annotations},
		{"readiness is /readyz on the HTTP port", probeIs(c.ReadinessProbe, "/readyz", c, "http"), c.ReadinessProbe},
		{"liveness is /healthz on the HTTP port", probeIs(c.LivenessProbe, "/healthz", c, "http"), c.LivenessProbe},
		{"-config names the mounted edge-config", mountsConfig(spec, c, "edge-config"), c.Args},
		{"PDB takes one edge at a time and selects the edge pods", pdb.Spec.MaxUnavailable != nil && pdb.Spec.MaxUnavailable.IntValue() == 1 &&
			selects(pdb.Spec.Selector.MatchLabels, ds.Spec.Template.Labels), pdb.Spec},
		{"rolling update one node at a time", ds.Spec.UpdateStrategy.RollingUpdate != nil &&
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() == 1, ds.Spec.UpdateStrategy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("not so: %+v", tc.got)
			}
		})
	}
}

func TestEdgeAdminDeploymentKeepsTheControlPlaneContract(t *testing.T) {
	ms := loadManifests(t)
	var dep *appsv1.Deployment
	var svc *corev1.Service
	for _, m := range ms {
		switch o := m.obj.(type) {
		case *appsv1.Deployment:
			if o.Name == "edge-admin" {
				dep = o
			}
		case *corev1.Service:
			if o.Name == "edge-admin" {
				svc = o
			}
		}
	}
	if dep == nil || svc == nil {
		t.Fatal("base needs the edge-admin Deployment and Service")
	}
	c := container(t, dep.Spec.Template.Spec, "edge-admin")
	env := envOf(c)
	tok := env["EDGE_ADMIN_BOOTSTRAP_TOKEN"]
	cases := []struct {
		name string
		ok   bool
		got  any
	}{
		{"runs serve", slices.Equal(c.Args, []string{"serve"}), c.Args},
		{"bootstrap token from a Secret", tok.ValueFrom != nil && tok.ValueFrom.SecretKeyRef != nil && tok.Value == "", tok},
		{"Redis address from a Secret", env["EDGE_REDIS_ADDR"].ValueFrom != nil && env["EDGE_REDIS_ADDR"].ValueFrom.SecretKeyRef != nil, env["EDGE_REDIS_ADDR"]},
		{"http port is EDGE_ADMIN_ADDR's", namedPort(c, "http") == portOf(t, env["EDGE_ADMIN_ADDR"].Value), env["EDGE_ADMIN_ADDR"]},
		{"readiness is /readyz", probeIs(c.ReadinessProbe, "/readyz", c, "http"), c.ReadinessProbe},
		{"liveness is /healthz", probeIs(c.LivenessProbe, "/healthz", c, "http"), c.LivenessProbe},
		{"Service selects the pods and targets the API port", selects(svc.Spec.Selector, dep.Spec.Template.Labels) &&
			len(svc.Spec.Ports) == 1 && resolvesTo(svc.Spec.Ports[0].TargetPort, c, "http"), svc.Spec},
		{"Prometheus scrapes the API port's /metrics", dep.Spec.Template.Annotations["prometheus.io/port"] == strconv.Itoa(int(namedPort(c, "http"))), dep.Spec.Template.Annotations},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("not so: %+v", tc.got)
			}
		})
	}
}

func TestEveryPodRunsAsNonRootUnprivileged(t *testing.T) {
	for _, p := range pods(loadManifests(t)) {
		for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
			t.Run(p.file+"/"+c.Name, func(t *testing.T) {
				if isPatch(p.file) {
					t.Skip("a patch of a checked workload")
				}
				psc, csc := p.spec.SecurityContext, c.SecurityContext
				nonRoot := (csc != nil && csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) ||
					(psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
				if !nonRoot {
					t.Error("runAsNonRoot is not set")
				}
				if csc == nil || (csc.Privileged != nil && *csc.Privileged) {
					t.Error("privileged, or no container securityContext")
				}
				if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
					t.Error("allowPrivilegeEscalation is not false")
				}
				if csc == nil || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
					t.Error("capabilities are not all dropped")
				}
			})
		}
	}
}

func TestDockerfileImageRunsNonRootWithOnlyTheBinaries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := regexp.MustCompile(`(?m)^FROM `).Split(string(data), -1)
	final := stages[len(stages)-1]
	var user string
	for _, l := range strings.Split(final, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "COPY", "ADD":
			if len(f) < 3 || f[1] != "--from=build" {
				t.Errorf("final image takes more than the built binaries: %s", l)
			}
			for _, src := range f[2 : len(f)-1] {
				if src != "/out/edge" && src != "/out/edge-admin" {
					t.Errorf("final image copies %s", src)
				}
			}
		case "RUN":
			t.Errorf("final image runs a command: %s", l)
		}
	}
	u, _, _ := strings.Cut(user, ":")
	if u == "" || u == "root" || u == "0" {
		t.Errorf("final image runs as %q, want a non-root user", user)
	}
}
