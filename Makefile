# nongxun — make run starts the server on the embedded database; make test runs every test.
GO        ?= go
BIN       ?= bin/nongxun
PORT      ?= 8080
DATA_DIR  ?= ./data
export PORT DATA_DIR

.PHONY: run build test test-race bench demo deps fmt vet

build:
	$(GO) build -o $(BIN) .

# deps installs the Debian packages nongxun and its tests use, when missing.
deps:
	@./scripts/deps.sh

run: build
	@./scripts/deps.sh font || true
	./$(BIN)

demo: build
	./$(BIN) demo

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-race:
	$(GO) test -race -count=1 -timeout 30m ./...

bench: build
	$(GO) run ./bench

fmt:
	gofmt -l -w .
