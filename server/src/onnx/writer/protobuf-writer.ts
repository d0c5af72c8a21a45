/**
 * The protocol-buffers wire format, just the part ONNX needs: varints, fixed32 floats and
 * length-delimited fields (https://protobuf.dev/programming-guides/encoding/).
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const TWO_POW_64 = 1n << 64n;
const textEncoder = new TextEncoder();

/** Appends protobuf fields to a growing list of byte chunks; `finish` joins them once. */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private byteLength = 0;

  /** An int32/int64/enum/bool field. Negative values take ten bytes (64-bit two's complement), as protobuf requires. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  /** A `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A `bytes` field or an already encoded embedded message. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.byteLength);
    this.push(value);
    return this;
  }

  /** An embedded message, written by `write` into its own writer so its length is known. */
  message(field: number, write: (writer: ProtobufWriter) => void): this {
    const inner = new ProtobufWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number | bigint): void {
    let remaining = typeof value === 'bigint' ? value : BigInt(checkedInteger(value));
    if (remaining < 0n) remaining += TWO_POW_64;
    if (remaining < 0n || remaining >= TWO_POW_64)
      throw new RangeError(`protobuf varint: ${value} does not fit 64 bits`);
    const bytes: number[] = [];
    while (remaining >= 0x80n) {
      bytes.push(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    bytes.push(Number(remaining));
    this.push(Uint8Array.from(bytes));
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.byteLength += chunk.byteLength;
  }
}

function checkedInteger(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varint: expected a safe integer, got ${value}`);
  return value;
}
