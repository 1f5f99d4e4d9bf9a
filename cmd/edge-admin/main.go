// Command edge-admin is the telephony edge's control plane: "edge-admin
// serve" runs the admin REST API (the only writer of tenant configuration);
// the other verbs (workspace, apply, get, keys, promote) are its clients.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/voiceedge/edge/admin/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one verb with the environment of lookup and returns the exit
// status: 0, 1 on failure, 2 on a command-line error.
func run(ctx context.Context, args []string, lookup client.LookupEnv, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "serve":
		err = serve(ctx, args[1:], lookup, stderr)
	case len(args) > 0 && args[0] == "reencrypt":
		err = reencrypt(ctx, args[1:], lookup, stdout, stderr)
	case len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprintln(stderr, "usage: edge-admin serve [-config FILE] [-addr ADDR] [-redis ADDR]   run the admin API")
		fmt.Fprintln(stderr, "       edge-admin reencrypt [-config FILE] [-redis ADDR]             seal data-source credentials with the current EDGE_ADMIN_SECRET_KEY")
		fmt.Fprintln(stderr, "       edge-admin VERB ...                                          a client verb")
		client.Usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	default:
		cli := &client.CLI{Stdout: stdout, Stderr: stderr, LookupEnv: lookup}
		err = cli.Run(ctx, args)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, client.ErrUsage):
		fmt.Fprintf(stderr, "edge-admin: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "edge-admin: %v\n", err)
		return 1
	}
}
