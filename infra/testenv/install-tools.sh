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
	local req="${REPO}/infra/testenv/requirements.txt"
	local version
	version="$(sha256sum "${req}" | cut -c1-16)"
	if [[ -x "${TOOLS_DIR}/venv/bin/python" && -f "${STAMP_DIR}/venv-${version}" ]]; then
		log "venv ${version} already installed"
		return
	fi
	log "creating ${TOOLS_DIR}/venv from requirements.txt"
	rm -rf "${TOOLS_DIR}/venv"
	python3 -m venv "${TOOLS_DIR}/venv"
	"${TOOLS_DIR}/venv/bin/pip" install --quiet --disable-pip-version-check -r "${req}"
	rm -f "${STAMP_DIR}/venv-"*
	touch "${STAMP_DIR}/venv-${version}"
}

TOOLS=(minio venv)

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
