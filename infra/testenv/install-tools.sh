#!/usr/bin/env bash
# install-tools.sh installs the pinned tools that tests need into
# $REPO/.tools/bin. It is idempotent: a tool is skipped when its stamp file
# (.tools/stamps/<tool>-<version>) and its binary both exist.
#
# To add a tool: write an install_<tool> function that calls `installed` /
# `stamp`, and add it to the TOOLS list at the bottom.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="${REPO}/.tools"
BIN_DIR="${TOOLS_DIR}/bin"
STAMP_DIR="${TOOLS_DIR}/stamps"

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
DYNAMODB_LOCAL_VERSION="2.6.1"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { printf 'install-tools: %s\n' "$*" >&2; }

# installed NAME VERSION: true when the binary and its stamp exist.
installed() {
	[[ -x "${BIN_DIR}/$1" && -f "${STAMP_DIR}/$1-$2" ]]
}

# stamp NAME VERSION: records that NAME is at VERSION, removing older stamps.
stamp() {
	rm -f "${STAMP_DIR}/$1-"*
	touch "${STAMP_DIR}/$1-$2"
}

install_minio() {
	if installed minio "${MINIO_VERSION}"; then
		log "minio ${MINIO_VERSION} already installed"
		return
	fi
	log "building minio ${MINIO_VERSION} from source (this takes a few minutes)"
	# `go install pkg@version` ignores the repo's go.mod, which stays untouched.
	GOBIN="${BIN_DIR}" CGO_ENABLED=0 go install "github.com/minio/minio@${MINIO_VERSION}"
	stamp minio "${MINIO_VERSION}"
	log "minio installed at ${BIN_DIR}/minio"
}

# install_venv: the Python virtualenv at .tools/venv with the pinned
# packages of requirements.txt (moto's server, PyYAML). The stamp is the
# file's hash, so editing the pins reinstalls.
install_venv() {
	install_pyvenv venv infra/testenv/requirements.txt python
}

# install_pyvenv NAME REQUIREMENTS BIN: the Python virtualenv .tools/NAME
# with the pinned packages of REQUIREMENTS (a path in the repo), skipped
# when its stamp (the file's hash, so editing the pins reinstalls) and
# .tools/NAME/bin/BIN exist.
install_pyvenv() {
	local name="$1" req="${REPO}/$2" bin="$3"
	local version
	version="$(sha256sum "${req}" | cut -c1-16)"
	if [[ -x "${TOOLS_DIR}/${name}/bin/${bin}" && -f "${STAMP_DIR}/${name}-${version}" ]]; then
		log "${name} ${version} already installed"
		return
	fi
	log "creating ${TOOLS_DIR}/${name} from $2"
	rm -rf "${TOOLS_DIR:?}/${name}"
	python3 -m venv "${TOOLS_DIR}/${name}"
	"${TOOLS_DIR}/${name}/bin/pip" install --quiet --disable-pip-version-check -r "${req}"
	rm -f "${STAMP_DIR}/${name}-"*
	touch "${STAMP_DIR}/${name}-${version}"
}

# install_clientvenv: the Python virtualenv at .tools/clientvenv with the
# pinned official clients of both APIs (avala, edgeimpulse-api) and pytest,
# from infra/contract/requirements.txt, for the client-contract tests
# (infra/contract). Kept apart from .tools/venv so that the clients' pins
# never meet moto's. The stamp is the file's hash, so editing the pins
# reinstalls.
install_clientvenv() {
	install_pyvenv clientvenv infra/contract/requirements.txt python
}

# install_dynamodb: DynamoDB Local (com.amazonaws:DynamoDBLocal, from Maven
# Central) with every runtime dependency, including sqlite4java's native
# libraries (Maven artifacts of type so/dll/dylib), as jars and libraries in
# .tools/dynamodb-local/lib, plus a launcher .tools/bin/dynamodb-local that
# runs it with -Djava.library.path pointing there. Maven's local repository
# is .tools/m2, so a fresh machine needs only Java 17, mvn and Maven Central.
install_dynamodb() {
	local v="${DYNAMODB_LOCAL_VERSION}"
	local dir="${TOOLS_DIR}/dynamodb-local"
	if installed dynamodb-local "${v}" && [[ -d "${dir}/lib" ]]; then
		log "dynamodb-local ${v} already installed"
		return
	fi
	command -v java >/dev/null || { log "dynamodb: java (17 or newer) not found"; exit 1; }
	command -v mvn >/dev/null || { log "dynamodb: mvn not found"; exit 1; }
	log "fetching DynamoDB Local ${v} and its dependencies from Maven Central"
	rm -rf "${dir}"
	mkdir -p "${dir}"
	# A throwaway project whose only dependency is DynamoDB Local, so that
	# copy-dependencies resolves the whole runtime closure.
	cat >"${dir}/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bucketlink.tools</groupId>
  <artifactId>dynamodb-local</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.amazonaws</groupId>
      <artifactId>DynamoDBLocal</artifactId>
      <version>${v}</version>
    </dependency>
  </dependencies>
</project>
POM
	if ! mvn -q -B -Dstyle.color=never -f "${dir}/pom.xml" -Dmaven.repo.local="${TOOLS_DIR}/m2" \
		"${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies" \
		-DincludeScope=runtime -DoutputDirectory="${dir}/lib" >"${dir}/mvn.log" 2>&1; then
		cat "${dir}/mvn.log" >&2
		log "dynamodb: mvn failed (log above)"
		exit 1
	fi
	local so="${dir}/lib/libsqlite4java-linux-amd64-1.0.392.so"
	[[ -f "${so}" ]] || { log "dynamodb: ${so} missing after fetch"; exit 1; }
	cat >"${BIN_DIR}/dynamodb-local" <<'SH'
#!/bin/sh
# Runs DynamoDB Local from .tools/dynamodb-local (see install-tools.sh).
# Arguments go to its ServerRunner, e.g. -inMemory -port 8000.
set -e
lib="$(cd "$(dirname "$0")/../dynamodb-local/lib" && pwd)"
exec java -Djava.library.path="${lib}" -cp "${lib}/*" \
	com.amazonaws.services.dynamodbv2.local.main.ServerRunner "$@"
SH
	chmod +x "${BIN_DIR}/dynamodb-local"
	stamp dynamodb-local "${v}"
	log "dynamodb-local ${v} installed at ${BIN_DIR}/dynamodb-local"
}

# install_fake_gcs: fake-gcs-server, an in-process emulator of the Google
# Cloud Storage JSON and XML APIs, built with `go install` (the repo's
# go.mod stays untouched).
FAKE_GCS_VERSION="v1.56.1"
install_fake_gcs() {
	if installed fake-gcs-server "${FAKE_GCS_VERSION}"; then
		log "fake-gcs-server ${FAKE_GCS_VERSION} already installed"
		return
	fi
	log "building fake-gcs-server ${FAKE_GCS_VERSION}"
	GOBIN="${BIN_DIR}" CGO_ENABLED=0 go install "github.com/fsouza/fake-gcs-server@${FAKE_GCS_VERSION}"
	stamp fake-gcs-server "${FAKE_GCS_VERSION}"
	log "fake-gcs-server installed at ${BIN_DIR}/fake-gcs-server"
}

# install_samvenv: the Python virtualenv at .tools/samvenv with the pinned
# AWS SAM CLI and cfn-lint of requirements-sam.txt, for `make lint`. Kept
# apart from .tools/venv because aws-sam-cli's pins conflict with moto's.
# The stamp is the file's hash, so editing the pins reinstalls.
install_samvenv() {
	install_pyvenv samvenv infra/testenv/requirements-sam.txt sam
}

# install_stvenv: the Python virtualenv at .tools/stvenv with schemathesis
# (PyPI, pinned in infra/testenv/requirements-schemathesis.txt), the OpenAPI
# fuzzer TestSchemathesis (infra/bucketlink) runs against `bucketlink serve`
# from shared/openapi's document. The stamp is the file's hash, so editing
# the pins reinstalls.
install_stvenv() {
	install_pyvenv stvenv infra/testenv/requirements-schemathesis.txt st
}

# install_azurite: Azurite, Microsoft's Azure Storage emulator (npm
# package, pinned), into .tools/azurite, plus a launcher
# .tools/bin/azurite-blob for its blob service. 3.37.0 declares engines
# node >=22 but installs (npm only warns) and runs on this machine's Node
# 20; it is the first release that checks user delegation SAS in the
# 2026-04-06+ format the Go SDK signs (3.35.0, the newest whose engines
# accept Node 20, refuses them). Tests run it with --skipApiVersionCheck so
# the Go SDK's newer API version is accepted.
AZURITE_VERSION="3.37.0"
install_azurite() {
	local dir="${TOOLS_DIR}/azurite"
	if installed azurite-blob "${AZURITE_VERSION}" && [[ -f "${dir}/node_modules/azurite/package.json" ]]; then
		log "azurite ${AZURITE_VERSION} already installed"
		return
	fi
	command -v node >/dev/null || { log "azurite: node not found"; exit 1; }
	command -v npm >/dev/null || { log "azurite: npm not found"; exit 1; }
	log "installing azurite ${AZURITE_VERSION} from npm"
	rm -rf "${dir}"
	mkdir -p "${dir}"
	npm install --prefix "${dir}" "azurite@${AZURITE_VERSION}" --no-audit --no-fund --loglevel=error
	[[ -f "${dir}/node_modules/azurite/dist/src/blob/main.js" ]] || { log "azurite: blob/main.js missing after install"; exit 1; }
	cat >"${BIN_DIR}/azurite-blob" <<'SH'
#!/bin/sh
# Runs Azurite's blob service from .tools/azurite (see install-tools.sh).
set -e
dir="$(cd "$(dirname "$0")/../azurite" && pwd)"
exec node "${dir}/node_modules/azurite/dist/src/blob/main.js" "$@"
SH
	chmod +x "${BIN_DIR}/azurite-blob"
	stamp azurite-blob "${AZURITE_VERSION}"
	log "azurite ${AZURITE_VERSION} installed at ${BIN_DIR}/azurite-blob"
}

# install_toxiproxy: Toxiproxy's server (github.com/Shopify/toxiproxy/v2,
# pinned), a TCP proxy that injects latency and faults through its HTTP
# API, for the verify benchmark. `go install` names the binary after its
# package directory (cmd/server -> "server"), so it is built into a
# temporary GOBIN and moved to .tools/bin/toxiproxy-server.
TOXIPROXY_VERSION="v2.12.0"
install_toxiproxy() {
	if installed toxiproxy-server "${TOXIPROXY_VERSION}"; then
		log "toxiproxy-server ${TOXIPROXY_VERSION} already installed"
		return
	fi
	log "building toxiproxy-server ${TOXIPROXY_VERSION}"
	local tmp
	tmp="$(mktemp -d)"
	GOBIN="${tmp}" CGO_ENABLED=0 go install "github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}"
	mv -f "${tmp}/server" "${BIN_DIR}/toxiproxy-server"
	rm -rf "${tmp}"
	stamp toxiproxy-server "${TOXIPROXY_VERSION}"
	log "toxiproxy-server installed at ${BIN_DIR}/toxiproxy-server"
}

# install_chromium: Debian's chromium and chromium-driver, pinned to the
# version apt offers, for the connect page's browser test
# (infra/browsertest). Unlike every other tool they install system-wide
# (apt-get, as root), not into .tools/: they depend on dozens of shared
# libraries (GTK, NSS, ...) that only the package manager resolves. Skipped
# when that version is installed. Nothing here downloads a browser build.
CHROMIUM_VERSION="156.0.8078.114-1~deb12u1"
install_chromium() {
	local have_browser have_driver
	have_browser="$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)"
	have_driver="$(dpkg-query -W -f='${Version}' chromium-driver 2>/dev/null || true)"
	if [[ "${have_browser}" == "${CHROMIUM_VERSION}" && "${have_driver}" == "${CHROMIUM_VERSION}" ]]; then
		log "chromium ${CHROMIUM_VERSION} already installed"
		return
	fi
	if [[ "$(id -u)" != 0 ]]; then
		log "chromium: not root, so not installing chromium=${CHROMIUM_VERSION} (run: sudo apt-get install chromium=${CHROMIUM_VERSION} chromium-driver=${CHROMIUM_VERSION}); the browser test reports it missing"
		return
	fi
	log "installing chromium ${CHROMIUM_VERSION} and chromium-driver with apt-get (system-wide)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"chromium=${CHROMIUM_VERSION}" "chromium-driver=${CHROMIUM_VERSION}" >/dev/null
	log "chromium installed at $(command -v chromium)"
}

# install_playwright: playwright-core (npm, pinned by
# infra/browsertest/package-lock.json) into .tools/playwright, the driver
# of the browser test. playwright-core ships no browser and the test points
# it at /usr/bin/chromium; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD makes sure no
# install step fetches one. The stamp is the lock file's hash.
install_playwright() {
	local dir="${TOOLS_DIR}/playwright" lock="${REPO}/infra/browsertest/package-lock.json"
	local version
	version="$(sha256sum "${lock}" | cut -c1-16)"
	if [[ -f "${STAMP_DIR}/playwright-${version}" && -f "${dir}/node_modules/playwright-core/package.json" ]]; then
		log "playwright ${version} already installed"
		return
	fi
	command -v npm >/dev/null || { log "playwright: npm not found"; exit 1; }
	log "installing playwright-core from infra/browsertest/package-lock.json"
	rm -rf "${dir}"
	mkdir -p "${dir}"
	cp "${REPO}/infra/browsertest/package.json" "${lock}" "${dir}/"
	# In the directory itself: `npm ci --prefix` resolves against the repo's root.
	(cd "${dir}" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	rm -f "${STAMP_DIR}/playwright-"*
	touch "${STAMP_DIR}/playwright-${version}"
}

TOOLS=(minio venv clientvenv dynamodb fake_gcs samvenv stvenv azurite toxiproxy chromium playwright)

main() {
	mkdir -p "${BIN_DIR}" "${STAMP_DIR}"
	local want=("$@")
	if [[ ${#want[@]} -eq 0 ]]; then
		want=("${TOOLS[@]}")
	fi
	local t
	for t in "${want[@]}"; do
		if ! declare -F "install_${t}" >/dev/null; then
			log "unknown tool: ${t} (known: ${TOOLS[*]})"
			exit 2
		fi
		"install_${t}"
	done
}

main "$@"
