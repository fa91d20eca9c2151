import type { Config } from "../config/schema.ts";
import { createKernelDropMonitor, type KernelDropMonitor } from "../ingest/kernel-drops.ts";
import { startUdpReceiver, type UdpReceiver } from "../ingest/udp-supervisor.ts";
import type { Logger } from "../log.ts";

/** The UDP address settings of a config; a change of any of them rebinds. */
function udpSettings(config: Config) {
  const ue = config["Butler-SOS"].userEvents;
  return {
    enable: ue.enable,
    host: ue.udpServerConfig.serverHost,
    port: ue.udpServerConfig.portUserActivityEvents,
    receiveBufferBytes: config["sense-events"].udp.receiveBufferBytes,
  };
}

type UdpSettings = ReturnType<typeof udpSettings>;

/** Options for {@link createUdpBinding}. */
export interface UdpBindingOptions {
  /** Called on the main thread for each datagram. */
  onDatagram: (msg: Uint8Array, address: string, port: number, receivedAtMs: number) => void;
  log: Logger;
}

/** The user-events listener of the config in force, its kernel drop monitor and its queue_full total. */
export interface UdpBinding {
  /** The receive thread, or null when user events are off. */
  readonly thread: UdpReceiver | null;
  /** The kernel drop monitor of the bound address family, or null without a listener. */
  readonly kernel: KernelDropMonitor | null;
  /** queue_full drops of every receive thread of this run, including those replaced by a rebind. */
  readonly queueFull: number;
  /**
   * Binds for `config` when its address settings differ from those in force; returns whether it
   * did. On failure the previous binding is restored and the error re-thrown.
   */
  bind(config: Config): Promise<boolean>;
  /** Closes the listener (processing everything it received) and the kernel monitor. */
  close(): Promise<void>;
}

/** Creates the binding; nothing is bound before the first {@link UdpBinding.bind}. */
export function createUdpBinding(options: UdpBindingOptions): UdpBinding {
  const { log } = options;
  let thread: UdpReceiver | null = null;
  let kernel: KernelDropMonitor | null = null;
  let kernelIpv6 = false;
  let bound: UdpSettings | null = null;
  /** queue_full drops of receive threads already replaced. */
  let queueFullBefore = 0;

  async function open(s: UdpSettings, logLevel: Config["sense-events"]["log"]["level"], reloading: boolean) {
    if (!s.enable) {
      // The config warning ("[config] user events are disabled ...") already says so, at start and at reload.
      if (reloading) log.info("[udp] no UDP listener: user events are disabled");
      return null;
    }
    return startUdpReceiver({
      host: s.host,
      port: s.port,
      receiveBufferBytes: s.receiveBufferBytes,
      onDatagram: options.onDatagram,
      logLevel,
      log,
    });
  }

  /** Closes a replaced listener, keeping its queue_full drops in the total. */
  async function retire(old: UdpReceiver): Promise<void> {
    queueFullBefore += old.queueFull;
    await old.close();
  }

  /** Starts the kernel monitor for the bound socket, or restarts it when the address family changed. */
  function watchKernel(): void {
    if (thread === null) return;
    const ipv6 = thread.address.startsWith("[");
    if (kernel !== null && kernelIpv6 === ipv6) return;
    kernel?.close();
    kernel = createKernelDropMonitor({ ipv6, log });
    kernelIpv6 = ipv6;
  }

  return {
    get thread() {
      return thread;
    },
    get kernel() {
      return kernel;
    },
    get queueFull() {
      return queueFullBefore + (thread?.queueFull ?? 0);
    },
    async bind(config) {
      const wanted = udpSettings(config);
      if (bound !== null && Bun.deepEquals(wanted, bound, true)) return false;
      const level = config["sense-events"].log.level;
      const old = thread;
      const previous = bound;
      // On the same port the old socket must go first, or the new bind fails with EADDRINUSE.
      const samePort = old !== null && old.port === wanted.port;
      if (samePort) {
        await retire(old);
        thread = null;
      }
      try {
        thread = await open(wanted, level, previous !== null);
      } catch (error) {
        if (samePort && previous !== null) thread = await open(previous, level, true);
        throw error;
      }
      bound = wanted;
      if (!samePort && old !== null) await retire(old);
      // A listener enabled by reload (or moved between IPv4 and IPv6) needs its kernel counter too.
      watchKernel();
      return true;
    },
    async close() {
      await thread?.close();
      kernel?.close();
    },
  };
}
