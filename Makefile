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

# lint: gofmt, go vet, then the deployment files: cfn-lint, `sam validate
# --lint` and a real `sam build` (no Docker; the SAM CLI and cfn-lint are
# pinned in .tools/samvenv). Each step is timed; any error fails.
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 SAM_CLI_CONTACT_TELEMETRY=0
SAMVENV := .tools/samvenv/bin

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	.tools/venv/bin/python infra/scripts/check-config.py template.yaml samconfig.toml
	time $(SAM_ENV) $(SAMVENV)/cfn-lint template.yaml
	time $(SAM_ENV) $(SAMVENV)/sam validate --lint
	time $(SAM_ENV) PATH="$(CURDIR)/$(SAMVENV):$$PATH" $(SAMVENV)/sam build

unit:
	go test -race -count=1 -timeout 20m ./...

## bench: the benchmarks of the issue notes (list, create, verify) and of the
## Lambda functions (bootstrap size, init time, warm invoke), figures to stdout
bench: tools
	go test -run '^$$' -bench . -benchmem -benchtime 2s -count 1 ./... | tee bench.out

clean:
	rm -rf $(BIN) bench.out .aws-sam

# Lambda bootstraps. `sam build` (template.yaml: BuildMethod makefile,
# CodeUri .) runs build-<LogicalId> with ARTIFACTS_DIR set; the binary must
# be called bootstrap (runtime provided.al2023, arm64). infra/lambdatest
# builds the same way for its tests (LAMBDA_GOFLAGS = lambdatest.BuildFlags).
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
LAMBDA_BUILD = $(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it))GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(LAMBDA_GOFLAGS) -o $(ARTIFACTS_DIR)/bootstrap
LAMBDA_TARGETS := build-ListStorageConfigsFunction build-CreateStorageConfigFunction \
	build-GetStorageConfigFunction build-PatchStorageConfigFunction \
	build-ListConfigVerificationsFunction build-TestStorageConfigFunction \
	build-DeleteStorageConfigFunction build-GetSetupInfoFunction build-GetOpenapiFunction \
	build-VerifyBucketFunction build-VerifyExistingBucketFunction build-VerifyWorkerFunction \
	build-ReverifySchedulerFunction build-CreateConnectSessionFunction build-ConnectPageFunction
.PHONY: $(LAMBDA_TARGETS)

build-ListStorageConfigsFunction:
	$(LAMBDA_BUILD) ./functions/list-storage-configs
build-CreateStorageConfigFunction:
	$(LAMBDA_BUILD) ./functions/create-storage-config
build-GetStorageConfigFunction:
	$(LAMBDA_BUILD) ./functions/get-storage-config
build-PatchStorageConfigFunction:
	$(LAMBDA_BUILD) ./functions/patch-storage-config
build-ListConfigVerificationsFunction:
	$(LAMBDA_BUILD) ./functions/list-config-verifications
build-TestStorageConfigFunction:
	$(LAMBDA_BUILD) ./functions/test-storage-config
build-DeleteStorageConfigFunction:
	$(LAMBDA_BUILD) ./functions/delete-storage-config
build-GetSetupInfoFunction:
	$(LAMBDA_BUILD) ./functions/get-setup-info
build-GetOpenapiFunction:
	$(LAMBDA_BUILD) ./functions/get-openapi
build-VerifyBucketFunction:
	$(LAMBDA_BUILD) ./functions/verify-bucket
build-VerifyExistingBucketFunction:
	$(LAMBDA_BUILD) ./functions/verify-existing-bucket
build-VerifyWorkerFunction:
	$(LAMBDA_BUILD) ./functions/verify-worker
build-ReverifySchedulerFunction:
	$(LAMBDA_BUILD) ./functions/reverify-scheduler
build-CreateConnectSessionFunction:
	$(LAMBDA_BUILD) ./functions/create-connect-session
build-ConnectPageFunction:
	$(LAMBDA_BUILD) ./functions/connect-page
