#!/bin/sh
# Install what zk needs to build and test on Debian 12, if missing:
# `t/deps.sh build` only what the build needs (make run), `t/deps.sh` or
# `t/deps.sh all` that and what the tests need (make deps, make check).
# Quick when everything is there: one dpkg-query, no apt-get update.
set -eu

# what the build needs (make, make run): a compiler and the libraries
build="build-essential pkg-config libbsd-dev libmd-dev libzstd-dev
libedit-dev"
# what the tests need besides (make check)
test="bats bats-support bats-assert socat mandoc clang libclang-rt-14-dev
python3-kazoo python3-pytest python3-pytest-timeout python3-mock
python3-objgraph python3-gevent python3-eventlet python3-pure-sasl
zookeeper zookeeper-bin libzookeeper-mt-dev default-jre-headless valgrind
python3-prometheus-client libcurator-recipes-java default-jdk-headless
iproute2"

case ${1:-all} in
build) pkgs=$build ;;
all) pkgs="$build $test" ;;
*) echo "usage: t/deps.sh [build | all]" >&2; exit 64 ;;
esac

missing=
for p in $pkgs; do
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $s in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "deps: not root and no sudo; install as root:$missing" >&2
	exit 77
fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -q
# shellcheck disable=SC2086
$as_root apt-get install -y -q --no-install-recommends $missing
