/*
 * Fast UDP sender for scripts/bench.ts: sends COUNT datagrams (cycling through the lines of FILE) to
 * 127.0.0.1:PORT with sendmmsg, paced at RATE datagrams/s (0 = full speed), then prints
 * {"sent":N,"seconds":S} on stdout. Bounded in count and in time (MAXSECONDS).
 *
 *   bench-sender PORT FILE COUNT RATE [MAXSECONDS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_LINES 65536

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench-sender PORT FILE COUNT RATE [MAXSECONDS]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long count = atol(argv[3]);
  double rate = atof(argv[4]);
  double max_seconds = argc > 5 ? atof(argv[5]) : 120.0;

  FILE *f = fopen(argv[2], "rb");
  if (!f) { perror("open"); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc(size + 1);
  if (fread(data, 1, size, f) != (size_t)size) { perror("read"); return 1; }
  fclose(f);
  static struct iovec lines[MAX_LINES];
  int n_lines = 0;
  for (long start = 0, i = 0; i <= size && n_lines < MAX_LINES; i++) {
    if (i == size || data[i] == '\n') {
      if (i > start) {
        lines[n_lines].iov_base = data + start;
        lines[n_lines].iov_len = i - start;
        n_lines++;
      }
      start = i + 1;
    }
  }
  if (n_lines == 0) { fprintf(stderr, "no datagrams in %s\n", argv[2]); return 1; }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int sndbuf = 4 * 1024 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }

  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  long sent = 0, errors = 0;
  double start = now_s();
  while (sent < count) {
    double elapsed = now_s() - start;
    if (elapsed > max_seconds) break;
    long due = rate > 0 ? (long)(elapsed * rate) : count;
    if (due > count) due = count;
    if (due <= sent) {
      struct timespec nap = {0, 100000}; /* 100 µs */
      nanosleep(&nap, NULL);
      continue;
    }
    while (sent < due) {
      int n = due - sent < BATCH ? (int)(due - sent) : BATCH;
      for (int i = 0; i < n; i++) {
        msgs[i].msg_hdr.msg_iov = &lines[(sent + i) % n_lines];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int done = sendmmsg(fd, msgs, n, 0);
      if (done < 0) {
        /* ECONNREFUSED from an earlier ICMP error: the datagram was not sent; count and move on. */
        if (++errors > 1000000) break;
        if (errno == ECONNREFUSED) continue;
        break;
      }
      sent += done;
    }
  }
  double seconds = now_s() - start;
  close(fd);
  printf("{\"sent\":%ld,\"seconds\":%.6f,\"errors\":%ld}\n", sent, seconds, errors);
  return 0;
}
