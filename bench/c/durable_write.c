// The limit: the same syscalls our protocol makes, in a tight C loop.
// usage: durable_write DIR WRITES SIZE THREADS FSYNC(0|1)
// Each thread overwrites its own file: create temp (O_EXCL, 0600), fchmod, write,
// fdatasync, close, rename, fsync(dir). Prints "<writes> <seconds> <cpu seconds>" (user +
// sys of all threads, over the writes only).
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static long writes_per_thread;
static size_t size;
static int do_fsync;
static char *payload;

static void die(const char *what) { perror(what); exit(1); }

static void *run(void *arg) {
  long id = (long)arg;
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open dir");
  char name[64], tmp[96];
  snprintf(name, sizeof name, "c%ld.bin", id);
  for (long i = 0; i < writes_per_thread; i++) {
    snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, i);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) die("openat");
    if (fchmod(fd, 0644) < 0) die("fchmod");
    size_t off = 0;
    while (off < size) {
      ssize_t n = write(fd, payload + off, size - off);
      if (n < 0) die("write");
      off += (size_t)n;
    }
#ifdef WAIT_DATA
    // The one-flush experiment (cc -DWAIT_DATA): the data written and waited for, no
    // cache flush; the directory fsync's journal commit flushes it (bench/notes/one-flush.md).
    if (do_fsync && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0) die("sync_file_range");
#else
    if (do_fsync && fdatasync(fd) < 0) die("fdatasync");
#endif
    close(fd);
    if (renameat(dirfd, tmp, dirfd, name) < 0) die("rename");
    if (do_fsync && fsync(dirfd) < 0) die("fsync dir");
  }
  close(dirfd);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: %s DIR WRITES SIZE THREADS FSYNC\n", argv[0]); return 2; }
  dir = argv[1];
  long writes = atol(argv[2]);
  size = (size_t)atol(argv[3]);
  long threads = atol(argv[4]);
  do_fsync = atoi(argv[5]);
  if (threads < 1) { fprintf(stderr, "THREADS must be at least 1\n"); return 2; }
  writes_per_thread = writes / threads;
  payload = malloc(size ? size : 1);
  memset(payload, 'x', size);
  pthread_t *tids = calloc((size_t)threads, sizeof *tids);
  struct timespec a, b;
  struct rusage ra, rb;
  getrusage(RUSAGE_SELF, &ra);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long t = 0; t < threads; t++) pthread_create(&tids[t], NULL, run, (void *)t);
  for (long t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  getrusage(RUSAGE_SELF, &rb);
  double cpu = (rb.ru_utime.tv_sec - ra.ru_utime.tv_sec) + (rb.ru_utime.tv_usec - ra.ru_utime.tv_usec) / 1e6 +
               (rb.ru_stime.tv_sec - ra.ru_stime.tv_sec) + (rb.ru_stime.tv_usec - ra.ru_stime.tv_usec) / 1e6;
  printf("%ld %.6f %.6f\n", writes_per_thread * threads, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, cpu);
  return 0;
}
