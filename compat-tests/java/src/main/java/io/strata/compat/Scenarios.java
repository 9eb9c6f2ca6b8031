package io.strata.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.*;

/**
 * Runs the client-visible scenarios with the Java client against one bootstrap address and prints
 * one line per scenario, then "N passed, N failed". Exit status 1 if anything failed.
 */
public final class Scenarios {
    private final String bootstrap;
    private final String run = Long.toHexString(System.nanoTime());
    private int passed, failed;

    Scenarios(String bootstrap) { this.bootstrap = bootstrap; }

    public static void main(String[] args) {
        Scenarios s = new Scenarios(args.length > 0 ? args[0] : "127.0.0.1:9092");
        s.scenario("create and describe topic", s::createAndDescribe);
        s.scenario("create existing topic -> TopicExistsException", s::createExisting);
        s.scenario("invalid topic name -> InvalidTopicException", s::invalidName);
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            s.scenario("idempotent produce + consume back, " + codec, () -> s.produceConsume(codec));
        }
        s.scenario("list offsets earliest/latest/by time/max timestamp", s::listOffsets);
        s.scenario("describe and alter topic configs", s::configs);
        s.scenario("create partitions 2 -> 4", s::createPartitions);
        s.scenario("delete records moves earliest", s::deleteRecords);
        s.scenario("large record (2 MiB)", s::largeRecord);
        s.scenario("delete topic", s::deleteTopic);
        s.scenario("describe cluster and log dirs", s::cluster);
        s.scenario("acks=0 records readable on their own", s::acksZero);
        s.scenario("backlogged partitions share polls (fetch.max.bytes=70000)", s::fetchRotation);
        new Groups(s).register();
        new Transactions(s).register();
        System.out.printf("java(kafka-clients %s): %d passed, %d failed%n",
                org.apache.kafka.common.utils.AppInfoParser.getVersion(), s.passed, s.failed);
        System.exit(s.failed == 0 ? 0 : 1);
    }

    interface Body { void run() throws Exception; }

    /** COMPAT_ONLY=<text> runs only the scenarios whose name contains it. */
    private static final String ONLY = System.getenv("COMPAT_ONLY");

    void scenario(String name, Body body) {
        if (ONLY != null && !name.contains(ONLY)) return;
        try {
            body.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
        }
    }

    /**
     * A scenario for a feature the broker may not offer yet: when the broker says it does not
     * support it (UnsupportedVersionException), it is reported as XFAIL and not counted.
     */
    void optional(String name, Body body) {
        try {
            body.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            Throwable cause = t;
            while (cause.getCause() != null && !(cause instanceof UnsupportedVersionException)) cause = cause.getCause();
            if (cause instanceof UnsupportedVersionException) {
                System.out.println("XFAIL " + name + ": " + cause.getMessage());
            } else {
                failed++;
                System.out.println("FAIL " + name + ": " + t);
            }
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    Properties base() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("request.timeout.ms", "15000");
        p.put("default.api.timeout.ms", "30000");
        return p;
    }

    Admin admin() { return Admin.create(base()); }

    String topic(String name) { return "java-" + name + "-" + run; }

    void create(Admin a, String t, int partitions) throws Exception {
        a.createTopics(List.of(new NewTopic(t, partitions, (short) 1))).all().get();
    }

    Properties bytesProducer(String acks) {
        Properties p = base();
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        p.put("acks", acks);
        return p;
    }

    Properties bytesConsumer() {
        Properties p = base();
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        return p;
    }

    /** A fire-and-forget producer and nothing written after it: a consumer still gets it all. */
    void acksZero() throws Exception {
        String t = topic("acks0");
        try (Admin a = admin()) { create(a, t, 1); }
        Properties pp = bytesProducer("0");
        pp.put("enable.idempotence", "false");
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, 0, null, ("r" + i).getBytes()));
            p.flush();
        }
        TopicPartition tp = new TopicPartition(t, 0);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(bytesConsumer())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            int got = 0;
            long deadline = System.currentTimeMillis() + 20_000;
            while (got < 5 && System.currentTimeMillis() < deadline) got += c.poll(Duration.ofMillis(500)).count();
            check(got == 5, "read " + got + " of 5 acks=0 records");
        }
    }

    /**
     * Three partitions with a backlog of 600 x 10 KB each and fetches capped at 70,000 bytes: the
     * first 30 polls must draw from every partition (Kafka rotates the session's partitions).
     */
    void fetchRotation() throws Exception {
        String t = topic("rotation");
        try (Admin a = admin()) { create(a, t, 3); }
        byte[] v = new byte[10_000];
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(bytesProducer("1"))) {
            for (int part = 0; part < 3; part++) {
                for (int i = 0; i < 600; i++) p.send(new ProducerRecord<>(t, part, null, v));
            }
            p.flush();
        }
        Properties cp = bytesConsumer();
        cp.put("fetch.max.bytes", "70000");
        cp.put("max.partition.fetch.bytes", "70000");
        List<TopicPartition> tps = List.of(new TopicPartition(t, 0), new TopicPartition(t, 1), new TopicPartition(t, 2));
        int[] counts = new int[3];
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
            c.assign(tps);
            c.seekToBeginning(tps);
            int polls = 0, idle = 0;
            while (polls < 30 && idle < 40) {
                ConsumerRecords<byte[], byte[]> r = c.poll(Duration.ofMillis(500));
                if (r.isEmpty()) { idle++; continue; }
                polls++;
                for (ConsumerRecord<byte[], byte[]> rec : r) counts[rec.partition()]++;
            }
        }
        int total = counts[0] + counts[1] + counts[2];
        for (int i = 0; i < 3; i++) {
            check(counts[i] * 10 >= total, "partition " + i + " got " + counts[i] + " of " + total + ": " + Arrays.toString(counts));
        }
    }

    void createAndDescribe() throws Exception {
        String t = topic("describe");
        try (Admin a = admin()) {
            create(a, t, 3);
            TopicDescription d = a.describeTopics(List.of(t)).allTopicNames().get().get(t);
            check(d.partitions().size() == 3, "3 partitions");
            check(d.partitions().get(0).leader() != null, "leader present");
            check(d.topicId() != null && !d.topicId().toString().isEmpty(), "topic id");
            check(a.listTopics().names().get().contains(t), "listed");
        }
    }

    void createExisting() throws Exception {
        String t = topic("existing");
        try (Admin a = admin()) {
            create(a, t, 1);
            try {
                create(a, t, 1);
                throw new AssertionError("second create succeeded");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof TopicExistsException, "got " + e.getCause());
            }
        }
    }

    void invalidName() throws Exception {
        try (Admin a = admin()) {
            try {
                a.createTopics(List.of(new NewTopic("bad name!", 1, (short) 1))).all().get();
                throw new AssertionError("invalid name accepted");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof InvalidTopicException, "got " + e.getCause());
            }
        }
    }

    void produceConsume(String codec) throws Exception {
        String t = topic("pc-" + codec);
        int n = 1000, partitions = 3;
        try (Admin a = admin()) { create(a, t, partitions); }
        Properties pp = base();
        pp.put("acks", "all");
        pp.put("enable.idempotence", "true");
        pp.put("compression.type", codec);
        pp.put("linger.ms", "5");
        Random rnd = new Random(42);
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        Map<Integer, List<Long>> offsets = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] value = i % 10 == 0 ? null : new byte[rnd.nextInt(300)];
                if (value != null) rnd.nextBytes(value);
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(t, i % partitions, null,
                        ("k" + i).getBytes(StandardCharsets.UTF_8), value,
                        List.of(new RecordHeader("h", ("x" + i).getBytes(StandardCharsets.UTF_8))));
                sent.add(r);
                fs.add(p.send(r));
            }
            for (int i = 0; i < n; i++) {
                RecordMetadata m = fs.get(i).get();
                offsets.computeIfAbsent(m.partition(), k -> new ArrayList<>()).add(m.offset());
            }
        }
        for (List<Long> os : offsets.values()) {
            for (int i = 0; i < os.size(); i++) check(os.get(i) == i, "offsets consecutive from 0");
        }
        Map<String, ConsumerRecord<byte[], byte[]>> got = consumeAll(t, partitions, n);
        for (ProducerRecord<byte[], byte[]> r : sent) {
            String k = new String(r.key(), StandardCharsets.UTF_8);
            ConsumerRecord<byte[], byte[]> c = got.get(k);
            check(c != null, "record " + k + " consumed");
            check(Arrays.equals(r.value(), c.value()), "value of " + k);
            check(c.partition() == r.partition(), "partition of " + k);
            check(Arrays.equals(c.headers().lastHeader("h").value(), r.headers().lastHeader("h").value()), "header of " + k);
        }
    }

    Map<String, ConsumerRecord<byte[], byte[]>> consumeAll(String t, int partitions, int n) {
        Properties cp = base();
        cp.put("auto.offset.reset", "earliest");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 * 1024 * 1024));
        Map<String, ConsumerRecord<byte[], byte[]>> got = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(t, p));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + 30_000;
            while (got.size() < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    got.put(new String(r.key(), StandardCharsets.UTF_8), r);
                }
            }
        }
        check(got.size() == n, "consumed " + got.size() + " of " + n);
        return got;
    }

    void produceN(String t, int partition, int n, long timestampStart) throws Exception {
        Properties pp = base();
        pp.put("acks", "all");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(t, partition, timestampStart + i, "k" + i, "v" + i)).get();
        }
    }

    void listOffsets() throws Exception {
        String t = topic("offsets");
        try (Admin a = admin()) {
            create(a, t, 1);
            produceN(t, 0, 10, 1_000_000L);
            TopicPartition tp = new TopicPartition(t, 0);
            check(a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset() == 0, "earliest");
            check(a.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset() == 10, "latest");
            ListOffsetsResult.ListOffsetsResultInfo byTime = a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(1_000_004L))).all().get().get(tp);
            check(byTime.offset() == 4 && byTime.timestamp() == 1_000_004L, "by time: " + byTime);
            ListOffsetsResult.ListOffsetsResultInfo max = a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all().get().get(tp);
            check(max.offset() == 9 && max.timestamp() == 1_000_009L, "max timestamp: " + max);
            check(a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(9_999_999L))).all().get().get(tp).offset() == -1, "after end");
        }
    }

    void configs() throws Exception {
        String t = topic("configs");
        try (Admin a = admin()) {
            create(a, t, 1);
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t);
            a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)))).all().get();
            Config c = a.describeConfigs(List.of(r)).all().get().get(r);
            ConfigEntry e = c.get("retention.ms");
            check(e != null && "3600000".equals(e.value()), "retention.ms set: " + e);
            check(e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "source " + e.source());
            ConfigEntry policy = c.get("cleanup.policy");
            check(policy != null && "delete".equals(policy.value()), "cleanup.policy default: " + policy);
            a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all().get();
            ConfigEntry back = a.describeConfigs(List.of(r)).all().get().get(r).get("retention.ms");
            check(back.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "deleted override");
            try {
                a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all().get();
                throw new AssertionError("unknown config accepted");
            } catch (ExecutionException ex) {
                check(ex.getCause() instanceof InvalidConfigurationException || ex.getCause() instanceof InvalidRequestException, "got " + ex.getCause());
            }
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(a.describeCluster().nodes().get().iterator().next().id()));
            Config bc = a.describeConfigs(List.of(broker)).all().get().get(broker);
            check(bc.get("log.retention.hours") != null || bc.get("log.retention.ms") != null, "broker retention config listed");
        }
    }

    void createPartitions() throws Exception {
        String t = topic("grow");
        try (Admin a = admin()) {
            create(a, t, 2);
            a.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all().get();
            check(a.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions().size() == 4, "4 partitions");
            produceN(t, 3, 2, System.currentTimeMillis());
        }
    }

    void deleteRecords() throws Exception {
        String t = topic("delrec");
        try (Admin a = admin()) {
            create(a, t, 1);
            produceN(t, 0, 10, System.currentTimeMillis());
            TopicPartition tp = new TopicPartition(t, 0);
            long low = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(6))).lowWatermarks().get(tp).get().lowWatermark();
            check(low == 6, "low watermark " + low);
            check(a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset() == 6, "earliest moved");
        }
    }

    void largeRecord() throws Exception {
        String t = topic("large");
        try (Admin a = admin()) {
            a.createTopics(List.of(new NewTopic(t, 1, (short) 1).configs(Map.of("max.message.bytes", String.valueOf(4 * 1024 * 1024))))).all().get();
        }
        Properties pp = base();
        pp.put("max.request.size", String.valueOf(4 * 1024 * 1024));
        byte[] big = new byte[2 * 1024 * 1024];
        new Random(7).nextBytes(big);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(t, 0, "big".getBytes(StandardCharsets.UTF_8), big)).get();
        }
        Properties cp = base();
        cp.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(t, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    check(Arrays.equals(big, r.value()), "large value intact");
                    return;
                }
            }
        }
        throw new AssertionError("large record not consumed (default fetch sizes are smaller than it)");
    }

    void deleteTopic() throws Exception {
        String t = topic("delete");
        try (Admin a = admin()) {
            create(a, t, 1);
            a.deleteTopics(List.of(t)).all().get();
            check(!a.listTopics().names().get().contains(t), "gone from list");
            try {
                a.describeTopics(List.of(t)).allTopicNames().get();
                throw new AssertionError("describe of deleted topic succeeded");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof UnknownTopicOrPartitionException, "got " + e.getCause());
            }
        }
    }

    void cluster() throws Exception {
        try (Admin a = admin()) {
            DescribeClusterResult c = a.describeCluster();
            check(c.clusterId().get() != null && c.nodes().get().size() == 1, "one node");
            int node = c.nodes().get().iterator().next().id();
            check(c.controller().get() != null, "controller");
            Map<String, LogDirDescription> dirs = a.describeLogDirs(List.of(node)).allDescriptions().get().get(node);
            check(dirs != null && !dirs.isEmpty(), "a log dir");
        }
    }
}
