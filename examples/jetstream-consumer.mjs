#!/usr/bin/env node
/**
 * Reads what the `jetstream` handler stored: a durable pull consumer on the
 * stream, each message split back into its PKT frames with pkt-ingest's own
 * decoder (`splitFrames`), one line per frame, the message acknowledged once
 * printed. Being durable, a restarted consumer goes on where it stopped.
 *
 *   node examples/jetstream-consumer.mjs [--server nats://127.0.0.1:4222]
 *        [--stream PKT] [--durable pkt-print] [--subject pkt.>] [--limit N]
 *
 * Needs `npm install` (it builds dist/, which `pkt-ingest` resolves to).
 * Ctrl-C stops it cleanly (unacknowledged messages are redelivered later).
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { splitFrames } from 'pkt-ingest';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: 'nats://127.0.0.1:4222' },
    stream: { type: 'string', default: 'PKT' },
    durable: { type: 'string', default: 'pkt-print' },
    subject: { type: 'string' },
    limit: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: node examples/jetstream-consumer.mjs [--server URL] [--stream NAME] [--durable NAME] [--subject FILTER] [--limit FRAMES]\n');
  process.exit(0);
}
const limit = args.limit === undefined ? Infinity : Number(args.limit);

const nc = await connect({ servers: args.server });
const jsm = await jetstreamManager(nc);
// Creating a durable that exists with the same settings is a no-op, so this is safe on every start.
await jsm.consumers.add(args.stream, {
  durable_name: args.durable,
  ack_policy: AckPolicy.Explicit,
  ...(args.subject ? { filter_subject: args.subject } : {}),
});
const consumer = await jetstream(nc).consumers.get(args.stream, args.durable);
const messages = await consumer.consume();
process.once('SIGINT', () => void messages.close());

let printed = 0;
for await (const m of messages) {
  const connection = m.headers?.get('Pkt-Connection');
  const remote = m.headers?.get('Pkt-Remote');
  let offset = Number(m.headers?.get('Pkt-Offset') ?? 0);
  // Views into m.data: print (or copy) before the next message.
  for (const p of splitFrames(m.data)) {
    process.stdout.write(
      `${m.seq} ${m.subject} conn=${connection} remote=${remote} offset=${offset} ` +
        `${JSON.stringify(p.sourceId)} -> ${JSON.stringify(p.destId)} ts=${p.timestampBigInt} flags=0x${p.flags.toString(16)} ` +
        `payload=${p.payloadLength}B\n`,
    );
    offset += p.frameLength;
    printed++;
  }
  m.ack();
  if (printed >= limit) break;
}
await messages.close();
await nc.drain();
