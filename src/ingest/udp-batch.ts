/**
 * The message format between the UDP receive thread and the main thread: datagrams are copied
 * into one buffer per batch, with parallel arrays for their ends, sender ports, receive times
 * and an index into a small table of sender addresses.
 */
export interface DatagramBatch {
  type: "batch";
  count: number;
  /** The datagrams' bytes, back to back. */
  data: Uint8Array;
  /** End offset of datagram i in `data` (its start is the previous end). */
  ends: Uint32Array;
  ports: Uint16Array;
  /** Receive time of datagram i, epoch ms. */
  times: Float64Array;
  /** Index of datagram i's sender in `addresses`. */
  senders: Uint8Array;
  addresses: string[];
}

/** Most datagrams in one batch. */
const MAX_COUNT = 512;
/** Bytes a batch buffer starts with; a single larger datagram gets its own batch. */
const DATA_BYTES = 256 * 1024;
/** Senders per batch; the index is one byte. */
const MAX_SENDERS = 255;

/** Collects datagrams into batches on the receive thread; `take()` hands over copies and starts afresh. */
export class BatchBuilder {
  #data = new Uint8Array(DATA_BYTES);
  #ends = new Uint32Array(MAX_COUNT);
  #ports = new Uint16Array(MAX_COUNT);
  #times = new Float64Array(MAX_COUNT);
  #senders = new Uint8Array(MAX_COUNT);
  #addresses: string[] = [];
  #senderIndex = new Map<string, number>();
  #count = 0;
  #bytes = 0;

  /** Datagrams waiting. */
  get count(): number {
    return this.#count;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True when `size` more bytes or one more sender would not fit. */
  full(size: number, address: string): boolean {
    if (this.#count === MAX_COUNT) return true;
    if (this.#count > 0 && this.#bytes + size > this.#data.length) return true;
    return !this.#senderIndex.has(address) && this.#addresses.length === MAX_SENDERS;
  }

  /** Appends one datagram; call `full()` first. */
  add(msg: Uint8Array, address: string, port: number, time: number): void {
    if (this.#bytes + msg.byteLength > this.#data.length) this.#data = new Uint8Array(msg.byteLength);
    this.#data.set(msg, this.#bytes);
    this.#bytes += msg.byteLength;
    let sender = this.#senderIndex.get(address);
    if (sender === undefined) {
      sender = this.#addresses.length;
      this.#addresses.push(address);
      this.#senderIndex.set(address, sender);
    }
    const i = this.#count++;
    this.#ends[i] = this.#bytes;
    this.#ports[i] = port;
    this.#times[i] = time;
    this.#senders[i] = sender;
  }

  /** Returns the waiting datagrams as a batch (copies, safe to transfer) and empties the builder. */
  take(): DatagramBatch {
    const n = this.#count;
    const batch: DatagramBatch = {
      type: "batch",
      count: n,
      data: this.#data.slice(0, this.#bytes),
      ends: this.#ends.slice(0, n),
      ports: this.#ports.slice(0, n),
      times: this.#times.slice(0, n),
      senders: this.#senders.slice(0, n),
      addresses: this.#addresses,
    };
    if (this.#data.length !== DATA_BYTES) this.#data = new Uint8Array(DATA_BYTES);
    this.#addresses = [];
    this.#senderIndex.clear();
    this.#count = 0;
    this.#bytes = 0;
    return batch;
  }
}

/** The buffers of a batch, for `postMessage`'s transfer list. */
export function transferables(batch: DatagramBatch): ArrayBuffer[] {
  return [batch.data, batch.ends, batch.ports, batch.times, batch.senders].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
