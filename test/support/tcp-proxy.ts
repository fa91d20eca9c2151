import type { Socket } from "bun";

/** A TCP proxy on 127.0.0.1 that counts what passes through it, to see which connections a client opens. */
export interface TcpProxy {
  port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client bytes seen so far, as latin1 text (to count e.g. HTTP request lines). */
  readonly sent: string;
  close(): void;
}

interface Pair {
  upstream: Socket<undefined> | null;
  /** Client bytes that arrived before the upstream connection was open. */
  early: Uint8Array[];
}

/** Forwards every connection to `127.0.0.1:targetPort`, counting connections and client bytes. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let connections = 0;
  let sent = "";
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        connections++;
        client.data = { upstream: null, early: [] };
        try {
          const upstream = await Bun.connect({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              data(_, chunk) {
                client.write(chunk);
              },
              close() {
                client.end();
              },
              error() {
                client.end();
              },
            },
          });
          client.data.upstream = upstream;
          for (const chunk of client.data.early.splice(0)) upstream.write(chunk);
        } catch {
          client.end();
        }
      },
      data(client, chunk) {
        sent += Buffer.from(chunk).toString("latin1");
        if (client.data.upstream === null) client.data.early.push(new Uint8Array(chunk));
        else client.data.upstream.write(chunk);
      },
      close(client) {
        client.data.upstream?.end();
      },
      error(client) {
        client.data.upstream?.end();
      },
    },
  });
  return {
    port: server.port,
    get connections() {
      return connections;
    },
    get sent() {
      return sent;
    },
    close: () => server.stop(true),
  };
}
