/**
 * The producer process of the server suite (forked by children.ts, one for
 * the whole suite): on each { type: 'run' } message it drives one load run
 * with load/lib's runLoad (frames pre-generated from a fixed seed, so every
 * contender receives the same bytes; written in large batches) and answers
 * with the load report. It exits when the suite disconnects.
 */
import process from 'node:process';
import { runLoad } from '../../load/lib/run-load.js';
import type { ProducerAnswer, ProducerRequest } from './children.js';

function answer(message: ProducerAnswer): void {
  process.send?.(message);
}

process.on('message', (request: ProducerRequest) => {
  if (request.type !== 'run') return;
  const { id, load } = request;
  runLoad({
    host: '127.0.0.1',
    port: load.port,
    connections: load.connections,
    packets: load.packets,
    payloadMin: load.payloadBytes,
    payloadMax: load.payloadBytes,
    seed: 1,
    tls: load.tls,
    acks: load.acks === true,
  }).then(
    (report) => answer({ type: 'done', id, report }),
    (error: unknown) => answer({ type: 'failed', id, message: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
