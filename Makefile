# The two set-up commands are `make run` and `make test` (see README.md).
GO        ?= go
BIN       := bin
PKGS      := ./...
TESTFLAGS ?= -race -count=1 -timeout 15m

.PHONY: all build deps run test vet fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

run: deps build
	@scripts/run.sh

vet:
	$(GO) vet $(PKGS)

test: deps vet
	$(GO) test $(TESTFLAGS) $(PKGS)

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
