/** `host:port`, with brackets around an IPv6 literal (`[::1]:9995`); an already bracketed host is kept. */
export function hostPort(host: string, port: number): string {
  return `${bracketHost(host)}:${port}`;
}

/** An IPv6 literal in brackets, as URLs and `host:port` need it; other hosts unchanged. */
function bracketHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The errno code (`EADDRINUSE`) of a system error, else its message. */
export function errorCode(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
