package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Environment variables the CLI reads (flags win over them).
const (
	// EnvURL is the admin API's URL (--server).
	EnvURL = "EDGE_ADMIN_URL"
	// EnvKey is the API key (--key).
	EnvKey = "EDGE_ADMIN_KEY"
	// EnvWorkspace is the workspace id verbs act on (--workspace).
	EnvWorkspace = "EDGE_ADMIN_WORKSPACE"
	// EnvSourceKey is the staging workspace's key of a promotion
	// (--source-key).
	EnvSourceKey = "EDGE_ADMIN_SOURCE_KEY"
	// EnvBootstrapToken is the platform token, the default key of
	// "workspace create".
	EnvBootstrapToken = "EDGE_ADMIN_BOOTSTRAP_TOKEN"
)

// DefaultURL is the admin API's default address.
const DefaultURL = "http://127.0.0.1:8081"

// CLI runs the client verbs of edge-admin: workspace, apply, get, keys
// and promote. Its zero value writes nowhere and reads the process
// environment.
type CLI struct {
	// Stdout receives results; Stderr usage and hints.
	Stdout, Stderr io.Writer
	// LookupEnv reads the environment (os.LookupEnv when nil).
	LookupEnv LookupEnv
	// HTTPClient sends the requests (a default one when nil).
	HTTPClient *http.Client
}

// Verbs lists the client verbs with a one-line description each.
var Verbs = [][2]string{
	{"workspace create", "create a workspace and its owner (platform token); prints the id and the owner's key once"},
	{"apply -f FILE", "make a workspace match a workspace file (--dry-run, --prune)"},
	{"get KIND [ID]", "show workspace, services, phone-numbers, trunks, voice-settings, operator-config, safety-policies, data-sources, accounts, api-keys, calls or events"},
	{"keys create|list|revoke", "manage the API keys of the key's own account"},
	{"promote --from WS --source-key KEY", "promote a staging workspace's agent configuration into a production one"},
}

// Usage writes the verbs' summary to w.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "client verbs (flags: --server URL, --key KEY, --workspace WS; env EDGE_ADMIN_URL, EDGE_ADMIN_KEY, EDGE_ADMIN_WORKSPACE):")
	for _, v := range Verbs {
		fmt.Fprintf(w, "  %-36s %s\n", v[0], v[1])
	}
}

// Run runs one client verb; args start with the verb. Errors of the
// command line match ErrUsage.
func (c *CLI) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		Usage(c.stderr())
		return usage("no verb given")
	}
	err := c.run(ctx, args[0], args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func (c *CLI) run(ctx context.Context, verb string, rest []string) error {
	switch verb {
	case "workspace", "workspaces":
		return c.workspace(ctx, rest)
	case "apply":
		return c.apply(ctx, rest)
	case "get":
		return c.get(ctx, rest)
	case "keys", "key", "api-keys":
		return c.keys(ctx, rest)
	case "promote":
		return c.promote(ctx, rest)
	case "help", "-h", "--help":
		Usage(c.stdout())
		return nil
	}
	Usage(c.stderr())
	return usage("unknown verb %q", verb)
}

func (c *CLI) stdout() io.Writer {
	if c.Stdout == nil {
		return io.Discard
	}
	return c.Stdout
}

func (c *CLI) stderr() io.Writer {
	if c.Stderr == nil {
		return io.Discard
	}
	return c.Stderr
}

func (c *CLI) env(name string) string {
	lookup := c.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, _ := lookup(name)
	return v
}

// common are the flags every verb takes.
type common struct {
	server, key, workspace, output string
	timeout                        time.Duration
}

// flagSet returns a verb's flag set with the common flags; outputs lists
// the accepted -o values, the first the default ("" for none).
func (c *CLI) flagSet(name string, withWorkspace bool, outputs ...string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("edge-admin "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr())
	cm := &common{}
	server := c.env(EnvURL)
	if server == "" {
		server = DefaultURL
	}
	fs.StringVar(&cm.server, "server", server, "admin API URL (env "+EnvURL+")")
	fs.StringVar(&cm.key, "key", c.env(EnvKey), "API key (env "+EnvKey+")")
	fs.DurationVar(&cm.timeout, "timeout", 30*time.Second, "timeout of one request")
	if withWorkspace {
		fs.StringVar(&cm.workspace, "workspace", c.env(EnvWorkspace), "workspace id (env "+EnvWorkspace+")")
		fs.StringVar(&cm.workspace, "w", c.env(EnvWorkspace), "shorthand for --workspace")
	}
	if len(outputs) > 0 {
		fs.StringVar(&cm.output, "o", outputs[0], "output: "+strings.Join(outputs, "|"))
		fs.StringVar(&cm.output, "output", outputs[0], "output: "+strings.Join(outputs, "|"))
	}
	return fs, cm
}

// parse parses flags anywhere among the arguments and returns the
// positional ones; -h answers ErrHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usage("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// client builds the API client of the common flags.
func (c *CLI) client(cm *common) (*Client, error) {
	var opts []Option
	if c.HTTPClient != nil {
		opts = append(opts, WithHTTPClient(c.HTTPClient))
	}
	return New(Config{BaseURL: cm.server, Key: cm.key, Timeout: cm.timeout}, opts...)
}

// needWorkspace checks that a workspace id was given.
func needWorkspace(cm *common) error {
	if cm.workspace == "" {
		return usage("no workspace: pass --workspace WS or set %s", EnvWorkspace)
	}
	return nil
}

// checkOutput checks -o against the accepted values.
func checkOutput(cm *common, accepted ...string) error {
	for _, a := range accepted {
		if cm.output == a {
			return nil
		}
	}
	return usage("-o %q: must be one of %s", cm.output, strings.Join(accepted, ", "))
}
