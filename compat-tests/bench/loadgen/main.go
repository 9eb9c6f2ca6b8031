// loadgen is the benchmark's non-JVM load generator (franz-go), so that not every figure is the
// cost of a JVM client. It prints one JSON object per run.
//
//	loadgen produce BOOTSTRAP TOPIC RECORDS SIZE PRODUCERS   peak throughput, acks=all, idempotent
//	loadgen e2e     BOOTSTRAP TOPIC MB_PER_S SECONDS SIZE    produce at a fixed rate and consume in
//	                                                         the same process; latency is send to
//	                                                         receipt by the consumer
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 7 {
		fmt.Fprintln(os.Stderr, "usage: loadgen produce|e2e BOOTSTRAP TOPIC ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	num := func(i int) int {
		n, err := strconv.Atoi(args[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "argument %d: %v\n", i, err)
			os.Exit(2)
		}
		return n
	}
	var out map[string]any
	var err error
	switch os.Args[1] {
	case "produce":
		out, err = produce(args[0], args[1], num(2), num(3), num(4))
	case "e2e":
		out, err = e2e(args[0], args[1], num(2), num(3), num(4))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func producerClient(bootstrap string, linger time.Duration) (*kgo.Client, error) {
	return kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(128<<10),
		kgo.MaxBufferedRecords(100_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
}

func percentiles(lat []time.Duration) map[string]any {
	if len(lat) == 0 {
		return map[string]any{}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return map[string]any{
		"p50_ms":  at(0.50),
		"p99_ms":  at(0.99),
		"p999_ms": at(0.999),
		"avg_ms":  float64((sum / time.Duration(len(lat))).Microseconds()) / 1000,
	}
}

// produce sends RECORDS records of SIZE bytes from PRODUCERS clients as fast as acknowledgements
// allow, and reports MB/s and the send-to-acknowledgement latency.
func produce(bootstrap, topic string, records, size, producers int) (map[string]any, error) {
	if producers < 1 {
		producers = 1
	}
	value := make([]byte, size)
	var wg sync.WaitGroup
	var failed atomic.Int64
	lats := make([][]time.Duration, producers)
	start := time.Now()
	for p := 0; p < producers; p++ {
		cl, err := producerClient(bootstrap, 5*time.Millisecond)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		wg.Add(1)
		go func(p int, cl *kgo.Client) {
			defer wg.Done()
			n := records / producers
			lat := make([]time.Duration, n)
			var done sync.WaitGroup
			done.Add(n)
			for i := 0; i < n; i++ {
				sent := time.Now()
				i := i
				cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.Add(1)
					}
					lat[i] = time.Since(sent)
					done.Done()
				})
			}
			done.Wait()
			lats[p] = lat
		}(p, cl)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	out := percentiles(all)
	out["records"] = len(all)
	out["failed"] = failed.Load()
	out["mb_s"] = float64(len(all)*size) / elapsed / (1 << 20)
	if failed.Load() > 0 {
		return out, fmt.Errorf("%d records failed", failed.Load())
	}
	return out, nil
}

// e2e produces at MB_PER_S for SECONDS and consumes the same topic from the end; each value
// carries its send time, so latency is from the producer's send call to the consumer's receipt.
func e2e(bootstrap, topic string, mbPerS, seconds, size int) (map[string]any, error) {
	if size < 8 {
		size = 8
	}
	cons, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	// Start consuming (and resolve the end offsets) before producing.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	cons.PollFetches(ctx)
	cancel()

	prod, err := producerClient(bootstrap, 0)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	rate := mbPerS * (1 << 20) / size
	total := rate * seconds
	var failed atomic.Int64
	var ackMu sync.Mutex
	acks := make([]time.Duration, 0, total)
	go func() {
		// Send in 1 ms slots so the rate is smooth, not in bursts of one second.
		start := time.Now()
		for i := 0; i < total; i++ {
			due := start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			v := make([]byte, size)
			sent := time.Now()
			binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
			prod.Produce(context.Background(), &kgo.Record{Topic: topic, Value: v}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
					return
				}
				took := time.Since(sent)
				ackMu.Lock()
				acks = append(acks, took)
				ackMu.Unlock()
			})
		}
	}()
	lat := make([]time.Duration, 0, total)
	deadline := time.Now().Add(time.Duration(seconds+30) * time.Second)
	for len(lat) < total && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		fs := cons.PollFetches(ctx)
		cancel()
		now := time.Now().UnixNano()
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) >= 8 {
				sent := int64(binary.BigEndian.Uint64(r.Value))
				lat = append(lat, time.Duration(now-sent))
			}
		})
	}
	out := percentiles(lat)
	// The producer's send-to-acknowledgement latency, to tell the produce leg from the fetch leg.
	ackMu.Lock()
	for k, v := range percentiles(acks) {
		out["ack_"+k] = v
	}
	ackMu.Unlock()
	out["records"] = len(lat)
	out["expected"] = total
	out["failed"] = failed.Load()
	if len(lat) < total {
		return out, fmt.Errorf("received %d of %d records", len(lat), total)
	}
	return out, nil
}
