package io.strata.compat;

import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.*;

/** Transactional producers and read_committed consumers (exactly-once building blocks). */
final class Transactions {
    private final Scenarios s;

    Transactions(Scenarios s) { this.s = s; }

    void register() {
        s.scenario("transactions: committed visible, aborted hidden from read_committed", this::commitAndAbort);
        s.scenario("transactions: consume-transform-produce with sendOffsetsToTransaction", this::consumeTransformProduce);
        s.scenario("transactions: a new instance fences the old one", this::fencing);
    }

    private KafkaProducer<String, String> producer(String txnId) {
        Properties p = s.base();
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        p.put("transactional.id", txnId);
        p.put("transaction.timeout.ms", "30000");
        return new KafkaProducer<>(p);
    }

    private KafkaConsumer<String, String> consumer(String isolation, String group) {
        Properties p = s.base();
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        p.put("isolation.level", isolation);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        if (group != null) p.put("group.id", group);
        return new KafkaConsumer<>(p);
    }

    /** Every value of `t` (all partitions) from the start, read until `want` or a deadline. */
    private List<String> readAll(String t, int partitions, String isolation, int want) {
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer(isolation, null)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(t, i));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + 20_000;
            while (out.size() < want && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) out.add(r.value());
            }
            // A little longer, to catch anything that should not be there.
            for (int i = 0; i < 3; i++) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) out.add(r.value());
            }
        }
        return out;
    }

    void commitAndAbort() throws Exception {
        String t = s.topic("txn");
        try (Admin a = s.admin()) { s.create(a, t, 2); }
        try (KafkaProducer<String, String> p = producer(t + "-p")) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(t, i % 2, null, "c" + i));
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, i % 2, null, "a" + i));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            for (int i = 10; i < 13; i++) p.send(new ProducerRecord<>(t, i % 2, null, "c" + i));
            p.commitTransaction();
        }
        List<String> committed = readAll(t, 2, "read_committed", 13);
        Scenarios.check(committed.size() == 13, "read_committed saw " + committed.size() + ": " + committed);
        Scenarios.check(committed.stream().allMatch(v -> v.startsWith("c")), "aborted data visible: " + committed);
        List<String> all = readAll(t, 2, "read_uncommitted", 18);
        Scenarios.check(all.size() == 18, "read_uncommitted saw " + all.size());
        try (Admin a = s.admin()) {
            for (int part = 0; part < 2; part++) {
                TopicPartition tp = new TopicPartition(t, part);
                long committedEnd = a.listOffsets(Map.of(tp, OffsetSpec.latest()),
                        new ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get().get(tp).offset();
                long end = a.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
                Scenarios.check(committedEnd == end, "LSO " + committedEnd + " != HW " + end + " after every transaction ended");
            }
        }
    }

    void consumeTransformProduce() throws Exception {
        String in = s.topic("ctp-in"), out = s.topic("ctp-out"), group = s.topic("ctp-group");
        try (Admin a = s.admin()) { s.create(a, in, 1); s.create(a, out, 1); }
        Properties pp = s.base();
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            for (int i = 0; i < 20; i++) p.send(new ProducerRecord<>(in, 0, null, "v" + i));
            p.flush();
        }
        int copied = 0;
        try (KafkaConsumer<String, String> c = consumer("read_committed", group);
             KafkaProducer<String, String> p = producer(group + "-copier")) {
            p.initTransactions();
            c.subscribe(List.of(in));
            long deadline = System.currentTimeMillis() + 30_000;
            while (copied < 20 && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(300));
                if (rs.isEmpty()) continue;
                p.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : rs) {
                    p.send(new ProducerRecord<>(out, 0, null, r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    copied++;
                }
                p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                p.commitTransaction();
            }
        }
        Scenarios.check(copied == 20, "copied " + copied);
        List<String> got = readAll(out, 1, "read_committed", 20);
        Scenarios.check(got.size() == 20 && got.get(0).equals("V0") && got.get(19).equals("V19"), "output " + got);
        try (Admin a = s.admin()) {
            Map<TopicPartition, OffsetAndMetadata> off = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            OffsetAndMetadata m = off.get(new TopicPartition(in, 0));
            Scenarios.check(m != null && m.offset() == 20, "group offset " + m);
        }
    }

    void fencing() throws Exception {
        String t = s.topic("txn-fence");
        try (Admin a = s.admin()) { s.create(a, t, 1); }
        String id = t + "-p";
        KafkaProducer<String, String> first = producer(id);
        first.initTransactions();
        first.beginTransaction();
        first.send(new ProducerRecord<>(t, 0, null, "zombie")).get();
        try (KafkaProducer<String, String> second = producer(id)) {
            second.initTransactions(); // aborts the first one's transaction and fences it
            second.beginTransaction();
            second.send(new ProducerRecord<>(t, 0, null, "live"));
            second.commitTransaction();
        }
        boolean fenced = false;
        try {
            first.send(new ProducerRecord<>(t, 0, null, "late")).get();
            first.commitTransaction();
        } catch (Exception e) {
            Throwable c = e;
            while (c != null) { if (c instanceof ProducerFencedException || c instanceof org.apache.kafka.common.errors.InvalidProducerEpochException) fenced = true; c = c.getCause(); }
        } finally {
            first.close(Duration.ofSeconds(5));
        }
        Scenarios.check(fenced, "the old instance was not fenced");
        List<String> got = readAll(t, 1, "read_committed", 1);
        Scenarios.check(got.equals(List.of("live")), "read_committed saw " + got);
    }
}
