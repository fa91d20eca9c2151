/** A FIFO of items with their outbox sequence numbers and byte sizes; amortised O(1) push and shift. */
export class Fifo {
  #items: string[] = [];
  #seqs: number[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  /** Payload bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: string, seq: number, size: number): void {
    this.#items.push(item);
    this.#seqs.push(seq);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  /** Removes the oldest item and returns its size. */
  shift(): number {
    const size = this.#sizes[this.#head] as number;
    this.#items[this.#head] = "";
    this.#head++;
    this.#bytes -= size;
    if (this.#head === this.#items.length) this.clear();
    else if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) this.#compact();
    return size;
  }

  /** Removes the oldest items up to sequence number `seq` in one step; returns how many. */
  shiftThrough(seq: number): number {
    const start = this.#head;
    let head = start;
    while (head < this.#items.length && (this.#seqs[head] as number) <= seq) {
      this.#items[head] = "";
      this.#bytes -= this.#sizes[head] as number;
      head++;
    }
    this.#head = head;
    if (head === this.#items.length) this.clear();
    else if (head >= 4096 && head * 2 >= this.#items.length) this.#compact();
    return head - start;
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head);
    this.#seqs = this.#seqs.slice(this.#head);
    this.#sizes = this.#sizes.slice(this.#head);
    this.#head = 0;
  }

  /** Sequence number of the oldest item (Infinity when empty). */
  firstSeq(): number {
    return this.length > 0 ? (this.#seqs[this.#head] as number) : Number.POSITIVE_INFINITY;
  }

  /** The items and their sizes, oldest first. */
  view(): { items: string[]; sizes: number[] } {
    return { items: this.#items.slice(this.#head), sizes: this.#sizes.slice(this.#head) };
  }

  /**
   * The oldest items for one batch: at most `cap`, and no more than `maxBytes` unless a single item;
   * `full` tells whether `maxBytes` stopped it.
   */
  batch(cap: number, maxBytes: number): { items: string[]; bytes: number; lastSeq: number; full: boolean } {
    if (maxBytes === Number.POSITIVE_INFINITY && this.length > 0) {
      // No byte limit (the history lane): one copy of the range instead of a push per item.
      const end = Math.min(this.#items.length, this.#head + cap);
      let bytes = 0;
      for (let i = this.#head; i < end; i++) bytes += this.#sizes[i] as number;
      const lastSeq = this.#seqs[end - 1] as number;
      return { items: this.#items.slice(this.#head, end), bytes, lastSeq, full: false };
    }
    const items: string[] = [];
    let bytes = 0;
    let lastSeq = -1;
    for (let i = this.#head; i < this.#items.length && items.length < cap; i++) {
      const size = this.#sizes[i] as number;
      if (items.length > 0 && bytes + size > maxBytes) return { items, bytes, lastSeq, full: true };
      items.push(this.#items[i] as string);
      bytes += size;
      lastSeq = this.#seqs[i] as number;
    }
    return { items, bytes, lastSeq, full: false };
  }

  /** Moves every item to the end of `other`, keeping order, sequence numbers and sizes. */
  moveTo(other: Fifo): void {
    for (let i = this.#head; i < this.#items.length; i++)
      other.push(this.#items[i] as string, this.#seqs[i] as number, this.#sizes[i] as number);
    this.clear();
  }

  /** Copies of the items whose sequence number is above `seq` (the newest end), with their sizes. */
  after(seq: number): { items: string[]; sizes: number[] } {
    const i = this.#indexAfter(seq);
    return { items: this.#items.slice(i), sizes: this.#sizes.slice(i) };
  }

  #indexAfter(seq: number): number {
    let i = this.#items.length;
    while (i > this.#head && (this.#seqs[i - 1] as number) > seq) i--;
    return i;
  }

  /** Removes and returns the items whose sequence number is above `seq` (the newest end). */
  takeAfter(seq: number): { items: string[]; seqs: number[]; sizes: number[] } {
    const i = this.#indexAfter(seq);
    const items = this.#items.splice(i);
    const sizes = this.#sizes.splice(i);
    const seqs = this.#seqs.splice(i);
    for (const size of sizes) this.#bytes -= size;
    if (this.#head === this.#items.length) this.clear();
    return { items, seqs, sizes };
  }

  clear(): void {
    this.#items = [];
    this.#seqs = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
