import { eventJsonBytes, type UserEvent } from "./event.ts";

/** Largest estimated JSON of one `/api/events` page; a page stops early (with `next`) past it. */
export const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/** Filters of `GET /api/events` (reference §13); string filters ignore case, absent means "any". */
export interface EventQuery {
  /** Most events returned, 1–10000. @default 100 */
  limit?: number;
  /** Only events with a smaller id. */
  before?: number;
  /** `DIR\ID` (both parts must match) or a bare `ID` (any directory). */
  user?: string;
  host?: string;
  action?: string;
  appId?: string;
  /** Inclusive lower bound on `receivedAt`, epoch ms or ISO-8601. */
  since?: number | string;
  /** Exclusive upper bound on `receivedAt`, epoch ms or ISO-8601. */
  until?: number | string;
}

/** One page of {@link EventRing.query}: newest first, `next` is the `before` of the following page. */
export interface EventPage {
  events: UserEvent[];
  next: number | null;
}

/** A compiled {@link EventQuery} without paging; every field is lower-cased or numeric. */
export interface EventMatcher {
  host?: string;
  action?: string;
  appId?: string;
  dir?: string;
  uid?: string;
  since?: number;
  until?: number;
}

const toMs = (value: number | string | undefined): number | undefined =>
  typeof value === "string" ? Date.parse(value) : value;

/** Compiles the filter part of a query (everything but `limit`/`before`) into a matcher. */
export function compileMatcher(query: EventQuery): EventMatcher {
  const matcher: EventMatcher = {};
  if (query.host !== undefined) matcher.host = query.host.toLowerCase();
  if (query.action !== undefined) matcher.action = query.action.toLowerCase();
  if (query.appId !== undefined) matcher.appId = query.appId.toLowerCase();
  if (query.user !== undefined) {
    const user = query.user.toLowerCase();
    const slash = user.indexOf("\\");
    if (slash === -1) {
      matcher.uid = user;
    } else {
      matcher.dir = user.slice(0, slash);
      matcher.uid = user.slice(slash + 1);
    }
  }
  const since = toMs(query.since);
  const until = toMs(query.until);
  if (since !== undefined) matcher.since = since;
  if (until !== undefined) matcher.until = until;
  return matcher;
}

/**
 * True when `value.toLowerCase() === lower`, where `lower` is itself lower-cased: equal strings need no
 * lower-casing (lower-casing is idempotent), so the usual all-lower-case value allocates nothing.
 */
function equalsLower(value: string, lower: string): boolean {
  return value === lower || value.toLowerCase() === lower;
}

// Consecutive events usually share one receivedAt string (the processor caches it per millisecond).
let lastIso = "";
let lastIsoMs = Number.NaN;

/** `Date.parse(iso)`, remembering the last answer. */
function parseIso(iso: string): number {
  if (iso !== lastIso) {
    lastIsoMs = Date.parse(iso);
    lastIso = iso;
  }
  return lastIsoMs;
}

/** Whether an event passes the compiled filters, lower-casing lazily; `receivedAtMs` is its parsed `receivedAt`. */
function matchesAt(event: UserEvent, receivedAtMs: number, m: EventMatcher): boolean {
  return (
    (m.host === undefined || equalsLower(event.host, m.host)) &&
    (m.action === undefined || equalsLower(event.action, m.action)) &&
    (m.appId === undefined || (event.appId !== null && equalsLower(event.appId, m.appId))) &&
    (m.uid === undefined || equalsLower(event.userId, m.uid)) &&
    (m.dir === undefined || equalsLower(event.userDirectory, m.dir)) &&
    (m.since === undefined || receivedAtMs >= m.since) &&
    (m.until === undefined || receivedAtMs < m.until)
  );
}

/**
 * Whether an event passes the compiled filters: nothing is lower-cased unless a value differs from the filter,
 * and `receivedAt` is parsed only for a `since`/`until` filter.
 */
export function matchesEvent(event: UserEvent, m: EventMatcher): boolean {
  const timed = m.since !== undefined || m.until !== undefined;
  return matchesAt(event, timed ? parseIso(event.receivedAt) : Number.NaN, m);
}

/**
 * The recent-events ring (reference §7): fixed capacity, O(1) insert, oldest evicted first.
 * Events must be pushed in increasing id order.
 */
export class EventRing {
  // Only the event and its receive time are stored: lower-cased keys are compared lazily by queries.
  #slots: (UserEvent | undefined)[];
  #ms: Float64Array;
  #capacity: number;
  /** Index of the next write. */
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    EventRing.#check(capacity);
    this.#capacity = capacity;
    this.#slots = new Array(capacity);
    this.#ms = new Float64Array(capacity);
  }

  static #check(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`[events] ring capacity must be a positive integer (got ${capacity})`);
    }
  }

  /** Number of stored events. */
  get size(): number {
    return this.#size;
  }

  /** Most events kept. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Stores an event, evicting the oldest when full. */
  push(event: UserEvent): void {
    this.#slots[this.#head] = event;
    this.#ms[this.#head] = parseIso(event.receivedAt);
    this.#head = this.#head + 1 === this.#capacity ? 0 : this.#head + 1;
    if (this.#size < this.#capacity) this.#size++;
  }

  /** Changes the capacity, keeping the newest events (a smaller capacity drops the oldest). */
  resize(capacity: number): void {
    EventRing.#check(capacity);
    if (capacity === this.#capacity) return;
    const keep = Math.min(this.#size, capacity);
    const slots: (UserEvent | undefined)[] = new Array(capacity);
    const ms = new Float64Array(capacity);
    for (let i = 0; i < keep; i++) {
      const index = this.#index(i);
      slots[keep - 1 - i] = this.#slots[index];
      ms[keep - 1 - i] = this.#ms[index] as number;
    }
    this.#slots = slots;
    this.#ms = ms;
    this.#capacity = capacity;
    this.#size = keep;
    this.#head = keep === capacity ? 0 : keep;
  }

  /** The slot of the i-th newest event (0 = newest); i must be below size. */
  #index(i: number): number {
    const index = this.#head - 1 - i;
    return index < 0 ? index + this.#capacity : index;
  }

  /** The i-th newest event (0 = newest); i must be below size. */
  #at(i: number): UserEvent {
    return this.#slots[this.#index(i)] as UserEvent;
  }

  /** Number of stored events with an id greater than `id` (binary search: ids grow with age order). */
  #countNewer(id: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid).id > id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Returns one page of matching events, newest first (reference §13 `/api/events`). */
  query(filter: EventQuery = {}): EventPage {
    const limit = filter.limit ?? 100;
    const matcher = compileMatcher(filter);
    const events: UserEvent[] = [];
    let bytes = 0;
    let i = filter.before === undefined ? 0 : this.#countNewer(filter.before - 1);
    for (; i < this.#size; i++) {
      const index = this.#index(i);
      const event = this.#slots[index] as UserEvent;
      if (!matchesAt(event, this.#ms[index] as number, matcher)) continue;
      const size = eventJsonBytes(event);
      if (events.length === limit || (events.length > 0 && bytes + size > MAX_PAGE_BYTES)) {
        return { events, next: (events[events.length - 1] as UserEvent).id };
      }
      bytes += size;
      events.push(event);
    }
    return { events, next: null };
  }

  /** Events with an id greater than `id`, oldest first, at most `limit` (SSE `Last-Event-ID` replay). */
  after(id: number, limit = Number.POSITIVE_INFINITY): UserEvent[] {
    const newer = this.#countNewer(id);
    const count = Math.min(newer, limit);
    const events: UserEvent[] = new Array(count);
    for (let k = 0; k < count; k++) events[k] = this.#at(newer - 1 - k);
    return events;
  }
}
