#!/usr/bin/env bash
# Fetches Apache Kafka (broker, tools and their dependencies) from Maven Central into
# .compat/kafka/libs. Skipped when already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.compat/kafka/libs
if [ -f "$dest/.complete" ]; then exit 0; fi
mkdir -p "$dest"
mvn -q -B -f compat-tests/kafka-ref/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$dest"
touch "$dest/.complete"
