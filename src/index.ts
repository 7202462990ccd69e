/**
 * pkt-ingest's public API: the server, the handler types for handler
 * authors, the wire codec, the producer client and the capture reader.
 */
export { IngestServer, type IngestServerOptions, type ListeningAddresses } from './server.js';
export { shutdownWasClean, type ShutdownReport } from './handlers/close-handlers.js';
export type {
  ConnectionInfo,
  HandlerCloseResult,
  HandlerContext,
  HandlerFactory,
  OwnedPacket,
  Packet,
  PacketHandler,
} from './handlers/types.js';
export { loadConfig, type LoadConfigOptions } from './config/load-config.js';
export type { Config, HandlerConfig } from './config/schema.js';
export { encodeFrame, encodeFrameInto, encodedLength, type ExtensionRecord, type FrameInput } from './wire/encode.js';
export { crc32 } from './wire/crc32.js';
export { ExtensionType, Flags, MAGIC, VERSION } from './wire/constants.js';
export { FRAME_ERROR_REASONS, type FrameErrorReason } from './wire/reasons.js';
export { ErrorCodes, PktError, type ErrorCode } from './errors.js';
export { inspectFile, type InspectReport } from './inspect/inspect-file.js';
export { readCapture, CaptureReader, type ReadCaptureOptions } from './capture/read-capture.js';
export { CaptureFrameError } from './capture/errors.js';
export { splitFrames } from './sinks/jetstream-read.js';
export { Producer, ProducerError, type ProducerOptions, type ProducerEvents } from './producer/producer.js';
