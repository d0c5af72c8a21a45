/**
 * Reads the protocol-buffers wire format (https://protobuf.dev/programming-guides/encoding/) from a
 * file without loading it whole: fields are visited in order and large ones are skipped by seeking,
 * so the graph of a multi-gigabyte ONNX file is read in milliseconds.
 */
import type { FileHandle } from 'node:fs/promises';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** A file that is not valid protobuf (truncated, or not protobuf at all). */
export class ProtobufFormatError extends Error {}

export interface FieldHeader {
  field: number;
  wireType: number;
}

const WINDOW_BYTES = 1 << 16;
const textDecoder = new TextDecoder();

/** Decodes a varint at `offset` of `bytes`; returns the value (exact below 2^53) and the next offset. */
function decodeVarint(bytes: Uint8Array, offset: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let index = offset; index < end && index < offset + 10; index++) {
    const byte = bytes[index];
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, index + 1];
  }
  throw new ProtobufFormatError(`a varint at byte ${offset} runs past its message`);
}

/** Field-by-field access to one message held in memory (small messages: value infos, tensor headers). */
export class MessageBytes {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  header(): FieldHeader {
    const [key, next] = decodeVarint(this.bytes, this.offset, this.bytes.length);
    this.offset = next;
    return checkedHeader(key, this.offset);
  }

  varint(): number {
    const [value, next] = decodeVarint(this.bytes, this.offset, this.bytes.length);
    this.offset = next;
    return value;
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (this.offset + length > this.bytes.length) {
      throw new ProtobufFormatError(`a field of ${length} bytes runs past its message`);
    }
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): string {
    return textDecoder.decode(this.lengthDelimited());
  }

  /** The values of a packed repeated varint field, from its payload. */
  static packedVarints(payload: Uint8Array): number[] {
    const packed = new MessageBytes(payload);
    const values: number[] = [];
    while (!packed.done) values.push(packed.varint());
    return values;
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_LENGTH_DELIMITED) this.lengthDelimited();
    else {
      const width = wireType === WIRE_FIXED64 ? 8 : 4;
      if (this.offset + width > this.bytes.length)
        throw new ProtobufFormatError('a fixed-width field runs past its message');
      this.offset += width;
    }
  }
}

function checkedHeader(key: number, offset: number): FieldHeader {
  const wireType = key % 8;
  const field = Math.floor(key / 8);
  if (field === 0 || ![WIRE_VARINT, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_FIXED32].includes(wireType)) {
    throw new ProtobufFormatError(`invalid field key ${key} before byte ${offset}`);
  }
  return { field, wireType };
}

/** A cached window over a file, shared by the readers of its nested messages. */
export class FileWindow {
  bytes = new Uint8Array(0);
  start = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Makes sure the window holds `count` bytes from `position` (reading ahead up to `limit`). */
  async fill(position: number, count: number, limit: number): Promise<void> {
    const local = position - this.start;
    if (local >= 0 && local + count <= this.bytes.length) return;
    const size = Math.min(Math.max(count, WINDOW_BYTES), limit - position);
    const buffer = new Uint8Array(size);
    const { bytesRead } = await this.handle.read(buffer, 0, size, position);
    if (bytesRead < count) {
      throw new ProtobufFormatError(`the file ends at byte ${position + bytesRead}, inside a field`);
    }
    this.bytes = buffer.subarray(0, bytesRead);
    this.start = position;
  }
}

/** Field-by-field access to a region of a file, reading through a shared window. */
export class FileMessageReader {
  constructor(
    private readonly file: FileWindow,
    private position: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.position >= this.end;
  }

  /** A reader for the `length` bytes that follow, sharing the file handle. */
  child(length: number): FileMessageReader {
    this.checkRoom(length);
    const reader = new FileMessageReader(this.file, this.position, this.position + length);
    this.position += length;
    return reader;
  }

  async header(): Promise<FieldHeader> {
    const key = await this.varint();
    return checkedHeader(key, this.position);
  }

  async varint(): Promise<number> {
    await this.file.fill(this.position, Math.min(10, this.end - this.position), this.file.size);
    const { bytes, start } = this.file;
    const [value, next] = decodeVarint(bytes, this.position - start, Math.min(bytes.length, this.end - start));
    this.position = start + next;
    return value;
  }

  /** Reads a length-delimited field whole (use only for fields known to be small). */
  async lengthDelimited(): Promise<Uint8Array> {
    const length = await this.varint();
    this.checkRoom(length);
    await this.file.fill(this.position, length, this.file.size);
    const local = this.position - this.file.start;
    this.position += length;
    return this.file.bytes.slice(local, local + length);
  }

  async skip(wireType: number): Promise<void> {
    if (wireType === WIRE_VARINT) await this.varint();
    else if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = await this.varint();
      this.checkRoom(length);
      this.position += length;
    } else {
      const width = wireType === WIRE_FIXED64 ? 8 : 4;
      this.checkRoom(width);
      this.position += width;
    }
  }

  private checkRoom(length: number): void {
    if (this.position + length > this.end) {
      throw new ProtobufFormatError(
        `a field of ${length} bytes at byte ${this.position} runs past the end of its message (byte ${this.end})`,
      );
    }
  }
}
