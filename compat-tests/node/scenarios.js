// kafkajs scenarios against one bootstrap address. Prints one line per scenario, then
// "N passed, N failed"; exits 1 if anything failed.
'use strict';
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs');
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');
CompressionCodecs[CompressionTypes.LZ4] = new (require('kafkajs-lz4'))().codec;

const bootstrap = process.argv[2] || '127.0.0.1:9092';
const run = Date.now().toString(16);
const kafka = new Kafka({ clientId: 'strata-compat', brokers: [bootstrap], logLevel: logLevel.NOTHING });
let passed = 0;
let failed = 0;

function check(ok, what) {
  if (!ok) throw new Error(what);
}

async function scenario(name, body) {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 90000).unref());
  try {
    await Promise.race([body(), timeout]);
    passed++;
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.message}`);
  }
}


async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const t = (n) => `node-${n}-${run}`;

  await scenario('create, describe, create again', async () => {
    const topic = t('create');
    check(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] }), 'created');
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    check(md.topics[0].partitions.length === 3, '3 partitions');
    check((await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })) === false, 'second create returns false');
    let threw = false;
    try {
      await admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] });
    } catch (e) {
      threw = /invalid/i.test(e.message) || (e.errors || []).some((x) => x.type === 'INVALID_TOPIC_EXCEPTION');
    }
    check(threw, 'invalid name rejected');
  });

  for (const [name, codec] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP], ['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4]]) {
    await scenario(`idempotent produce + read back, ${name}`, async () => {
      const topic = t(`pc-${name}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const messages = [];
      for (let i = 0; i < 500; i++) {
        messages.push({ key: `k${i}`, value: i % 10 === 0 ? null : Buffer.alloc(i % 300, i % 256), partition: i % 2, headers: { h: `x${i}` } });
      }
      await producer.send({ topic, acks: -1, compression: codec, messages });
      await producer.disconnect();
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((s, p) => s + Number(p.high), 0);
      check(total === 500, `high watermarks sum ${total}`);
    });
  }

  await scenario('list offsets, configs, partitions, delete records, delete topic', async () => {
    const topic = t('ops');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    const messages = [];
    for (let i = 0; i < 10; i++) messages.push({ value: 'v', timestamp: String(1000000 + i) });
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 1000004);
    check(byTime[0].offset === '4', `by time ${JSON.stringify(byTime)}`);
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic }] });
    const entry = cfg.resources[0].configEntries.find((e) => e.configName === 'retention.ms');
    check(entry && entry.configValue === '3600000', 'retention.ms described');
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] });
    const after = await admin.fetchTopicOffsets(topic);
    check(after.find((p) => p.partition === 0).low === '6', 'low watermark 6');
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    check((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length === 3, '3 partitions');
    await admin.deleteTopics({ topics: [topic] });
    check(!(await admin.listTopics()).includes(topic), 'deleted');
  });

  await scenario('consumer group: two members share partitions, consume all, commit', async () => {
    const topic = t('group');
    const groupId = `node-g-${run}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const total = 200;
    await producer.send({ topic, acks: -1, messages: Array.from({ length: total }, (_, i) => ({ value: String(i) })) });
    await producer.disconnect();
    const seen = new Set();
    const assigned = new Map();
    const member = async (id) => {
      const c = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 20000 });
      await c.connect();
      c.on(c.events.GROUP_JOIN, (e) => assigned.set(id, (e.payload.memberAssignment[topic] || []).length));
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => { seen.add(message.value.toString()); } });
      return c;
    };
    const c1 = await member(1);
    const c2 = await member(2);
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && !(seen.size === total && assigned.get(1) > 0 && assigned.get(2) > 0
      && assigned.get(1) + assigned.get(2) === 4)) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await c1.disconnect();
    await c2.disconnect();
    check(seen.size === total, `consumed ${seen.size} of ${total}`);
    check(assigned.get(1) > 0 && assigned.get(2) > 0, `partitions ${assigned.get(1)} / ${assigned.get(2)}`);
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const sum = offsets[0].partitions.reduce((a, p) => a + Number(p.offset), 0);
    check(sum === total, `committed offsets sum to ${sum}`);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    check(groups.includes(groupId), 'group listed');
    await admin.deleteGroups([groupId]);
  });

  await admin.disconnect();
  console.log(`node(kafkajs): ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`FAIL setup: ${e && e.message}`);
  console.log(`node(kafkajs): ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
