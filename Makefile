# Strata: build, run and test. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
CARGO ?= cargo
VENV := .compat/venv
STAMPS := .compat/stamps

.PHONY: run build test test-rust compat compat-deps compat-kafka compat-suites differential bench clean

## Build, then start one broker on 127.0.0.1:9092 with data in ./data.
run: build
	./target/release/strata --listen 127.0.0.1:9092 --data-dir ./data

build:
	$(CARGO) build --release --locked

## Everything: Rust unit, property and integration tests, then every client suite against a
## release build (installing the clients first).
test: test-rust compat differential

test-rust:
	$(CARGO) test --locked

## The real-client suites (Python, Java, Go, Node) against a fresh broker built from this tree.
compat: build compat-deps
	compat-tests/run.sh

## The clients' own test suites in full (franz-go's pkg/kgo, librdkafka's tests/): slow; `make
## compat` runs their allow-lists.
compat-suites: build compat-deps
	compat-tests/run.sh kgo-all rdk-all

## Installs what the client suites need; each step is skipped when already done.
compat-deps: $(STAMPS)/python $(STAMPS)/java $(STAMPS)/go $(STAMPS)/node $(STAMPS)/kafka $(STAMPS)/kcat

$(STAMPS)/python: compat-tests/python/requirements.txt
	@mkdir -p $(STAMPS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r compat-tests/python/requirements.txt
	@touch $@

$(STAMPS)/java: compat-tests/java/pom.xml $(wildcard compat-tests/java/src/main/java/io/strata/compat/*.java)
	@mkdir -p $(STAMPS)
	cd compat-tests/java && mvn -q -B package dependency:copy-dependencies -DoutputDirectory=target/lib
	cd compat-tests/java && mvn -q -B dependency:copy-dependencies -Dkafka.clients.version=3.9.1 -DoutputDirectory=target/lib3
	@touch $@

$(STAMPS)/kcat:
	@mkdir -p $(STAMPS)
	command -v kcat >/dev/null || { apt-get update -q && apt-get install -y -q kcat; }
	@touch $@

## Apache Kafka's jars: its command-line tools run against Strata, and it is the reference broker.
$(STAMPS)/kafka: compat-tests/kafka-ref/pom.xml
	@mkdir -p $(STAMPS)
	compat-tests/kafka-ref/fetch.sh
	@touch $@

$(STAMPS)/go: $(wildcard compat-tests/go/*.go) compat-tests/go/go.mod compat-tests/go/go.sum
	@mkdir -p $(STAMPS)
	cd compat-tests/go && go build -o compat-go .
	@touch $@

$(STAMPS)/node: compat-tests/node/package.json compat-tests/node/package-lock.json
	@mkdir -p $(STAMPS)
	cd compat-tests/node && npm ci --silent --no-audit --no-fund
	@touch $@

## The same request sequences against Apache Kafka and Strata, compared (tests/differential.rs).
differential: build $(STAMPS)/kafka
	compat-tests/differential.sh

## Apache Kafka and Strata side by side with the same load tools; writes docs/benchmarks.md.
bench: build $(STAMPS)/kafka $(STAMPS)/python $(STAMPS)/loadgen
	$(VENV)/bin/python compat-tests/bench/bench.py

## The benchmark's non-JVM load generator (franz-go).
$(STAMPS)/loadgen: compat-tests/bench/loadgen/main.go compat-tests/bench/loadgen/go.mod compat-tests/bench/loadgen/go.sum
	@mkdir -p $(STAMPS)
	cd compat-tests/bench/loadgen && go build -o loadgen .
	@touch $@

## The same client suites against an Apache Kafka already running at KAFKA_BOOTSTRAP, to check
## the scenarios themselves.
compat-kafka: compat-deps
	@test -n "$(KAFKA_BOOTSTRAP)" || { echo "set KAFKA_BOOTSTRAP=host:port"; exit 2; }
	KAFKA_BOOTSTRAP=$(KAFKA_BOOTSTRAP) compat-tests/run.sh

clean:
	$(CARGO) clean
	rm -rf .compat compat-tests/java/target compat-tests/go/compat-go compat-tests/node/node_modules
