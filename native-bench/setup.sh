#!/bin/sh
# Installs the Debian packages native-bench needs when they are missing (run as root):
# the Go reference registry 2.8 (docker-registry), wrk, and nginx.
set -e
missing=""
[ -x /usr/bin/docker-registry ] || missing="$missing docker-registry"
[ -x /usr/bin/wrk ] || missing="$missing wrk"
[ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
if [ -n "$missing" ]; then
  echo "native-bench: installing$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
