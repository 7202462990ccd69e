/**
 * The jetstream handler's stream, checked (or created) once per connect:
 * it must exist (or `createStream` creates it: file storage, the subject
 * pattern), and its subjects must cover what the handler publishes. Also
 * the largest message the server and stream take, so messages are built
 * to fit. Every problem is a JetStreamConfigError naming the key to change.
 */
import { JetStreamApiError, jetstreamManager, StorageType, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCodes, PktError } from '../errors.js';
import { streamCovers, type SubjectTemplate } from './jetstream-subject.js';

/** The stream or server cannot take what the configuration asks for; the message names the key. */
export class JetStreamConfigError extends PktError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.JETSTREAM, message, options);
  }
}

export interface StreamTarget {
  /** For messages: `handlers[i]` or the handler's name. */
  readonly where: string;
  readonly stream: string;
  readonly subject: SubjectTemplate;
  readonly createStream: boolean;
}

export interface StreamReady {
  readonly info: StreamInfo;
  /** The server's max_payload and the stream's max_msg_size (-1: none), bytes. */
  readonly maxPayload: number;
  readonly created: boolean;
}

/** JetStream's code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

export async function ensureStream(nc: NatsConnection, t: StreamTarget): Promise<StreamReady> {
  const jsm = await jetstreamManager(nc);
  let info: StreamInfo;
  let created = false;
  try {
    info = await jsm.streams.info(t.stream);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NOT_FOUND) throw err;
    if (!t.createStream) {
      throw new JetStreamConfigError(
        `${t.where}.stream: stream "${t.stream}" does not exist; create it (docs/jetstream.md) or set ${t.where}.createStream to true`,
        { cause: err },
      );
    }
    info = await jsm.streams.add({ name: t.stream, subjects: [t.subject.pattern], storage: StorageType.File });
    created = true;
  }
  const subjects = info.config.subjects ?? [];
  if (!streamCovers(subjects, t.subject)) {
    throw new JetStreamConfigError(
      `${t.where}.subject: "${t.subject.template}" (subjects ${t.subject.pattern}) is not covered by stream "${t.stream}" ` +
        `(its subjects: ${JSON.stringify(subjects)}); change ${t.where}.subject, or add "${t.subject.pattern}" to the stream's subjects`,
    );
  }
  const serverMax = nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
  const streamMax = info.config.max_msg_size ?? -1;
  return { info, created, maxPayload: streamMax > 0 ? Math.min(serverMax, streamMax) : serverMax };
}
