import type { CanonicalAction } from "../events/event.ts";

/** Action and user read from a format (b) message (reference §3.4); the user parts are empty when not found. */
export interface FormatBFields {
  action: CanonicalAction;
  userDirectory: string;
  userId: string;
}

const START_STOP = /^\s*(start|stop) session/i;
const OPENING_CLOSING = /^\s*(opening|closing) connection/i;
const OPENED_CLOSED = /connection (opened|closed)/i;

// R1–R4 of reference §3.4, tried in order; `trimDot` marks the rules that drop one trailing "." from ID.
const USER_RULES: readonly { re: RegExp; trimDot: boolean }[] = [
  { re: /\buser\s+'([^\s'\\]+)\\([^']+)'/i, trimDot: false },
  { re: /\buser\s+([^\s'"\\]+)\\([^\s'";,]+)/i, trimDot: true },
  { re: /'([^\s'\\]+)\\([^']+)'/i, trimDot: false },
  { re: /(?:^|\s)([^\s'"\\]+)\\([^\s'";,]+)/i, trimDot: true },
];

/** Finds the canonical action in the text before `UserAgent:`, or null when no rule matches. */
function findAction(text: string): CanonicalAction | null {
  let m = START_STOP.exec(text);
  if (m) return m[1]?.toLowerCase() === "start" ? "Start session" : "Stop session";
  m = OPENING_CLOSING.exec(text);
  if (m) return m[1]?.toLowerCase() === "opening" ? "Open connection" : "Close connection";
  // One rule with two outcomes: the earliest occurrence decides.
  m = OPENED_CLOSED.exec(text);
  if (m) return m[1]?.toLowerCase() === "opened" ? "Open connection" : "Close connection";
  return null;
}

/** Reads action and user from a cleaned format (b) message (reference §3.4); null means "no action in message". */
export function parseFormatB(message: string): FormatBFields | null {
  const ua = message.indexOf("UserAgent:");
  const text = ua === -1 ? message : message.slice(0, ua);
  const action = findAction(text);
  if (action === null) return null;
  for (const { re, trimDot } of USER_RULES) {
    const m = re.exec(text);
    if (!m) continue;
    const userDirectory = m[1] ?? "";
    let userId = m[2] ?? "";
    if (trimDot && userId.endsWith(".")) userId = userId.slice(0, -1);
    return { action, userDirectory, userId };
  }
  return { action, userDirectory: "", userId: "" };
}
