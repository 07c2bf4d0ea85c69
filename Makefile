# nongxun — make run starts the server on the embedded database; make test runs every test.
GO        ?= go
BIN       ?= bin/nongxun
PORT      ?= 8080
DATA_DIR  ?= ./data
export PORT DATA_DIR

.PHONY: run build test bench bench-scale demo deps fmt vet

build:
	$(GO) build -o $(BIN) .

# deps installs the Debian packages nongxun and its tests use, when missing.
deps:
	@./scripts/deps.sh

run: build
	@./scripts/deps.sh font || true
	./$(BIN)

# demo loads the living demo county (with the server running on the same
# DATA_DIR, or on a stopped one) and prints its logins; DEMO_FLAGS passes
# e.g. --scale 0.1 or --seed 7.
demo: build
	./$(BIN) demo $(DEMO_FLAGS)

# test installs (as root) or names what the tests need, then runs every
# test with the race detector: most packages write concurrently or work in
# the background.
test:
	@./scripts/deps.sh all
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

bench: build
	$(GO) run ./bench

# bench-scale loads the demo county at scale 1 and 6 (a three-year county's
# volume) and measures the pages, RSS, backup, restore and start-up of each
# (bench/scale.md; tens of minutes).
bench-scale:
	$(GO) run ./bench/scale -scales 1,6 -out bench/scale.md

fmt:
	gofmt -l -w .
