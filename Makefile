# The two set-up commands are `make run` and `make test` (see README.md).
GO        ?= go
BIN       := bin
PKGS      := ./...
TESTFLAGS ?= -race -count=1 -timeout 15m

.PHONY: all build deps test-deps run test vet fuzz bench clean loadtest

all: build

# redis-server and SIPp for running; the tests also drive headless Chromium.
deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh chromium baresip kamailio kamailio-redis rtpengine

build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

run: deps build
	@scripts/run.sh

vet:
	$(GO) vet $(PKGS)

# The tests of the sipgo patch (third_party/sipgo/PATCH.md), a module of
# its own that ./... does not reach.
SIPGO_PATCH_TESTS := ^(TestServerTxTerminateStopsTimerL|TestClientTxTerminateStopsTimerM|TestServerTxNonInviteCompletedReleasesOrigin|TestUDPTransportTakesAPreParsedMessage|TestTransactionLayerRunner|TestTransactionLayerResponseOrder|TestResponseOrderQueueBound)$$

test: test-deps vet
	$(GO) test $(TESTFLAGS) $(PKGS)
	cd third_party/sipgo && $(GO) test $(TESTFLAGS) -run '$(SIPGO_PATCH_TESTS)' ./sip

# Short fuzzing of every parser of untrusted input (FUZZTIME each).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf $(BIN) run

# Load test with SIPp (not part of `make test`): see loadtest/README.md.
# Results go to loadtest/results/<timestamp>/ and loadtest/results/latest.md.
# Override any of these, e.g. `make loadtest LT_WORKSPACES=20 LT_RAMP_MAX=3000`,
# or pass more driver flags in LT_FLAGS (`go run ./loadtest/driver -h`).
LT_WORKSPACES   ?= 10
LT_NUMBERS      ?= 20
LT_RUNS         ?= ramp,concurrency,fairness,bench,kamailio,rtpengine
LT_RAMP_START   ?= 200
LT_RAMP_STEP    ?= 100
LT_RAMP_MAX     ?= 2000
LT_RAMP_STEP_TIME ?= 10s
LT_RAMP_HOLD_TIME ?= 30s
LT_CONC_START   ?= 500
LT_CONC_STEP    ?= 250
LT_CONC_MAX     ?= 2000
LT_CONC_PLATEAU ?= 45s
LT_SERVICES     ?= 8
LT_FLAGS        ?=
loadtest: deps build
	@scripts/install-deps.sh kamailio-redis rtpengine
	$(GO) run ./loadtest/driver -bin $(BIN) -out loadtest/results \
	  -workspaces $(LT_WORKSPACES) -numbers $(LT_NUMBERS) -runs $(LT_RUNS) \
	  -ramp-start $(LT_RAMP_START) -ramp-step $(LT_RAMP_STEP) -ramp-max $(LT_RAMP_MAX) \
	  -ramp-step-time $(LT_RAMP_STEP_TIME) -ramp-hold-time $(LT_RAMP_HOLD_TIME) \
	  -conc-start $(LT_CONC_START) -conc-step $(LT_CONC_STEP) -conc-max $(LT_CONC_MAX) \
	  -conc-plateau $(LT_CONC_PLATEAU) -services $(LT_SERVICES) $(LT_FLAGS)
