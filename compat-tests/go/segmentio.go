package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

// kafkaGoSuite runs segmentio/kafka-go: its Writer with default settings (acks=0), a Reader in a
// consumer group, each compression codec, and the admin Client's calls.
func kafkaGoSuite(bootstrap, run string) *suite {
	s := &suite{name: "kafka-go"}
	ctx := context.Background()
	addr := kafka.TCP(bootstrap)
	client := &kafka.Client{Addr: addr, Timeout: 30 * time.Second}
	topic := func(n string) string { return "kgo-seg-" + n + "-" + run }
	create := func(t string, partitions int) error {
		r, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
			Topics: []kafka.TopicConfig{{Topic: t, NumPartitions: partitions, ReplicationFactor: 1}},
		})
		if err != nil {
			return err
		}
		return r.Errors[t]
	}
	// Kafka applies admin changes a moment after answering; retry reads of them, bounded.
	eventually := func(f func() error) error {
		var err error
		for i := 0; i < 40; i++ {
			if err = f(); err == nil {
				return nil
			}
			time.Sleep(250 * time.Millisecond)
		}
		return err
	}
	main := topic("main")

	s.run("admin CreateTopics", func() error { return create(main, 3) })

	s.run("Writer with its defaults (acks=0): the records become readable", func() error {
		w := &kafka.Writer{Addr: addr, Topic: main}
		defer w.Close()
		msgs := make([]kafka.Message, 10)
		for i := range msgs {
			msgs[i] = kafka.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("v%d", i))}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return err
		}
		return eventually(func() error {
			r, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
				main: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)},
			}})
			if err != nil {
				return err
			}
			var total int64
			for _, p := range r.Topics[main] {
				if p.Error != nil {
					return p.Error
				}
				total += p.LastOffset
			}
			if total != 10 {
				return fmt.Errorf("%d of 10 records readable", total)
			}
			return nil
		})
	})

	group := "kgo-seg-group-" + run
	s.run("Reader with a GroupID reads and commits every record", func() error {
		// Its own topic, written with acks=all, so that this scenario checks the group alone.
		t := topic("group")
		if err := create(t, 3); err != nil {
			return err
		}
		w := &kafka.Writer{Addr: addr, Topic: t, RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}
		defer w.Close()
		for i := 0; i < 10; i++ {
			if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("v%d", i))}); err != nil {
				return err
			}
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, GroupID: group, Topic: t})
		defer r.Close()
		seen := map[string]bool{}
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		for len(seen) < 10 {
			m, err := r.ReadMessage(rctx)
			if err != nil {
				return fmt.Errorf("after %d records: %w", len(seen), err)
			}
			seen[string(m.Value)] = true
		}
		return nil
	})

	s.run("admin ListGroups and DescribeGroups", func() error {
		l, err := client.ListGroups(ctx, &kafka.ListGroupsRequest{})
		if err != nil {
			return err
		}
		found := false
		for _, g := range l.Groups {
			found = found || g.GroupID == group
		}
		if !found {
			return fmt.Errorf("group %s not listed", group)
		}
		d, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil {
			return err
		}
		if len(d.Groups) != 1 || d.Groups[0].Error != nil {
			return fmt.Errorf("describe: %+v", d.Groups)
		}
		return nil
	})

	for _, codec := range []kafka.Compression{kafka.Gzip, kafka.Snappy, kafka.Lz4, kafka.Zstd} {
		codec := codec
		s.run(fmt.Sprintf("%s-compressed messages round trip", codec), func() error {
			t := topic(codec.String())
			if err := create(t, 1); err != nil {
				return err
			}
			w := &kafka.Writer{Addr: addr, Topic: t, Compression: codec, RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}
			defer w.Close()
			for i := 0; i < 5; i++ {
				if err := w.WriteMessages(ctx, kafka.Message{Value: []byte(fmt.Sprintf("%s-%d", codec, i))}); err != nil {
					return err
				}
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, Topic: t, Partition: 0})
			defer r.Close()
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			for i := 0; i < 5; i++ {
				m, err := r.ReadMessage(rctx)
				if err != nil {
					return err
				}
				if want := fmt.Sprintf("%s-%d", codec, i); string(m.Value) != want || m.Offset != int64(i) {
					return fmt.Errorf("offset %d: %q, want %q at %d", m.Offset, m.Value, want, i)
				}
			}
			return nil
		})
	}

	s.run("admin DescribeConfigs", func() error {
		r, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: main, ConfigNames: []string{"cleanup.policy"},
		}}})
		if err != nil {
			return err
		}
		if len(r.Resources) != 1 || len(r.Resources[0].ConfigEntries) != 1 || r.Resources[0].ConfigEntries[0].ConfigValue != "delete" {
			return fmt.Errorf("unexpected %+v", r.Resources)
		}
		return nil
	})

	s.run("admin CreateACLs and DescribeACLs answer SecurityDisabled", func() error {
		c, err := client.CreateACLs(ctx, &kafka.CreateACLsRequest{ACLs: []kafka.ACLEntry{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: main, ResourcePatternType: kafka.PatternTypeLiteral,
			Principal: "User:alice", Host: "*", Operation: kafka.ACLOperationTypeRead, PermissionType: kafka.ACLPermissionTypeAllow,
		}}})
		if err != nil {
			return err
		}
		if len(c.Errors) != 1 || !errors.Is(c.Errors[0], kafka.SecurityDisabled) {
			return fmt.Errorf("create: %v", c.Errors)
		}
		d, err := client.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
			ResourceTypeFilter: kafka.ResourceTypeAny, ResourcePatternTypeFilter: kafka.PatternTypeAny,
			Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny,
		}})
		if err != nil {
			return err
		}
		if !errors.Is(d.Error, kafka.SecurityDisabled) {
			return fmt.Errorf("describe: %v", d.Error)
		}
		return nil
	})

	user := "kgo-seg-user-" + run
	s.run("admin AlterClientQuotas and DescribeClientQuotas", func() error {
		a, err := client.AlterClientQuotas(ctx, &kafka.AlterClientQuotasRequest{Entries: []kafka.AlterClientQuotaEntry{{
			Entities: []kafka.AlterClientQuotaEntity{{EntityType: "user", EntityName: user}},
			Ops:      []kafka.AlterClientQuotaOps{{Key: "producer_byte_rate", Value: 4096}},
		}}})
		if err != nil {
			return err
		}
		if len(a.Entries) != 1 || a.Entries[0].Error != nil {
			return fmt.Errorf("alter: %+v", a.Entries)
		}
		return eventually(func() error {
			d, err := client.DescribeClientQuotas(ctx, &kafka.DescribeClientQuotasRequest{
				Components: []kafka.DescribeClientQuotasRequestComponent{{EntityType: "user", MatchType: 0, Match: user}},
			})
			if err != nil {
				return err
			}
			if d.Error != nil {
				return d.Error
			}
			if len(d.Entries) != 1 || len(d.Entries[0].Values) != 1 || d.Entries[0].Values[0].Value != 4096 {
				return fmt.Errorf("describe: %+v", d.Entries)
			}
			return nil
		})
	})

	s.run("admin AlterUserScramCredentials and DescribeUserScramCredentials", func() error {
		a, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
			Upsertions: []kafka.UserScramCredentialsUpsertion{{
				Name: user, Mechanism: kafka.ScramMechanismSha512, Iterations: 8192,
				Salt: []byte("kafka-go-salt"), SaltedPassword: make([]byte, 64),
			}},
		})
		if err != nil {
			return err
		}
		if len(a.Results) != 1 || a.Results[0].Error != nil {
			return fmt.Errorf("alter: %+v", a.Results)
		}
		return eventually(func() error {
			d, err := client.DescribeUserScramCredentials(ctx, &kafka.DescribeUserScramCredentialsRequest{
				Users: []kafka.UserScramCredentialsUser{{Name: user}},
			})
			if err != nil {
				return err
			}
			if len(d.Results) != 1 || d.Results[0].Error != nil || len(d.Results[0].CredentialInfos) != 1 ||
				d.Results[0].CredentialInfos[0].Iterations != 8192 {
				return fmt.Errorf("describe: %+v", d.Results)
			}
			return nil
		})
	})

	s.run("admin ElectLeaders: no election needed", func() error {
		r, err := client.ElectLeaders(ctx, &kafka.ElectLeadersRequest{Topic: main, Partitions: []int{0, 1, 2}, Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		if r.Error != nil || len(r.PartitionResults) != 3 {
			return fmt.Errorf("unexpected %+v", r)
		}
		for _, p := range r.PartitionResults {
			if !errors.Is(p.Error, kafka.ElectionNotNeeded) {
				return fmt.Errorf("partition %d: %v", p.Partition, p.Error)
			}
		}
		return nil
	})

	s.run("admin AlterPartitionReassignments onto broker 1", func() error {
		r, err := client.AlterPartitionReassignments(ctx, &kafka.AlterPartitionReassignmentsRequest{
			Topic:       main,
			Assignments: []kafka.AlterPartitionReassignmentsRequestAssignment{{PartitionID: 0, BrokerIDs: []int{1}}},
			Timeout:     10 * time.Second,
		})
		if err != nil {
			return err
		}
		if r.Error != nil || len(r.PartitionResults) != 1 || r.PartitionResults[0].Error != nil {
			return fmt.Errorf("unexpected %+v", r)
		}
		return nil
	})

	s.run("admin DeleteTopics", func() error {
		r, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{main}})
		if err != nil {
			return err
		}
		return r.Errors[main]
	})
	return s
}
