package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/voiceedge/edge/tenancy"
)

// workspace runs "workspace create".
func (c *CLI) workspace(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usage("workspace: expected \"workspace create --name N --env E --owner-name N --owner-email E\"")
	}
	fs, cm := c.flagSet("workspace create", false, "text", "json", "env")
	var nw NewWorkspace
	var env, timezone string
	fs.StringVar(&nw.Name, "name", "", "workspace name (required)")
	fs.StringVar(&env, "env", "", "environment: development, staging or production (required)")
	fs.StringVar(&nw.Owner.Name, "owner-name", "", "owner's name (required)")
	fs.StringVar(&nw.Owner.Email, "owner-email", "", "owner's e-mail address (required)")
	fs.StringVar(&timezone, "timezone", "", "IANA time zone of the clinic, e.g. America/Chicago")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usage("workspace create: unexpected argument %q", pos[0])
	}
	if err := checkOutput(cm, "text", "json", "env"); err != nil {
		return err
	}
	nw.Environment = tenancy.Environment(env)
	if timezone != "" {
		nw.Settings = &tenancy.Settings{Timezone: timezone}
	}
	if cm.key == "" {
		cm.key = c.env(EnvBootstrapToken)
	}
	cl, err := c.client(cm)
	if err != nil {
		return err
	}
	created, err := cl.CreateWorkspace(ctx, nw)
	if err != nil {
		return err
	}
	out := c.stdout()
	switch cm.output {
	case "json":
		return writeJSON(out, created)
	case "env":
		fmt.Fprintf(out, "%s=%s\n%s=%s\n", EnvWorkspace, created.ID, EnvKey, created.OwnerAPIKey)
	default:
		fmt.Fprintf(out, "workspace %s created: %q (%s)\n", created.ID, created.Name, created.Environment)
		fmt.Fprintf(out, "owner account %s: %s <%s>\n", created.Owner.ID, created.Owner.Name, created.Owner.Email)
		fmt.Fprintf(out, "owner API key (shown once, store it now): %s\n", created.OwnerAPIKey)
	}
	return nil
}

// apply runs "apply -f FILE".
func (c *CLI) apply(ctx context.Context, args []string) error {
	fs, cm := c.flagSet("apply", true)
	var file string
	var opts ApplyOptions
	fs.StringVar(&file, "f", "", "workspace file (YAML, required)")
	fs.StringVar(&file, "file", "", "workspace file (YAML, required)")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print the plan, write nothing")
	fs.BoolVar(&opts.Prune, "prune", false, "delete items of the file's sections that it does not list")
	fs.BoolVar(&opts.ResendSecrets, "resend-secrets", false, "send trunk passwords even when nothing else changed (password rotation)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usage("apply: unexpected argument %q (the file goes after -f)", pos[0])
	}
	if file == "" {
		return usage("apply: -f FILE is required")
	}
	f, err := LoadFile(file, c.LookupEnv)
	if err != nil {
		return err
	}
	switch {
	case f.Workspace != "" && cm.workspace != "" && f.Workspace != cm.workspace:
		return usage("apply: %s is for workspace %s, but --workspace (or %s) says %s", file, f.Workspace, EnvWorkspace, cm.workspace)
	case cm.workspace == "":
		cm.workspace = f.Workspace
	}
	if err := needWorkspace(cm); err != nil {
		return err
	}
	cl, err := c.client(cm)
	if err != nil {
		return err
	}
	_, err = cl.Apply(ctx, f, cm.workspace, opts, c.stdout())
	return err
}

// keys runs "keys create|list|revoke".
func (c *CLI) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usage("keys: expected create, list or revoke")
	}
	sub := args[0]
	outputs := []string{"text", "json"}
	if sub == "list" {
		outputs = []string{"table", "json"}
	}
	fs, cm := c.flagSet("keys "+sub, true, outputs...)
	var name string
	if sub == "create" {
		fs.StringVar(&name, "name", "", "a name for the key, e.g. ci or laptop")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if err := checkOutput(cm, outputs...); err != nil {
		return err
	}
	if err := needWorkspace(cm); err != nil {
		return err
	}
	cl, err := c.client(cm)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if len(pos) > 0 {
			return usage("keys create: unexpected argument %q (use --name)", pos[0])
		}
		k, err := cl.CreateAPIKey(ctx, cm.workspace, name)
		if err != nil {
			return err
		}
		if cm.output == "json" {
			return writeJSON(c.stdout(), k)
		}
		fmt.Fprintf(c.stdout(), "API key %s created for account %s\nkey (shown once, store it now): %s\n", k.ID, k.AccountID, k.Secret)
		return nil
	case "list":
		if len(pos) > 0 {
			return usage("keys list: unexpected argument %q", pos[0])
		}
		return c.show(ctx, cl, cm, resourceByName["api-keys"], "", getOptions{})
	case "revoke":
		if len(pos) != 1 {
			return usage("keys revoke: expected the key's id")
		}
		if err := cl.RevokeAPIKey(ctx, cm.workspace, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout(), "API key %s revoked\n", pos[0])
		return nil
	}
	return usage("keys: unknown %q, expected create, list or revoke", sub)
}

// promote runs "promote --from WS --source-key KEY".
func (c *CLI) promote(ctx context.Context, args []string) error {
	fs, cm := c.flagSet("promote", true, "text", "json")
	var from, sourceKey string
	var dryRun bool
	fs.StringVar(&from, "from", "", "the staging workspace to promote from (required)")
	fs.StringVar(&sourceKey, "source-key", c.env(EnvSourceKey), "an admin or owner key of the staging workspace (env "+EnvSourceKey+")")
	fs.BoolVar(&dryRun, "dry-run", false, "show the diff, change nothing")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usage("promote: unexpected argument %q", pos[0])
	}
	if err := checkOutput(cm, "text", "json"); err != nil {
		return err
	}
	switch {
	case from == "":
		return usage("promote: --from WS (the staging workspace) is required")
	case sourceKey == "":
		return usage("promote: --source-key KEY (a key of %s) is required", from)
	}
	if err := needWorkspace(cm); err != nil {
		return err
	}
	cl, err := c.client(cm)
	if err != nil {
		return err
	}
	res, err := cl.Promote(ctx, cm.workspace, from, sourceKey, dryRun)
	if err != nil {
		return err
	}
	if cm.output == "json" {
		return writeJSON(c.stdout(), res)
	}
	writePromotion(c.stdout(), cm.workspace, res)
	return nil
}

// promotionMarks are the marks of a promotion's diff ops.
var promotionMarks = map[string]Op{"create": OpCreate, "update": OpUpdate, "delete": OpDelete}

func writePromotion(w io.Writer, target string, res PromotionResult) {
	for _, d := range res.Diff {
		mark, ok := promotionMarks[d.Op]
		if !ok {
			mark = Op(d.Op)
		}
		line := string(mark) + " " + d.Kind
		if d.ID != "" {
			line += "/" + d.ID
		}
		fmt.Fprintln(w, line)
	}
	switch {
	case len(res.Diff) == 0:
		fmt.Fprintf(w, "%s already matches %s: no changes\n", target, res.FromWorkspace)
	case !res.Applied:
		fmt.Fprintf(w, "dry run: promoting %s into %s would make %d changes; nothing written\n", res.FromWorkspace, target, len(res.Diff))
	default:
		fmt.Fprintf(w, "promoted %s into %s: %d changes\n", res.FromWorkspace, target, len(res.Diff))
	}
}

// writeJSON writes v indented.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
