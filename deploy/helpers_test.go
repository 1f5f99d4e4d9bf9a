package deploy_test

import (
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func isPatch(file string) bool { return strings.HasSuffix(file, "-patch.yaml") }

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

// portOf is the port of a host:port value; $(VAR) hosts are fine.
func portOf(t *testing.T, hostport string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(regexp.MustCompile(`\$\([A-Za-z0-9_]+\)`).ReplaceAllString(hostport, "h"))
	if err != nil {
		t.Errorf("address %q: %v", hostport, err)
		return -1
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func namedPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return -2
}

func hasPort(c corev1.Container, port int32, proto corev1.Protocol) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port && p.Protocol == proto {
			return true
		}
	}
	return false
}

func resolvesTo(v intstr.IntOrString, c corev1.Container, name string) bool {
	if v.Type == intstr.String {
		return v.StrVal == name
	}
	return v.IntVal == namedPort(c, name)
}

func probeIs(p *corev1.Probe, path string, c corev1.Container, port string) bool {
	return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path && resolvesTo(p.HTTPGet.Port, c, port)
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func mountsConfig(spec corev1.PodSpec, c corev1.Container, configMap string) bool {
	i := slices.Index(c.Args, "-config")
	if i < 0 || i+1 >= len(c.Args) {
		return false
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != configMap {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name && filepath.Dir(c.Args[i+1]) == m.MountPath {
				return true
			}
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
