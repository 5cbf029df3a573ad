/**
 * The input of `COPY … FROM STDIN (FORMAT binary)`: PostgreSQL's binary copy format
 * (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"), written straight into one growing
 * buffer. Cheaper than the text format on both sides: no number is printed here or parsed by the server, no
 * string is escaped, and no per-row strings or arrays are allocated.
 *
 * Layout: the 19-byte header, then per row an int16 field count and per field an int32 byte length (-1 = NULL)
 * followed by the value in the type's binary send format (big-endian), then the int16 trailer -1. Every value
 * must match its column's type exactly (the server does not convert binary input): float8 for
 * `double precision`, int8 for `bigint`, timestamptz, bool, text.
 */

/** 'PGCOPY\n\377\r\n\0', flags (int32 0: no OIDs), header extension length (int32 0) */
const HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** PostgreSQL's timestamp epoch (2000-01-01T00:00:00Z) in Unix ms */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

export class CopyBinaryWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  /** `expectedBytes`: a first guess of the size (the buffer grows by doubling when it is short). */
  constructor(expectedBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(expectedBytes, HEADER.length + 2));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    HEADER.copy(this.buf, 0);
    this.pos = HEADER.length;
  }

  /** Starts a row of `fields` columns (as many as the COPY's column list). */
  row(fields: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, fields);
    this.pos += 2;
  }

  null(): void {
    this.ensure(4);
    this.view.setInt32(this.pos, -1);
    this.pos += 4;
  }

  /** `text`/`varchar` (UTF-8). */
  text(s: string): void {
    this.ensure(4 + s.length * 3); // a UTF-16 code unit is at most 3 bytes of UTF-8
    const bytes = this.buf.write(s, this.pos + 4, 'utf8');
    this.view.setInt32(this.pos, bytes);
    this.pos += 4 + bytes;
  }

  /** `double precision` */
  float8(n: number): void {
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setFloat64(this.pos + 4, n);
    this.pos += 12;
  }

  /** `bigint` from a safe integer (anything else is refused here rather than stored wrong). */
  int8(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`COPY binary: ${n} is not an integer for a bigint column`);
    this.ensure(12);
    const high = Math.floor(n / TWO_32);
    this.view.setInt32(this.pos, 8);
    this.view.setInt32(this.pos + 4, high);
    this.view.setUint32(this.pos + 8, n - high * TWO_32);
    this.pos += 12;
  }

  /** `timestamptz` from Unix epoch ms (microsecond precision, as PostgreSQL keeps it). */
  timestamptz(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`COPY binary: ${ms} is not a time`);
    this.int8(Math.round((ms - PG_EPOCH_MS) * 1000));
  }

  bool(b: boolean): void {
    this.ensure(5);
    this.view.setInt32(this.pos, 1);
    this.buf[this.pos + 4] = b ? 1 : 0;
    this.pos += 5;
  }

  /** The whole input, trailer included (the writer is not used after this). */
  finish(): Buffer {
    this.ensure(2);
    this.view.setInt16(this.pos, -1);
    this.pos += 2;
    return this.buf.subarray(0, this.pos);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}
