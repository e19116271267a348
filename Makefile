# bucketlink: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
export GOFLAGS := -buildvcs=false

PORT ?= 8080
BUCKETLINK_DATA ?= .data
BIN := bin

.PHONY: run build tools test lint unit bench clean

## run: start the service on 127.0.0.1:$(PORT) with data under $(BUCKETLINK_DATA)
run: build
	PORT=$(PORT) BUCKETLINK_DATA=$(BUCKETLINK_DATA) $(BIN)/bucketlink serve

build:
	go build -o $(BIN)/bucketlink ./infra/bucketlink

## tools: install the pinned test tools into .tools/ (skipped when present)
tools:
	bash infra/testenv/install-tools.sh

## test: install what the tests need, lint, then run every test with -race
test: tools lint unit

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	.tools/venv/bin/python infra/scripts/check-config.py template.yaml samconfig.toml

unit:
	go test -race -count=1 -timeout 20m ./...

## bench: the benchmarks of the issue notes (list, create, verify), figures to stdout
bench: tools
	go test -run '^$$' -bench . -benchmem -benchtime 2s -count 1 ./... | tee bench.out

clean:
	rm -rf $(BIN) bench.out
