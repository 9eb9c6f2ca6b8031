package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	// sarama pins request versions to the configured Kafka version instead of negotiating.
	c.Version = sarama.V3_9_0_0
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Consumer.Return.Errors = true
	return c
}

func saramaSuite(bootstrap, run string) *suite {
	s := &suite{name: "sarama"}
	topic := func(n string) string { return "sarama-" + n + "-" + run }

	s.run("create, describe, create again", func() error {
		adm, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
		if err != nil {
			return err
		}
		defer adm.Close()
		t := topic("create")
		if err := adm.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
			return err
		}
		md, err := adm.DescribeTopics([]string{t})
		if err != nil {
			return err
		}
		if len(md) != 1 || len(md[0].Partitions) != 3 {
			return fmt.Errorf("describe: %+v", md)
		}
		err = adm.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false)
		if te, ok := err.(*sarama.TopicError); !ok || te.Err != sarama.ErrTopicAlreadyExists {
			return fmt.Errorf("second create: %v", err)
		}
		return nil
	})

	for _, codec := range []struct {
		name string
		c    sarama.CompressionCodec
	}{{"none", sarama.CompressionNone}, {"gzip", sarama.CompressionGZIP}, {"snappy", sarama.CompressionSnappy}, {"lz4", sarama.CompressionLZ4}, {"zstd", sarama.CompressionZSTD}} {
		codec := codec
		s.run("idempotent produce + consume back, "+codec.name, func() error {
			cfg := saramaConfig()
			cfg.Producer.Compression = codec.c
			adm, err := sarama.NewClusterAdmin([]string{bootstrap}, cfg)
			if err != nil {
				return err
			}
			t := topic("pc-" + codec.name)
			err = adm.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false)
			adm.Close()
			if err != nil {
				return err
			}
			p, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
			if err != nil {
				return err
			}
			var msgs []*sarama.ProducerMessage
			for i := 0; i < 500; i++ {
				msgs = append(msgs, &sarama.ProducerMessage{Topic: t, Partition: int32(i % 2), Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.ByteEncoder(bytes.Repeat([]byte{byte(i)}, i%200)), Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: []byte("x")}}})
			}
			if err := p.SendMessages(msgs); err != nil {
				p.Close()
				return err
			}
			p.Close()
			c, err := sarama.NewConsumer([]string{bootstrap}, cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			got := map[string][]byte{}
			for part := int32(0); part < 2; part++ {
				pc, err := c.ConsumePartition(t, part, sarama.OffsetOldest)
				if err != nil {
					return err
				}
				deadline := time.After(30 * time.Second)
			loop:
				for len(got) < 250*int(part+1) {
					select {
					case m := <-pc.Messages():
						got[string(m.Key)] = m.Value
					case e := <-pc.Errors():
						pc.Close()
						return e
					case <-deadline:
						break loop
					}
				}
				pc.Close()
			}
			for _, m := range msgs {
				k, _ := m.Key.Encode()
				v, _ := m.Value.Encode()
				if g, ok := got[string(k)]; !ok || !bytes.Equal(g, v) {
					return fmt.Errorf("record %s missing or different (got %d)", k, len(got))
				}
			}
			return nil
		})
	}

	s.run("offsets, configs, partitions, delete records, delete topic", func() error {
		cfg := saramaConfig()
		cl, err := sarama.NewClient([]string{bootstrap}, cfg)
		if err != nil {
			return err
		}
		defer cl.Close()
		adm, err := sarama.NewClusterAdminFromClient(cl)
		if err != nil {
			return err
		}
		t := topic("ops")
		if err := adm.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			return err
		}
		p, err := sarama.NewSyncProducerFromClient(cl)
		if err != nil {
			return err
		}
		for i := 0; i < 10; i++ {
			if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: t, Partition: 0, Value: sarama.StringEncoder("v")}); err != nil {
				return err
			}
		}
		if o, err := cl.GetOffset(t, 0, sarama.OffsetNewest); err != nil || o != 10 {
			return fmt.Errorf("newest %d %v", o, err)
		}
		if o, err := cl.GetOffset(t, 0, sarama.OffsetOldest); err != nil || o != 0 {
			return fmt.Errorf("oldest %d %v", o, err)
		}
		v := "3600000"
		if err := adm.AlterConfig(sarama.TopicResource, t, map[string]*string{"retention.ms": &v}, false); err != nil {
			return err
		}
		entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t})
		if err != nil {
			return err
		}
		found := false
		for _, e := range entries {
			if e.Name == "retention.ms" && e.Value == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("retention.ms not described")
		}
		if err := adm.CreatePartitions(t, 3, nil, false); err != nil {
			return err
		}
		if err := adm.DeleteRecords(t, map[int32]int64{0: 4}); err != nil {
			return err
		}
		if err := cl.RefreshMetadata(t); err != nil {
			return err
		}
		if o, err := cl.GetOffset(t, 0, sarama.OffsetOldest); err != nil || o != 4 {
			return fmt.Errorf("oldest after delete %d %v", o, err)
		}
		if err := adm.DeleteTopic(t); err != nil {
			return err
		}
		return nil
	})
	return s
}
