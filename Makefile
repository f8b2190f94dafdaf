# bpfstor — see README.md. Main targets:
#   make reproduce   install what is missing, build, run the default suite, report
#   make test        install what is missing, lint, unit + end-to-end tests (boots VMs)
GO      ?= go
BIN     := bin/bpfstor

# Debian packages bpfstor needs (harness/host.Packages says the same for doctor).
PKGS    := qemu-system-x86 linux-source-6.12 build-essential bc flex bison libelf-dev \
           libssl-dev cpio kmod clang llvm libbpf-dev fio git procps libxml2-utils
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all deps build generate lint unit test reproduce doctor clean

all: build

# Installs only what is missing; runs apt-get update first when it installs.
deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
		{ echo "deps: apt-get install failed (run as root on Debian 12)"; exit 1; }; \
	else echo "deps: all Debian packages present"; fi
	@command -v $(GO) >/dev/null || { echo "deps: go not found: install Go >= 1.26 (https://go.dev/dl)"; exit 1; }
	$(GO) mod download

build:
	$(GO) build -buildvcs=false -o $(BIN) ./harness/cmd/bpfstor

# The BPF programs (bpf/progs/*.c) compiled by bpf2go (go tool, pinned in
# go.mod) into bpf/objs: the objects and their Go loaders and types are
# committed, so building bpfstor needs no clang; run this after changing a
# program or a header in bpf/include.
generate:
	$(GO) generate ./bpf/objs

# lint also regenerates bpf/objs and fails if that changed anything (the
# committed objects are stale; the regenerated ones are left to commit).
# clang's output differs between versions: the committed objects are from
# Debian 12's clang 14, which make deps installs.
lint:
	$(GO) generate ./bpf/objs
	@git diff --quiet -- bpf/objs && [ -z "$$(git ls-files --others --exclude-standard -- bpf/objs)" ] || \
		{ echo "bpf/objs is not what go generate makes from bpf/progs and bpf/include ($$(clang --version | head -1)): commit the regenerated files"; git status --short -- bpf/objs; exit 1; }
	@bad=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$bad" ] || { echo "not gofmt-formatted: $$bad"; exit 1; }
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy (go mod tidy -diff shows what changes)"; exit 1; }

unit:
	$(GO) test ./...

# Unit tests, then the end-to-end tests: build the (cached) kernel, boot
# QEMU/TCG guests, run workloads, check results.
test: deps build lint
	BPFSTOR_E2E=1 $(GO) test -count=1 -timeout 80m ./...

doctor: build
	$(BIN) doctor

reproduce: deps build
	$(BIN) doctor --no-probe
	$(BIN) run --suite default

clean:
	rm -rf bin
