package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func franzSuite(bootstrap, run string) *suite {
	s := &suite{name: "franz-go"}
	ctx := context.Background()
	topic := func(n string) string { return "franz-" + n + "-" + run }
	admin := func() (*kadm.Client, *kgo.Client, error) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
		if err != nil {
			return nil, nil, err
		}
		return kadm.NewClient(cl), cl, nil
	}

	s.run("create, describe, create again", func() error {
		adm, cl, err := admin()
		if err != nil {
			return err
		}
		defer cl.Close()
		t := topic("create")
		if _, err := adm.CreateTopic(ctx, 3, 1, nil, t); err != nil {
			return err
		}
		md, err := adm.Metadata(ctx, t)
		if err != nil {
			return err
		}
		if n := len(md.Topics[t].Partitions); n != 3 {
			return fmt.Errorf("partitions %d", n)
		}
		r, err := adm.CreateTopic(ctx, 3, 1, nil, t)
		if err == nil {
			err = r.Err
		}
		if err != kerr.TopicAlreadyExists {
			return fmt.Errorf("second create: %v", err)
		}
		r, err = adm.CreateTopic(ctx, 1, 1, nil, "bad name!")
		if err == nil {
			err = r.Err
		}
		if err != kerr.InvalidTopicException {
			return fmt.Errorf("invalid name: %v", err)
		}
		return nil
	})

	for _, codec := range []struct {
		name string
		c    kgo.CompressionCodec
	}{{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}} {
		codec := codec
		s.run("idempotent produce + consume back, "+codec.name, func() error {
			adm, acl, err := admin()
			if err != nil {
				return err
			}
			defer acl.Close()
			t := topic("pc-" + codec.name)
			if _, err := adm.CreateTopic(ctx, 3, 1, nil, t); err != nil {
				return err
			}
			p, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ProducerBatchCompression(codec.c), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				return err
			}
			rng := rand.New(rand.NewSource(42))
			var sent []*kgo.Record
			for i := 0; i < 1000; i++ {
				v := make([]byte, rng.Intn(300))
				rng.Read(v)
				if i%10 == 0 {
					v = nil
				}
				sent = append(sent, &kgo.Record{Topic: t, Partition: int32(i % 3), Key: []byte(fmt.Sprintf("k%d", i)), Value: v, Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}}})
			}
			if err := p.ProduceSync(ctx, sent...).FirstErr(); err != nil {
				p.Close()
				return err
			}
			p.Close()
			c, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(t), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				return err
			}
			defer c.Close()
			got := map[string]*kgo.Record{}
			deadline := time.Now().Add(30 * time.Second)
			for len(got) < len(sent) && time.Now().Before(deadline) {
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				fs := c.PollFetches(pctx)
				cancel()
				fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r })
			}
			for _, r := range sent {
				g := got[string(r.Key)]
				if g == nil {
					return fmt.Errorf("record %s missing (got %d)", r.Key, len(got))
				}
				if !bytes.Equal(g.Value, r.Value) || g.Partition != r.Partition || g.Offset != r.Offset || !bytes.Equal(g.Headers[0].Value, r.Headers[0].Value) {
					return fmt.Errorf("record %s differs", r.Key)
				}
			}
			return nil
		})
	}

	s.run("list offsets, configs, partitions, delete records, delete topic", func() error {
		adm, cl, err := admin()
		if err != nil {
			return err
		}
		defer cl.Close()
		t := topic("ops")
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, t); err != nil {
			return err
		}
		var recs []*kgo.Record
		for i := 0; i < 10; i++ {
			recs = append(recs, &kgo.Record{Topic: t, Value: []byte("v"), Timestamp: time.UnixMilli(int64(1_000_000 + i))})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return err
		}
		end, err := adm.ListEndOffsets(ctx, t)
		if err != nil {
			return err
		}
		if o, _ := end.Lookup(t, 0); o.Offset != 10 {
			return fmt.Errorf("end offset %d", o.Offset)
		}
		byTime, err := adm.ListOffsetsAfterMilli(ctx, 1_000_004, t)
		if err != nil {
			return err
		}
		if o, _ := byTime.Lookup(t, 0); o.Offset != 4 {
			return fmt.Errorf("offset after milli %d", o.Offset)
		}
		if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("3600000")}}, t); err != nil {
			return err
		}
		rc, err := adm.DescribeTopicConfigs(ctx, t)
		if err != nil {
			return err
		}
		c, err := rc.On(t, nil)
		if err != nil {
			return err
		}
		found := false
		for _, cfg := range c.Configs {
			if cfg.Key == "retention.ms" && cfg.MaybeValue() == "3600000" {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("retention.ms not described")
		}
		if _, err := adm.CreatePartitions(ctx, 2, t); err != nil {
			return err
		}
		del, err := adm.DeleteRecords(ctx, kadm.Offsets{t: {0: kadm.Offset{Topic: t, Partition: 0, At: 5}}})
		if err != nil {
			return err
		}
		if d, _ := del.Lookup(t, 0); d.Err != nil || d.LowWatermark != 5 {
			return fmt.Errorf("delete records: %+v", d)
		}
		start, err := adm.ListStartOffsets(ctx, t)
		if err != nil {
			return err
		}
		if o, _ := start.Lookup(t, 0); o.Offset != 5 {
			return fmt.Errorf("start offset %d", o.Offset)
		}
		if _, err := adm.DeleteTopics(ctx, t); err != nil {
			return err
		}
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		if topics.Has(t) {
			return fmt.Errorf("topic still listed after delete")
		}
		return nil
	})
	return s
}
