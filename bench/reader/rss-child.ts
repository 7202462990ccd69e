/** Child of the reader bench: reads FILE with readCapture, writes {frames, beforeBytes, growthBytes} (peak RSS minus before) to fd 3. */
import fs from 'node:fs';
import { readCapture } from '../../src/capture/read-capture.js';

const file = process.argv[2];
(globalThis as { gc?: () => void }).gc?.();
const before = process.memoryUsage().rss;
let peak = before;
let frames = 0;
for (const p of readCapture(file)) {
  frames++;
  if ((frames & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  if (p.payloadLength < 0) throw new Error('unreachable');
}
peak = Math.max(peak, process.memoryUsage().rss);
fs.writeSync(3, JSON.stringify({ frames, beforeBytes: before, growthBytes: peak - before })); // fd 3: the bench reads results there
