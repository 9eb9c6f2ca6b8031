package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// franzGroups: two group members per balancer share a topic; every record is seen and the
// committed offsets end at the end of every partition.
func franzGroups(s *suite, bootstrap, run string) {
	ctx := context.Background()
	for _, b := range []struct {
		name string
		bal  kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"roundrobin", kgo.RoundRobinBalancer()}, {"sticky", kgo.StickyBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		b := b
		s.run("group of two members, "+b.name+" balancer", func() error {
			t := "franz-grp-" + b.name + "-" + run
			g := "franz-g-" + b.name + "-" + run
			acl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
			if err != nil {
				return err
			}
			defer acl.Close()
			adm := kadm.NewClient(acl)
			if _, err := adm.CreateTopic(ctx, 4, 1, nil, t); err != nil {
				return err
			}
			const total = 400
			p, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(t))
			if err != nil {
				return err
			}
			for i := 0; i < total; i++ {
				p.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
			}
			if err := p.Flush(ctx); err != nil {
				return err
			}
			p.Close()

			var mu sync.Mutex
			seen := map[string]bool{}
			owned := map[int]int{}
			member := func(id int) (*kgo.Client, error) {
				return kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumerGroup(g), kgo.ConsumeTopics(t),
					kgo.Balancers(b.bal), kgo.DisableAutoCommit(), kgo.SessionTimeout(10*time.Second),
					kgo.HeartbeatInterval(500*time.Millisecond),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
						mu.Lock()
						owned[id] += len(a[t])
						mu.Unlock()
					}),
					kgo.OnPartitionsRevoked(func(ctx context.Context, c *kgo.Client, r map[string][]int32) {
						mu.Lock()
						owned[id] -= len(r[t])
						mu.Unlock()
						_ = c.CommitUncommittedOffsets(ctx)
					}))
			}
			c1, err := member(1)
			if err != nil {
				return err
			}
			c2, err := member(2)
			if err != nil {
				c1.Close()
				return err
			}
			deadline := time.Now().Add(60 * time.Second)
			poll := func(c *kgo.Client) {
				pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				fs := c.PollFetches(pctx)
				cancel()
				fs.EachRecord(func(r *kgo.Record) {
					mu.Lock()
					seen[string(r.Value)] = true
					mu.Unlock()
				})
				_ = c.CommitUncommittedOffsets(ctx)
			}
			for time.Now().Before(deadline) {
				poll(c1)
				poll(c2)
				mu.Lock()
				done := len(seen) == total && owned[1] > 0 && owned[2] > 0 && owned[1]+owned[2] == 4
				mu.Unlock()
				if done {
					break
				}
			}
			// Read before closing: closing revokes everything a member owns.
			mu.Lock()
			n, o1, o2 := len(seen), owned[1], owned[2]
			mu.Unlock()
			c1.Close()
			c2.Close()
			if n != total {
				return fmt.Errorf("saw %d of %d records", n, total)
			}
			if o1 <= 0 || o2 <= 0 {
				return fmt.Errorf("partitions not shared: %d / %d", o1, o2)
			}
			offs, err := adm.FetchOffsets(ctx, g)
			if err != nil {
				return err
			}
			var sum int64
			offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
			if sum != total {
				return fmt.Errorf("committed offsets sum to %d, want %d", sum, total)
			}
			return nil
		})
	}
}

type saramaHandler struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)] = true
		h.mu.Unlock()
		sess.MarkMessage(m, "sarama-meta")
	}
	return nil
}

func saramaGroups(s *suite, bootstrap, run string) {
	s.run("consumer group: consume, mark, commit", func() error {
		t := "sarama-grp-" + run
		g := "sarama-g-" + run
		cfg := saramaConfig()
		cfg.Producer.Partitioner = sarama.NewRoundRobinPartitioner
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
		adm, err := sarama.NewClusterAdmin([]string{bootstrap}, cfg)
		if err != nil {
			return err
		}
		defer adm.Close()
		if err := adm.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
			return err
		}
		prod, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
		if err != nil {
			return err
		}
		const total = 100
		for i := 0; i < total; i++ {
			if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: t, Value: sarama.StringEncoder(strconv.Itoa(i))}); err != nil {
				prod.Close()
				return err
			}
		}
		prod.Close()
		group, err := sarama.NewConsumerGroup([]string{bootstrap}, g, cfg)
		if err != nil {
			return err
		}
		h := &saramaHandler{seen: map[string]bool{}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if err := group.Consume(ctx, []string{t}, h); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			h.mu.Lock()
			n := len(h.seen)
			h.mu.Unlock()
			if n == total {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			group.Close()
			return err
		}
		if err := group.Close(); err != nil {
			return err
		}
		if len(h.seen) != total {
			return fmt.Errorf("consumed %d of %d", len(h.seen), total)
		}
		offs, err := adm.ListConsumerGroupOffsets(g, map[string][]int32{t: {0, 1}})
		if err != nil {
			return err
		}
		var sum int64
		for _, b := range offs.Blocks[t] {
			sum += b.Offset
			if b.Metadata != "sarama-meta" {
				return fmt.Errorf("metadata %q", b.Metadata)
			}
		}
		if sum != total {
			return fmt.Errorf("committed offsets sum to %d, want %d", sum, total)
		}
		return nil
	})
}
