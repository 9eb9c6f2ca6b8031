// Command compat-go runs the client-visible scenarios with franz-go, IBM/sarama and
// segmentio/kafka-go against one bootstrap address: compat-go HOST:PORT [CLIENT...], CLIENT one of
// franz-go, sarama, kafka-go (default all). It prints one line per scenario and "N passed,
// N failed" per client, and exits non-zero if anything failed.
package main

import (
	"fmt"
	"os"
	"time"
)

type suite struct {
	name           string
	passed, failed int
}

func (s *suite) run(name string, f func() error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- f()
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		err = fmt.Errorf("timed out")
	}
	if err != nil {
		s.failed++
		fmt.Printf("FAIL %s: %s: %v\n", s.name, name, err)
		return
	}
	s.passed++
	fmt.Printf("PASS %s: %s\n", s.name, name)
}

func main() {
	bootstrap := "127.0.0.1:9092"
	if len(os.Args) > 1 {
		bootstrap = os.Args[1]
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	wanted := map[string]bool{}
	for _, c := range os.Args[min(2, len(os.Args)):] {
		wanted[c] = true
	}
	want := func(c string) bool { return len(wanted) == 0 || wanted[c] }
	var suites []*suite
	if want("franz-go") {
		fs := franzSuite(bootstrap, run)
		franzGroups(fs, bootstrap, run)
		suites = append(suites, fs)
	}
	if want("sarama") {
		ss := saramaSuite(bootstrap, run)
		saramaGroups(ss, bootstrap, run)
		suites = append(suites, ss)
	}
	if want("kafka-go") {
		suites = append(suites, kafkaGoSuite(bootstrap, run))
	}
	failed := 0
	for _, s := range suites {
		fmt.Printf("go(%s): %d passed, %d failed\n", s.name, s.passed, s.failed)
		failed += s.failed
	}
	if failed > 0 {
		os.Exit(1)
	}
}
