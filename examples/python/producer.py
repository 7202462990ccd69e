#!/usr/bin/env python3
"""A PKT v1 producer for pkt-ingest, standard library only.

Written from docs/protocol.md alone; it shares no code with the server, and
the project's tests run it against a live server and check the capture
byte-exact (test/examples/python-producer.test.ts).

    python3 examples/python/producer.py --host 127.0.0.1 --port 7400 --count 100
    python3 examples/python/producer.py --port 7400 --count 100 --acks

Without --acks it writes the frames, half-closes the connection and waits
for the server to close its side. With --acks every frame carries
ACK_REQUEST and a sequence extension; the producer keeps each frame until an
ACK covers it, resends what a lost connection left unacknowledged (up to
--reconnects times), and exits 0 once every frame is acknowledged. An
ACK + FINAL ends the run: it prints the reason and exits 1.

Deterministic with --seed and --timestamp-us: frame i (from 0) then has
  payload    the first --payload-bytes bytes of
             sha256(b"<seed>/<i>/0") + sha256(b"<seed>/<i>/1") + ...
  timestamp  --timestamp-us + i
  producer id (with --acks)  sha256(b"producer/<seed>")[:16]
Without them, payloads and the producer id are random and timestamps the
current time.

Exit status: 0 all frames sent (and acknowledged, with --acks); 1 a FINAL,
a lost connection, a timeout or a protocol error; 2 a usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import selectors
import socket
import struct
import sys
import time
import zlib
from collections import deque

MAGIC = b"PKT\x00"
VERSION = 1
FIXED = struct.Struct("<4sBBHIIQ")  # magic, version, flags, header_len, payload_len, checksum, timestamp
FIXED_BYTES = FIXED.size  # 24
ACK_REQUEST = 0x10
ACK = 0x20
FINAL = 0x40
EXT_SEQUENCE = 5
# An ACK's payload is a u64 and, with FINAL, a short reason: anything far
# larger is not an ACK from pkt-ingest.
MAX_ACK_PAYLOAD = 4096


class ProducerError(Exception):
    """Ends the run with exit status 1 and one line on stderr."""


def encode_frame(source: bytes, dest: bytes, payload: bytes, timestamp_us: int,
                 flags: int = 0, extensions: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """One PKT v1 frame (docs/protocol.md, The frame). The CRC covers the payload only."""
    ids = source + b"\x00" + dest + b"\x00"
    tlv = b"".join(struct.pack("<BH", t, len(v)) + v for t, v in extensions)
    header_len = FIXED_BYTES + len(ids) + len(tlv)
    if header_len > 0xFFFF:
        raise ProducerError(f"header of {header_len} bytes is over 65535: shorten --source/--dest")
    fixed = FIXED.pack(MAGIC, VERSION, flags, header_len, len(payload), zlib.crc32(payload), timestamp_us)
    return fixed + ids + tlv + payload


def seeded_payload(seed: int, index: int, size: int) -> bytes:
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{index}/{block}".encode()).digest()
        block += 1
    return bytes(out[:size])


class Frames:
    """Builds frame i on demand, so a large --count without --acks holds one frame at a time."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source = args.source.encode("utf-8")
        self.dest = args.dest.encode("utf-8")
        if args.seed is not None:
            self.producer_id = hashlib.sha256(f"producer/{args.seed}".encode()).digest()[:16]
        else:
            self.producer_id = os.urandom(16)

    def build(self, i: int) -> bytes:
        a = self.args
        payload = seeded_payload(a.seed, i, a.payload_bytes) if a.seed is not None else os.urandom(a.payload_bytes)
        ts = a.timestamp_us + i if a.timestamp_us is not None else time.time_ns() // 1000
        if not a.acks:
            return encode_frame(self.source, self.dest, payload, ts)
        sequence = self.producer_id + struct.pack("<Q", i)
        return encode_frame(self.source, self.dest, payload, ts, ACK_REQUEST, ((EXT_SEQUENCE, sequence),))


class AckReader:
    """Parses the server's ACK frames out of the bytes it writes back (docs/protocol.md, Acknowledgements)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, str | None]]:
        """Returns (committed, FINAL reason or None) for each complete ACK frame."""
        self.buf += data
        acks = []
        while len(self.buf) >= FIXED_BYTES:
            magic, version, flags, header_len, payload_len, checksum, _ts = FIXED.unpack_from(self.buf, 0)
            if magic != MAGIC or version != VERSION:
                raise ProducerError(f"the server sent bytes that are not a PKT v1 frame: {bytes(self.buf[:8]).hex()}")
            if header_len < 26 or payload_len < 8 or payload_len > MAX_ACK_PAYLOAD or not flags & ACK:
                raise ProducerError(
                    f"the server sent a frame that is not an ACK (flags 0x{flags:02x}, header_len {header_len}, payload_len {payload_len})")
            if len(self.buf) < header_len + payload_len:
                break
            payload = bytes(self.buf[header_len:header_len + payload_len])
            del self.buf[:header_len + payload_len]
            if zlib.crc32(payload) != checksum:
                raise ProducerError("an ACK frame failed its CRC-32 check")
            committed = struct.unpack_from("<Q", payload, 0)[0]
            reason = payload[8:].decode("utf-8", "replace") if flags & FINAL else None
            acks.append((committed, reason))
        return acks


def connect(args: argparse.Namespace) -> socket.socket:
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as err:
        raise ProducerError(f"cannot connect to {args.host}:{args.port}: {err.strerror or err}; check --host and --port") from err
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_plain(args: argparse.Namespace, frames: Frames) -> dict:
    """No acknowledgements: write, half-close, wait for the server to close its side."""
    sent_bytes = 0
    with connect(args) as sock:
        batch = []
        for i in range(args.count):
            batch.append(frames.build(i))
            if len(batch) == 256 or i == args.count - 1:
                data = b"".join(batch)
                sock.sendall(data)
                sent_bytes += len(data)
                batch = []
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass  # nothing is written back without ACK_REQUEST; wait for the close
        except socket.timeout as err:
            raise ProducerError(f"the server did not close the connection within {args.timeout} s (--timeout)") from err
        except ConnectionResetError:
            pass
    return {"sent": args.count, "bytes": sent_bytes, "acknowledged": None, "acks": 0, "reconnects": 0}


def send_with_acks(args: argparse.Namespace, frames: Frames) -> dict:
    """Ack mode: keep every frame until an ACK covers it; resend the rest after a lost connection."""
    unacked: deque[bytes] = deque()  # sent, not yet covered by an ACK, oldest first
    next_index = 0  # next frame to build
    acknowledged = acks = reconnects = sent_bytes = 0
    deadline = time.monotonic() + args.timeout
    while True:
        sock = connect(args)
        sock.setblocking(False)
        # This connection counts from 1 again: it first resends what is unacknowledged.
        on_conn = list(unacked)
        committed_here = 0
        out = memoryview(b"".join(on_conn))
        reader = AckReader()
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        lost = None
        # After a failed write, read on: a FINAL saying why may be waiting.
        writable = True
        try:
            while acknowledged < args.count:
                if writable and len(out) == 0 and next_index < args.count:
                    chunk = []
                    while next_index < args.count and len(chunk) < 256:
                        frame = frames.build(next_index)
                        next_index += 1
                        chunk.append(frame)
                        unacked.append(frame)
                        on_conn.append(frame)
                    out = memoryview(b"".join(chunk))
                sel.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if len(out) else 0))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProducerError(
                        f"timed out after {args.timeout} s waiting for acknowledgements: "
                        f"{acknowledged} of {args.count} frames acknowledged (--timeout)")
                for _key, events in sel.select(min(left, 1.0)):
                    if events & selectors.EVENT_WRITE and len(out):
                        try:
                            n = sock.send(out)
                        except BlockingIOError:
                            n = 0
                        except (BrokenPipeError, ConnectionResetError) as err:
                            lost, writable, out, n = err, False, memoryview(b""), 0
                        sent_bytes += n
                        out = out[n:]
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(65536)
                        except BlockingIOError:
                            continue
                        if not data:
                            raise ConnectionResetError(str(lost) if lost else "the server closed the connection")
                        for committed, reason in reader.feed(data):
                            acks += 1
                            if committed > len(on_conn):
                                raise ProducerError(
                                    f"an ACK covers {committed} frames, but only {len(on_conn)} were sent on this connection")
                            newly = max(0, committed - committed_here)
                            for _ in range(newly):
                                unacked.popleft()
                            committed_here += newly
                            acknowledged += newly
                            if reason is not None:
                                raise ProducerError(
                                    f"the server ended the connection with FINAL, reason {reason!r}: "
                                    f"{acknowledged} of {args.count} frames acknowledged, {len(unacked)} sent but not acknowledged")
            sock.shutdown(socket.SHUT_WR)
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as err:
            lost = err
        finally:
            sel.close()
            sock.close()
        if lost is None:
            return {"sent": args.count, "bytes": sent_bytes, "acknowledged": acknowledged, "acks": acks,
                    "reconnects": reconnects, "producerId": frames.producer_id.hex()}
        if reconnects >= args.reconnects:
            raise ProducerError(
                f"connection lost ({lost}) with {acknowledged} of {args.count} frames acknowledged, "
                f"after {reconnects} reconnects (--reconnects)")
        reconnects += 1
        print(f"connection lost ({lost}); reconnecting to resend {len(unacked)} unacknowledged frames", file=sys.stderr)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="producer.py",
        description="Send PKT v1 frames to pkt-ingest (see docs/protocol.md). Standard library only.",
        epilog="Exit status: 0 all frames sent (and acknowledged with --acks); 1 FINAL, lost connection, "
               "timeout or protocol error; 2 usage error.")
    p.add_argument("--host", default="127.0.0.1", help="server address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, required=True, help="server TCP port (pkt-ingest's default is 7400)")
    p.add_argument("--count", type=int, required=True, help="frames to send")
    p.add_argument("--payload-bytes", type=int, default=64, help="payload size of each frame (default: 64)")
    p.add_argument("--acks", action="store_true",
                   help="set ACK_REQUEST and the sequence extension; wait until every frame is acknowledged")
    p.add_argument("--source", default="py-producer", help="source_id of every frame (default: py-producer)")
    p.add_argument("--dest", default="pkt-ingest", help="dest_id of every frame (default: pkt-ingest)")
    p.add_argument("--seed", type=int, default=None, help="deterministic payloads and producer id (default: random)")
    p.add_argument("--timestamp-us", type=int, default=None,
                   help="timestamp of frame 0 in microseconds; frame i gets this + i (default: the clock)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the connection, the close or the ACKs (default: 10)")
    p.add_argument("--reconnects", type=int, default=3, help="with --acks: reconnects after a lost connection, not a FINAL (default: 3)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.error(f"--port: {args.port} is out of range (allowed: 1..65535)")
    if args.count < 0:
        p.error(f"--count: {args.count} is negative (allowed: 0 or more)")
    if not 0 <= args.payload_bytes <= 0xFFFFFFFF:
        p.error(f"--payload-bytes: {args.payload_bytes} is out of range (allowed: 0..4294967295; the server's default limit is 1048576)")
    if args.timestamp_us is not None and not 0 <= args.timestamp_us <= 0xFFFFFFFFFFFFFFFF - max(args.count, 0):
        p.error(f"--timestamp-us: {args.timestamp_us} is not a u64 count of microseconds")
    if "\x00" in args.source or "\x00" in args.dest:
        p.error("--source/--dest: an id cannot contain NUL")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    frames = Frames(args)
    try:
        result = send_with_acks(args, frames) if args.acks else send_plain(args, frames)
    except ProducerError as err:
        print(f"producer.py: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"producer.py: {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print(f"sent {result['sent']} frames ({result['bytes']} bytes) to {args.host}:{args.port}")
        if args.acks:
            print(f"acknowledged {result['acknowledged']} of {result['sent']} frames "
                  f"in {result['acks']} ACKs, {result['reconnects']} reconnects (producer id {result['producerId']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
