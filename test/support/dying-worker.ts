/** A Worker that ends itself at its first message, as a crashed history writer would (test only). */
declare const self: Worker;
self.onmessage = () => process.exit(3);
