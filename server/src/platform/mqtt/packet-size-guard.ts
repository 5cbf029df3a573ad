/**
 * A cap on the size of MQTT packets a client may send, applied at the socket before Aedes sees a byte.
 *
 * Aedes's parser buffers a whole packet before it looks at it, of any size the fixed header declares (up to 256 MB),
 * and before the client has authenticated. This guard sits between the TCP socket and Aedes: it follows the packet
 * boundaries of the byte stream (1 type byte, 1–4 bytes of "remaining length", then that many bytes) and, as soon as a
 * header declares a packet larger than the cap (or a malformed length), destroys the connection — the chunk holding
 * that header is never handed on, and the rest of the packet is never read. Only whole-packet framing is parsed
 * here; everything else stays Aedes's job.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** What the guard found wrong with a client's stream. */
export type PacketRefusal = { reason: 'too_large'; declaredBytes: number } | { reason: 'malformed_length' };

/** Follows MQTT packet framing across chunks; `feed` returns a refusal as soon as one is known. */
export class PacketFramer {
  /** bytes of the current packet's body still to skip */
  private remaining = 0;
  /** 0 = expecting a type byte; 1–4 = reading the length's varint (its byte count so far) */
  private lengthBytes = 0;
  private length = 0;
  private inHeader = false;

  constructor(private readonly maxPacketBytes: number) {}

  feed(chunk: Uint8Array): PacketRefusal | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.inHeader) {
        // the type byte of a new packet
        this.inHeader = true;
        this.lengthBytes = 0;
        this.length = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes += 1;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return { reason: 'malformed_length' };
        continue;
      }
      const packetBytes = 1 + this.lengthBytes + this.length;
      if (packetBytes > this.maxPacketBytes) return { reason: 'too_large', declaredBytes: packetBytes };
      this.inHeader = false;
      this.remaining = this.length;
    }
    return null;
  }
}

/**
 * The stream Aedes handles instead of the socket: reads pass the framer, writes and ends go to the socket, destroying
 * either side destroys both. `onRefused` hears why a connection was cut (after it is).
 */
export function guardPacketSize(socket: Socket, maxPacketBytes: number, onRefused: (refusal: PacketRefusal) => void): Duplex {
  const framer = new PacketFramer(maxPacketBytes);
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, (err) => callback(err ?? null));
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (guarded.destroyed) return;
    const refusal = framer.feed(chunk);
    if (refusal) {
      socket.destroy();
      guarded.destroy();
      onRefused(refusal);
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
