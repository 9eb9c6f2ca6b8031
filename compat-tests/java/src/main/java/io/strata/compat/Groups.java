package io.strata.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.serialization.*;

/** Consumer-group scenarios: eager and cooperative rebalances, static members, group admin. */
final class Groups {
    private final Scenarios s;

    Groups(Scenarios s) { this.s = s; }

    void register() {
        s.scenario("group: subscribe, consume all, commitSync (range)", this::rangeConsume);
        s.scenario("group: cooperative-sticky member joins and leaves", this::cooperative);
        s.scenario("group: static member restarts without a rebalance", this::staticRestart);
        s.scenario("group: duplicate static instance -> FencedInstanceIdException", this::staticFenced);
        s.scenario("group admin: list, describe, offsets alter/delete, delete group", this::admin);
        if (org.apache.kafka.common.utils.AppInfoParser.getVersion().startsWith("4")) {
            s.scenario("group: group.protocol=consumer (KIP-848)", this::consumerProtocol);
            s.scenario("group: KIP-848, 3 members share 6 partitions, one leaves, offsets intact", this::consumerProtocolShare);
            s.scenario("group: KIP-848 regex subscription and describeConsumerGroups", this::consumerProtocolRegex);
            s.scenario("group: online upgrade of a live classic group and downgrade back", this::onlineMigration);
        }
    }

    KafkaConsumer<String, String> consumer(String group, Map<String, String> extra) {
        Properties p = s.base();
        p.put("group.id", group);
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("session.timeout.ms", "10000");
        p.put("heartbeat.interval.ms", "500");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    void produce(String topic, int n) throws Exception {
        Properties p = s.base();
        p.put("enable.idempotence", "true");
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) prod.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
            prod.flush();
        }
    }

    static Set<Integer> partitions(KafkaConsumer<?, ?> c) {
        Set<Integer> out = new TreeSet<>();
        for (TopicPartition tp : c.assignment()) out.add(tp.partition());
        return out;
    }

    /** Polls every consumer until `done` holds or 60 s pass. */
    static boolean pollUntil(List<KafkaConsumer<String, String>> cs, BooleanSupplier done) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            for (KafkaConsumer<String, String> c : cs) c.poll(Duration.ofMillis(100));
            if (done.getAsBoolean()) return true;
        }
        return false;
    }

    void rangeConsume() throws Exception {
        String t = s.topic("grp"), g = s.topic("g");
        try (Admin a = s.admin()) { s.create(a, t, 3); }
        produce(t, 300);
        try (KafkaConsumer<String, String> c = consumer(g, Map.of("partition.assignment.strategy", RangeAssignor.class.getName()))) {
            c.subscribe(List.of(t));
            Set<String> seen = new HashSet<>();
            long deadline = System.currentTimeMillis() + 60_000;
            while (seen.size() < 300 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) seen.add(r.value());
            }
            Scenarios.check(seen.size() == 300, "consumed " + seen.size() + " of 300");
            c.commitSync();
            c.commitSync(Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(7, "java-meta")));
            OffsetAndMetadata back = c.committed(Set.of(new TopicPartition(t, 0))).get(new TopicPartition(t, 0));
            Scenarios.check(back.offset() == 7 && "java-meta".equals(back.metadata()), "committed back: " + back);
            long total = 0;
            for (OffsetAndMetadata o : c.committed(Set.of(new TopicPartition(t, 1), new TopicPartition(t, 2))).values()) total += o.offset();
            Scenarios.check(total + 100 >= 200, "committed offsets of partitions 1-2: " + total);
        }
    }

    void cooperative() throws Exception {
        String t = s.topic("coop"), g = s.topic("g");
        try (Admin a = s.admin()) { s.create(a, t, 4); }
        Map<String, String> conf = Map.of("partition.assignment.strategy", CooperativeStickyAssignor.class.getName());
        List<TopicPartition> revokedFromFirst = Collections.synchronizedList(new ArrayList<>());
        KafkaConsumer<String, String> c1 = consumer(g, conf);
        KafkaConsumer<String, String> c2 = consumer(g, conf);
        try {
            c1.subscribe(List.of(t), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> ps) { revokedFromFirst.addAll(ps); }
                public void onPartitionsAssigned(Collection<TopicPartition> ps) {}
            });
            Scenarios.check(pollUntil(List.of(c1), () -> partitions(c1).size() == 4), "first member owns " + partitions(c1));
            c2.subscribe(List.of(t));
            Scenarios.check(pollUntil(List.of(c1, c2), () -> partitions(c1).size() == 2 && partitions(c2).size() == 2),
                    "split " + partitions(c1) + " / " + partitions(c2));
            // Cooperative: the first member gave up exactly the two partitions that moved.
            Scenarios.check(revokedFromFirst.size() == 2, "revoked from the first member: " + revokedFromFirst);
            c2.close();
            Scenarios.check(pollUntil(List.of(c1), () -> partitions(c1).size() == 4), "after leave " + partitions(c1));
        } finally {
            c1.close();
            c2.close();
        }
    }

    void staticRestart() throws Exception {
        String t = s.topic("static"), g = s.topic("g");
        try (Admin a = s.admin()) { s.create(a, t, 4); }
        KafkaConsumer<String, String> a = consumer(g, Map.of("group.instance.id", "a"));
        KafkaConsumer<String, String> b = consumer(g, Map.of("group.instance.id", "b"));
        try {
            a.subscribe(List.of(t));
            b.subscribe(List.of(t));
            Scenarios.check(pollUntil(List.of(a, b), () -> partitions(a).size() == 2 && partitions(b).size() == 2),
                    "split " + partitions(a) + " / " + partitions(b));
            Set<Integer> before = partitions(a);
            int generation = b.groupMetadata().generationId();
            a.close();  // a static member's close does not leave the group
            KafkaConsumer<String, String> again = consumer(g, Map.of("group.instance.id", "a"));
            try {
                again.subscribe(List.of(t));
                Scenarios.check(pollUntil(List.of(again, b), () -> partitions(again).size() == 2),
                        "restarted member owns " + partitions(again));
                Scenarios.check(partitions(again).equals(before), "assignment changed: " + before + " -> " + partitions(again));
                Scenarios.check(b.groupMetadata().generationId() == generation,
                        "generation moved " + generation + " -> " + b.groupMetadata().generationId());
            } finally {
                again.close();
            }
        } finally {
            a.close();
            b.close();
        }
    }

    void staticFenced() throws Exception {
        String t = s.topic("fence"), g = s.topic("g");
        try (Admin adm = s.admin()) { s.create(adm, t, 2); }
        KafkaConsumer<String, String> first = consumer(g, Map.of("group.instance.id", "same"));
        KafkaConsumer<String, String> second = consumer(g, Map.of("group.instance.id", "same"));
        try {
            first.subscribe(List.of(t));
            Scenarios.check(pollUntil(List.of(first), () -> partitions(first).size() == 2), "first member owns " + partitions(first));
            second.subscribe(List.of(t));
            long deadline = System.currentTimeMillis() + 60_000;
            boolean fenced = false;
            while (!fenced && System.currentTimeMillis() < deadline) {
                second.poll(Duration.ofMillis(100));
                try {
                    first.poll(Duration.ofMillis(100));
                    first.commitSync();
                } catch (FencedInstanceIdException e) {
                    fenced = true;
                }
            }
            Scenarios.check(fenced, "the older instance was never fenced");
        } finally {
            try { first.close(Duration.ofSeconds(5)); } catch (Exception ignored) { }
            second.close();
        }
    }

    void admin() throws Exception {
        String t = s.topic("gadm"), g = s.topic("g");
        try (Admin a = s.admin()) {
            s.create(a, t, 2);
            produce(t, 20);
            try (KafkaConsumer<String, String> c = consumer(g, Map.of())) {
                c.subscribe(List.of(t));
                Scenarios.check(pollUntil(List.of(c), () -> partitions(c).size() == 2), "member owns " + partitions(c));
                c.commitSync(Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(3), new TopicPartition(t, 1), new OffsetAndMetadata(4)));
                boolean listed = a.listConsumerGroups().all().get().stream().anyMatch(l -> l.groupId().equals(g));
                Scenarios.check(listed, "group not listed");
                ConsumerGroupDescription d = a.describeConsumerGroups(List.of(g)).all().get().get(g);
                Scenarios.check(d.members().size() == 1, "members " + d.members());
                Scenarios.check(d.members().iterator().next().assignment().topicPartitions().size() == 2, "assignment " + d);
                try {
                    a.deleteConsumerGroups(List.of(g)).all().get();
                    throw new AssertionError("deleting a live group succeeded");
                } catch (ExecutionException e) {
                    Scenarios.check(e.getCause() instanceof GroupNotEmptyException, "expected GroupNotEmptyException, got " + e.getCause());
                }
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get();
            Scenarios.check(offsets.get(new TopicPartition(t, 0)).offset() == 3 && offsets.get(new TopicPartition(t, 1)).offset() == 4,
                    "offsets " + offsets);
            a.alterConsumerGroupOffsets(g, Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(10))).all().get();
            a.deleteConsumerGroupOffsets(g, Set.of(new TopicPartition(t, 1))).all().get();
            offsets = a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get();
            Scenarios.check(offsets.containsKey(new TopicPartition(t, 0)) && offsets.get(new TopicPartition(t, 0)).offset() == 10,
                    "after alter " + offsets);
            Scenarios.check(!offsets.containsKey(new TopicPartition(t, 1)) || offsets.get(new TopicPartition(t, 1)) == null,
                    "after delete " + offsets);
            a.deleteConsumerGroups(List.of(g)).all().get();
            boolean gone = a.listConsumerGroups().all().get().stream().noneMatch(l -> l.groupId().equals(g));
            Scenarios.check(gone, "group still listed after delete");
        }
    }

    KafkaConsumer<String, String> newProtocolConsumer(String group, Map<String, String> extra) {
        Properties p = s.base();
        p.put("group.id", group);
        p.put("group.protocol", "consumer");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    /**
     * Three KIP-848 members share six partitions; the broker assigns them (uniform). One member
     * leaves halfway; the other two take over its partitions and every record is processed, with
     * the committed offsets summing to the number produced.
     */
    void consumerProtocolShare() throws Exception {
        String t = s.topic("kip848share"), g = s.topic("g848share");
        try (Admin a = s.admin()) { s.create(a, t, 6); }
        produce(t, 600);
        List<KafkaConsumer<String, String>> cs = new ArrayList<>();
        for (int i = 0; i < 3; i++) cs.add(newProtocolConsumer(g, Map.of("max.poll.records", "20")));
        Set<String> seen = Collections.synchronizedSet(new HashSet<>());
        try {
            for (KafkaConsumer<String, String> c : cs) c.subscribe(List.of(t));
            long deadline = System.currentTimeMillis() + 60_000;
            // Until every member owns two partitions.
            while (System.currentTimeMillis() < deadline
                    && !cs.stream().allMatch(c -> c.assignment().size() == 2)) {
                for (KafkaConsumer<String, String> c : cs) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) seen.add(r.value());
                    c.commitSync();
                }
            }
            Scenarios.check(cs.stream().allMatch(c -> c.assignment().size() == 2),
                    "assignments " + cs.stream().map(Groups::partitions).toList());
            KafkaConsumer<String, String> gone = cs.remove(2);
            gone.commitSync();
            gone.close();
            while (System.currentTimeMillis() < deadline
                    && (seen.size() < 600 || partitions(cs.get(0)).size() + partitions(cs.get(1)).size() < 6)) {
                for (KafkaConsumer<String, String> c : cs) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) seen.add(r.value());
                    c.commitSync();
                }
            }
            Scenarios.check(seen.size() == 600, "processed " + seen.size() + " of 600");
            Scenarios.check(partitions(cs.get(0)).size() + partitions(cs.get(1)).size() == 6,
                    "after leave " + partitions(cs.get(0)) + " / " + partitions(cs.get(1)));
        } finally {
            for (KafkaConsumer<String, String> c : cs) c.close();
        }
        try (Admin a = s.admin()) {
            long total = 0;
            for (OffsetAndMetadata o : a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get().values()) total += o.offset();
            Scenarios.check(total == 600, "committed offsets sum to " + total);
        }
    }

    /** A regex subscription (resolved by the broker) and the group as the admin client sees it. */
    void consumerProtocolRegex() throws Exception {
        String prefix = s.topic("rx");
        String g = s.topic("g848rx");
        try (Admin a = s.admin()) {
            s.create(a, prefix + "-a", 1);
            s.create(a, prefix + "-b", 2);
        }
        produce(prefix + "-a", 10);
        produce(prefix + "-b", 10);
        try (KafkaConsumer<String, String> c = newProtocolConsumer(g, Map.of())) {
            // Topic names here are letters, digits and dashes: literal in RE2/J syntax.
            c.subscribe(new SubscriptionPattern(prefix + "-.*"));
            int n = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (n < 20 && System.currentTimeMillis() < deadline) n += c.poll(Duration.ofMillis(200)).count();
            Scenarios.check(n == 20, "consumed " + n + " of 20 through the regex");
            c.commitSync();
            try (Admin a = s.admin()) {
                ConsumerGroupDescription d = a.describeConsumerGroups(List.of(g)).all().get().get(g);
                Scenarios.check(d.type() == org.apache.kafka.common.GroupType.CONSUMER, "type " + d.type());
                Scenarios.check(d.groupState() == org.apache.kafka.common.GroupState.STABLE, "state " + d.groupState());
                Scenarios.check(d.members().size() == 1
                        && d.members().iterator().next().assignment().topicPartitions().size() == 3,
                        "members " + d.members());
                boolean listed = a.listGroups().all().get().stream()
                        .anyMatch(l -> l.groupId().equals(g) && l.type().orElse(null) == org.apache.kafka.common.GroupType.CONSUMER);
                Scenarios.check(listed, "not listed as a consumer group");
            }
        }
    }

    void consumerProtocol() throws Exception {
        String t = s.topic("kip848"), g = s.topic("g");
        try (Admin a = s.admin()) { s.create(a, t, 2); }
        produce(t, 50);
        Properties p = s.base();
        p.put("group.id", g);
        p.put("group.protocol", "consumer");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            c.subscribe(List.of(t));
            int n = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (n < 50 && System.currentTimeMillis() < deadline) n += c.poll(Duration.ofMillis(200)).count();
            Scenarios.check(n == 50, "consumed " + n + " of 50");
            c.commitSync();
        }
    }

    /**
     * A cooperative classic consumer owns every partition; a group.protocol=consumer member joins
     * the live group (online upgrade: the classic member keeps consuming and hands half over),
     * then leaves (online downgrade: the classic member takes everything back). Every record is
     * processed once per owner change at most, and the committed offsets add up.
     */
    void onlineMigration() throws Exception {
        String t = s.topic("migrate"), g = s.topic("gmigrate");
        try (Admin a = s.admin()) { s.create(a, t, 4); }
        produce(t, 400);
        Set<String> seen = Collections.synchronizedSet(new HashSet<>());
        Map<String, String> small = Map.of("max.poll.records", "10",
                "partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
        try (KafkaConsumer<String, String> classic = consumer(g, small)) {
            classic.subscribe(List.of(t));
            BooleanSupplier owns4 = () -> partitions(classic).size() == 4;
            Scenarios.check(pollCommit(List.of(classic), seen, owns4), "classic member owns " + partitions(classic));
            try (KafkaConsumer<String, String> modern = newProtocolConsumer(g, Map.of("max.poll.records", "10"))) {
                modern.subscribe(List.of(t));
                Scenarios.check(pollCommit(List.of(classic, modern), seen,
                        () -> partitions(classic).size() == 2 && partitions(modern).size() == 2),
                        "after upgrade " + partitions(classic) + " / " + partitions(modern));
                try (Admin a = s.admin()) {
                    ConsumerGroupDescription d = a.describeConsumerGroups(List.of(g)).all().get().get(g);
                    Scenarios.check(d.type() == org.apache.kafka.common.GroupType.CONSUMER, "type " + d.type());
                    Scenarios.check(d.members().size() == 2, "members " + d.members());
                }
            }
            // The consumer-protocol member left: the group is classic again and rebalances.
            Scenarios.check(pollCommit(List.of(classic), seen, () -> seen.size() == 400 && owns4.getAsBoolean()),
                    "after downgrade " + partitions(classic) + ", processed " + seen.size());
            try (Admin a = s.admin()) {
                ConsumerGroupDescription d = a.describeConsumerGroups(List.of(g)).all().get().get(g);
                Scenarios.check(d.type() == org.apache.kafka.common.GroupType.CLASSIC, "type " + d.type());
            }
        }
        try (Admin a = s.admin()) {
            long total = 0;
            for (OffsetAndMetadata o : a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get().values()) total += o.offset();
            Scenarios.check(total == 400, "committed offsets sum to " + total);
        }
    }

    /** Polls and commits with every consumer until `done` holds or 60 s pass. */
    static boolean pollCommit(List<KafkaConsumer<String, String>> cs, Set<String> seen, BooleanSupplier done) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            for (KafkaConsumer<String, String> c : cs) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) seen.add(r.value());
                try {
                    c.commitSync();
                } catch (RebalanceInProgressException | CommitFailedException e) {
                    // Committed again after the rebalance; the records are re-read at worst.
                }
            }
            if (done.getAsBoolean()) return true;
        }
        return false;
    }
}
