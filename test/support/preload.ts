import { setDefaultTimeout } from "bun:test";

// Tests that start real InfluxDB/mosquitto or compile the binary need more than Bun's 5 s default.
setDefaultTimeout(60_000);
