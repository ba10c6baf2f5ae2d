#!/bin/sh
# Install every Debian package Weir's build, tools and tests need.
# A fast no-op when everything is already installed.
set -e
PKGS="gcc make pkg-config clang libclang-rt-14-dev
libzookeeper-mt-dev libevent-dev libsnappy-dev liblz4-dev libzstd-dev zlib1g-dev
libjansson-dev libcmocka-dev librdkafka-dev
zookeeper default-jre-headless kcat iproute2 procps
python3 python3-pytest python3-confluent-kafka python3-kafka
python3-snappy python3-lz4 python3-zstandard python3-kazoo"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "make deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
