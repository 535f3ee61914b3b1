#!/usr/bin/env bash
# Installs the AuthzForce CE RESTful PDP server (executable jar, Maven Central) into .tools/authzforce (idempotent).
set -euo pipefail
AUTHZFORCE_VERSION="${AUTHZFORCE_VERSION:-7.1.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/authzforce"
jar="$dir/authzforce-ce-restful-pdp-cxf-spring-boot-server-${AUTHZFORCE_VERSION}.jar"
[ -s "$jar" ] && exit 0
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "install-authzforce: Java 17+ and Maven are required (apt-get install openjdk-17-jre-headless maven)" >&2
    exit 1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
fi
mkdir -p "$dir"
echo "install-authzforce: org.ow2.authzforce:authzforce-ce-restful-pdp-cxf-spring-boot-server:${AUTHZFORCE_VERSION} from Maven Central" >&2
mvn -q -B dependency:copy \
  -Dartifact="org.ow2.authzforce:authzforce-ce-restful-pdp-cxf-spring-boot-server:${AUTHZFORCE_VERSION}:jar" \
  -DoutputDirectory="$dir.partial" -Dmdep.overWriteReleases=true
mv "$dir.partial/$(basename "$jar")" "$jar"
rmdir "$dir.partial" 2>/dev/null || true
echo "$jar"
